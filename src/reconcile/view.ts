// What reconciling means for one check: the providers' last good reads (reconcile.json) against
// the logs' spend as this check counts it, per provider: the figures status shows, a signal at
// `unlogged_level` when unlogged spend is over the tolerance (it acts like a window: alert, flag,
// kill), and findings (a provider that cannot be read, its clock, models without a price, the
// daily cross-check of the price table). Reads nothing but what it is given.
import type { Config } from '../config/index.js';
import type { Attribution } from '../core/attribution.js';
import type { Finding } from '../core/findings/index.js';
import type { Ledger } from '../core/ledger.js';
import type { Level, WindowStatus } from '../core/levels.js';
import { dollarsOf, usdOfMicros } from '../core/money.js';
import type { PriceLookup } from '../core/prices.js';
import { type Comparison, compareUsage, type LoggedMinute, minuteRanges } from './compare.js';
import { canonicalModel, providerOfModel } from './price.js';
import type { ReconcileState } from './state.js';

const MINUTE_MS = 60_000;
export const RECONCILE_SIGNAL = 'reconcile';

/** A provider's signal name: `reconcile:openai`. */
export function reconcileSignalName(provider: string): string {
  return `${RECONCILE_SIGNAL}:${provider}`;
}

/** One provider's figures over the window (status --json `reconcile.<name>`). */
export interface ReconcileEntry {
  type: string;
  /** The newest closed minute compared (ISO), null before the first good read. */
  last_minute: string | null;
  /**
   * The newest minute in the window the provider reported usage for (ISO; null: none). A provider
   * that reports late shows nothing for its last minutes yet (Anthropic: typically within 5).
   */
  last_usage_minute: string | null;
  provider_usd: number;
  logged_usd: number;
  unlogged_usd: number;
  /** Seconds from the end of last_minute to now: how far behind the second witness is. */
  lag_seconds: number | null;
  level: Level;
  /** The last good read (ISO) and the last read tried. */
  read_at: string | null;
  tried_at: string | null;
  /** When the next read is due (a 429's Retry-After, up to an hour, else the last try + every). */
  next_read_at: string | null;
  /** Why the last read failed (null: it did not). */
  error: string | null;
  /** The last good read is too old to judge by: no signal until the provider answers again. */
  stale: boolean;
  /** The provider's clock minus ours, seconds (its Date header). */
  clock_offset_seconds: number | null;
  window_seconds: number;
  /** Models with unlogged spend, the largest first. */
  unlogged_models: { model: string; names: string[]; provider_usd: number; logged_usd: number }[];
  /** Minutes where the provider billed more than the logs show, in words ("12:03-12:09 UTC"). */
  unlogged_minutes: string;
  unlogged_keys: { key: string; usd: number }[];
  unpriced_models: string[];
}

export interface ReconcileView {
  entries: Record<string, ReconcileEntry>;
  signals: WindowStatus[];
  findings: Finding[];
}

/** The logs' spend per minute over [fromMinute, toMinute), per canonical model. */
export function loggedMinutes(
  ledger: Ledger,
  attribution: Attribution,
  lookup: PriceLookup,
  fromMinute: number,
  toMinute: number,
): Map<number, LoggedMinute> {
  const out = new Map<number, LoggedMinute>();
  const names = new Map<string, string>();
  const canonical = (name: string): string => {
    let c = names.get(name);
    if (c === undefined) {
      c = canonicalModel(name, null, lookup);
      names.set(name, c);
    }
    return c;
  };
  const byModel = attribution.modelsByMinute(fromMinute, toMinute);
  for (const [minuteMs, total] of ledger.perMinute(fromMinute * MINUTE_MS, (toMinute - 1) * MINUTE_MS)) {
    const minute = Math.floor(minuteMs / MINUTE_MS);
    const models = new Map<string, number>();
    for (const [name, micros] of byModel.get(minute) ?? []) {
      const c = canonical(name);
      models.set(c, (models.get(c) ?? 0) + micros);
    }
    if (total > 0 || models.size > 0) out.set(minute, { models, total });
  }
  return out;
}

function detailOf(name: string, c: Comparison, tolerance: { usd: number; ratio: number }): string {
  const models = c.models
    .slice(0, 3)
    .map((m) => `${m.names.join('/')} ${usdOfMicros(m.providerMicros - m.loggedMicros)}`)
    .join(', ');
  const keys = c.keys
    .slice(0, 3)
    .map(([k]) => k)
    .join(', ');
  return (
    `${reconcileSignalName(name)}: the provider billed ${usdOfMicros(c.unloggedMicros)} the logs do ` +
    `not show (provider ` +
    `${usdOfMicros(c.providerMicros)}, logs ${usdOfMicros(c.loggedMicros)}; tolerance ` +
    `$${tolerance.usd} and ${Math.round(tolerance.ratio * 100)} %)` +
    `${c.minutes.length > 0 ? ` in ${minuteRanges(c.minutes)}` : ''}` +
    `${models !== '' ? `: ${models}` : ''}${keys !== '' ? ` (${keys})` : ''}`
  );
}

/** A client's message starts with the provider's name: said once. */
function withoutName(text: string, name: string): string {
  return text.startsWith(`${name}: `) ? text.slice(name.length + 2) : text;
}

