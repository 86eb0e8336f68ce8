// The checkpoint (checkpoint.json in the state folder): where the log was read to, and the
// figures recomputed so far. Its format, its version and what an older or damaged one becomes,
// in one place. A checkpoint that is missing, corrupt or does not fit is not an error: the log
// is read again from the start, and the reason is said (CheckResult.rebuilt).
import * as z from 'zod';
import { type Config, horizonSeconds, sourcesKey } from '../config/index.js';
import { Attribution } from '../core/attribution.js';
import type { DayCalendar } from '../core/calendar.js';
import { Ledger } from '../core/ledger.js';
import { newTotals, type ScanTotals } from '../core/scan.js';
import { badField, count, jsonNumber, keepEntries, parseSaved } from '../core/saved/parse.js';
import { StormTracker } from '../core/storms.js';
import { shapeTrackerSettings } from '../core/storms/shapes.js';
import { ScopeCounter } from '../scopes/counter.js';
import { FailureError } from '../errors.js';
import { loadCursor, loadGenerations } from '../effects/log-tail.js';
import { checkpointFile } from '../effects/state-paths.js';
import { DedupeSet } from '../sources/dedupe.js';
import { DEDUPE_HORIZON_MS } from '../sources/sinks.js';
import { type FileState, loadPlaces, type PlacesBase, placesToSave, prunePlaces } from './places.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';
import { loadPriceCache, type PriceCache } from '../price-table.js';
import {
  loadSingles,
  nextSinglesRef,
  pruneSingles,
  SHAPES,
  type SinglesRef,
  shapeSinglesRefSchema,
  singlesRefSchema,
} from './storm-ids.js';

// 2: amounts in whole micro-dollars (core/money.ts). A version-1 checkpoint (dollar floats) is
// rebuilt from the log once, with a note.
// 3: one place per file of the sources (`files`). A version-2 checkpoint of the same one log is
// taken as it is.
const CHECKPOINT_VERSION = 3;

/** cost.currency_rates as the checkpoint remembers them: `EUR=1.08,USD=1`. */
function ratesKey(config: Config): string {
  return Object.entries(config.cost.currencyRates)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([code, rate]) => `${code}=${rate}`)
    .join(',');
}

export function checkpointPath(config: Config): string {
  return checkpointFile(config.stateDir);
}

export type { FileState } from './places.js';

export interface Loaded {
  /** Calls of the formats counted already (claude-code's copies of a message): counted once. */
  dedupe: DedupeSet;
  /** The base file of places the checkpoint named (null: none, or a rebuild). */
  placesBase: PlacesBase | null;
  /** Per file of the sources (absolute path): where it was read to. Empty on a rebuild. */
  files: Map<string, FileState>;
  ledger: Ledger;
  attribution: Attribution;
  totals: ScanTotals;
  storms: StormTracker | null;
  /** Lines without ids by call shape (null: shape storms off), and its shapes seen once. */
  shapes: StormTracker | null;
  shapeSinglesRef: SinglesRef | null;
  /** Scoped budgets' spend (empty when none are configured). */
  scopes: ScopeCounter;
  /** The retry-storm ids seen once that the checkpoint names. */
  singlesRef: SinglesRef | null;
  prices: PriceCache;
  savedAtMs: number | null;
  rebuilt: string | null;
  /** Spend saved as dated beyond now + the tolerance was moved to now (the clock went back): save that. */
  clockMoved: boolean;
}

export function stormSettings(config: Config): { count: number; windowMs: number } | null {
  return config.retryStorm === null
    ? null
    : { count: config.retryStorm.count, windowMs: config.retryStorm.windowMs };
}

/** The shape-storm tracker's settings (null: off). */
export function shapeSettings(config: Config): { count: number; windowMs: number; withIds: boolean } | null {
  return config.shapeStorm === null
    ? null
    : {
        count: config.shapeStorm.count,
        windowMs: config.shapeStorm.windowMs,
        withIds: config.shapeStorm.withIds,
      };
}

function shapeTracker(config: Config): ReturnType<typeof shapeTrackerSettings> | null {
  const settings = shapeSettings(config);
  return settings === null ? null : shapeTrackerSettings(settings);
}

const sampleSchema = z.looseObject({
  file: z.string(),
  line: jsonNumber,
  reason: z.string(),
  excerpt: z.string(),
});

const unpricedSchema = z.looseObject({
  lines: jsonNumber,
  tokens: jsonNumber,
  micros: jsonNumber,
  at_rate: jsonNumber,
  last_ms: jsonNumber,
});

/** The running totals. Totals saved by an older version lack the newer counts: they start at zero. */
const totalsSchema = z
  .looseObject({
    records: count,
    malformed: count,
    future_lines: count,
    uncosted_lines: count,
    // Added with the formats (issue 13): a checkpoint saved before has none.
    skipped_lines: count.optional().transform((v) => v ?? 0),
    newest_ms: count,
    malformed_samples: z.array(sampleSchema),
    zero_cost_lines: jsonNumber.catch(() => newTotals().zero_cost_lines),
    zero_cost_micros: jsonNumber.catch(() => newTotals().zero_cost_micros),
    unpriced: keepEntries(unpricedSchema),
  })
  .transform((totals) => totals as unknown as ScanTotals);

