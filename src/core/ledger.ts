// Spend buckets. Rolling windows are kept as one bucket per second in a ring sized to the longest
// window (plus room for lines dated a little in the future), so memory is bounded by the window
// length whatever the call rate. Calendar days are one total per local date, kept for a week.
// Every amount is whole micro-dollars (core/money.ts): sums are exact.
import type { DayCalendar } from './calendar.js';

/** Lines dated up to this far ahead count at their own time; beyond it, at "now". */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Daily totals kept, so that late lines for yesterday land in yesterday. */
export const RETAIN_DAYS = 8;
const RING_SLACK_SEC = 2 * (FUTURE_TOLERANCE_MS / 1000);
/**
 * Spend per minute is kept this far back whatever the windows (the dashboard's chart, the status
 * sparkline): one bucket per minute, saved in the checkpoint (`minutes`).
 */
export const HISTORY_MINUTES = 6 * 60;
const MINUTE_RING = HISTORY_MINUTES + 2 * (FUTURE_TOLERANCE_MS / 60_000);

export interface LedgerState {
  horizon_seconds: number;
  timezone: string;
  /** [epoch second, µ$] for every second with spend inside the horizon, oldest first. */
  rolling: [number, number][];
  /** Local date -> µ$. */
  daily: Record<string, number>;
  /** [epoch minute, µ$] per minute with spend in the last HISTORY_MINUTES (added later: may be missing). */
  minutes?: [number, number][];
  /** The earliest line time counted (epoch ms; added later: may be missing). */
  first_line_ms?: number;
  /** With a prepaid balance: spend (µ$) of the lines dated from `since_ms` on (added later). */
  balance?: { since_ms: number; spend: number };
}

/** A copy of what a ledger held (Ledger.mark), to compare with later. */
export interface LedgerMark {
  secs: Float64Array;
  costs: Float64Array;
  days: Map<string, number>;
}

export class Ledger {
  private readonly size: number;
  private readonly secs: Float64Array;
  private readonly costs: Float64Array;
  /** Local days with spend, most recently used first (nearly every line hits the first). */
  private readonly days: { key: string; startMs: number; endMs: number; total: number }[] = [];
  private nowSec = 0;
  private retainFromMs = 0;
  private readonly mins = new Float64Array(MINUTE_RING).fill(-1);
  private readonly minCosts = new Float64Array(MINUTE_RING);
  /** Spend (µ$) of the lines dated from `balanceSinceMs` on: a running total, O(1) a line. */
  private sinceTotal = 0;
  /** The earliest line time counted (epoch ms), Infinity before any. */
  private firstMs = Number.POSITIVE_INFINITY;

  /**
   * @param horizonSec the longest rolling window, in seconds
   * @param nowMs the time of this check: spend older than the horizon is not kept
   * @param balanceSinceMs with a prepaid balance (limits.balance): spend from this instant on is
   *   also summed whatever its age (balanceSpend)
   */
  constructor(
    readonly horizonSec: number,
    readonly calendar: DayCalendar,
    nowMs: number,
    readonly balanceSinceMs: number | null = null,
  ) {
    this.size = horizonSec + RING_SLACK_SEC;
    this.secs = new Float64Array(this.size).fill(-1);
    this.costs = new Float64Array(this.size);
    this.setNow(nowMs);
  }

  /** Move the ledger's clock (a long-running watcher checks again later). */
  setNow(nowMs: number): void {
    this.nowSec = Math.floor(nowMs / 1000);
    this.retainFromMs = this.calendar.dayOf(nowMs - (RETAIN_DAYS - 1) * 86_400_000).startMs;
  }

  /** Count `cost` µ$ spent at `timeMs`. The caller has already moved far-future times to now. */
  add(timeMs: number, cost: number): void {
    if (timeMs < this.firstMs) this.firstMs = timeMs;
    if (cost === 0) return;
    if (this.balanceSinceMs !== null && timeMs >= this.balanceSinceMs) this.sinceTotal += cost;
    const sec = Math.floor(timeMs / 1000);
    this.addMinute(Math.floor(sec / 60), cost);
    if (sec > this.nowSec - this.horizonSec) {
      const slot = sec % this.size;
      const held = this.secs[slot] as number;
      if (held === sec) {
        this.costs[slot] = (this.costs[slot] as number) + cost;
      } else if (held < sec) {
        this.secs[slot] = sec;
        this.costs[slot] = cost;
      }
    }
    if (timeMs >= this.retainFromMs) {
      const hot = this.days[0];
      if (hot !== undefined && timeMs >= hot.startMs && timeMs < hot.endMs) {
        hot.total += cost;
      } else {
        this.dayBucket(this.calendar.dayOf(timeMs).key, timeMs).total += cost;
      }
    }
  }

