// What both providers' usage and cost endpoints share: pages of time buckets (`data`, `has_more`,
// `next_page`, followed with `page=`), numbers that may come as strings, and the rule that a
// bucket still open on the provider's clock is never used. Every shape problem names the field.
import { getJson } from '../http.js';
import {
  type ProviderClient,
  ProviderFailure,
  type ProviderConfig,
  type UsageRead,
  type UsageRow,
} from '../types.js';

/**
 * Pages followed at most for one read. A 15-minute window (or a 6-hour one) of 1-minute buckets
 * is one page at the documented maximum limit of 1440, and 31 days one page of 1-day buckets:
 * more than this is a provider that keeps saying has_more.
 */
export const MAX_PAGES = 20;

export interface Bucket {
  /** Where it was, for messages: `page 2, data[3]`. */
  at: string;
  raw: Record<string, unknown>;
}

export interface Drained {
  buckets: Bucket[];
  pages: number;
  /** The provider's clock minus ours (last response's Date header), or null. */
  skewMs: number | null;
  /** The provider's clock at the last response (ours when it sent no Date). */
  providerNowMs: number;
}

export interface Context {
  provider: ProviderConfig;
  key: string;
  keyFrom: string;
  headers: Record<string, string>;
}

/** Query pairs, arrays as `name[]=` (both providers' SDKs send them so; Anthropic's docs show it). */
export type Query = [string, string | number | readonly string[]][];

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of query) {
    if (Array.isArray(value)) for (const v of value) params.append(`${name}[]`, v);
    else params.append(name, String(value));
  }
  return params.toString().replace(/%5B%5D=/g, '[]=');
}

/** GET `path` with `query`, then every `next_page`, to the end or MAX_PAGES. */
export async function drain(ctx: Context, path: string, query: Query, signal: AbortSignal): Promise<Drained> {
  const name = ctx.provider.name;
  const buckets: Bucket[] = [];
  const seen = new Set<string>();
  let page: string | null = null;
  let pages = 0;
  let skewMs: number | null = null;
  let providerNowMs = Date.now();
  for (;;) {
    if (pages >= MAX_PAGES)
      throw new ProviderFailure(
        'shape',
        `${name}: ${path} still said has_more after ${MAX_PAGES} pages ` +
          '(stopped: the window is one page normally)',
      );
    const q: Query = page === null ? query : [...query, ['page', page]];
    const answer = await getJson({
      provider: ctx.provider,
      url: `${ctx.provider.baseUrl}${path}?${queryString(q)}`,
      headers: ctx.headers,
      key: ctx.key,
      keyFrom: ctx.keyFrom,
      signal,
    });
    pages++;
    skewMs = answer.dateMs === null ? null : answer.dateMs - answer.receivedMs;
    providerNowMs = answer.dateMs ?? answer.receivedMs;
    const body = answer.body as Record<string, unknown> | null;
    const where = pages === 1 ? path : `${path} (page ${pages})`;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw shape(name, where, 'the answer', 'an object', body);
    if (!Array.isArray(body.data)) throw shape(name, where, 'data', 'a list of time buckets', body.data);
    body.data.forEach((raw, i) => {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw shape(name, where, `data[${i}]`, 'a time bucket (an object)', raw);
      buckets.push({ at: `${where} data[${i}]`, raw: raw as Record<string, unknown> });
    });
    const more = body.has_more;
    if (more !== true && more !== false && more !== undefined && more !== null)
      throw shape(name, where, 'has_more', 'true or false', more);
    if (more !== true) break;
    const next = body.next_page;
    if (typeof next !== 'string' || next === '')
      throw shape(name, where, 'next_page', 'a page token (has_more is true)', next);
    if (seen.has(next))
      throw new ProviderFailure('shape', `${name}: ${where} next_page repeats an earlier page's token`);
    seen.add(next);
    page = next;
  }
  return { buckets, pages, skewMs, providerNowMs };
}

export function shape(
  name: string,
  where: string,
  field: string,
  expected: string,
  got: unknown,
): ProviderFailure {
  return new ProviderFailure('shape', `${name}: ${where} ${field}: expected ${expected}, got ${shown(got)}`);
}

