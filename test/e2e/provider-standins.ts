// Stand-ins for the providers' admin APIs (issue 16): a real HTTP server on 127.0.0.1 (port 0) per
// provider, answering the usage and cost endpoints the watchdog reads with bodies shaped exactly
// like the documented examples (test/fixtures/providers/, README there), from a usage store the
// test fills. Point a provider's `base_url` at `standIn.baseUrl`.
//
//   const openai = await openaiStandIn();            // or anthropicStandIn()
//   openai.addUsage({ minuteMs, model: 'gpt-4o-2024-08-06', scope: 'proj_abc', input: 1000, output: 50 });
//   openai.pageSize = 5;                             // buckets per page: forces has_more / next_page
//   openai.fault({ kind: 'status', status: 429, retryAfter: '3' });   // the next request only
//   openai.failAlways({ kind: 'hang' });             // every request until failAlways(null)
//   openai.clockOffsetMs = 3 * 60_000;               // its clock (Date header, open bucket) 3 min ahead
//   openai.usageRequests()                            // what was asked: path, query, headers
//
// What it checks like the real API: the admin key (`Authorization: Bearer` / `x-api-key`; else 401
// with the provider's error body, which echoes the key it was sent, to prove it is never printed),
// Anthropic's `anthropic-version` header (else 400), required parameters, `bucket_width`, `limit`
// at most the documented maximum (else 400) and page tokens it issued. Arrays are read as
// `name[]=` or repeated `name=`. Buckets run from the start asked for to the one that holds its
// clock's now (that last one still open, as the providers serve it), empty ones included.
//
// Late reporting: a usage entry with `lateReads: n` is left out of the first n usage reads (a read
// is a usage request without `page` that was answered, not faulted), as a provider that reports
// that minute late.
//
// The stand-in is closed when the test that started it ends; one started in beforeAll or
// beforeEach is closed by calling close().
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { type ProviderConfig, ProviderFailure } from '../../src/reconcile/types.js';

export type ProviderType = 'openai' | 'anthropic';

/** One model's usage in one minute under one project / workspace. Token counts as UsageRow counts them. */
export interface UsageEntry {
  /** The minute's start, epoch ms (rounded down to the minute). */
  minuteMs: number;
  model: string;
  /** OpenAI project_id or Anthropic workspace_id (null: none / the default workspace). */
  scope?: string | null;
  apiKeyId?: string | null;
  /** All input tokens, cached and cache writes included. */
  input?: number;
  /** Of input, read from the cache. */
  cached?: number;
  /** Of input, written to the cache (Anthropic: 5-minute writes; OpenAI: input_cache_write_tokens). */
  cacheWrite?: number;
  /** Of input, written to the 1-hour cache (Anthropic only). */
  cacheWrite1h?: number;
  output?: number;
  /** OpenAI num_model_requests (default 1). */
  requests?: number;
  /** OpenAI `batch: true`; Anthropic `service_tier: batch`. */
  batch?: boolean;
  /** The service tier reported (default: OpenAI `default`, Anthropic `standard` or `batch`). */
  serviceTier?: string;
  /** Left out of the first n usage reads (late reporting). */
  lateReads?: number;
}

/** One line of a day's cost report. */
export interface CostEntry {
  /** YYYY-MM-DD (UTC). */
  day: string;
  usd: number;
  scope?: string | null;
  apiKeyId?: string | null;
  /** Anthropic cost_type (default `tokens`); OpenAI line_item is `description`. */
  costType?: 'tokens' | 'web_search' | 'code_execution';
  model?: string | null;
  description?: string;
}

export type Fault =
  /** This status, with the provider's error body (429: Retry-After when given). */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Never answers (the connection is held open until the client gives up or close()). */
  | { kind: 'hang' }
  /** 200 with JSON of the wrong shape (default: `data` is not a list). */
  | { kind: 'wrong-shape'; body?: string }
  /** Exactly this body. */
  | { kind: 'raw'; body: string; status?: number; contentType?: string; headers?: Record<string, string> };

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The stand-in's clock when it came (ours + clockOffsetMs). */
  at: number;
  /** What it was answered: a status, or 'hang'. */
  answer: number | 'hang';
}