/** The view for a check at `nowMs`. */
export function reconcileView(
  config: Config,
  state: ReconcileState,
  ledger: Ledger,
  attribution: Attribution,
  lookup: PriceLookup,
  nowMs: number,
): ReconcileView {
  const view: ReconcileView = { entries: {}, signals: [], findings: [] };
  const rc = config.reconcile;
  if (rc === null) return view;
  const windowMinutes = Math.max(1, Math.floor(rc.windowMs / MINUTE_MS));
  const staleMs = rc.windowMs + 2 * rc.everyMs + 5 * MINUTE_MS;
  for (const p of rc.providers) {
    const memory = state.providers[p.name];
    const entry: ReconcileEntry = {
      type: p.type,
      last_minute: null,
      last_usage_minute: null,
      provider_usd: 0,
      logged_usd: 0,
      unlogged_usd: 0,
      lag_seconds: null,
      level: 'ok',
      read_at: memory?.okAtMs == null ? null : new Date(memory.okAtMs).toISOString(),
      tried_at: memory?.triedAtMs == null ? null : new Date(memory.triedAtMs).toISOString(),
      next_read_at:
        memory?.triedAtMs == null
          ? null
          : new Date(Math.max(memory.notBeforeMs ?? 0, memory.triedAtMs + rc.everyMs)).toISOString(),
      error: memory?.failure?.text ?? null,
      stale: false,
      clock_offset_seconds: memory?.skewMs == null ? null : Math.round(memory.skewMs / 1000),
      window_seconds: windowMinutes * 60,
      unlogged_models: [],
      unlogged_minutes: '',
      unlogged_keys: [],
      unpriced_models: memory?.unpriced ?? [],
    };
    view.entries[p.name] = entry;
    if (memory?.failure != null)
      view.findings.push({
        key: `reconcile:failed:${p.name}:${memory.failure.kind}`,
        kind: 'reconcile',
        text:
          `reconcile ${p.name}: ${withoutName(memory.failure.text, p.name)}` +
          `${memory.okAtMs === null ? '' : `; last read ${new Date(memory.okAtMs).toISOString()}`}` +
          ': until it answers, only the logs are watched',
      });
    for (const model of memory?.unpriced ?? [])
      view.findings.push({
        key: `reconcile:unpriced:${p.name}:${model}`,
        kind: 'reconcile',
        text:
          `reconcile ${p.name}: the provider reports usage of ${JSON.stringify(model)}, which has no ` +
          `price: it counts at cost.unpriced_per_million_tokens ($${config.cost.unpricedPerMillion}/M)`,
      });
    if (memory?.skewMs != null && Math.abs(memory.skewMs) >= MINUTE_MS)
      view.findings.push({
        key: `reconcile:clock:${p.name}`,
        kind: 'reconcile',
        text:
          `reconcile ${p.name}: the provider's clock is ${Math.round(Math.abs(memory.skewMs) / 1000)}s ` +
          `${memory.skewMs > 0 ? 'ahead of' : 'behind'} this host's: its minutes are moved onto this ` +
          `host's clock before they are compared (check NTP here)`,
      });
    const daily = memory?.daily ?? null;
    if (daily?.off === true && daily.providerMicros !== null && daily.pricedMicros !== null) {
      const share = Math.abs(daily.pricedMicros - daily.providerMicros) / Math.max(1, daily.providerMicros);
      view.findings.push({
        key: `reconcile:daily:${p.name}:${daily.day}`,
        kind: 'reconcile',
        text:
          `price check: ${p.name}'s cost report bills ${usdOfMicros(daily.providerMicros)} for ` +
          `${daily.day} (UTC), and the price table prices that day's usage at ` +
          `${usdOfMicros(daily.pricedMicros)} (${Math.round(share * 100)} % off, more than ` +
          `${Math.round((rc.dailyCheck?.ratio ?? 0.1) * 100)} %): cost.prices or the price table may be ` +
          'out of date, and estimated spend with it',
      });
    }
    if (memory === undefined || memory.okAtMs === null || memory.toMs <= memory.fromMs) continue;
    const toMinute = Math.floor(memory.toMs / MINUTE_MS);
    const fromMinute = toMinute - windowMinutes;
    entry.last_minute = new Date((toMinute - 1) * MINUTE_MS).toISOString();
    entry.lag_seconds = Math.max(0, Math.round((nowMs - toMinute * MINUTE_MS) / 1000));
    entry.stale = nowMs - memory.okAtMs > staleMs;
    const logged = loggedMinutes(ledger, attribution, lookup, fromMinute - 1, toMinute + 1);
    const c = compareUsage({
      providerType: p.type,
      buckets: memory.buckets,
      fromMinute,
      toMinute,
      logged,
      providerOf: providerOfModel,
      tolerance: rc.tolerance,
    });
    entry.last_usage_minute =
      c.lastUsageMinute === null ? null : new Date(c.lastUsageMinute * MINUTE_MS).toISOString();
    entry.provider_usd = dollarsOf(c.providerMicros);
    entry.logged_usd = dollarsOf(c.loggedMicros);
    entry.unlogged_usd = dollarsOf(c.unloggedMicros);
    entry.unlogged_models = c.models.slice(0, 10).map((m) => ({
      model: m.model,
      names: m.names,
      provider_usd: dollarsOf(m.providerMicros),
      logged_usd: dollarsOf(m.loggedMicros),
    }));
    entry.unlogged_minutes = c.unloggedMicros > 0 ? minuteRanges(c.minutes) : '';
    entry.unlogged_keys = c.keys.slice(0, 10).map(([key, micros]) => ({ key, usd: dollarsOf(micros) }));
    if (c.over && !entry.stale) {
      entry.level = rc.unloggedLevel;
      view.signals.push({
        name: reconcileSignalName(p.name),
        seconds: windowMinutes * 60,
        limits: {},
        spend: dollarsOf(c.unloggedMicros),
        level: rc.unloggedLevel,
        detail: detailOf(p.name, c, rc.tolerance),
      });
    }
  }
  return view;
}
