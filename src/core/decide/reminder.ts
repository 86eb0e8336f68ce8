// The reminder: while the flag is in force, say so again every `reminderMs` (an announcement of
// the climb or a flag written now counts as one). Pure.
import { type Level, levelRank, type WindowStatus } from '../levels.js';
import type { AlertEvent } from '../types.js';
import type { FlagVerdict } from './flag.js';
import { limitFor } from './ladder.js';
import type { AlertState, DecideInput } from './state.js';

/** The reminder step, last: a reminder event is added to `events`, its time to `next`. */
export function remind(
  input: DecideInput,
  level: Level,
  trigger: WindowStatus | null,
  flag: FlagVerdict,
  events: AlertEvent[],
  next: AlertState,
): void {
  const { nowMs, windows } = input;
  const { writeFlag, flagInForce, unknown } = flag;
  if (!flagInForce) {
    if (!unknown) next.last_reminder_ms = null;
  } else if (
    events.some(
      (e) => (e.kind === 'enter' || e.kind === 'escalate') && levelRank(e.level) >= levelRank('emergency'),
    ) ||
    writeFlag
  ) {
    next.last_reminder_ms = nowMs;
  } else if (next.last_reminder_ms === null) {
    // In force without an announcement of ours (written by `kill`, or before the state was kept).
    next.last_reminder_ms = nowMs;
  } else if (nowMs - next.last_reminder_ms >= input.reminderMs) {
    const top = trigger ?? windows[0];
    events.push({
      kind: 'reminder',
      window: trigger?.name ?? '',
      level,
      previous: level,
      spend: top?.spend ?? 0,
      limit: trigger === null ? null : limitFor(trigger, level),
    });
    next.last_reminder_ms = nowMs;
  }
}
