// Who spent: spend per model and per agent, so that an alert can name the top spenders of the
// window that crossed. Recent spend (inside the longest rolling window) is kept per minute; when a
// minute leaves that horizon it is folded into its day. A line therefore updates one bucket, and
// the saved state stays small. Minute resolution: a rolling window's top list may include up to a
// minute before the window. Each bucket keeps at most LABELS_PER_BUCKET names per dimension; the
// rest is summed as "(other)". Days older than yesterday are dropped.
import type { DayCalendar } from './calendar.js';
import { dollarsOf } from './money.js';
import { MAX_LABELS } from './labels.js';

export const LABELS_PER_BUCKET = 20;
const LABEL_MAX = 80;
export const OTHER = '(other)';

/** A mutable total, so that counting a line is one map lookup, or none for the label seen last. */
interface Cell {
  /** Whole µ$ (core/money.ts), as everything saved here; top() says dollars. */
  usd: number;
}
type Spend = Map<string, Cell>;
interface Bucket {
  model: Spend;
  agent: Spend;
  /** Per file of the sources (only when there are several: see SpendScanner.source). */
  source: Spend;
}

type Named = Record<string, number>;

export interface AttributionState {
  /** [minute, models, agents, sources?]: sources were added later, and may be missing. */
  minutes: [number, Named, Named, Named?][];
  days: Record<string, [Named, Named, Named?]>;
}

export type Dimension = 'model' | 'agent' | 'source';

/** Names and their spend in USD. */
export type Top = [name: string, usd: number][];

function newBucket(): Bucket {
  return { model: new Map(), agent: new Map(), source: new Map() };
}

/** The cell a label's spend goes to in a bucket (created on first use). */
function cellOf(spend: Spend, label: string): Cell {
  const held = spend.get(label);
  if (held !== undefined) return held;
  const key =
    spend.size < LABELS_PER_BUCKET
      ? label.length > LABEL_MAX
        ? `${label.slice(0, LABEL_MAX)}…`
        : label
      : OTHER;
  let cell = spend.get(key);
  if (cell === undefined) {
    cell = { usd: 0 };
    spend.set(key, cell);
  }
  return cell;
}

function merge(into: Spend, from: Spend): void {
  for (const [name, cell] of from) cellOf(into, name).usd += cell.usd;
}

const MINUTE_MS = 60_000;

export class Attribution {
  private readonly minutes = new Map<number, Bucket>();
  private readonly days = new Map<string, Bucket>();
  private nowMs = 0;
  /** The first minute kept per minute; older spend lives in its day. */
  private cutoffMinute = 0;
  /** Times in [hotFrom, hotTo) count in hotBucket (a minute, or the older part of a day). */
  private hotFrom = 0;
  private hotTo = 0;
  private hotBucket: Bucket | null = null;
  /**
   * Spend of the hot bucket so far, per label id (core/labels.ts): a line adds to an array slot.
   * Moved into the bucket's named cells when the hot bucket changes or anything reads them.
   */
  private readonly modelSpend = new Float64Array(MAX_LABELS);
  private readonly agentSpend = new Float64Array(MAX_LABELS);
  private readonly modelTouched = new Uint8Array(MAX_LABELS);
  private readonly agentTouched = new Uint8Array(MAX_LABELS);
  private readonly modelIds: number[] = [];
  private readonly agentIds: number[] = [];
  /** The names of those ids, as add() was given them (ids are the scan's, the names are kept). */
  private readonly modelNames: string[] = [];
  private readonly agentNames: string[] = [];

  constructor(
    private readonly horizonSec: number,
    private readonly calendar: DayCalendar,
    nowMs: number,
  ) {
    this.setNow(nowMs);
  }

  /** Move the clock: minutes leaving the horizon fold into their day; old days go. */
  setNow(nowMs: number): void {
    this.flush();
    this.nowMs = nowMs;
    this.cutoffMinute = Math.floor((nowMs / 1000 - this.horizonSec) / 60);
    const oldestDay = this.calendar.dayOf(this.calendar.dayOf(nowMs).startMs - 1).key;
    for (const [minute, bucket] of this.minutes) {
      if (minute >= this.cutoffMinute) continue;
      this.minutes.delete(minute);
      const key = this.calendar.dayOf(minute * MINUTE_MS).key;
      if (key < oldestDay) continue;
      const day = this.dayBucket(key);
      merge(day.model, bucket.model);
      merge(day.agent, bucket.agent);
      merge(day.source, bucket.source);
    }
    for (const key of this.days.keys()) if (key < oldestDay) this.days.delete(key);
    this.hotFrom = 0;
    this.hotTo = 0;
    this.hotBucket = null;
    this.sourceCell = null;
  }

  /** The cell of the source counted last, in the hot bucket (a file's lines all have one source). */
  private sourceCell: Cell | null = null;
  private sourceName: string | null = null;