/** Where the log was read to: null before the log existed. */
const cursorSchema = z
  .unknown()
  .optional()
  .transform((value, ctx) => {
    if (value === null || value === undefined) return null;
    const cursor = loadCursor(value);
    if (cursor === null) {
      ctx.issues.push({ code: 'custom', message: 'not a place in the log', input: value });
      return z.NEVER;
    }
    return cursor;
  });

/**
 * What must be read for the checkpoint to be used: the place in the log and the totals (the
 * version, the log and the ledger are checked before, each with its own note). The rest is kept
 * where it can be (Attribution.fromState, StormTracker.fromState, loadGenerations,
 * loadPriceCache, the ids seen once): a part that cannot is started afresh alone.
 */
export const checkpointSchema = z.looseObject({
  current: cursorSchema,
  totals: totalsSchema,
  saved_at: z.string().catch(''),
  storm_singles: singlesRefSchema,
  shape_singles: shapeSinglesRefSchema,
});

/** The checkpoint, or a fresh start (and why) when it is missing, corrupt or does not fit. */
export function loadCheckpoint(
  config: Config,
  calendar: DayCalendar,
  nowMs: number,
  rebuild: string | null = null,
): Loaded {
  const horizon = horizonSeconds(config);
  const settings = stormSettings(config);
  const shaping = shapeTracker(config);
  const since = config.balance?.sinceMs ?? null;
  const fresh = (why: string | null): Loaded => ({
    dedupe: new DedupeSet(DEDUPE_HORIZON_MS),
    placesBase: null,
    files: new Map(),
    ledger: new Ledger(horizon, calendar, nowMs, since),
    attribution: new Attribution(horizon, calendar, nowMs),
    totals: newTotals(),
    storms: settings === null ? null : new StormTracker(settings, nowMs),
    shapes: shaping === null ? null : new StormTracker(shaping, nowMs),
    shapeSinglesRef: null,
    scopes: new ScopeCounter(config.scopes, calendar, nowMs),
    singlesRef: null,
    prices: loadPriceCache(null, nowMs),
    savedAtMs: null,
    rebuilt: why,
    clockMoved: false,
  });
  if (rebuild !== null) return fresh(rebuild);
  const read = readJson(checkpointPath(config));
  if (read.kind === 'missing') return fresh('no checkpoint yet: reading the whole log');
  if (read.kind === 'corrupt') return fresh(`checkpoint unreadable (${read.reason}): rebuilt from the log`);
  const cp = read.value as Record<string, unknown> | null;
  if (cp !== null && typeof cp === 'object' && cp.version === 1)
    return fresh(
      'checkpoint of an older version (amounts in dollars, now whole micro-dollars): rebuilt from ' +
        'the log once',
    );
  if (cp === null || typeof cp !== 'object' || (cp.version !== CHECKPOINT_VERSION && cp.version !== 2))
    return fresh('checkpoint in an unknown format: rebuilt from the log');
  if (cp.version === 2 ? !onlyLog(config, cp.log) : cp.sources !== sourcesKey(config.sources))
    return fresh('the configured logs changed: rebuilt from the log');
  // Lines in a currency without a rate were malformed, and others counted at the old rates: read
  // again at the new ones. (A checkpoint from before currencies holds USD alone.)
  if ((typeof cp.currency_rates === 'string' ? cp.currency_rates : 'USD=1') !== ratesKey(config))
    return fresh('cost.currency_rates changed: rebuilt from the log at the new rates');
  // The balance is summed from its `since` while reading: a new or moved since is counted from the
  // log again (only the log holds the spend before this checkpoint).
  if (since !== null) {
    const saved = (cp.ledger as { balance?: { since_ms?: unknown } } | null)?.balance?.since_ms;
    if (saved === undefined)
      return fresh('limits.balance is new: read from the log again to count the spend since its since');
    if (saved !== since)
      return fresh('limits.balance.since changed: read from the log again to count the spend since then');
  }
  const restored = Ledger.restore(cp.ledger, horizon, calendar, nowMs, since);
  if (restored === null)
    return fresh('checkpoint does not fit the configured windows or time zone: rebuilt from the log');
  const parsed = parseSaved(checkpointSchema, cp);
  if (!parsed.ok) return fresh(`checkpoint damaged (${badField(parsed)}): rebuilt from the log`);
  const scopes = ScopeCounter.fromState(cp.scopes, config.scopes, calendar, nowMs);
  if (scopes === null)
    return fresh('the scopes changed (or their saved spend does not fit): rebuilt from the log');
  const { totals, storm_singles: singlesRef, shape_singles: shapeSinglesRef } = parsed.value;
  const savedAtMs = Date.parse(parsed.value.saved_at);
  const at = Number.isNaN(savedAtMs) ? null : savedAtMs;
  let files: Map<string, FileState>;
  let placesBase: PlacesBase | null = null;
  if (cp.version === 2) {
    files = new Map();
    const current = parsed.value.current;
    if (current !== null && current !== undefined)
      files.set(config.log, {
        tail: { current, previous: loadGenerations(cp.previous, at, nowMs) },
        format: 'jsonl',
        lines: totals.records + totals.malformed,
        malformed: totals.malformed,
        skipped: 0,
        size: -1,
        mtimeMs: -1,
      });
  } else {
    const loadedPlaces = loadPlaces(config, cp, at, nowMs);
    if (typeof loadedPlaces === 'string') return fresh(`${loadedPlaces}: rebuilt from the log`);
    files = loadedPlaces.places;
    placesBase = loadedPlaces.base;
  }
  return {
    dedupe: DedupeSet.fromState(cp.dedupe, DEDUPE_HORIZON_MS),
    placesBase,
    files,
    ledger: restored.ledger,
    attribution: Attribution.fromState(cp.attribution, horizon, calendar, nowMs),
    totals,
    scopes,
    singlesRef,
    prices: loadPriceCache(cp.prices, nowMs),
    storms:
      settings === null
        ? null
        : StormTracker.fromState(
            cp.storms,
            settings,
            nowMs,
            () => loadSingles(config, singlesRef),
            singlesRef?.delta ?? [],
          ),
    shapes:
      shaping === null
        ? null
        : StormTracker.fromState(
            cp.shape_storms,
            shaping,
            nowMs,
            () => loadSingles(config, shapeSinglesRef),
            shapeSinglesRef?.delta ?? [],
          ),
    shapeSinglesRef,
    savedAtMs: Number.isNaN(savedAtMs) ? null : savedAtMs,
    rebuilt: null,
    clockMoved: restored.moved > 0,
  };
}

