// `replay`'s reading: the files' lines, through the watchdog's own parser and costing (the
// SpendScanner of a check, its LineParser per source, the formats' sinks, the price table and the
// cost policy), into the timeline (timeline.ts) in time order. One file is read straight through,
// a chunk at a time. Several are merged by line time: each file is read a chunk at a time into a
// small queue of its costed lines, and the file whose next line is oldest goes next, so memory
// holds one chunk's lines per file, never a whole log. Reads only: nothing is written anywhere.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import type { CostRecord } from '../core/fields.js';
import { MAX_LABELS } from '../core/labels.js';
import type { Ledger } from '../core/ledger.js';
import { type AssemblerState, feed, newAssembler, SCAN_PADDING } from '../core/lines.js';
import { PriceBook } from '../core/prices.js';
import { type Costing, newTotals, type ScanTotals, type ScopeSink, SpendScanner } from '../core/scan.js';
import type { StormTracker } from '../core/storms.js';
import { priceLookup } from '../price-table.js';
import { DedupeSet } from '../sources/dedupe.js';
import { DEDUPE_HORIZON_MS, SourceSinks } from '../sources/sinks.js';
import type { ReplayFile } from './files.js';
import { ScopeResolver } from './scopes.js';
import { type ReplayStormFound, StormWatch } from './storms.js';
import { type Crossing, type Instance, type Series, Timeline } from './timeline.js';

const CHUNK = 1024 * 1024;
/** Bytes of chunk per file when many are merged (their queues are held at once). */
const MERGE_BUDGET = 32 * 1024 * 1024;
const MIN_CHUNK = 16 * 1024;

export interface ReplayInput {
  config: Config;
  files: readonly ReplayFile[];
  fromMs: number;
  toMs: number;
  nowMs: number;
  /** Called between chunks with the bytes read so far. */
  progress?: (bytesRead: number) => void;
}

export interface ReplayOutcome {
  fromMs: number | null;
  toMs: number | null;
  total: number;
  records: number;
  malformed: number;
  outside: number;
  crossings: Crossing[];
  storms: ReplayStormFound[];
  /** Call shapes of lines without ids billed again and again (id: the shape's name). */
  shapeStorms: ReplayStormFound[];
  totals: ScanTotals;
  minutes: [number, number][];
  series: Series[];
  /** Files that could not be read (or not to the end). */
  errors: string[];
  /** Scopes with more values than are kept by name. */
  overflowed: string[];
}

/** A file's costed lines not yet replayed (multi-file merge), as parallel arrays. */
class Queue {
  times: number[] = [];
  costs: number[] = [];
  scopes: (Instance[] | null)[] = [];
  hashes: number[] = [];
  texts: (string | null)[] = [];
  /** The hash of the line's call shape (core/storms/shapes.ts), -1: none; and its name. */
  shapeHashes: number[] = [];
  shapeTexts: (string | null)[] = [];
  pos = 0;
  get size(): number {
    return this.times.length - this.pos;
  }
  clear(): void {
    this.times.length = 0;
    this.costs.length = 0;
    this.scopes.length = 0;
    this.hashes.length = 0;
    this.texts.length = 0;
    this.shapeHashes.length = 0;
    this.shapeTexts.length = 0;
    this.pos = 0;
  }
}

/**
 * Where the scanner's counted lines go: straight into the timeline, or (merging files) into the
 * queue of the file being read. The scanner calls, per line, ledger.add, then scopes.add, then
 * storms.add: the three ports below.
 */
class Router {
  queue: Queue | null = null;
  /** The line last given to the timeline was replayed (not after --to). */
  private live = false;
  private readonly scratch: Instance[] = [];

  constructor(
    readonly timeline: Timeline,
    readonly resolver: ScopeResolver | null,
    readonly storms: StormWatch | null,
    readonly shapes: StormWatch | null = null,
  ) {}

  line(timeMs: number, cost: number): void {
    const q = this.queue;
    if (q !== null) {
      q.times.push(timeMs);
      q.costs.push(cost);
      q.scopes.push(null);
      q.hashes.push(-1);
      q.texts.push(null);
      q.shapeHashes.push(-1);
      q.shapeTexts.push(null);
      return;
    }
    this.live = this.timeline.add(timeMs, cost);
  }

  scope(timeMs: number, cost: number, record: CostRecord, source: string): void {
    if (cost === 0 || this.resolver === null) return;
    const q = this.queue;
    if (q !== null) {
      const found = this.resolver.instancesOf(record, source, []);
      if (found.length > 0) q.scopes[q.scopes.length - 1] = found;
      return;
    }
    if (!this.live) return;
    const found = this.resolver.instancesOf(record, source, this.scratch);
    for (let i = 0; i < found.length; i++) this.timeline.addTo(found[i] as Instance, timeMs, cost);
  }

