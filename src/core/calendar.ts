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
  if (isUtc(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const UTC_NAMES = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/UCT',
  'UCT',
  'Etc/Universal',
  'Universal',
  'Etc/Zulu',
  'Zulu',
  'GMT',
  'Etc/GMT',
  'Etc/GMT0',
  'Etc/GMT+0',
  'Etc/GMT-0',
  'GMT0',
  'GMT+0',
  'GMT-0',
  'Greenwich',
  'Etc/Greenwich',
]);

/** UTC needs no time zone data: loading it (Intl) costs ~10 ms, a tenth of a whole `run`. */
export function isUtc(timeZone: string): boolean {
  return UTC_NAMES.has(timeZone);
}

export class DayCalendar {
  private format: Intl.DateTimeFormat | undefined;
  private readonly cache: DayRange[] = [];
  private readonly utc: boolean;

  constructor(readonly timeZone: string) {
    this.utc = isUtc(timeZone);
  }

  /** The local date of an instant, as YYYY-MM-DD. */
  dateKey(ms: number): string {
    if (this.utc) return new Date(ms).toISOString().slice(0, 10);
    this.format ??= new Intl.DateTimeFormat('en-US', {
      timeZone: this.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hourCycle: 'h23',
    });
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
    if (this.utc) {
      const startMs = ms - (((ms % 86_400_000) + 86_400_000) % 86_400_000);
      return this.remember({ key, startMs, endMs: startMs + 86_400_000 });
    }
    // Local dates only move forward; find where this one starts and where the next starts.
    const startMs = this.firstAtOrAfter(ms - 50 * 3_600_000, ms, (t) => this.dateKey(t) >= key);
    const endMs = this.firstAtOrAfter(ms, ms + 50 * 3_600_000, (t) => this.dateKey(t) > key);
    return this.remember({ key, startMs, endMs });
  }

  private remember(range: DayRange): DayRange {
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
