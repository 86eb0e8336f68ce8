// Which checks the audit log may leave out: routine ones, with a record still kept every ten
// minutes as proof of life. Pure.
import { repeatDue } from './troubles.js';

/** A routine check is still recorded in the audit log this often (proof of life in the record). */
export const ROUTINE_AUDIT_EVERY_MS = 10 * 60_000;

export interface CheckFacts {
  /** Every window's level, in order, as one key: "warn,ok". */
  levels: string;
  /** Only the `check` and `decision` lines were recorded (no action, no note). */
  onlyRoutineLines: boolean;
  /** Anything said: an alert event, a flag written or failed, a kill, a failure, a log error,
   * malformed or future-dated lines, a rebuild or a rotation note. */
  eventful: boolean;
}

/**
 * `watch` checks on every append; recording each of them would grow the audit log by tens of
 * megabytes a day. A check is left out of the log when it is routine: nothing said or done, the
 * same levels as the last check recorded, and one was recorded within ROUTINE_AUDIT_EVERY_MS.
 */
export function routineCheck(
  facts: CheckFacts,
  last: { levels: string; atMs: number } | null,
  nowMs: number,
): boolean {
  if (facts.eventful || last === null || facts.levels !== last.levels) return false;
  if (!facts.onlyRoutineLines) return false;
  return !repeatDue(last.atMs, nowMs, ROUTINE_AUDIT_EVERY_MS);
}
