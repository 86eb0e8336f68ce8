// One read of the providers whose turn it is (every `reconcile.every`, not before a 429's
// Retry-After): the trailing window of closed minutes is read again each time (providers report
// late), priced, and kept in reconcile.json; the still-open minute is never kept. Once a day, the
// day before (UTC) is priced and compared with the provider's own cost report. A provider that
// fails keeps its last good read and says why; it never throws, and never holds back a check
// (each request is bounded by the provider's timeout, and the whole read by `signal`).
import type { Config } from '../config/index.js';
import type { ProviderConfig, ReconcileConfig } from '../config/sections/reconcile.js';
import { priceLookup } from '../price-table.js';
import type { PriceLookup } from '../core/prices.js';
import { priceRows } from './price.js';
import {
  emptyMemory,
  type ProviderMemory,
  type ReconcileState,
  readReconcileState,
  writeReconcileState,
} from './state.js';
import { type ProviderClient, ProviderFailure } from './types.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** A daily price check that could not be read is tried again this much later. */
const DAILY_RETRY_MS = 3_600_000;
/** The longest Retry-After obeyed. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** A provider's client, or why there is none (its admin key is not set, or held badly). */
export type ClientFactory = (provider: ProviderConfig) => ProviderClient | ProviderFailure;

/** Is this provider's read due at nowMs? */
export function isDue(rc: ReconcileConfig, memory: ProviderMemory | undefined, nowMs: number): boolean {
  if (memory === undefined || memory.triedAtMs === null) return true;
  if (memory.notBeforeMs !== null && nowMs < memory.notBeforeMs) return false;
  // A clock set back: read now rather than wait for a time already past.
  if (memory.triedAtMs > nowMs) return true;
  return nowMs - memory.triedAtMs >= rc.everyMs;
}

