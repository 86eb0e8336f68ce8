// Calendar days in an IANA time zone. A day is [first instant with that local date, first instant
// of the next one), so a 23- or 25-hour DST day, or a zone whose clocks skip midnight, is still
// exactly one day. Intl is slow (microseconds a call), so day ranges are cached: a line only asks
// Intl when it falls outside the few days seen last.

export interface DayRange {
  key: string; // YYYY-MM-DD, local to the zone
  startMs: number;
  endMs: number;
}

/** True when `name` is a time zone this Node.js knows (IANA name, or UTC). */
export function isValidTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export class DayCalendar {
  private readonly format: Intl.DateTimeFormat;
  private readonly cache: DayRange[] = [];

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** The local date of an instant, as YYYY-MM-DD. */
  dateKey(ms: number): string {
    let year = '';
    let month = '';
    let day = '';
    for (const part of this.format.formatToParts(ms)) {
      if (part.type === 'year') year = part.value;
      else if (part.type === 'month') month = part.value;
      else if (part.type === 'day') day = part.value;
    }
    return `${year.padStart(4, '0')}-${month}-${day}`;
  }

  /** The day an instant falls in. */
  dayOf(ms: number): DayRange {
    for (let i = 0; i < this.cache.length; i++) {
      const range = this.cache[i] as DayRange;
      if (ms >= range.startMs && ms < range.endMs) return range;
    }
    const key = this.dateKey(ms);
    // Local dates only move forward; find where this one starts and where the next starts.
    const startMs = this.firstAtOrAfter(ms - 50 * 3_600_000, ms, (t) => this.dateKey(t) >= key);
    const endMs = this.firstAtOrAfter(ms, ms + 50 * 3_600_000, (t) => this.dateKey(t) > key);
    const range = { key, startMs, endMs };
    this.cache.unshift(range);
    if (this.cache.length > 8) this.cache.pop();
    return range;
  }

  /** Smallest t in (lo, hi] with pred(t), for a predicate that turns true once and stays true. */
  private firstAtOrAfter(lo: number, hi: number, pred: (t: number) => boolean): number {
    // About 29 steps to the millisecond over 50 hours; it runs once per day seen, not per line.
    let a = lo;
    let b = hi;
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (pred(mid)) b = mid;
      else a = mid;
    }
    return b;
  }
}
