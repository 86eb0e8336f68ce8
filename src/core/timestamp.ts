// Timestamps as apps write them. Hot path: these run once per log line, so they read characters by
// position instead of building substrings or regular expressions.

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

function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return 29;
  return DAYS_IN_MONTH[month - 1] as number;
}

/**
 * ISO 8601 between `start` and `end` of `s` to epoch milliseconds, or NaN.
 * Accepts `YYYY-MM-DD`, then optionally `T`/`t`/space `HH:MM[:SS[.fraction]]` and a zone
 * (`Z`, `±HH:MM`, `±HHMM`, `±HH`). No zone means UTC, as the contract says (never local time).
 */
export function parseIso(s: string, start = 0, end = s.length): number {
  const len = end - start;
  if (len < 10) return NaN;
  const year = digits(s, start, 4);
  const month = digits(s, start + 5, 2);
  const day = digits(s, start + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return NaN;
  if (s.charCodeAt(start + 4) !== 45 || s.charCodeAt(start + 7) !== 45) return NaN; // '-'
  if (day > daysIn(year, month)) return NaN;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let i = start + 10;
  if (i < end) {
    const sep = s.charCodeAt(i);
    if (sep !== 84 && sep !== 116 && sep !== 32) return NaN; // 'T' 't' ' '
    hour = digits(s, i + 1, 2);
    minute = digits(s, i + 4, 2);
    if (i + 6 > end || hour < 0 || hour > 23 || minute < 0 || minute > 59) return NaN;
    if (s.charCodeAt(i + 3) !== 58) return NaN; // ':'
    i += 6;
    if (i < end && s.charCodeAt(i) === 58) {
      second = digits(s, i + 1, 2);
      if (i + 3 > end || second < 0 || second > 60) return NaN;
      i += 3;
      if (i < end && (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44)) {
        // '.' or ',' then 1..9 digits; only milliseconds matter
        i++;
        let scale = 100;
        const fracStart = i;
        while (i < end) {
          const c = s.charCodeAt(i) - 48;
          if (c < 0 || c > 9) break;
          ms += c * scale;
          scale /= 10;
          i++;
        }
        if (i === fracStart || i - fracStart > 9) return NaN;
      }
    }
    let offsetMin = 0;
    if (i < end) {
      const z = s.charCodeAt(i);
      if (z === 90 || z === 122) {
        i++; // 'Z' 'z'
      } else if (z === 43 || z === 45) {
        const sign = z === 43 ? 1 : -1;
        const oh = digits(s, i + 1, 2);
        if (oh < 0 || oh > 23 || i + 3 > end) return NaN;
        i += 3;
        let om = 0;
        if (i < end) {
          if (s.charCodeAt(i) === 58) i++;
          om = digits(s, i, 2);
          if (om < 0 || om > 59 || i + 2 > end) return NaN;
          i += 2;
        }
        offsetMin = sign * (oh * 60 + om);
      } else {
        return NaN;
      }
    }
    if (i !== end) return NaN;
    return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(ms)) - offsetMin * 60_000;
  }
  return Date.UTC(year, month - 1, day);
}

/** A numeric string (`"1769472000.1"`) as an epoch, or NaN. */
export function parseEpochString(s: string, start = 0, end = s.length): number {
  if (end <= start) return NaN;
  let dot = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && !dot && i > start && i < end - 1) {
      dot = true;
    } else if (c < 48 || c > 57) {
      return NaN;
    }
  }
  return epochToMs(Number(s.slice(start, end)));
}

/** Any time string a log line may carry: ISO 8601 or an epoch in a string. */
export function parseTimeString(s: string, start = 0, end = s.length): number {
  const c = s.charCodeAt(start + 4);
  if (c === 45) return parseIso(s, start, end); // YYYY-
  return parseEpochString(s, start, end);
}
