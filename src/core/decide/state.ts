// What is remembered between checks (alerts.json in state_dir), the incident keys, and what a
// decision takes and gives. The remembered state is what makes every action idempotent: a second
// check in the same state sends nothing new.
import type { Level, WindowStatus } from '../levels.js';
import type { AlertEvent, FindingMemory } from '../types.js';

export interface WindowMemory {
  /** The highest level alerted since the window was last `ok` (alerts only go up from here). */
  level: Level;
  since_ms: number;
}

export interface PendingAlert {
  text: string;
  created_ms: number;
  attempts: number;
  /** Stable while it waits, so that a sender that holds it already knows it in alerts.json. */
  id?: string;
  /** Its level, and the windows whose climb (enter/escalate) it announces: for superseding. */
  level?: Level;
  climbs?: string[];
  /** Nothing in it but climbs: a newer alert that covers them at a level as high says it all. */
  plain?: boolean;
  /** The channel it is for (absent: slack, as in files written before alerts.channels). */
  channel?: string;
  /** A structured channel's payload (channels/payload.ts AlertPayload), built when it was queued. */
  payload?: Record<string, unknown>;
}

/** Who sends the pending alerts: a `watch` daemon owns them while it runs (null: whoever checks next). */
export interface PendingOwner {
  pid: number;
  /** The kernel's start time of that pid (clock ticks since boot), to tell a reused pid. */
  start: number | null;
  host: string;
}

export interface AlertState {
  version: 1;
  windows: Record<string, WindowMemory>;
  /** Levels acknowledged by `clear-emergency --force`: no flag again until a window climbs above. */
  acknowledged: Record<string, Level>;
  /** A kill switch: set by a kill, holds until `clear-emergency`. The target is killed on sight. */
  kill_switch: { since_ms: number; by: string } | null;
  /** The flag has been seen (or written) since the last clear: its disappearance means something. */
  flag_seen: boolean;
  /** When the flag in force was last announced (alert or reminder). */
  last_reminder_ms: number | null;
  /** Trouble alerted (kill failed, flag not written, ...): key -> when, to repeat it only hourly. */
  incidents: Record<string, number>;
  /** Alerts that could not be sent: retried on the next check. */
  pending: PendingAlert[];
  /** A live `watch` that holds the pending alerts in memory and sends them itself. */
  pending_owner?: PendingOwner | null;
  /** Findings alerted (core/findings/): key -> when seen, so each is alerted once. */
  findings: Record<string, FindingMemory>;
  /** Scoped budgets: each instance's own memory, by `name` or `name/field=value` (src/scopes/). */
  scopes?: Record<string, ScopeMemory>;
}

/** One scope instance's slice of the alert state, decided on as a whole state is (src/scopes/decide.ts). */
export interface ScopeMemory {
  windows: Record<string, WindowMemory>;
  acknowledged: Record<string, Level>;
  kill_switch: { since_ms: number; by: string } | null;
  flag_seen: boolean;
  last_reminder_ms: number | null;
  incidents: Record<string, number>;
  /** When a check last saw it above ok (or decided on it): forgotten a day after, once back at ok. */
  last_seen_ms: number;
}

/** The key under which the one-time note on adding Slack is remembered. */
export const SLACK_NOTE = 'slack-note';

/** The incident key of a stop command that failed or timed out. */
export const STOP_FAILED = 'stop-failed';

/** The incident key of a kill that left the target running. */
export const KILL_FAILED = 'kill-failed';

/** The incident key of an emergency flag that could not be written. */
export const FLAG_FAILED = 'flag-failed';
export const FLAG_UNKNOWN = 'flag-unknown';

export function emptyAlertState(): AlertState {
  return {
    version: 1,
    windows: {},
    acknowledged: {},
    kill_switch: null,
    flag_seen: false,
    last_reminder_ms: null,
    incidents: {},
    pending: [],
    pending_owner: null,
    findings: {},
  };
}

export interface DecideInput {
  nowMs: number;
  windows: readonly WindowStatus[];
  state: AlertState;
  flagExists: boolean;
  /**
   * The flag could not be seen (core/flag.ts): it is not in force for the app's sake, but it was
   * not removed either: no "flag removed" alert, and what was known of it is kept.
   */
  flagUnknown?: boolean;
  /** The target is running now (only known when a kill may be needed; false otherwise). */
  targetRunning: boolean;
  reminderMs: number;
}

export interface Decision {
  /** The highest level over all windows once acknowledged levels are set aside. */
  level: Level;
  /** The window that decides the level (named in the flag and the headline); null when all ok. */
  trigger: WindowStatus | null;
  writeFlag: boolean;
  kill: boolean;
  events: AlertEvent[];
  /** The state to remember once the actions are done (the engine adds what they found). */
  next: AlertState;
}