/**
 * Save what this check read and recomputed (the caller holds the lock), with the retry-storm ids
 * seen once beside it (storm-ids.ts).
 */
export function saveCheckpoint(
  config: Config,
  loaded: Loaded,
  files: ReadonlyMap<string, FileState>,
  nowMs: number,
): void {
  const storms = loaded.storms;
  const before = loaded.rebuilt === null ? loaded.singlesRef : null;
  const { ref: singlesRef, newBase } = nextSinglesRef(config, storms, before, nowMs);
  const shapes = loaded.shapes;
  const shapesBefore = loaded.rebuilt === null ? loaded.shapeSinglesRef : null;
  const shaped = nextSinglesRef(config, shapes, shapesBefore, nowMs, SHAPES);
  const places = placesToSave(config, files, loaded.rebuilt === null ? loaded.placesBase : null, nowMs);
  const checkpoint = {
    version: CHECKPOINT_VERSION,
    sources: sourcesKey(config.sources),
    currency_rates: ratesKey(config),
    saved_at: new Date(nowMs).toISOString(),
    ...places.part,
    ...(loaded.dedupe.size > 0 ? { dedupe: loaded.dedupe.toState() } : {}),
    ledger: loaded.ledger.toState(),
    attribution: loaded.attribution.toState(),
    totals: loaded.totals,
    ...(loaded.scopes.empty ? {} : { scopes: loaded.scopes.toState() }),
    ...(storms !== null ? { storm_singles: singlesRef } : {}),
    ...(shapes !== null ? { shape_singles: shaped.ref } : {}),
    prices: loaded.prices,
  };
  try {
    // The storm ids by name may be 100,000 of them: written as JSON text, one id at a time.
    writeJsonAtomic(checkpointPath(config), checkpoint, {
      ...(storms !== null
        ? { storms: (write: (b: Uint8Array) => void) => storms.writeStateJson(write) }
        : {}),
      ...(shapes !== null
        ? { shape_storms: (write: (b: Uint8Array) => void) => shapes.writeStateJson(write) }
        : {}),
    });
  } catch (error) {
    throw new FailureError(
      `cannot write the checkpoint ${checkpointPath(config)}: ${(error as Error).message}`,
    );
  }
  if (newBase || storms === null || loaded.rebuilt !== null) pruneSingles(config, singlesRef?.file ?? null);
  if (shaped.newBase || shapes === null || loaded.rebuilt !== null)
    pruneSingles(config, shaped.ref?.file ?? null, SHAPES);
  const placesNamed = (places.part.files_base as { file: string } | undefined)?.file ?? null;
  if (places.newBase !== null || loaded.placesBase?.ref.file !== placesNamed)
    prunePlaces(config, placesNamed);
}

/** A version-2 checkpoint names one log: it still fits a config of that one log, in jsonl. */
function onlyLog(config: Config, log: unknown): boolean {
  const [only, ...more] = config.sources;
  return (
    more.length === 0 && only !== undefined && !only.glob && only.format === 'jsonl' && only.pattern === log
  );
}