export function anyDue(config: Config, nowMs: number, state = readReconcileState(config.stateDir)): boolean {
  const rc = config.reconcile;
  if (rc === null) return false;
  return rc.providers.some((p) => isDue(rc, state.providers[p.name], nowMs));
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function failureOf(error: unknown, provider: ProviderConfig): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  // Not a failure the client knew: said plainly, without a stack (never the key: clients do not
  // put it in errors).
  return new ProviderFailure(
    'network',
    `${provider.name}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** Read one provider: its window of closed minutes, and the day before when due. */
export async function readProvider(
  rc: ReconcileConfig,
  provider: ProviderConfig,
  held: ProviderMemory | undefined,
  client: ProviderClient | ProviderFailure,
  lookup: PriceLookup,
  unpricedPerMillion: number,
  nowMs: number,
  signal: AbortSignal,
): Promise<ProviderMemory> {
  const memory: ProviderMemory = held === undefined ? emptyMemory() : { ...held };
  memory.triedAtMs = nowMs;
  const fail = (failure: ProviderFailure): ProviderMemory => {
    memory.failure = {
      kind: failure.kind,
      text: failure.message,
      sinceMs: held?.failure?.kind === failure.kind ? held.failure.sinceMs : nowMs,
    };
    // A Retry-After is obeyed, up to an hour (or `every`, when longer): a provider that asks for a
    // day must not silence the second witness for a day.
    memory.notBeforeMs =
      failure.kind === 'rate'
        ? nowMs +
          Math.min(Math.max(rc.everyMs, failure.retryAfterMs ?? 0), Math.max(rc.everyMs, MAX_RETRY_AFTER_MS))
        : null;
    return memory;
  };
  if (client instanceof ProviderFailure) return fail(client);
  // The price table against the provider's own invoice, once a day, for the day before (UTC),
  // read beside the window (a failed try is tried again an hour later).
  const daily = rc.dailyCheck;
  const yesterday = utcDay(nowMs - DAY_MS);
  const dailyDue =
    daily !== null &&
    nowMs - Math.floor(nowMs / DAY_MS) * DAY_MS >= daily.afterMs &&
    (held?.daily?.day !== yesterday ||
      (held.daily.providerMicros === null && nowMs - held.daily.checkedAtMs >= DAILY_RETRY_MS));
  const dailyRead = dailyDue
    ? Promise.all([
        client.dailyCosts(yesterday, yesterday, signal),
        client.dailyUsage(yesterday, yesterday, signal),
      ])
    : null;
  // Settled at once: a failure of the day's read is handled below, never unhandled.
  dailyRead?.catch(() => undefined);

  const windowMinutes = Math.max(1, Math.floor(rc.windowMs / MINUTE_MS));
  // Our last closed minute's end; the read asks the provider's clock for the same minutes.
  const toMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const fromMs = toMs - windowMinutes * MINUTE_MS;
  const shiftBefore = Math.round((held?.skewMs ?? 0) / MINUTE_MS);
  let failed: ProviderFailure | null = null;
  try {
    const read = await client.usage(fromMs + shiftBefore * MINUTE_MS, toMs + shiftBefore * MINUTE_MS, signal);
    const shift = read.skewMs === null ? shiftBefore : Math.round(read.skewMs / MINUTE_MS);
    const priced = priceRows(read.rows, provider.type, lookup, unpricedPerMillion, shift);
    const toMinute = toMs / MINUTE_MS;
    const fromMinute = fromMs / MINUTE_MS;
    memory.buckets = priced.buckets.filter((b) => b.minute >= fromMinute && b.minute < toMinute);
    memory.unpriced = priced.unpriced;
    memory.fromMs = fromMs;
    memory.toMs = toMs;
    memory.skewMs = read.skewMs;
    memory.pages = read.pages;
    memory.okAtMs = nowMs;
    memory.failure = null;
    memory.notBeforeMs = null;
  } catch (error) {
    failed =
      signal.aborted && !(error instanceof ProviderFailure)
        ? new ProviderFailure(
            'timeout',
            `${provider.name}: the read was cut off (the watchdog is stopping, or it took too long)`,
          )
        : failureOf(error, provider);
  }
  if (dailyRead !== null && daily !== null) {
    try {
      const [costs, usage] = await dailyRead;
      const providerUsd = costs.filter((c) => c.day === yesterday).reduce((sum, c) => sum + c.usd, 0);
      const pricedMicros = priceRows(usage, provider.type, lookup, unpricedPerMillion).buckets.reduce(
        (sum, b) => sum + b.micros,
        0,
      );
      const providerMicros = Math.round(providerUsd * 1e6);
      memory.daily = {
        day: yesterday,
        providerMicros,
        pricedMicros,
        off:
          providerUsd >= daily.minUsd &&
          Math.abs(pricedMicros - providerMicros) > daily.ratio * providerMicros,
        checkedAtMs: nowMs,
      };
    } catch {
      // The usage itself was read, and that is what is judged; the day is tried again later.
      memory.daily = {
        day: yesterday,
        providerMicros: null,
        pricedMicros: null,
        off: false,
        checkedAtMs: nowMs,
      };
    }
  }
  if (failed !== null) return fail(failed);
  return memory;
}

/**
 * Read every provider that is due (all with `force`), side by side, and save what they said.
 * Returns the names read.
 */
export async function pollProviders(
  config: Config,
  clients: ClientFactory,
  nowMs: number,
  signal: AbortSignal,
  force = false,
): Promise<string[]> {
  const rc = config.reconcile;
  if (rc === null) return [];
  const state: ReconcileState = readReconcileState(config.stateDir);
  const due = rc.providers.filter((p) => force || isDue(rc, state.providers[p.name], nowMs));
  if (due.length === 0) return [];
  const lookup = priceLookup(config.cost.prices, nowMs);
  // A bound over the whole read too: a provider that pages slowly must not hold on for ever.
  const bound = AbortSignal.any([signal, AbortSignal.timeout(Math.max(...due.map((p) => p.timeoutMs)) * 3)]);
  const read = await Promise.all(
    due.map((p) =>
      readProvider(
        rc,
        p,
        state.providers[p.name],
        clients(p),
        lookup,
        config.cost.unpricedPerMillion,
        nowMs,
        bound,
      ),
    ),
  );
  // Read again just before writing: another process (run beside watch) may have read others.
  const latest = readReconcileState(config.stateDir);
  due.forEach((p, i) => {
    latest.providers[p.name] = read[i] as ProviderMemory;
  });
  // Providers no longer configured are forgotten.
  for (const name of Object.keys(latest.providers))
    if (!rc.providers.some((p) => p.name === name)) delete latest.providers[name];
  writeReconcileState(config.stateDir, latest);
  return due.map((p) => p.name);
}