  /** Count spend for a line's source (one file's lines in a row: one lookup per file and minute). */
  addSource(timeMs: number, cost: number, source: string): void {
    if (cost === 0) return;
    if (timeMs < this.hotFrom || timeMs >= this.hotTo) this.heat(timeMs);
    const bucket = this.hotBucket;
    if (bucket === null) return;
    if (this.sourceCell === null || this.sourceName !== source) {
      // A path is told apart by its end (a session's file name): a long one keeps that.
      this.sourceCell = cellOf(
        bucket.source,
        source.length > LABEL_MAX ? `…${source.slice(source.length - LABEL_MAX + 1)}` : source,
      );
      this.sourceName = source;
    }
    this.sourceCell.usd += cost;
  }

  /** Move the hot bucket's per-id spend into its named cells. */
  private flush(): void {
    const bucket = this.hotBucket;
    const { modelIds, agentIds, modelNames, agentNames } = this;
    for (let k = 0; k < modelIds.length; k++) {
      const id = modelIds[k] as number;
      if (bucket !== null) cellOf(bucket.model, modelNames[k] as string).usd += this.modelSpend[id] as number;
      this.modelSpend[id] = 0;
      this.modelTouched[id] = 0;
    }
    for (let k = 0; k < agentIds.length; k++) {
      const id = agentIds[k] as number;
      if (bucket !== null) cellOf(bucket.agent, agentNames[k] as string).usd += this.agentSpend[id] as number;
      this.agentSpend[id] = 0;
      this.agentTouched[id] = 0;
    }
    modelIds.length = 0;
    agentIds.length = 0;
    modelNames.length = 0;
    agentNames.length = 0;
  }

  private dayBucket(key: string): Bucket {
    let bucket = this.days.get(key);
    if (bucket === undefined) {
      bucket = newBucket();
      this.days.set(key, bucket);
    }
    return bucket;
  }

  /** Find the bucket for a time outside the hot range, and make it hot. */
  private heat(timeMs: number): void {
    this.flush();
    this.sourceCell = null;
    const minute = Math.floor(timeMs / MINUTE_MS);
    if (minute >= this.cutoffMinute) {
      let bucket = this.minutes.get(minute);
      if (bucket === undefined) {
        bucket = newBucket();
        this.minutes.set(minute, bucket);
      }
      this.hotBucket = bucket;
      this.hotFrom = minute * MINUTE_MS;
      this.hotTo = this.hotFrom + MINUTE_MS;
    } else {
      const day = this.calendar.dayOf(timeMs);
      const oldest = this.calendar.dayOf(this.calendar.dayOf(this.nowMs).startMs - 1).startMs;
      this.hotBucket = day.startMs >= oldest ? this.dayBucket(day.key) : null;
      this.hotFrom = day.startMs;
      this.hotTo = Math.min(day.endMs, this.cutoffMinute * MINUTE_MS);
    }
  }

  /**
   * Count spend for a line's model and agent, by registered id (-1: no id, use the name; -2: the
   * line has none). An id comes with its name. Times already clamped.
   */
  add(
    timeMs: number,
    cost: number,
    modelId: number,
    agentId: number,
    model: string | null,
    agent: string | null,
  ): void {
    if (cost === 0) return;
    if (timeMs < this.hotFrom || timeMs >= this.hotTo) this.heat(timeMs);
    const bucket = this.hotBucket;
    if (bucket === null) return;
    if (modelId >= 0) {
      if (this.modelTouched[modelId] === 0) {
        this.modelTouched[modelId] = 1;
        this.modelIds.push(modelId);
        this.modelNames.push(model as string);
      }
      this.modelSpend[modelId] = (this.modelSpend[modelId] as number) + cost;
    } else if (model !== null) {
      cellOf(bucket.model, model).usd += cost;
    }
    if (agentId >= 0) {
      if (this.agentTouched[agentId] === 0) {
        this.agentTouched[agentId] = 1;
        this.agentIds.push(agentId);
        this.agentNames.push(agent as string);
      }
      this.agentSpend[agentId] = (this.agentSpend[agentId] as number) + cost;
    } else if (agent !== null) {
      cellOf(bucket.agent, agent).usd += cost;
    }
  }