  storm(hash: number, timeMs: number, cost: number, text: () => string): void {
    const q = this.queue;
    if (q !== null) {
      q.hashes[q.hashes.length - 1] = hash;
      q.texts[q.texts.length - 1] = text();
      return;
    }
    if (this.live) this.storms?.add(hash, timeMs, cost, this.timeline.clockMs, text);
  }

  /** A line without ids, by its call shape (core/storms/shapes.ts): as storm(), into `shapes`. */
  shape(hash: number, timeMs: number, cost: number, text: () => string): void {
    const q = this.queue;
    if (q !== null) {
      q.shapeHashes[q.shapeHashes.length - 1] = hash;
      q.shapeTexts[q.shapeTexts.length - 1] = text();
      return;
    }
    if (this.live) this.shapes?.add(hash, timeMs, cost, this.timeline.clockMs, text);
  }

  /** The next line of a file's queue, into the timeline. */
  replay(q: Queue): void {
    const i = q.pos++;
    const timeMs = q.times[i] as number;
    const cost = q.costs[i] as number;
    if (!this.timeline.add(timeMs, cost)) return;
    const scopes = q.scopes[i];
    if (scopes !== null && scopes !== undefined)
      for (const instance of scopes) this.timeline.addTo(instance, timeMs, cost);
    const hash = q.hashes[i] as number;
    if (hash >= 0 && this.storms !== null) {
      const text = q.texts[i] as string;
      this.storms.add(hash, timeMs, cost, this.timeline.clockMs, () => text);
    }
    const shape = q.shapeHashes[i] as number;
    if (shape >= 0 && this.shapes !== null) {
      const text = q.shapeTexts[i] as string;
      this.shapes.add(shape, timeMs, cost, this.timeline.clockMs, () => text);
    }
  }
}

/** One file being read: where, and its unfinished line. */
interface Stream {
  file: ReplayFile;
  offset: number;
  asm: AssemblerState;
  done: boolean;
  queue: Queue;
}