  private addMinute(min: number, cost: number): void {
    if (min <= Math.floor(this.nowSec / 60) - HISTORY_MINUTES) return;
    const slot = min % MINUTE_RING;
    const held = this.mins[slot] as number;
    if (held === min) this.minCosts[slot] = (this.minCosts[slot] as number) + cost;
    else if (held < min) {
      this.mins[slot] = min;
      this.minCosts[slot] = cost;
    }
  }

  /**
   * Spend per minute (µ$) from `fromMs` to `toMs` (both inside the last HISTORY_MINUTES): one
   * entry per minute, [minute start in epoch ms, µ$], oldest first, minutes without spend at 0.
   */
  perMinute(fromMs: number, toMs: number): [number, number][] {
    const first = Math.max(Math.floor(fromMs / 60_000), Math.floor(this.nowSec / 60) - HISTORY_MINUTES + 1);
    const last = Math.floor(toMs / 60_000);
    const out: [number, number][] = [];
    for (let min = first; min <= last; min++) {
      const slot = min % MINUTE_RING;
      out.push([min * 60_000, this.mins[slot] === min ? (this.minCosts[slot] as number) : 0]);
    }
    return out;
  }

  private minutesState(): [number, number][] {
    const from = Math.floor(this.nowSec / 60) - HISTORY_MINUTES;
    const out: [number, number][] = [];
    for (let slot = 0; slot < MINUTE_RING; slot++) {
      const min = this.mins[slot] as number;
      if (min > from && (this.minCosts[slot] as number) !== 0) out.push([min, this.minCosts[slot] as number]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  private dayBucket(
    key: string,
    timeMs: number,
  ): { key: string; startMs: number; endMs: number; total: number } {
    const at = this.days.findIndex((d) => d.key === key);
    if (at >= 0) {
      const [found] = this.days.splice(at, 1);
      this.days.unshift(found!);
      return found!;
    }
    const range = this.calendar.dayOf(timeMs);
    const bucket = { key, startMs: range.startMs, endMs: range.endMs, total: 0 };
    this.days.unshift(bucket);
    return bucket;
  }

  /**
   * Spend in the rolling window of `windowSec` seconds ending now: every second s with
   * s > now - windowSec, including lines dated up to the tolerance in the future (spend is never
   * hidden because a clock runs ahead).
   */
  rolling(windowSec: number): number {
    const from = this.nowSec - windowSec;
    let total = 0;
    for (let slot = 0; slot < this.size; slot++) {
      if ((this.secs[slot] as number) > from) total += this.costs[slot] as number;
    }
    return total;
  }

  /**
   * Spend in the rolling window of `windowSec` seconds ending at `atMs` (not after now), or null
   * when that reaches back beyond the seconds kept.
   */
  rollingAt(windowSec: number, atMs: number): number | null {
    const at = Math.floor(atMs / 1000);
    if (at >= this.nowSec) return this.rolling(windowSec);
    const from = at - windowSec;
    if (from < this.nowSec - this.horizonSec) return null;
    let total = 0;
    for (let slot = 0; slot < this.size; slot++) {
      const sec = this.secs[slot] as number;
      if (sec > from && sec <= at) total += this.costs[slot] as number;
    }
    return total;
  }

  /** Spend on today's date up to `atMs`, or null when `atMs` is another day or too long ago to tell. */
  todayAt(atMs: number): number | null {
    const at = Math.floor(atMs / 1000);
    if (at >= this.nowSec) return this.today();
    if (this.calendar.dayOf(atMs).key !== this.calendar.dayOf(this.nowSec * 1000).key) return null;
    if (at < this.nowSec - this.horizonSec) return null;
    // Seconds after `at` that are today's (not tomorrow's, dated ahead within the tolerance).
    const endSec = Math.ceil(this.calendar.dayOf(this.nowSec * 1000).endMs / 1000);
    let after = 0;
    for (let slot = 0; slot < this.size; slot++) {
      const sec = this.secs[slot] as number;
      if (sec > at && sec < endSec) after += this.costs[slot] as number;
    }
    return Math.max(0, this.today() - after);
  }

  /** Spend on the local calendar day that contains now. */
  today(): number {
    return this.day(this.calendar.dayOf(this.nowSec * 1000).key);
  }

  /** Spend (µ$) of the lines dated from the balance's `since` on (0 without a balance). */
  balanceSpend(): number {
    return this.sinceTotal;
  }

  /** The earliest line time counted (epoch ms), or null before any line. */
  firstLineMs(): number | null {
    return Number.isFinite(this.firstMs) ? this.firstMs : null;
  }

  /** Spend on a given local date (YYYY-MM-DD). */
  day(key: string): number {
    return this.days.find((d) => d.key === key)?.total ?? 0;
  }

  /**
   * Add the spend of a ledger kept by another reader of the same log at the same time (a helper
   * thread that read part of it): its seconds and its days.
   */
  absorb(state: LedgerState): void {
    if (state.first_line_ms !== undefined && state.first_line_ms < this.firstMs)
      this.firstMs = state.first_line_ms;
    if (state.balance !== undefined && state.balance.since_ms === this.balanceSinceMs)
      this.sinceTotal += state.balance.spend;
    for (const [min, cost] of state.minutes ?? []) this.addMinute(min, cost);
    const from = this.nowSec - this.horizonSec;
    for (const [sec, cost] of state.rolling) {
      if (sec <= from) continue;
      const slot = sec % this.size;
      const held = this.secs[slot] as number;
      if (held === sec) this.costs[slot] = (this.costs[slot] as number) + cost;
      else if (held < sec) {
        this.secs[slot] = sec;
        this.costs[slot] = cost;
      }
    }
    for (const [key, cost] of Object.entries(state.daily)) {
      const [y, m, d] = key.split('-').map(Number) as [number, number, number];
      const noon = Date.UTC(y, m - 1, d, 12);
      const inside = [noon, noon - 12 * 3_600_000].find((t) => this.calendar.dayOf(t).key === key);
      if (inside !== undefined) this.dayBucket(key, inside).total += cost;
    }
  }

  /** What the ledger holds now, to tell later which seconds and days a read changed (the fleet's push). */
  mark(): LedgerMark {
    return {
      secs: this.secs.slice(),
      costs: this.costs.slice(),
      days: new Map(this.days.map((d) => [d.key, d.total])),
    };
  }

  /** The seconds after `fromSec` and the days whose spend differs from `mark`, at their values now. */
  changesSince(mark: LedgerMark, fromSec: number): { secs: [number, number][]; days: [string, number][] } {
    const secs: [number, number][] = [];
    for (let slot = 0; slot < this.size; slot++) {
      const sec = this.secs[slot] as number;
      if (sec <= fromSec) continue;
      if (sec !== mark.secs[slot] || this.costs[slot] !== mark.costs[slot])
        secs.push([sec, this.costs[slot] as number]);
    }
    secs.sort((a, b) => a[0] - b[0]);
    const days: [string, number][] = [];
    for (const d of this.days) if (mark.days.get(d.key) !== d.total) days.push([d.key, d.total]);
    return { secs, days };
  }

  /** Every second after `fromSec` with spend, oldest first, and every day kept. */
  everything(fromSec: number): { secs: [number, number][]; days: [string, number][] } {
    const secs: [number, number][] = [];
    for (let slot = 0; slot < this.size; slot++) {
      const sec = this.secs[slot] as number;
      if (sec > fromSec && (this.costs[slot] as number) !== 0) secs.push([sec, this.costs[slot] as number]);
    }
    secs.sort((a, b) => a[0] - b[0]);
    return { secs, days: this.days.map((d) => [d.key, d.total]) };
  }

  toState(): LedgerState {
    const rolling: [number, number][] = [];
    const from = this.nowSec - this.horizonSec;
    for (let slot = 0; slot < this.size; slot++) {
      const sec = this.secs[slot] as number;
      if (sec > from) rolling.push([sec, this.costs[slot] as number]);
    }
    rolling.sort((a, b) => a[0] - b[0]);
    const oldest = this.calendar.dayOf(this.retainFromMs).key;
    const daily: Record<string, number> = {};
    for (const d of [...this.days].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      if (d.key >= oldest) daily[d.key] = d.total;
    }
    return {
      horizon_seconds: this.horizonSec,
      timezone: this.calendar.timeZone,
      rolling,
      daily,
      minutes: this.minutesState(),
      ...(Number.isFinite(this.firstMs) ? { first_line_ms: this.firstMs } : {}),
      ...(this.balanceSinceMs !== null
        ? { balance: { since_ms: this.balanceSinceMs, spend: this.sinceTotal } }
        : {}),
    };
  }

  /**
   * A ledger from saved state, or null when the state does not fit (another zone, a shorter
   * horizon than now needed, or not the shape we write): the caller then rebuilds from the log.
   */
  static fromState(
    state: unknown,
    horizonSec: number,
    calendar: DayCalendar,
    nowMs: number,
    balanceSinceMs: number | null = null,
  ): Ledger | null {
    return Ledger.restore(state, horizonSec, calendar, nowMs, balanceSinceMs)?.ledger ?? null;
  }

  /**
   * fromState, also saying how much spend (µ$) was dated beyond now + the tolerance and so was
   * moved to now (the clock went back since it was saved). The caller saves the checkpoint when
   * `moved` > 0, so that the move is made once: a line then counts in one day only.
   */
  static restore(
    state: unknown,
    horizonSec: number,
    calendar: DayCalendar,
    nowMs: number,
    balanceSinceMs: number | null = null,
  ): { ledger: Ledger; moved: number } | null {
    if (!isLedgerState(state)) return null;
    if (state.timezone !== calendar.timeZone || state.horizon_seconds < horizonSec) return null;
    // A balance's total is kept only from its own `since` (a changed since, or none saved: re-read).
    if (balanceSinceMs !== null && state.balance?.since_ms !== balanceSinceMs) return null;
    const ledger = new Ledger(horizonSec, calendar, nowMs, balanceSinceMs);
    if (state.balance !== undefined && balanceSinceMs !== null) ledger.sinceTotal = state.balance.spend;
    if (state.first_line_ms !== undefined) ledger.firstMs = state.first_line_ms;
    const from = ledger.nowSec - horizonSec;
    // Spend saved further ahead than the tolerance means the clock went back since: count it as
    // now, as a line dated in the future is, so it is neither hidden nor in the way of new spend.
    const latest = ledger.nowSec + FUTURE_TOLERANCE_MS / 1000;
    const today = calendar.dayOf(nowMs);
    // Per future day, what of it the seconds show dated up to now + the tolerance: that part stays
    // in its day, the rest of it moves to today.
    const keptAhead = new Map<string, number>();
    let moved = 0;
    const latestMin = Math.floor(latest / 60);
    for (const [min, cost] of state.minutes ?? []) ledger.addMinute(Math.min(min, latestMin), cost);
    for (const [saved, cost] of state.rolling) {
      if (saved > latest) moved += cost;
      else if (saved * 1000 >= today.endMs) {
        const key = calendar.dayOf(saved * 1000).key;
        keptAhead.set(key, (keptAhead.get(key) ?? 0) + cost);
      }
      const sec = saved > latest ? ledger.nowSec : saved;
      if (sec > from) {
        const slot = sec % ledger.size;
        if ((ledger.secs[slot] as number) <= sec) {
          ledger.costs[slot] = (ledger.secs[slot] === sec ? (ledger.costs[slot] as number) : 0) + cost;
          ledger.secs[slot] = sec;
        }
      }
    }
    let movedDaily = 0;
    for (const [key, cost] of Object.entries(state.daily)) {
      // An instant inside that day in this zone: UTC noon is inside it for offsets from -12h to
      // +12h; 12 hours earlier covers zones up to +14h. (A day the zone skipped has none.)
      const [y, m, d] = key.split('-').map(Number) as [number, number, number];
      const noon = Date.UTC(y, m - 1, d, 12);
      const inside = [noon, noon - 12 * 3_600_000].find((t) => calendar.dayOf(t).key === key);
      if (key > today.key) {
        // A day after today. Its spend dated up to now + the tolerance is its own (a line read at
        // 23:59:30 dated 00:00:30); what is dated beyond that means the clock went back: today's.
        const range = inside === undefined ? null : calendar.dayOf(inside);
        const kept =
          range !== null && range.startMs <= nowMs + FUTURE_TOLERANCE_MS
            ? Math.min(cost, keptAhead.get(key) ?? 0)
            : 0;
        if (kept > 0) ledger.dayBucket(key, inside as number).total += kept;
        if (cost > kept) {
          ledger.dayBucket(today.key, nowMs).total += cost - kept;
          movedDaily += cost - kept;
        }
        continue;
      }
      if (inside !== undefined) ledger.dayBucket(key, inside).total += cost;
    }
    return { ledger, moved: Math.max(moved, movedDaily) };
  }
}

/** A saved amount: whole µ$, not negative (an older checkpoint's dollar fractions are not). */
function isWholeMicros(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isLedgerState(value: unknown): value is LedgerState {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  if (!Number.isInteger(v.horizon_seconds) || typeof v.timezone !== 'string') return false;
  if (!Array.isArray(v.rolling) || v.daily === null || typeof v.daily !== 'object') return false;
  for (const entry of v.rolling) {
    if (!Array.isArray(entry) || entry.length !== 2) return false;
    if (!Number.isInteger(entry[0]) || !isWholeMicros(entry[1])) return false;
  }
  for (const [key, cost] of Object.entries(v.daily as object)) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(key) || !isWholeMicros(cost)) return false;
  }
  if (v.first_line_ms !== undefined && !Number.isFinite(v.first_line_ms)) return false;
  if (v.balance !== undefined) {
    const b = v.balance as Record<string, unknown> | null;
    if (b === null || typeof b !== 'object' || !Number.isFinite(b.since_ms) || !isWholeMicros(b.spend))
      return false;
  }
  if (v.minutes !== undefined) {
    if (!Array.isArray(v.minutes)) return false;
    for (const entry of v.minutes) {
      if (!Array.isArray(entry) || entry.length !== 2) return false;
      if (!Number.isInteger(entry[0]) || !isWholeMicros(entry[1])) return false;
    }
  }
  return true;
}