export interface ProviderStandIn {
  readonly type: ProviderType;
  /** http://127.0.0.1:<port>, without /v1: a provider's `base_url`. */
  readonly baseUrl: string;
  /** The admin key it accepts. */
  adminKey: string;
  readonly usage: UsageEntry[];
  readonly costs: CostEntry[];
  addUsage(...entries: UsageEntry[]): void;
  addCost(...entries: CostEntry[]): void;
  /** Buckets per page at most (null: the request's `limit`). */
  pageSize: number | null;
  /** Its clock minus ours: the Date header and which bucket is still open. */
  clockOffsetMs: number;
  /** Send a Date header (default true). */
  sendDate: boolean;
  /** Queue faults: each request takes the next one. */
  fault(...faults: Fault[]): void;
  /** A fault for every request (after the queued ones), until failAlways(null). */
  failAlways(fault: Fault | null): void;
  readonly requests: SeenRequest[];
  usageRequests(): SeenRequest[];
  costRequests(): SeenRequest[];
  /** Usage reads so far (usage requests without `page` that were answered). */
  readonly usageReads: number;
  /** Requests held open right now (hangs). */
  open(): number;
  close(): Promise<void>;
}

const PATHS: Record<ProviderType, { usage: string; costs: string }> = {
  openai: { usage: '/v1/organization/usage/completions', costs: '/v1/organization/costs' },
  anthropic: { usage: '/v1/organizations/usage_report/messages', costs: '/v1/organizations/cost_report' },
};
const WIDTH_MS: Record<string, number> = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
const LIMITS: Record<string, { default: number; max: number }> = {
  '1m': { default: 60, max: 1440 },
  '1h': { default: 24, max: 168 },
  '1d': { default: 7, max: 31 },
};

export function openaiStandIn(options: { adminKey?: string } = {}): Promise<ProviderStandIn> {
  return start('openai', options.adminKey ?? `sk-admin-standin-${random()}`);
}

export function anthropicStandIn(options: { adminKey?: string } = {}): Promise<ProviderStandIn> {
  return start('anthropic', options.adminKey ?? `sk-ant-admin01-standin-${random()}`);
}

