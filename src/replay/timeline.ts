// What `replay` decides, line by line: the windows of the config (and of each scope instance) as
// the watchdog would have seen them had it run at every line, when each crossed warn / emergency /
// kill, the spend then, the spend that followed until the window was back at ok, and the spend per
// window at each minute end (for the chart). Pure: no clock, no files. Amounts in whole µ$.
//
// The clock is the newest line time seen (a line out of order does not move it back): a late line
// lands in its own second, in the rolling window only while that second is still inside it, and in
// the daily total only when it is dated today (as the watchdog's ledger counts it). Rolling sums are
// kept incrementally: seconds with spend in a queue, added at the head, subtracted as they leave, so
// a line costs O(1) amortised per window. A window's level only rises when a line is added, and
// only falls when seconds leave it (or the day ends): the time it is back at ok is exact, also
// between lines. Each level fires once per episode (from leaving ok to being back at ok), as the
// watchdog alerts once per level and again only after the window was back at ok.
import type { DayRange } from '../core/calendar.js';
import type { Level, Limits, WindowSpec } from '../core/levels.js';
import { toMicros } from '../core/money.js';

export type CrossingLevel = Exclude<Level, 'ok'>;
const RANKED: readonly CrossingLevel[] = ['warn', 'emergency', 'kill'];

/** Where a window instance belongs: the config's own windows (scope null), or a scope's (and value). */
export interface InstanceName {
  scope: string | null;
  key: Record<string, string> | null;
}

export interface Crossing {
  window: string;
  scope: string | null;
  key: Record<string, string> | null;
  level: CrossingLevel;
  /** The replay clock when the line that crossed was read (its own time unless it came out of order). */
  atMs: number;
  spend: number;
  /** Spend counted into the window's scope from the crossing until it was back at ok (µ$). */
  followed: number;
  /** When the window was back at ok; null when it was not by the end of the replay. */
  okAgainMs: number | null;
}

export interface Series {
  window: string;
  scope: string | null;
  key: Record<string, string> | null;
  seconds: number | null;
  limits: Limits;
  /** [epoch ms of a minute end, µ$ in the window then]: where the value changed, and before a change. */
  points: [number, number][];
}

export interface TimelineOptions {
  /** Crossings are reported only at or after this time (lines before it warm the windows up). */
  fromMs: number;
  /** Lines after this time are not replayed. */
  toMs: number;
  dayOf: (ms: number) => DayRange;
  /** Keep the spend per minute of each window for the chart. */
  series: boolean;
}

/** Limits in µ$ by rank (1 warn, 2 emergency, 3 kill); Infinity where not set. */
function limitsMicros(limits: Limits): number[] {
  return [
    0,
    ...RANKED.map((level) => (limits[level] === undefined ? Infinity : toMicros(limits[level] as number))),
  ];
}

/** One window of one instance. */
export class Track {
  sum = 0;
  /** Rank of the highest level fired in this episode (0: at ok). */
  private top = 0;
  /** The spend at which the next level up fires (Infinity: none). */
  private next: number;
  /** The lowest limit: below it the window is at ok. */
  private readonly lowest: number;
  private readonly limits: number[];
  /** Crossings of the current episode (their `followed` grows with each line). */
  private open: Crossing[] = [];
  /** Seconds with spend inside a rolling window, oldest first (a ring of a power-of-2 size). */
  private secs = new Float64Array(16);
  private costs = new Float64Array(16);
  private head = 0;
  private count = 0;
  /** The clock's second (rolling) / the day (daily) this track stands at. */
  private nowSec = -Infinity;
  private day: DayRange | null = null;
  /** Chart points, and the minute end sampled last. */
  readonly points: [number, number][] = [];
  private lastMinuteEnd = -1;
  private lastValue = 0;
  private pendingAt = -1;

