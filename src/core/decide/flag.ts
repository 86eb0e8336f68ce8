// The emergency flag and the kill: write the flag at emergency or above, notice a flag removed by
// hand, kill at the kill level and on sight while a kill switch holds. Pure.
import { type Level, levelRank, type WindowStatus } from '../levels.js';
import type { AlertEvent } from '../types.js';
import { type AlertState, type DecideInput, KILL_FAILED } from './state.js';

export interface FlagVerdict {
  writeFlag: boolean;
  kill: boolean;
  /** The flag is there, or is written now. */
  flagInForce: boolean;
  /** The flag could not be seen. */
  unknown: boolean;
}

/** The flag and kill step, after the ladder: events are added to `events`, memory to `next`. */
export function flagAndKill(
  input: DecideInput,
  level: Level,
  trigger: WindowStatus | null,
  events: AlertEvent[],
  next: AlertState,
): FlagVerdict {
  const { nowMs, state } = input;
  const writeFlag = levelRank(level) >= levelRank('emergency') && !input.flagExists;
  const unknown = input.flagUnknown === true;
  const flagInForce = input.flagExists || writeFlag;
  // What is remembered of the flag: one that cannot be seen keeps what was known, so that a kill
  // switch is not turned off by it (only clear-emergency does that). It is never reminded of as
  // "in force" meanwhile: that is only said of a flag that is there.
  const flagKept = flagInForce || (unknown && state.flag_seen);

  // The flag was seen and is gone, but nobody ran clear-emergency: someone deleted it by hand.
  if (state.flag_seen && !input.flagExists && !unknown) {
    events.push({
      kind: 'flag-removed',
      window: trigger?.name ?? '',
      level,
      previous: level,
      spend: trigger?.spend ?? 0,
      limit: null,
    });
    next.kill_switch = null;
    next.last_reminder_ms = null;
  }
  next.flag_seen = flagKept;

  // Kill at the kill level, and on sight while a kill switch is on and its flag in force (a
  // supervisor restarted the target). A target still running after a kill that failed did not
  // come back: it never went, and that is alerted as the failure it is.
  const kill = level === 'kill' || (next.kill_switch !== null && flagKept);
  if (
    kill &&
    next.kill_switch !== null &&
    input.targetRunning &&
    state.incidents[KILL_FAILED] === undefined
  ) {
    events.push({
      kind: 'came-back',
      window: trigger?.name ?? '',
      level,
      previous: level,
      spend: trigger?.spend ?? 0,
      limit: null,
    });
  }
  if (level === 'kill') next.kill_switch ??= { since_ms: nowMs, by: 'limit' };
  return { writeFlag, kill, flagInForce, unknown };
}
