// Trouble while acting (a kill that failed, a stop command that failed, a flag not written or not
// seen): alerted when it starts, then at most every `repeatMs` while it lasts. Pure.
import {
  type AlertState,
  emptyAlertState,
  FLAG_FAILED,
  FLAG_UNKNOWN,
  KILL_FAILED,
  STOP_FAILED,
} from './state.js';

/** What went wrong while acting, as the engine found it. */
export interface ActionTrouble {
  /** Why the kill left the target running (or could not look for it); null when it did not. */
  killFailed: string | null;
  /** Whether a kill was tried in this check (a kill that is not tried neither fails nor recovers). */
  killTried: boolean;
  /** The stop command that failed; null when it ran fine; undefined when it did not run. */
  stopFailed: string | null | undefined;
  /** Why the emergency flag could not be written; null otherwise. */
  flagFailed: string | null;
  /** Why the flag's state cannot be told (core/flag.ts); null or left out when it can. */
  flagUnknown?: string | null;
}

/** The alert line for a kill that failed. */
export function killProblem(failed: string): string {
  return `KILL FAILED: ${failed.replace(/^kill failed: /, '')}`;
}

/**
 * Which troubles to alert now, and the incidents to remember: each is alerted when it starts,
 * then again at most every `repeatMs` while it lasts, and forgotten once it is over. A failed stop
 * command is said on its own only when the message has nothing else (otherwise its "done" line
 * says it).
 */
export function troubles(
  incidentsBefore: Readonly<Record<string, number>>,
  trouble: ActionTrouble,
  hasEvents: boolean,
  nowMs: number,
  repeatMs: number,
): { problems: string[]; incidents: Record<string, number> } {
  const incidents = { ...incidentsBefore };
  const problems: string[] = [];
  const due = (key: string): boolean =>
    incidentDue({ ...emptyAlertState(), incidents: incidentsBefore }, key, nowMs, repeatMs);
  if (trouble.killFailed !== null) {
    if (due(KILL_FAILED)) {
      problems.push(killProblem(trouble.killFailed));
      incidents[KILL_FAILED] = nowMs;
    }
  } else if (trouble.killTried) {
    delete incidents[KILL_FAILED];
  }
  if (typeof trouble.stopFailed === 'string') {
    if (due(STOP_FAILED)) {
      incidents[STOP_FAILED] = nowMs;
      if (!hasEvents && problems.length === 0) problems.push(`STOP COMMAND FAILED: ${trouble.stopFailed}`);
    }
  } else if (trouble.stopFailed === null) {
    delete incidents[STOP_FAILED];
  }
  if (trouble.flagFailed !== null) {
    if (due(FLAG_FAILED)) {
      problems.push(`EMERGENCY FLAG NOT WRITTEN: ${trouble.flagFailed}`);
      incidents[FLAG_FAILED] = nowMs;
    }
  } else {
    delete incidents[FLAG_FAILED];
  }
  const unknown = trouble.flagUnknown ?? null;
  if (unknown !== null) {
    // A write that failed says it already; the incident is remembered all the same.
    if (due(FLAG_UNKNOWN)) {
      if (trouble.flagFailed === null) problems.push(`EMERGENCY FLAG UNKNOWN: ${unknown}`);
      incidents[FLAG_UNKNOWN] = nowMs;
    }
  } else {
    delete incidents[FLAG_UNKNOWN];
  }
  return { problems, incidents };
}

/** Say it now? The first time, then again only after `repeatMs` (or if the clock went back). */
export function repeatDue(lastMs: number | undefined, nowMs: number, repeatMs: number): boolean {
  return lastMs === undefined || nowMs - lastMs >= repeatMs || nowMs < lastMs;
}

/** Should trouble under `key` be alerted now? Once, then again only after `repeatMs`. */
export function incidentDue(state: AlertState, key: string, nowMs: number, repeatMs: number): boolean {
  return repeatDue(state.incidents[key], nowMs, repeatMs);
}