  constructor(
    readonly spec: WindowSpec,
    readonly name: InstanceName,
    private readonly options: TimelineOptions,
    private readonly crossings: Crossing[],
  ) {
    this.limits = limitsMicros(spec.limits);
    this.lowest = Math.min(...this.limits.slice(1));
    this.next = this.nextAbove(0);
  }

  private nextAbove(rank: number): number {
    for (let r = rank + 1; r <= 3; r++) if (this.limits[r] !== Infinity) return this.limits[r] as number;
    return Infinity;
  }

  /** Move to the clock `nowMs` (never back): seconds leave, the day ends, minute ends are sampled. */
  advance(nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (this.options.series) this.sampleUpTo(sec);
    if (this.spec.seconds === null) this.toDay(nowMs);
    else this.expire(sec);
    if (sec > this.nowSec) this.nowSec = sec;
  }

  /** Count a line of `micros` dated `timeMs`, read when the clock stood at `nowMs` (advance first). */
  add(timeMs: number, micros: number, nowMs: number): void {
    const open = this.open;
    for (let i = 0; i < open.length; i++) {
      const c = open[i] as Crossing;
      if (timeMs >= c.atMs) c.followed += micros;
    }
    const sec = Math.floor(timeMs / 1000);
    if (this.spec.seconds === null) {
      const day = this.day;
      if (day === null || timeMs < day.startMs || timeMs >= day.endMs) return;
      this.sum += micros;
    } else {
      if (sec <= this.nowSec - this.spec.seconds) return;
      this.insert(sec, micros);
      this.sum += micros;
    }
    if (this.sum >= this.next) this.rise(nowMs);
  }

  private rise(nowMs: number): void {
    let rank = this.top;
    for (let r = rank + 1; r <= 3; r++) if (this.sum >= (this.limits[r] as number)) rank = r;
    // (A level not set is passed over: kill without emergency goes from warn to kill.)
    for (let r = this.top + 1; r <= rank; r++) {
      if (this.limits[r] === Infinity) continue;
      const crossing: Crossing = {
        window: this.spec.name,
        scope: this.name.scope,
        key: this.name.key,
        level: RANKED[r - 1] as CrossingLevel,
        atMs: nowMs,
        spend: this.sum,
        followed: 0,
        okAgainMs: null,
      };
      this.open.push(crossing);
      if (nowMs >= this.options.fromMs) this.crossings.push(crossing);
    }
    this.top = rank;
    this.next = this.nextAbove(rank);
  }

  /** The sum fell at `atMs`: back at ok when under the lowest limit. */
  private fell(atMs: number): void {
    if (this.top === 0 || this.sum >= this.lowest) return;
    for (const c of this.open) c.okAgainMs = atMs;
    this.open = [];
    this.top = 0;
    this.next = this.nextAbove(0);
  }

  private insert(sec: number, micros: number): void {
    const n = this.count;
    const cap = this.secs.length;
    if (n > 0) {
      const lastAt = (this.head + n - 1) & (cap - 1);
      const last = this.secs[lastAt] as number;
      if (sec === last) {
        this.costs[lastAt] = (this.costs[lastAt] as number) + micros;
        return;
      }
      if (sec < last) {
        this.insertLate(sec, micros);
        return;
      }
    }
    if (n === cap) this.grow();
    const at = (this.head + this.count) & (this.secs.length - 1);
    this.secs[at] = sec;
    this.costs[at] = micros;
    this.count++;
  }

  /** A line out of order: into its second, in order (rare; linear). */
  private insertLate(sec: number, micros: number): void {
    const cap = this.secs.length;
    let i = this.count - 1;
    while (i >= 0 && (this.secs[(this.head + i) & (cap - 1)] as number) > sec) i--;
    if (i >= 0 && this.secs[(this.head + i) & (cap - 1)] === sec) {
      const at = (this.head + i) & (cap - 1);
      this.costs[at] = (this.costs[at] as number) + micros;
      return;
    }
    if (this.count === cap) this.grow();
    const size = this.secs.length;
    for (let j = this.count - 1; j > i; j--) {
      const from = (this.head + j) & (size - 1);
      const to = (this.head + j + 1) & (size - 1);
      this.secs[to] = this.secs[from] as number;
      this.costs[to] = this.costs[from] as number;
    }
    const at = (this.head + i + 1) & (size - 1);
    this.secs[at] = sec;
    this.costs[at] = micros;
    this.count++;
  }