export function replay(input: ReplayInput): ReplayOutcome {
  const { config, files, fromMs, toMs, nowMs } = input;
  const calendar = new DayCalendar(config.timezone);
  const timeline = new Timeline(config.windows, {
    fromMs,
    toMs,
    dayOf: (ms) => calendar.dayOf(ms),
    series: true,
  });
  const resolver = config.scopes.length === 0 ? null : new ScopeResolver(config.scopes, timeline);
  const stormConfig = config.retryStorm;
  const storms = stormConfig === null ? null : new StormWatch(stormConfig.count, stormConfig.windowMs);
  const shapeConfig = config.shapeStorm;
  const shapes = shapeConfig === null ? null : new StormWatch(shapeConfig.count, shapeConfig.windowMs);
  const router = new Router(timeline, resolver, storms, shapes);
  const totals = newTotals();
  const estimates = config.cost.policy !== 'reported';
  const costing: Costing = {
    policy: config.cost.policy,
    prices: new PriceBook(priceLookup(config.cost.prices, nowMs), MAX_LABELS),
    unpricedPerMillion: config.cost.unpricedPerMillion,
    maxLineUsd: config.cost.maxLineUsd,
    currencyRates: config.cost.currencyRates,
  };
  const readsTask = config.scopes.some((s) => s.each === 'task' || s.match.some((m) => m.field === 'task'));
  const sinks = new SourceSinks(
    {
      labels: true,
      tokens: estimates,
      task: readsTask,
      ...(stormConfig === null ? {} : { stormKey: stormConfig.key }),
      ...(shapeConfig === null ? {} : { shapes: true, shapesWithIds: shapeConfig.withIds }),
    },
    new DedupeSet(DEDUPE_HORIZON_MS),
  );
  // The scanner counts into the router: only add() of its ledger is called while counting lines.
  const ledgerPort = { add: (timeMs: number, cost: number) => router.line(timeMs, cost) };
  const stormPort = {
    add: (hash: number, timeMs: number, cost: number, text: () => string) =>
      router.storm(hash, timeMs, cost, text),
  };
  const scanner = new SpendScanner(
    sinks.parserFor(config.sources[0]!),
    ledgerPort as unknown as Ledger,
    nowMs,
    totals,
    null,
    costing,
    storms === null ? null : (stormPort as unknown as StormTracker),
  );
  sinks.countInto(scanner);
  if (shapes !== null) {
    const shapePort = {
      add: (hash: number, timeMs: number, cost: number, text: () => string) =>
        router.shape(hash, timeMs, cost, text),
    };
    scanner.shapes = shapePort as unknown as StormTracker;
  }
  if (resolver !== null) {
    const scopePort: ScopeSink = {
      add: (timeMs, cost, record, source) => router.scope(timeMs, cost, record, source),
      pack: () => {
        throw new Error('replay: scopes are not packed');
      },
      absorbPacked: () => {
        throw new Error('replay: scopes are not packed');
      },
    };
    scanner.scopes = scopePort;
  }
  const single = files.length === 1;
  scanner.sourceTops = false;
  const errors: string[] = [];
  const chunk = single
    ? CHUNK
    : Math.max(MIN_CHUNK, Math.min(CHUNK, Math.floor(MERGE_BUDGET / files.length)));
  const buffer = new Uint8Array(chunk + SCAN_PADDING);
  let bytesRead = 0;

  /** Read the next chunk of a stream into the scanner; false at its end (or on an error, said). */
  const readChunk = (s: Stream): boolean => {
    if (s.done) return false;
    scanner.source = config.sources.length === 1 && !config.sources[0]!.glob ? '' : s.file.source;
    const sink = sinks.sinkFor(s.file.spec, s.file.source);
    let fd: number;
    try {
      fd = openSync(s.file.path, 'r');
    } catch (error) {
      errors.push(`cannot read ${s.file.path}: ${(error as Error).message}`);
      s.done = true;
      return false;
    }
    try {
      const n = readSync(fd, buffer, 0, chunk, s.offset);
      if (n <= 0) {
        s.done = true;
        return false;
      }
      buffer.fill(10, n, n + SCAN_PADDING);
      feed(s.asm, buffer.subarray(0, n + SCAN_PADDING), sink, s.offset === 0, n);
      s.offset += n;
      bytesRead += n;
      return true;
    } catch (error) {
      errors.push(`cannot read ${s.file.path}: ${(error as Error).message}`);
      s.done = true;
      return false;
    } finally {
      closeSync(fd);
    }
  };

  const streams: Stream[] = files.map((file) => ({
    file,
    offset: 0,
    asm: newAssembler(),
    done: false,
    queue: new Queue(),
  }));
  let chunks = 0;
  const tick = (): void => {
    if (++chunks % 4 === 0) input.progress?.(bytesRead);
  };

  if (single) {
    const s = streams[0] as Stream;
    while (readChunk(s)) tick();
  } else {
    // Fill each file's queue: the file whose next line is oldest goes next (a binary heap).
    const fill = (s: Stream): boolean => {
      s.queue.clear();
      router.queue = s.queue;
      while (s.queue.size === 0 && readChunk(s)) tick();
      router.queue = null;
      return s.queue.size > 0;
    };
    const heap: Stream[] = streams.filter(fill);
    const headOf = (s: Stream): number => s.queue.times[s.queue.pos] as number;
    const down = (i: number): void => {
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && headOf(heap[l] as Stream) < headOf(heap[m] as Stream)) m = l;
        if (r < n && headOf(heap[r] as Stream) < headOf(heap[m] as Stream)) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m] as Stream, heap[i] as Stream];
        i = m;
      }
    };
    for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
    while (heap.length > 0) {
      const s = heap[0] as Stream;
      router.replay(s.queue);
      if (s.queue.size === 0 && !fill(s)) {
        const last = heap.pop() as Stream;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      down(0);
    }
  }

  const endMs = Number.isFinite(toMs) ? toMs : timeline.clockMs;
  const { minutes, series } = timeline.finish(endMs);
  const hasLines = timeline.records > 0;
  return {
    fromMs: Number.isFinite(fromMs) ? fromMs : hasLines ? timeline.firstMs : null,
    toMs: Number.isFinite(toMs) ? toMs : hasLines ? timeline.clockMs : null,
    total: timeline.total,
    records: timeline.records,
    malformed: totals.malformed,
    outside: timeline.outside,
    crossings: timeline.crossings,
    storms: storms?.storms() ?? [],
    shapeStorms: shapes?.storms() ?? [],
    totals,
    minutes,
    // The chart's series: the config's windows and plain scopes (`each` values keep no points).
    // (Points before --from, the warm-up, are left out: the chart starts at --from.)
    series: series
      .filter((s) => s.key === null)
      .map((s) => (Number.isFinite(fromMs) ? { ...s, points: s.points.filter((p) => p[0] >= fromMs) } : s)),
    errors,
    overflowed: [...(resolver?.overflowed ?? [])],
  };
}
