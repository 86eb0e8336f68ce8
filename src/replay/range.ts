// `replay --from/--to`: what an operator may write for a time, and the instant it means. Pure
// (now and the day calendar are passed in).
//   2026-11-23                  local midnight of that date in the config's timezone
//   2026-11-23T14:00:00Z        an ISO time (with a zone; without one it is UTC, like a log's time)
//   7d, 24h, 90m, 1h30m         that long before now
//   now
import type { DayCalendar } from '../core/calendar.js';
import { parseDuration } from '../core/duration.js';
import { parseTimeString } from '../core/timestamp.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The first instant of a local date (YYYY-MM-DD) in the calendar's zone; NaN for no such date. */
export function localMidnight(date: string, calendar: DayCalendar): number {
  const m = DATE.exec(date);
  if (m === null) return NaN;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const noon = Date.UTC(y, mo - 1, d, 12);
  const back = new Date(noon);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
  // Noon UTC is on that local date or a day either side (zones run from -12h to +14h).
  let range = calendar.dayOf(noon);
  for (let step = 0; step < 3 && range.key !== date; step++)
    range = calendar.dayOf(range.key < date ? range.endMs : range.startMs - 1);
  return range.key === date ? range.startMs : NaN;
}

/** The instant `text` means, or a reason it means none. */
export function parseWhen(text: string, nowMs: number, calendar: DayCalendar): number | string {
  const t = text.trim();
  const expected =
    'expected a date (2026-11-23: local midnight in the config timezone), an ISO time ' +
    '(2026-11-23T14:00:00Z), a time before now (7d, 24h, 90m) or now';
  if (t === '') return `empty; ${expected}`;
  if (t === 'now') return nowMs;
  if (DATE.test(t)) {
    const ms = localMidnight(t, calendar);
    return Number.isFinite(ms) ? ms : `no such date ${JSON.stringify(t)}; ${expected}`;
  }
  const ago = parseDuration(t);
  if (ago !== null) return nowMs - ago;
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) {
    const ms = parseTimeString(t);
    if (Number.isFinite(ms)) return ms;
  }
  return `${JSON.stringify(t)} is not a time; ${expected}`;
}