  private grow(): void {
    const cap = this.secs.length;
    const secs = new Float64Array(cap * 2);
    const costs = new Float64Array(cap * 2);
    for (let i = 0; i < this.count; i++) {
      secs[i] = this.secs[(this.head + i) & (cap - 1)] as number;
      costs[i] = this.costs[(this.head + i) & (cap - 1)] as number;
    }
    this.secs = secs;
    this.costs = costs;
    this.head = 0;
  }

  /** Seconds at or before `sec - window` leave, each at its own time (`second + window`). */
  private expire(sec: number): void {
    const w = this.spec.seconds as number;
    const cap = this.secs.length;
    while (this.count > 0) {
      const first = this.secs[this.head] as number;
      if (first > sec - w) break;
      this.sum -= this.costs[this.head] as number;
      this.head = (this.head + 1) & (cap - 1);
      this.count--;
      if (this.count === 0) this.sum = 0;
      this.fell((first + w) * 1000);
    }
  }

  /** The daily window at `ms`: a new day starts at 0 (the old one ended at its local midnight). */
  private toDay(ms: number): void {
    const day = this.day;
    if (day !== null && ms < day.endMs) return;
    if (day !== null) {
      this.sum = 0;
      this.fell(day.endMs);
    }
    this.day = this.options.dayOf(ms);
  }

  /** Chart points at each minute end before the clock's minute. */
  private sampleUpTo(sec: number): void {
    const minuteEnd = Math.floor(sec / 60) * 60;
    if (this.lastMinuteEnd < 0) {
      this.lastMinuteEnd = minuteEnd;
      return;
    }
    while (this.lastMinuteEnd < minuteEnd) {
      const b = this.lastMinuteEnd + 60;
      if (this.spec.seconds === null) this.toDay(b * 1000);
      else this.expire(b);
      this.sample(b * 1000, this.sum);
      this.lastMinuteEnd = b;
      // Nothing will change until the clock's minute (rolling: empty; daily: the day holds): skip.
      const quiet =
        this.spec.seconds === null
          ? this.day !== null && this.day.endMs > minuteEnd * 1000
          : this.count === 0 || (this.secs[this.head] as number) + (this.spec.seconds as number) > minuteEnd;
      if (quiet) {
        if (minuteEnd > b) this.sample(minuteEnd * 1000, this.sum);
        this.lastMinuteEnd = minuteEnd;
      }
    }
  }

  private sample(atMs: number, value: number): void {
    if (value === this.lastValue && this.points.length > 0) {
      this.pendingAt = atMs;
      return;
    }
    if (this.pendingAt >= 0) this.points.push([this.pendingAt, this.lastValue]);
    this.pendingAt = -1;
    this.points.push([atMs, value]);
    this.lastValue = value;
  }

  /** The end of the replay: the last point. */
  close(): void {
    if (this.pendingAt >= 0) this.points.push([this.pendingAt, this.lastValue]);
    this.pendingAt = -1;
  }
}

/** The windows of one instance (the config's, or one scope's / one value's). */
export class Instance {
  readonly tracks: Track[];
  /** Spend counted into it within the replay's range (µ$). */
  spend = 0;
  crossed = false;

  constructor(
    readonly name: InstanceName,
    windows: readonly WindowSpec[],
    options: TimelineOptions,
    crossings: Crossing[],
  ) {
    this.tracks = windows.map((w) => new Track(w, name, options, crossings));
  }

