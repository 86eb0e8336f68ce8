// The checkpoint (checkpoint.json in the state folder): where the log was read to, and the
// figures recomputed so far. Its format, its version and what an older or damaged one becomes,
// in one place. A checkpoint that is missing, corrupt or does not fit is not an error: the log
// is read again from the start, and the reason is said (CheckResult.rebuilt).
import { type Config, horizonSeconds } from '../config.js';
import { Attribution } from '../core/attribution.js';
import type { DayCalendar } from '../core/calendar.js';
import { Ledger } from '../core/ledger.js';
import { type MalformedSample, newTotals, type ScanTotals } from '../core/scan.js';
import { StormTracker } from '../core/storms.js';
import { FailureError } from '../errors.js';
import { loadCursor, loadGenerations, saveCursor, type TailState } from '../effects/log-tail.js';
import { checkpointFile } from '../effects/state-paths.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';
import { loadPriceCache, type PriceCache } from '../price-table.js';
import { loadSingles, nextSinglesRef, pruneSingles, type SinglesRef, singlesRefOf } from './storm-ids.js';

// 2: amounts in whole micro-dollars (core/money.ts). A version-1 checkpoint (dollar floats) is
// rebuilt from the log once, with a note.
const CHECKPOINT_VERSION = 2;

export function checkpointPath(config: Config): string {
  return checkpointFile(config.stateDir);
}

export interface Loaded {
  tail: TailState | null;
  ledger: Ledger;
  attribution: Attribution;
  totals: ScanTotals;
  storms: StormTracker | null;
  /** The retry-storm ids seen once that the checkpoint names. */
  singlesRef: SinglesRef | null;
  prices: PriceCache;
  savedAtMs: number | null;
  rebuilt: string | null;
  /** Spend saved as dated beyond now + the tolerance was moved to now (the clock went back): save that. */
  clockMoved: boolean;
}

function isTotals(value: unknown): value is ScanTotals {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  const counts = ['records', 'malformed', 'future_lines', 'uncosted_lines', 'newest_ms'];
  return (
    counts.every((k) => typeof v[k] === 'number' && (v[k] as number) >= 0) &&
    Array.isArray(v.malformed_samples) &&
    v.malformed_samples.every(isSample)
  );
}

/** Totals saved by an older version lack the newer counts: they start at zero. */
function withNewCounts(totals: ScanTotals): ScanTotals {
  const fresh = newTotals();
  const v = totals as Partial<ScanTotals>;
  const unpriced: ScanTotals['unpriced'] = {};
  if (v.unpriced !== null && typeof v.unpriced === 'object') {
    for (const [name, entry] of Object.entries(v.unpriced)) {
      if (
        entry !== null &&
        typeof entry === 'object' &&
        ['lines', 'tokens', 'micros', 'at_rate', 'last_ms'].every(
          (k) => typeof (entry as unknown as Record<string, unknown>)[k] === 'number',
        )
      )
        unpriced[name] = entry;
    }
  }
  return {
    ...totals,
    zero_cost_lines: typeof v.zero_cost_lines === 'number' ? v.zero_cost_lines : fresh.zero_cost_lines,
    zero_cost_micros: typeof v.zero_cost_micros === 'number' ? v.zero_cost_micros : fresh.zero_cost_micros,
    unpriced,
  };
}

export function stormSettings(config: Config): { count: number; windowMs: number } | null {
  return config.retryStorm === null
    ? null
    : { count: config.retryStorm.count, windowMs: config.retryStorm.windowMs };
}

function isSample(value: unknown): value is MalformedSample {
  const s = value as Partial<MalformedSample> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    typeof s.file === 'string' &&
    typeof s.line === 'number' &&
    typeof s.reason === 'string' &&
    typeof s.excerpt === 'string'
  );
}

