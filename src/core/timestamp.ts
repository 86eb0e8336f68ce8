// Timestamps as apps write them. Hot path: these run once per log line, so they read bytes by
// position (the log is read as bytes; an ASCII line is never decoded into a string at all).

/**
 * Epoch number to milliseconds, telling the unit apart by magnitude. Seconds are below 1e11 (the
 * year 5138), milliseconds below 1e14, microseconds below 1e17, nanoseconds above.
 * NaN for a negative or non-finite number. Always whole milliseconds.
 */
export function epochToMs(value: number): number {
  if (!Number.isFinite(value) || value < 0) return NaN;
  // Whole milliseconds: 1769472000.1 * 1000 is 1769472000100.0002 in floating point.
  if (value < 1e11) return Math.round(value * 1000);
  if (value < 1e14) return Math.round(value);
  if (value < 1e17) return Math.round(value / 1000);
  return Math.round(value / 1e6);
}

function digits(b: Uint8Array, i: number, n: number, end: number): number {
  if (i + n > end) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = (b[i + k] as number) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month - 1] as number;
}

function DIGIT_BYTE(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** A numeric string (`"1769472000.1"`) as an epoch, or NaN. */
function parseEpochBytes(b: Uint8Array, start: number, end: number): number {
  if (end <= start) return NaN;
  let dot = false;
  let text = '';
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c === 46 && !dot && i > start && i < end - 1) dot = true;
    else if (c < 48 || c > 57) return NaN;
    text += String.fromCharCode(c);
  }
  return epochToMs(Number(text));
}

/**
 * Reads times, remembering the date it read last: lines come in time order, the same date again
 * and again. One per line parser (a thread's scan never shares it).
 */
export class TimeParser {
  /** isoAt's result (a typed array: no number allocated per line). */
  readonly out = new Float64Array(1);
  private lastYear = -1;
  private lastMonth = -1;
  private lastDay = -1;
  private lastDayMs = 0;

  /**
   * Read an ISO 8601 time starting at b[start], no further than `limit`: `YYYY-MM-DD`, then
   * optionally `T`/`t`/space `HH:MM[:SS[.fraction]]` and a zone (`Z`, `±HH:MM`, `±HHMM`, `±HH`).
   * No zone means UTC, as the contract says (never local time). Returns the index after the last
   * byte read, with the time in `out[0]`, or -1. Reads as far as the grammar goes, so the scanner
   * can parse a time string in place and then expect its closing quote.
   */
  isoAt(b: Uint8Array, start: number, limit: number): number {
    const year = digits(b, start, 4, limit);
    const month = digits(b, start + 5, 2, limit);
    const day = digits(b, start + 8, 2, limit);
    if (year < 0 || month < 1 || month > 12 || day < 1) return -1;
    if (b[start + 4] !== 45 || b[start + 7] !== 45) return -1; // '-'
    if (day > daysIn(year, month)) return -1;
    if (year !== this.lastYear || month !== this.lastMonth || day !== this.lastDay) {
      this.lastYear = year;
      this.lastMonth = month;
      this.lastDay = day;
      this.lastDayMs = daysFromCivil(year, month, day) * 86_400_000;
    }
    const dayMs = this.lastDayMs;
    let i = start + 10;
    const sep = b[i];
    if (i >= limit || (sep !== 84 && sep !== 116 && sep !== 32)) {
      this.out[0] = dayMs;
      return i;
    }
    const hour = digits(b, i + 1, 2, limit);
    const minute = digits(b, i + 4, 2, limit);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || b[i + 3] !== 58) return -1; // ':'
    i += 6;
    let second = 0;
    let ms = 0;
    if (i < limit && b[i] === 58) {
      second = digits(b, i + 1, 2, limit);
      if (second < 0 || second > 60) return -1;
      i += 3;
      if (i < limit && (b[i] === 46 || b[i] === 44)) {
        // '.' or ',' then 1..9 digits; only milliseconds matter
        i++;
        const fracStart = i;
        let scale = 100;
        while (i < limit) {
          const c = (b[i] as number) - 48;
          if (c < 0 || c > 9) break;
          ms += c * scale;
          scale /= 10;
          i++;
        }
        if (i === fracStart || i - fracStart > 9) return -1;
      }
    }
    let offsetMin = 0;
    if (i < limit) {
      const z = b[i];
      if (z === 90 || z === 122) {
        i++; // 'Z' 'z'
      } else if (z === 43 || z === 45) {
        const oh = digits(b, i + 1, 2, limit);
        if (oh < 0 || oh > 23) return -1;
        i += 3;
        let om = 0;
        if (i < limit && DIGIT_BYTE(b[i])) {
          om = digits(b, i, 2, limit);
          if (om < 0 || om > 59) return -1;
          i += 2;
        } else if (i < limit && b[i] === 58) {
          om = digits(b, i + 1, 2, limit);
          if (om < 0 || om > 59) return -1;
          i += 3;
        }
        offsetMin = (z === 43 ? 1 : -1) * (oh * 60 + om);
      }
    }
    this.out[0] =
      dayMs + hour * 3_600_000 + minute * 60_000 + second * 1000 + Math.floor(ms) - offsetMin * 60_000;
    return i;
  }

  /** ISO 8601 filling exactly b[start, end), to epoch milliseconds, or NaN. */
  parseIsoBytes(b: Uint8Array, start: number, end: number): number {
    return this.isoAt(b, start, end) === end ? (this.out[0] as number) : NaN;
  }

  /** Any time string a log line may carry, as bytes: ISO 8601 or an epoch in a string. */
  parseTimeBytes(b: Uint8Array, start: number, end: number): number {
    if (b[start + 4] === 45) return this.parseIsoBytes(b, start, end); // YYYY-
    return parseEpochBytes(b, start, end);
  }

  /** The same for a JS string (the JSON.parse path). Only ASCII can be a time. */
  parseTimeString(s: string): number {
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) return NaN;
      b[i] = c;
    }
    return this.parseTimeBytes(b, 0, b.length);
  }
}

/** One time string, read on its own (outside a scan: nothing is remembered). */
export function parseTimeString(s: string): number {
  return new TimeParser().parseTimeString(s);
}