/** A token count: a whole number >= 0, or a string of one; null/undefined: `fallback` (null: a failure). */
export function count(
  name: string,
  where: string,
  field: string,
  value: unknown,
  fallback: number | null = 0,
): number {
  if (value === undefined || value === null) {
    if (fallback === null) throw shape(name, where, field, 'a token count', value);
    return fallback;
  }
  const n = typeof value === 'string' && /^\s*\d+(\.0*)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw shape(name, where, field, 'a whole number of tokens >= 0', value);
  return n;
}

/** An amount: a finite number, or a decimal string of one. */
export function amount(name: string, where: string, field: string, value: unknown): number {
  const n = typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw shape(name, where, field, 'an amount', value);
  return n;
}

export function optionalString(name: string, where: string, field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw shape(name, where, field, 'a string or null', value);
  return value;
}

/** A list of results in a bucket. */
export function results(name: string, bucket: Bucket): Record<string, unknown>[] {
  const list = bucket.raw.results;
  if (!Array.isArray(list)) throw shape(name, bucket.at, 'results', 'a list', list);
  return list.map((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r))
      throw shape(name, bucket.at, `results[${i}]`, 'an object', r);
    return r as Record<string, unknown>;
  });
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** `fromMs`/`toMs` are whole minutes with from < to; else a programming error. */
export function checkMinutes(fromMs: number, toMs: number): void {
  if (fromMs % MINUTE_MS !== 0 || toMs % MINUTE_MS !== 0 || !(fromMs < toMs))
    throw new RangeError(`usage(${fromMs}, ${toMs}): expected whole minutes with from < to`);
}

/** [start of fromDay, end of toDay) in epoch ms, for YYYY-MM-DD days (UTC). */
export function dayRange(fromDay: string, toDay: string): { fromMs: number; toMs: number; days: number } {
  const from = Date.parse(`${fromDay}T00:00:00Z`);
  const to = Date.parse(`${toDay}T00:00:00Z`) + DAY_MS;
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(fromDay) ||
    !/^\d{4}-\d{2}-\d{2}$/.test(toDay) ||
    Number.isNaN(from) ||
    !(from < to)
  )
    throw new RangeError(`days ${fromDay}..${toDay}: expected YYYY-MM-DD with from <= to`);
  return { fromMs: from, toMs: to, days: Math.round((to - from) / DAY_MS) };
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** How a provider reads its buckets' times and turns one result into a UsageRow. */
export interface RowReader {
  times(name: string, bucket: Bucket): { startMs: number; endMs: number };
  row(name: string, at: string, minuteMs: number, r: Record<string, unknown>): UsageRow;
}

/**
 * The rows of the closed buckets in [fromMs, toMs): a bucket that ends after the provider's clock
 * is still being filled, and one outside the range asked for is not this read's.
 */
export function closedRows(
  name: string,
  drained: Drained,
  fromMs: number,
  toMs: number,
  reader: RowReader,
): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const bucket of drained.buckets) {
    const { startMs, endMs } = reader.times(name, bucket);
    if (endMs > drained.providerNowMs || startMs < fromMs || startMs >= toMs) continue;
    for (const [i, r] of results(name, bucket).entries())
      rows.push(reader.row(name, `${bucket.at} results[${i}]`, startMs, r));
  }
  return rows;
}

/** A client's two usage reads, the same for both providers: minutes, and days. */
export function usageReads(
  read: (
    fromMs: number,
    toMs: number,
    width: '1m' | '1d',
    limit: number,
    signal: AbortSignal,
  ) => Promise<{ rows: UsageRow[]; drained: Drained }>,
  limits: { minutes: number; days: number },
): Pick<ProviderClient, 'usage' | 'dailyUsage'> {
  return {
    async usage(fromMs, toMs, signal): Promise<UsageRead> {
      checkMinutes(fromMs, toMs);
      const minutes = (toMs - fromMs) / 60_000;
      const { rows, drained } = await read(fromMs, toMs, '1m', Math.min(minutes, limits.minutes), signal);
      return { rows, fromMs, toMs, pages: drained.pages, skewMs: drained.skewMs };
    },
    async dailyUsage(fromDay, toDay, signal): Promise<UsageRow[]> {
      const { fromMs, toMs, days } = dayRange(fromDay, toDay);
      return (await read(fromMs, toMs, '1d', Math.min(days, limits.days), signal)).rows;
    },
  };
}
