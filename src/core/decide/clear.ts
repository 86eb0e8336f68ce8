// `clear-emergency`: whether a person may clear now, and what the clear leaves behind. Pure.
import { levelRank, type WindowStatus } from '../levels.js';
import { type AlertState, SLACK_NOTE } from './state.js';

/**
 * What `clear-emergency` leaves behind: the flag's memory gone, the kill switch off, each window
 * remembered at its current level (so a later climb alerts again). With `force`, the levels at
 * emergency or above are acknowledged: the flag returns only above them, or after `ok`.
 */
export function afterClear(
  state: AlertState,
  windows: readonly WindowStatus[],
  force: boolean,
  nowMs: number,
): AlertState {
  // Trouble is forgotten with the emergency; the one-time note on adding Slack is not.
  const incidents: Record<string, number> = {};
  if (state.incidents[SLACK_NOTE] !== undefined) incidents[SLACK_NOTE] = state.incidents[SLACK_NOTE];
  const next: AlertState = {
    ...state,
    windows: {},
    acknowledged: {},
    kill_switch: null,
    flag_seen: false,
    last_reminder_ms: null,
    incidents,
  };
  for (const window of windows) {
    if (window.level === 'ok') continue;
    next.windows[window.name] = { level: window.level, since_ms: nowMs };
    if (force && levelRank(window.level) >= levelRank('emergency'))
      next.acknowledged[window.name] = window.level;
  }
  return next;
}

export type ClearVerdict =
  | { allowed: true; over: WindowStatus[] }
  | { allowed: false; why: 'spend unknown' | 'still over'; over: WindowStatus[] };

/**
 * May a person clear the emergency now? Not while a window is at emergency or above, nor while
 * the spend is not known (the log unreadable), unless forced. `over` names the windows at
 * emergency or above (what a forced clear acknowledges).
 */
export function clearVerdict(
  windows: readonly WindowStatus[],
  force: boolean,
  spendKnown: boolean,
): ClearVerdict {
  const over = windows.filter((w) => levelRank(w.level) >= levelRank('emergency'));
  if (force) return { allowed: true, over };
  if (!spendKnown) return { allowed: false, why: 'spend unknown', over };
  if (over.length > 0) return { allowed: false, why: 'still over', over };
  return { allowed: true, over };
}
