// What the main thread (helper.ts) and the worker (worker.ts) of a two-thread full read say to
// each other: the job, the price questions the worker asks, and its answer (its part of the log
// counted). Both sides are built together; the build id (build-id.ts) says they were.
import type { MessagePort } from 'node:worker_threads';
import type { AttributionState } from '../core/attribution.js';
import type { LedgerState } from '../core/ledger.js';
import type { ModelRates } from '../core/prices.js';
import type { MalformedSample, PackedScopes, ScanTotals } from '../core/scan.js';
import type { StormState } from '../core/storms.js';
import type { Config, ScopeConfig } from '../config/index.js';
import type { PriceCache } from '../price-table.js';

/** What the worker is to read, and how to count it: the main thread's settings. */
export interface HelperJob {
  file: string;
  start: number;
  end: number;
  nowMs: number;
  horizonSec: number;
  /** limits.balance.since (epoch ms): spend from then on is summed too; null without a balance. */
  balanceSinceMs: number | null;
  timezone: string;
  fields: Config['fields'];
  tokens: boolean;
  stormKey: 'request_id' | 'fingerprint' | null;
  storms: { count: number; windowMs: number } | null;
  /** Lines without ids followed by call shape (core/storms/shapes.ts); null: off. */
  shapes: { count: number; windowMs: number; withIds?: boolean } | null;
  policy: Config['cost']['policy'];
  unpricedPerMillion: number;
  maxLineUsd: number;
  currencyRates: Record<string, number>;
  prices: Config['cost']['prices'];
  priceCache: PriceCache;
  /** Scoped budgets to count too (empty: none); `task`: read the task field on every line. */
  scopes: ScopeConfig[];
  task: boolean;
  /** The log's `source` (relative to the config's folder), for scopes matching on it. */
  source: string;
}

/** The worker's workerData. */
export interface WorkerData {
  job: HelperJob;
  /** Shared words: see DONE and ANSWERS. */
  signal: Int32Array;
  port: MessagePort;
  /** The main thread's build id: a worker of another build reads nothing and says so. */
  buildId: string;
}

/** What a helper thread found reading part of the log (see absorbPart in merge.ts). */
export interface PartScan {
  /** Complete lines in the part (blank and malformed ones included). */
  lines: number;
  ledger: LedgerState;
  attribution: AttributionState;
  totals: ScanTotals;
  found: MalformedSample[];
  foundCount: number;
  newestReadMs: number;
  stormNamed: StormState;
  /** Ids seen once, [hash, time, cost] sorted by hash. */
  stormSingles: Float64Array;
  /** Where each of those is in the log: byte offset * 65536 + length; 0 when in stormNames. */
  stormRefs: Float64Array;
  /** Names of ids seen once that have no place in the log's bytes (escaped, numbers): [index, name]. */
  stormNames: [number, string][];
  /** What the part gave each scoped budget (null: none configured). */
  scopes: PackedScopes | null;
  /** Call shapes seen more than once in the part, by name (as stormNamed). */
  shapeNamed: StormState;
  /** Call shapes seen once, [hash, time, cost] sorted by hash. */
  shapeSingles: Float64Array;
  /** Per shape seen once, what names it: [model, who * 3 + kind, input, output] (ShapeNotes). */
  shapeNotes: Float64Array;
  /** The names those point into. */
  shapeNoteNames: string[];
}

/** The worker's last message. `otherBuild`: it is of another build (its id), and read nothing. */
export type HelperAnswer =
  | ({ ok: true; dev: number; ino: number } & PartScan)
  | { ok: false; error: string; otherBuild?: string };

/**
 * The worker does not load the price table (about 20 MB and 25 ms a thread): it asks the main
 * thread, which answers between its chunks (poll) and while it waits (claim).
 */
export interface PriceQuestion {
  ask: number;
  model: string;
  provider: string | null;
}
export interface PriceAnswer {
  answer: number;
  rates: ModelRates | null;
}

/** Shared words: [0] the worker is done (1) or failed (2); [1] answers given so far. */
export const DONE = 0;
export const ANSWERS = 1;