/** The start of the minute holding `ms`. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

function random(): string {
  return Math.random().toString(36).slice(2, 12);
}

class BadRequest extends Error {}

async function start(type: ProviderType, adminKey: string): Promise<ProviderStandIn> {
  const requests: SeenRequest[] = [];
  const queued: Fault[] = [];
  let always: Fault | null = null;
  let usageReads = 0;
  const held = new Set<http.ServerResponse>();
  const paths = PATHS[type];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      at: Date.now() + stand.clockOffsetMs,
      answer: 200,
    };
    requests.push(seen);
    const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
      seen.answer = status;
      if (stand.sendDate) res.setHeader('Date', new Date(seen.at).toUTCString());
      else res.sendDate = false;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(body);
    };
    const fault = queued.shift() ?? always;
    if (fault !== null) {
      if (fault.kind === 'hang') {
        seen.answer = 'hang';
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      if (fault.kind === 'raw')
        return reply(fault.status ?? 200, fault.body, {
          ...(fault.contentType === undefined ? {} : { 'Content-Type': fault.contentType }),
          ...(fault.headers ?? {}),
        });
      if (fault.kind === 'wrong-shape')
        return reply(
          200,
          fault.body ?? JSON.stringify({ object: 'page', data: { buckets: [] }, has_more: false }),
        );
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter };
      return reply(fault.status, errorBody(type, fault.status, `stand-in fault ${fault.status}`), headers);
    }
    const presented =
      type === 'openai'
        ? (req.headers.authorization ?? '').replace(/^Bearer /, '')
        : String(req.headers['x-api-key'] ?? '');
    if (presented !== stand.adminKey)
      return reply(
        401,
        errorBody(
          type,
          401,
          // Worse than the real APIs (which mask it): the key sent is echoed whole.
          presented === '' ? 'no API key provided' : `Incorrect API key provided: ${presented}`,
        ),
      );
    if (type === 'anthropic' && req.headers['anthropic-version'] === undefined)
      return reply(400, errorBody(type, 400, 'anthropic-version: header is required'));
    try {
      if (req.method !== 'GET') throw new BadRequest(`${req.method} is not allowed`);
      if (url.pathname === paths.usage) {
        if (!url.searchParams.has('page')) usageReads++;
        return reply(200, JSON.stringify(usagePage(url.searchParams)));
      }
      if (url.pathname === paths.costs) return reply(200, JSON.stringify(costPage(url.searchParams)));
      return reply(404, errorBody(type, 404, `no route ${url.pathname}`));
    } catch (error) {
      if (error instanceof BadRequest) return reply(400, errorBody(type, 400, error.message));
      throw error;
    }
  });

  /** The buckets asked for, as [startMs, endMs) pairs, and the page of them to serve. */
  function window(
    q: URLSearchParams,
    costs: boolean,
  ): { buckets: [number, number][]; nextPage: string | null } {
    const width = q.get('bucket_width') ?? '1d';
    if (WIDTH_MS[width] === undefined || (costs && width !== '1d'))
      throw new BadRequest(`bucket_width: ${width} is not supported`);
    const w = WIDTH_MS[width] as number;
    const fromMs = type === 'openai' ? seconds(q, 'start_time', true) : rfc3339(q, 'starting_at', true);
    const toParam = type === 'openai' ? seconds(q, 'end_time', false) : rfc3339(q, 'ending_at', false);
    const nowMs = Date.now() + stand.clockOffsetMs;
    const first = Math.floor((fromMs as number) / w) * w;
    const openEnd = Math.floor(nowMs / w) * w + w;
    const end = Math.min(toParam ?? openEnd, openEnd);
    const all: [number, number][] = [];
    for (let s = first; s < end; s += w) all.push([s, s + w]);
    const limits = costs
      ? type === 'openai'
        ? { default: 7, max: 180 }
        : { default: 7, max: 31 }
      : (LIMITS[width] as { default: number; max: number });
    const limitText = q.get('limit');
    const limit = limitText === null ? limits.default : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > limits.max)
      throw new BadRequest(`limit: expected 1 to ${limits.max} for bucket_width ${width}, got ${limitText}`);
    const perPage = Math.min(limit, stand.pageSize ?? limit);
    const page = q.get('page');
    let offset = 0;
    if (page !== null) {
      const m = /^page_(.+)$/.exec(page);
      const decoded =
        m === null ? Number.NaN : Number(Buffer.from(m[1] as string, 'base64').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 0)
        throw new BadRequest(`page: ${page} is not a page token`);
      offset = decoded;
    }
    const buckets = all.slice(offset, offset + perPage);
    const next = offset + perPage < all.length ? offset + perPage : null;
    return {
      buckets,
      nextPage: next === null ? null : `page_${Buffer.from(String(next), 'utf8').toString('base64')}`,
    };
  }

  function usagePage(q: URLSearchParams): Record<string, unknown> {
    const { buckets, nextPage } = window(q, false);
    const groupBy = new Set(list(q, 'group_by'));
    const scopes = list(q, type === 'openai' ? 'project_ids' : 'workspace_ids');
    const keys = list(q, 'api_key_ids');
    const models = list(q, 'models');
    const visible = stand.usage.filter(
      (e) =>
        usageReads > (e.lateReads ?? 0) &&
        (scopes.length === 0 || scopes.includes(e.scope ?? '')) &&
        (keys.length === 0 || keys.includes(e.apiKeyId ?? '')) &&
        (models.length === 0 || models.includes(e.model)),
    );
    const data = buckets.map(([s, e]) => {
      const inBucket = visible.filter((u) => minuteOf(u.minuteMs) >= s && minuteOf(u.minuteMs) < e);
      const groups = new Map<string, UsageEntry[]>();
      for (const u of inBucket) {
        const id = JSON.stringify(groupValues(u, groupBy));
        groups.set(id, [...(groups.get(id) ?? []), u]);
      }
      const results = [...groups.values()].map((g) => usageResult(g, groupBy));
      return type === 'openai'
        ? { object: 'bucket', start_time: s / 1000, end_time: e / 1000, results }
        : { starting_at: iso(s), ending_at: iso(e), results };
    });
    return type === 'openai'
      ? { object: 'page', data, has_more: nextPage !== null, next_page: nextPage }
      : { data, has_more: nextPage !== null, next_page: nextPage };
  }

  function groupValues(u: UsageEntry, groupBy: Set<string>): Record<string, unknown> {
    const tier = tierOf(u);
    const all: Record<string, unknown> =
      type === 'openai'
        ? {
            project_id: u.scope ?? null,
            user_id: null,
            api_key_id: u.apiKeyId ?? null,
            model: u.model,
            batch: u.batch === true,
            service_tier: tier,
          }
        : {
            api_key_id: u.apiKeyId ?? null,
            workspace_id: u.scope ?? null,
            model: u.model,
            service_tier: tier,
            context_window: '0-200k',
          };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(all)) out[k] = groupBy.has(k) ? v : null;
    return out;
  }

  function tierOf(u: UsageEntry): string {
    if (u.serviceTier !== undefined) return u.serviceTier;
    if (type === 'openai') return 'default';
    return u.batch === true ? 'batch' : 'standard';
  }

  function usageResult(group: UsageEntry[], groupBy: Set<string>): Record<string, unknown> {
    const sum = (f: (u: UsageEntry) => number | undefined): number =>
      group.reduce((a, u) => a + (f(u) ?? 0), 0);
    const input = sum((u) => u.input);
    const cached = sum((u) => u.cached);
    const write = sum((u) => u.cacheWrite);
    const write1h = sum((u) => u.cacheWrite1h);
    const output = sum((u) => u.output);
    const g = groupValues(group[0] as UsageEntry, groupBy);
    if (type === 'openai')
      return {
        object: 'organization.usage.completions.result',
        input_tokens: input,
        input_cached_tokens: cached,
        input_cache_write_tokens: write,
        input_uncached_tokens: input - cached - write,
        output_tokens: output,
        input_text_tokens: input - cached - write,
        output_text_tokens: output,
        input_cached_text_tokens: cached,
        input_audio_tokens: 0,
        input_cached_audio_tokens: 0,
        output_audio_tokens: 0,
        input_image_tokens: 0,
        input_cached_image_tokens: 0,
        output_image_tokens: 0,
        num_model_requests: sum((u) => u.requests ?? 1),
        ...g,
      };
    return {
      uncached_input_tokens: input - cached - write - write1h,
      cache_creation: { ephemeral_1h_input_tokens: write1h, ephemeral_5m_input_tokens: write },
      cache_read_input_tokens: cached,
      output_tokens: output,
      server_tool_use: { web_search_requests: 0 },
      api_key_id: g.api_key_id,
      workspace_id: g.workspace_id,
      model: g.model,
      service_tier: g.service_tier,
      context_window: g.context_window,
    };
  }

  function costPage(q: URLSearchParams): Record<string, unknown> {
    const { buckets, nextPage } = window(q, true);
    const groupBy = new Set(list(q, 'group_by'));
    const scopes = type === 'openai' ? list(q, 'project_ids') : [];
    const keys = type === 'openai' ? list(q, 'api_key_ids') : [];
    const data = buckets.map(([s, e]) => {
      const day = iso(s).slice(0, 10);
      const lines = stand.costs.filter(
        (c) =>
          c.day === day &&
          (scopes.length === 0 || scopes.includes(c.scope ?? '')) &&
          (keys.length === 0 || keys.includes(c.apiKeyId ?? '')),
      );
      const groups = new Map<string, CostEntry[]>();
      for (const c of lines) {
        const id = JSON.stringify(costGroup(c, groupBy));
        groups.set(id, [...(groups.get(id) ?? []), c]);
      }
      const results = [...groups.values()].map((g) => {
        const usd = g.reduce((a, c) => a + c.usd, 0);
        const fields = costGroup(g[0] as CostEntry, groupBy);
        return type === 'openai'
          ? {
              object: 'organization.costs.result',
              amount: { value: usd, currency: 'usd' },
              ...fields,
              quantity: null,
              quantity_unit: null,
            }
          : { currency: 'USD', amount: String(Number((usd * 100).toFixed(6))), ...fields };
      });
      return type === 'openai'
        ? { object: 'bucket', start_time: s / 1000, end_time: e / 1000, results }
        : { starting_at: iso(s), ending_at: iso(e), results };
    });
    return type === 'openai'
      ? { object: 'page', data, has_more: nextPage !== null, next_page: nextPage }
      : { data, has_more: nextPage !== null, next_page: nextPage };
  }

  function costGroup(c: CostEntry, groupBy: Set<string>): Record<string, unknown> {
    if (type === 'openai')
      return {
        line_item: groupBy.has('line_item') ? (c.description ?? `${c.model ?? 'gpt-4o'}, input`) : null,
        project_id: groupBy.has('project_id') ? (c.scope ?? null) : null,
        api_key_id: groupBy.has('api_key_id') ? (c.apiKeyId ?? null) : null,
      };
    const byDescription = groupBy.has('description');
    return {
      workspace_id: groupBy.has('workspace_id') ? (c.scope ?? null) : null,
      description: byDescription ? (c.description ?? `${c.model ?? 'Claude'} Usage - Input Tokens`) : null,
      cost_type: byDescription ? (c.costType ?? 'tokens') : null,
      context_window: byDescription && (c.costType ?? 'tokens') === 'tokens' ? '0-200k' : null,
      model: byDescription ? (c.model ?? null) : null,
      service_tier: byDescription && (c.costType ?? 'tokens') === 'tokens' ? 'standard' : null,
      token_type: byDescription && (c.costType ?? 'tokens') === 'tokens' ? 'uncached_input_tokens' : null,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const stand: ProviderStandIn = {
    type,
    baseUrl: `http://127.0.0.1:${port}`,
    adminKey,
    usage: [],
    costs: [],
    addUsage(...entries) {
      stand.usage.push(...entries);
    },
    addCost(...entries) {
      stand.costs.push(...entries);
    },
    pageSize: null,
    clockOffsetMs: 0,
    sendDate: true,
    fault(...faults) {
      queued.push(...faults);
    },
    failAlways(fault) {
      always = fault;
    },
    requests,
    usageRequests: () => requests.filter((r) => r.path === paths.usage),
    costRequests: () => requests.filter((r) => r.path === paths.costs),
    get usageReads() {
      return usageReads;
    },
    open: () => held.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  try {
    onTestFinished(() => stand.close());
  } catch {
    // started outside a test (beforeAll): the caller closes it
  }
  return stand;
}

/** The provider's error body: OpenAI `{error: {message, type, param, code}}`, Anthropic `{type, error}`. */
function errorBody(type: ProviderType, status: number, message: string): string {
  if (type === 'openai') {
    const code =
      status === 401
        ? 'invalid_api_key'
        : status === 403
          ? 'insufficient_permissions'
          : status === 429
            ? 'rate_limit_exceeded'
            : null;
    const kind = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return JSON.stringify({ error: { message, type: kind, param: null, code } });
  }
  const kind =
    status === 401
      ? 'authentication_error'
      : status === 403
        ? 'permission_error'
        : status === 404
          ? 'not_found_error'
          : status === 429
            ? 'rate_limit_error'
            : status === 529
              ? 'overloaded_error'
              : status >= 500
                ? 'api_error'
                : 'invalid_request_error';
  return JSON.stringify({ type: 'error', error: { type: kind, message } });
}

function list(q: URLSearchParams, name: string): string[] {
  return [...q.getAll(`${name}[]`), ...q.getAll(name)];
}

function seconds(q: URLSearchParams, name: string, required: boolean): number | null {
  const v = q.get(name);
  if (v === null) {
    if (required) throw new BadRequest(`${name} is required`);
    return null;
  }
  if (!/^\d+$/.test(v)) throw new BadRequest(`${name}: expected Unix seconds, got ${v}`);
  return Number(v) * 1000;
}

function rfc3339(q: URLSearchParams, name: string, required: boolean): number | null {
  const v = q.get(name);
  if (v === null) {
    if (required) throw new BadRequest(`${name} is required`);
    return null;
  }
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(ms))
    throw new BadRequest(`${name}: expected RFC 3339, got ${v}`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A ProviderConfig pointed at `stand` (as config resolution would make it), for tests of the clients. */
export function configFor(stand: ProviderStandIn, overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    type: stand.type,
    name: stand.type,
    keyEnv: stand.type === 'openai' ? 'OPENAI_ADMIN_KEY' : 'ANTHROPIC_ADMIN_KEY',
    keyFile: null,
    baseUrl: stand.baseUrl,
    scopeIds: [],
    apiKeyIds: [],
    models: [],
    timeoutMs: 5000,
    ...overrides,
  };
}

/** The ProviderFailure a read ends in (a read that succeeds, or fails otherwise, fails the test). */
export async function failure(promise: Promise<unknown>): Promise<ProviderFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderFailure) return error;
    throw error;
  }
  throw new Error('expected a ProviderFailure');
}
