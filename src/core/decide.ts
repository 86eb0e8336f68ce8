// What to do about where spend stands: which alerts are due, whether to write the emergency flag,
// whether to kill. Pure: the same figures and the same remembered state always give the same
// answer, so every rule here is table-tested without a file or a process.
//
// The remembered state (alerts.json in state_dir) is what makes every action idempotent: a second
// check in the same state sends nothing new.
//
// One family per file in core/decide/; this file only sequences the steps of a decision (the
// ladder, the flag and the kill, the reminder) and gathers the public names.
import { type Level, levelRank } from './levels.js';
import { climb } from './decide/ladder.js';
import { flagAndKill } from './decide/flag.js';
import { remind } from './decide/reminder.js';
import type { AlertState, DecideInput, Decision } from './decide/state.js';

export { afterClear, type ClearVerdict, clearVerdict } from './decide/clear.js';
export { effectiveLevel, limitFor } from './decide/ladder.js';
export {
  channelOf,
  enqueuePending,
  keepPending,
  PENDING_LIMIT,
  PENDING_MAX_AGE_MS,
  supersedes,
} from './decide/pending.js';
export { type CheckFacts, ROUTINE_AUDIT_EVERY_MS, routineCheck } from './decide/routine.js';
export {
  type AlertState,
  type DecideInput,
  type Decision,
  emptyAlertState,
  FLAG_FAILED,
  FLAG_UNKNOWN,
  KILL_FAILED,
  type PendingAlert,
  type PendingOwner,
  type ScopeMemory,
  SLACK_NOTE,
  STOP_FAILED,
  type WindowMemory,
} from './decide/state.js';
export { type ActionTrouble, incidentDue, killProblem, repeatDue, troubles } from './decide/troubles.js';
export type { AlertEvent, EventKind } from './types.js';

function maxLevel(a: Level, b: Level): Level {
  return levelRank(a) >= levelRank(b) ? a : b;
}

export function decide(input: DecideInput): Decision {
  const { state } = input;
  const next: AlertState = {
    ...state,
    windows: { ...state.windows },
    acknowledged: { ...state.acknowledged },
    incidents: { ...state.incidents },
    pending: [...state.pending],
    findings: { ...state.findings },
  };
  const { level, trigger, events } = climb(input, next);
  const flag = flagAndKill(input, level, trigger, events, next);
  remind(input, level, trigger, flag, events, next);
  const { writeFlag, kill } = flag;
  return { level: maxLevel(level, 'ok'), trigger, writeFlag, kill, events, next };
}