/** The checkpoint, or a fresh start (and why) when it is missing, corrupt or does not fit. */
export function loadCheckpoint(config: Config, calendar: DayCalendar, nowMs: number): Loaded {
  const horizon = horizonSeconds(config);
  const settings = stormSettings(config);
  const fresh = (why: string | null): Loaded => ({
    tail: null,
    ledger: new Ledger(horizon, calendar, nowMs),
    attribution: new Attribution(horizon, calendar, nowMs),
    totals: newTotals(),
    storms: settings === null ? null : new StormTracker(settings, nowMs),
    singlesRef: null,
    prices: loadPriceCache(null, nowMs),
    savedAtMs: null,
    rebuilt: why,
    clockMoved: false,
  });
  const read = readJson(checkpointPath(config));
  if (read.kind === 'missing') return fresh('no checkpoint yet: reading the whole log');
  if (read.kind === 'corrupt') return fresh(`checkpoint unreadable (${read.reason}): rebuilt from the log`);
  const cp = read.value as Record<string, unknown> | null;
  if (cp !== null && typeof cp === 'object' && cp.version === 1)
    return fresh(
      'checkpoint of an older version (amounts in dollars, now whole micro-dollars): rebuilt from the log once',
    );
  if (cp === null || typeof cp !== 'object' || cp.version !== CHECKPOINT_VERSION)
    return fresh('checkpoint in an unknown format: rebuilt from the log');
  if (cp.log !== config.log) return fresh('the configured log changed: rebuilt from the log');
  const restored = Ledger.restore(cp.ledger, horizon, calendar, nowMs);
  if (restored === null)
    return fresh('checkpoint does not fit the configured windows or time zone: rebuilt from the log');
  const current = cp.current === null ? null : loadCursor(cp.current);
  if ((cp.current !== null && current === null) || !isTotals(cp.totals))
    return fresh('checkpoint damaged: rebuilt from the log');
  const savedAtMs = typeof cp.saved_at === 'string' ? Date.parse(cp.saved_at) : NaN;
  const previous = loadGenerations(cp.previous, Number.isNaN(savedAtMs) ? null : savedAtMs, nowMs);
  return {
    tail: current === null ? null : { current, previous },
    ledger: restored.ledger,
    attribution: Attribution.fromState(cp.attribution, horizon, calendar, nowMs),
    totals: withNewCounts(cp.totals),
    singlesRef: singlesRefOf(cp.storm_singles),
    prices: loadPriceCache(cp.prices, nowMs),
    storms:
      settings === null
        ? null
        : StormTracker.fromState(
            cp.storms,
            settings,
            nowMs,
            () => loadSingles(config, singlesRefOf(cp.storm_singles)),
            singlesRefOf(cp.storm_singles)?.delta ?? [],
          ),
    savedAtMs: Number.isNaN(savedAtMs) ? null : savedAtMs,
    rebuilt: null,
    clockMoved: restored.moved > 0,
  };
}

/**
 * Save what this check read and recomputed (the caller holds the lock), with the retry-storm ids
 * seen once beside it (storm-ids.ts).
 */
export function saveCheckpoint(config: Config, loaded: Loaded, tail: TailState, nowMs: number): void {
  const storms = loaded.storms;
  const before = loaded.rebuilt === null ? loaded.singlesRef : null;
  const { ref: singlesRef, newBase } = nextSinglesRef(config, storms, before, nowMs);
  const checkpoint = {
    version: CHECKPOINT_VERSION,
    log: config.log,
    saved_at: new Date(nowMs).toISOString(),
    current: tail.current === null ? null : saveCursor(tail.current),
    previous: tail.previous.map(saveCursor),
    ledger: loaded.ledger.toState(),
    attribution: loaded.attribution.toState(),
    totals: loaded.totals,
    ...(storms !== null ? { storm_singles: singlesRef } : {}),
    prices: loaded.prices,
  };
  try {
    // The storm ids by name may be 100,000 of them: written as JSON text, one id at a time.
    writeJsonAtomic(
      checkpointPath(config),
      checkpoint,
      storms !== null ? { storms: (write) => storms.writeStateJson(write) } : {},
    );
  } catch (error) {
    throw new FailureError(
      `cannot write the checkpoint ${checkpointPath(config)}: ${(error as Error).message}`,
    );
  }
  if (newBase || storms === null || loaded.rebuilt !== null) pruneSingles(config, singlesRef?.file ?? null);
}