  add(timeMs: number, micros: number, nowMs: number): void {
    const tracks = this.tracks;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i] as Track;
      t.advance(nowMs);
      t.add(timeMs, micros, nowMs);
    }
  }

  advance(nowMs: number): void {
    for (const t of this.tracks) t.advance(nowMs);
  }
}

/**
 * The replay's clock and the config's own windows; scope instances are made by the caller
 * (newInstance) and fed with addTo after add() of the same line.
 */
export class Timeline {
  readonly crossings: Crossing[] = [];
  readonly main: Instance;
  private readonly instances: Instance[] = [];
  /** The newest line time replayed (-Infinity: none yet). */
  clockMs = -Infinity;
  firstMs = Infinity;
  /** Spend of lines inside [from, to] (µ$), and per minute of their time. */
  total = 0;
  records = 0;
  outside = 0;
  private readonly minutes = new Map<number, number>();
  private minute = -1;
  private minuteSum = 0;

  constructor(
    windows: readonly WindowSpec[],
    readonly options: TimelineOptions,
  ) {
    this.main = this.newInstance({ scope: null, key: null }, windows);
  }

  /**
   * A scope's instance. Those of `each` values keep no chart points: thousands of values are
   * normal, and memory stays bounded by their windows alone.
   */
  newInstance(name: InstanceName, windows: readonly WindowSpec[]): Instance {
    const options = name.key === null ? this.options : { ...this.options, series: false };
    const instance = new Instance(name, windows, options, this.crossings);
    this.instances.push(instance);
    return instance;
  }

  /**
   * A line: false when it is after --to (not replayed: the caller skips its scopes). Lines before
   * --from are replayed into the windows (they warm them up) but not counted in the totals.
   */
  add(timeMs: number, micros: number): boolean {
    if (timeMs > this.options.toMs) {
      this.outside++;
      return false;
    }
    if (timeMs > this.clockMs) this.clockMs = timeMs;
    if (timeMs >= this.options.fromMs) {
      if (timeMs < this.firstMs) this.firstMs = timeMs;
      this.records++;
      this.total += micros;
      const minute = Math.floor(timeMs / 60_000);
      if (minute !== this.minute) {
        if (this.minute >= 0)
          this.minutes.set(this.minute, (this.minutes.get(this.minute) ?? 0) + this.minuteSum);
        this.minute = minute;
        this.minuteSum = 0;
      }
      this.minuteSum += micros;
    } else {
      this.outside++;
    }
    if (micros !== 0) this.main.add(timeMs, micros, this.clockMs);
    else this.main.advance(this.clockMs);
    return true;
  }

  /** The same line, into a scope instance (after add() said true). */
  addTo(instance: Instance, timeMs: number, micros: number): void {
    if (timeMs >= this.options.fromMs) instance.spend += micros;
    instance.add(timeMs, micros, this.clockMs);
  }

  /** The end of the replay at `endMs` (the clock, or --to): every window moved there. */
  finish(endMs: number): { minutes: [number, number][]; series: Series[] } {
    if (this.minute >= 0)
      this.minutes.set(this.minute, (this.minutes.get(this.minute) ?? 0) + this.minuteSum);
    this.minute = -1;
    this.minuteSum = 0;
    const end = Math.max(endMs, this.clockMs);
    const series: Series[] = [];
    for (const instance of this.instances) {
      if (end > -Infinity) instance.advance(end);
      for (const t of instance.tracks) {
        t.close();
        if (t.points.length === 0 && instance !== this.main) continue;
        series.push({
          window: t.spec.name,
          scope: instance.name.scope,
          key: instance.name.key,
          seconds: t.spec.seconds,
          limits: t.spec.limits,
          points: t.points,
        });
      }
    }
    const minutes = [...this.minutes.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([m, v]): [number, number] => [m * 60_000, v]);
    return { minutes, series };
  }

  instancesOf(): readonly Instance[] {
    return this.instances;
  }
}