  /** The top spenders of a rolling window (seconds) or of today (null), highest first. */
  top(windowSec: number | null, dimension: Dimension, count = 3): Top {
    this.flush();
    const sum = new Map<string, number>();
    const addAll = (spend: Spend): void => {
      for (const [name, cell] of spend) sum.set(name, (sum.get(name) ?? 0) + cell.usd);
    };
    if (windowSec === null) {
      const today = this.calendar.dayOf(this.nowMs);
      const bucket = this.days.get(today.key);
      if (bucket !== undefined) addAll(bucket[dimension]);
      // Not tomorrow's minutes (lines dated ahead within the tolerance): those are tomorrow's.
      for (const [minute, b] of this.minutes)
        if (minute * MINUTE_MS >= today.startMs && minute * MINUTE_MS < today.endMs) addAll(b[dimension]);
    } else {
      const from = Math.floor((this.nowMs / 1000 - windowSec) / 60);
      for (const [minute, bucket] of this.minutes) if (minute >= from) addAll(bucket[dimension]);
    }
    return [...sum]
      .filter(([, micros]) => micros > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, count)
      .map(([name, micros]) => [name, dollarsOf(micros)]);
  }

  /**
   * Spend per model (whole µ$) in each minute of [fromMinute, toMinute) kept per minute (epoch
   * minutes): what reconciling compares with a provider's buckets (src/reconcile/). Lines without
   * a model are not here (the ledger's minute totals hold them).
   */
  modelsByMinute(fromMinute: number, toMinute: number): Map<number, Map<string, number>> {
    this.flush();
    const out = new Map<number, Map<string, number>>();
    for (const [minute, bucket] of this.minutes) {
      if (minute < fromMinute || minute >= toMinute) continue;
      const models = new Map<string, number>();
      for (const [name, cell] of bucket.model) if (cell.usd > 0) models.set(name, cell.usd);
      out.set(minute, models);
    }
    return out;
  }

  toState(): AttributionState {
    this.flush();
    const obj = (spend: Spend): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const [name, cell] of spend) if (cell.usd > 0) out[name] = cell.usd;
      return out;
    };
    return {
      minutes: [...this.minutes]
        .sort((a, b) => a[0] - b[0])
        .map(([m, b]): AttributionState['minutes'][number] =>
          b.source.size > 0
            ? [m, obj(b.model), obj(b.agent), obj(b.source)]
            : [m, obj(b.model), obj(b.agent)],
        ),
      days: Object.fromEntries(
        [...this.days].map(([key, b]): [string, AttributionState['days'][string]] => [
          key,
          b.source.size > 0 ? [obj(b.model), obj(b.agent), obj(b.source)] : [obj(b.model), obj(b.agent)],
        ]),
      ),
    };
  }

  /** Add the spend of another reader of the same log at the same time (a helper thread). */
  absorb(state: AttributionState): void {
    this.flush();
    const add = (into: Spend, from: Record<string, number>): void => {
      for (const [name, usd] of Object.entries(from))
        if (Number.isFinite(usd) && usd > 0) cellOf(into, name).usd += usd;
    };
    for (const [minute, models, agents, sources] of state.minutes) {
      let bucket = this.minutes.get(minute);
      if (bucket === undefined) {
        bucket = newBucket();
        this.minutes.set(minute, bucket);
      }
      add(bucket.model, models);
      add(bucket.agent, agents);
      if (sources !== undefined) add(bucket.source, sources);
    }
    for (const [key, [models, agents, sources]] of Object.entries(state.days)) {
      const bucket = this.dayBucket(key);
      add(bucket.model, models);
      add(bucket.agent, agents);
      if (sources !== undefined) add(bucket.source, sources);
    }
    this.hotFrom = 0;
    this.hotTo = 0;
    this.hotBucket = null;
    this.sourceCell = null;
  }

  /** From saved state; anything not of the shape written is dropped (attribution is a hint). */
  static fromState(state: unknown, horizonSec: number, calendar: DayCalendar, nowMs: number): Attribution {
    const out = new Attribution(horizonSec, calendar, nowMs);
    const s = state as Partial<AttributionState> | null;
    const load = (into: Spend, from: unknown): void => {
      if (from === null || typeof from !== 'object') return;
      for (const [name, usd] of Object.entries(from))
        if (typeof usd === 'number' && Number.isFinite(usd) && usd > 0) cellOf(into, name).usd += usd;
    };
    if (s !== null && typeof s === 'object') {
      if (Array.isArray(s.minutes)) {
        for (const entry of s.minutes) {
          if (!Array.isArray(entry) || !Number.isInteger(entry[0])) continue;
          const bucket = newBucket();
          load(bucket.model, entry[1]);
          load(bucket.agent, entry[2]);
          load(bucket.source, entry[3]);
          out.minutes.set(entry[0], bucket);
        }
      }
      if (s.days !== null && typeof s.days === 'object') {
        for (const [key, pair] of Object.entries(s.days)) {
          if (!Array.isArray(pair) || !/^\d{4}-\d{2}-\d{2}$/.test(key)) continue;
          const bucket = out.dayBucket(key);
          load(bucket.model, pair[0]);
          load(bucket.agent, pair[1]);
          load(bucket.source, pair[2]);
        }
      }
    }
    out.setNow(nowMs);
    return out;
  }
}
