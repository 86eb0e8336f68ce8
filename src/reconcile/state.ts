// What reconciling remembers between reads, in the state folder's reconcile.json: per provider,
// the priced buckets of its last good read, when it was read, and why the last read failed. A
// file that is missing or not of this shape is an empty memory (the next read fills it): it is
// a second witness, never a reason for a check to fail.
import { readJson, writeJsonAtomic } from '../effects/store.js';
import { reconcileFile } from '../effects/state-paths.js';
import type { PricedBucket } from './price.js';
import type { FailureKind } from './types.js';

export interface ProviderMemory {
  /** The last read tried, epoch ms (null: never). */
  triedAtMs: number | null;
  /** The last read that succeeded, epoch ms. */
  okAtMs: number | null;
  /** The closed minutes the last good read covered, [fromMs, toMs) on our clock. */
  fromMs: number;
  toMs: number;
  /** The provider's clock minus ours, ms (its `Date` header), at the last good read. */
  skewMs: number | null;
  buckets: PricedBucket[];
  /** Provider models without a price (counted at cost.unpriced_per_million_tokens). */
  unpriced: string[];
  /** Why the last read failed; null when it succeeded. */
  failure: { kind: FailureKind; text: string; sinceMs: number } | null;
  /** Not read again before this (a 429's Retry-After), epoch ms. */
  notBeforeMs: number | null;
  /** The daily cross-check of the price table, for the last UTC day checked. */
  daily: DailyMemory | null;
  /** Pages read by the last good read. */
  pages: number;
}

export interface DailyMemory {
  day: string;
  /** The provider's own figure and the price table's for that day, µ$ (null: not known). */
  providerMicros: number | null;
  pricedMicros: number | null;
  /** Off by more than daily_check.ratio. */
  off: boolean;
  checkedAtMs: number;
}

export interface ReconcileState {
  version: 1;
  providers: Record<string, ProviderMemory>;
}

export function emptyMemory(): ProviderMemory {
  return {
    triedAtMs: null,
    okAtMs: null,
    fromMs: 0,
    toMs: 0,
    skewMs: null,
    buckets: [],
    unpriced: [],
    failure: null,
    notBeforeMs: null,
    daily: null,
    pages: 0,
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function bucketsOf(value: unknown): PricedBucket[] {
  if (!Array.isArray(value)) return [];
  const out: PricedBucket[] = [];
  for (const b of value) {
    if (!Array.isArray(b) || b.length < 5) continue;
    const [minute, model, raw, key, micros] = b as unknown[];
    if (!Number.isInteger(minute) || typeof model !== 'string' || typeof raw !== 'string') continue;
    if (!(typeof micros === 'number' && Number.isInteger(micros) && micros > 0)) continue;
    out.push({ minute: minute as number, model, raw, key: typeof key === 'string' ? key : null, micros });
  }
  return out;
}

function memoryOf(value: unknown): ProviderMemory {
  const m = emptyMemory();
  if (value === null || typeof value !== 'object') return m;
  const v = value as Record<string, unknown>;
  m.triedAtMs = num(v.tried_at_ms);
  m.okAtMs = num(v.ok_at_ms);
  m.fromMs = num(v.from_ms) ?? 0;
  m.toMs = num(v.to_ms) ?? 0;
  m.skewMs = num(v.skew_ms);
  m.buckets = bucketsOf(v.buckets);
  m.unpriced = Array.isArray(v.unpriced) ? v.unpriced.filter((x): x is string => typeof x === 'string') : [];
  m.notBeforeMs = num(v.not_before_ms);
  m.pages = num(v.pages) ?? 0;
  const f = v.failure as Record<string, unknown> | null | undefined;
  if (f !== null && typeof f === 'object' && typeof f.kind === 'string' && typeof f.text === 'string')
    m.failure = { kind: f.kind as FailureKind, text: f.text, sinceMs: num(f.since_ms) ?? 0 };
  const d = v.daily as Record<string, unknown> | null | undefined;
  if (d !== null && typeof d === 'object' && typeof d.day === 'string')
    m.daily = {
      day: d.day,
      providerMicros: num(d.provider_micros),
      pricedMicros: num(d.priced_micros),
      off: d.off === true,
      checkedAtMs: num(d.checked_at_ms) ?? 0,
    };
  return m;
}

export function readReconcileState(stateDir: string): ReconcileState {
  const read = readJson(reconcileFile(stateDir));
  const state: ReconcileState = {
    version: 1,
    providers: Object.create(null) as Record<string, ProviderMemory>,
  };
  if (read.kind !== 'ok' || read.value === null || typeof read.value !== 'object') return state;
  const providers = (read.value as { providers?: unknown }).providers;
  if (providers === null || typeof providers !== 'object') return state;
  for (const [name, memory] of Object.entries(providers as Record<string, unknown>))
    state.providers[name] = memoryOf(memory);
  return state;
}

export function writeReconcileState(stateDir: string, state: ReconcileState): void {
  const providers: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(state.providers))
    providers[name] = {
      tried_at_ms: m.triedAtMs,
      ok_at_ms: m.okAtMs,
      from_ms: m.fromMs,
      to_ms: m.toMs,
      skew_ms: m.skewMs,
      pages: m.pages,
      unpriced: m.unpriced,
      not_before_ms: m.notBeforeMs,
      failure:
        m.failure === null
          ? null
          : { kind: m.failure.kind, text: m.failure.text, since_ms: m.failure.sinceMs },
      daily:
        m.daily === null
          ? null
          : {
              day: m.daily.day,
              provider_micros: m.daily.providerMicros,
              priced_micros: m.daily.pricedMicros,
              off: m.daily.off,
              checked_at_ms: m.daily.checkedAtMs,
            },
      buckets: m.buckets.map((b) => [b.minute, b.model, b.raw, b.key, b.micros]),
    };
  writeJsonAtomic(reconcileFile(stateDir), { version: 1, providers });
}
