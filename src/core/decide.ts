// What to do about where spend stands: which alerts are due, whether to write the emergency flag,
// whether to kill. Pure: the same figures and the same remembered state always give the same
// answer, so every rule here is table-tested without a file or a process.
//
// The remembered state (alerts.json in state_dir) is what makes every action idempotent: a second
// check in the same state sends nothing new.
import { type Level, levelRank, type WindowStatus } from './levels.js';
import type { AlertEvent, FindingMemory } from './types.js';

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
  /** Findings alerted (core/findings.ts): key -> when seen, so each is alerted once. */
  findings: Record<string, FindingMemory>;
}

/** The key under which the one-time note on adding Slack is remembered. */
export const SLACK_NOTE = 'slack-note';

/** The incident key of a stop command that failed or timed out. */
export const STOP_FAILED = 'stop-failed';

/** The incident key of a kill that left the target running. */
export const KILL_FAILED = 'kill-failed';

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

export type { AlertEvent, EventKind } from './types.js';

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

function maxLevel(a: Level, b: Level): Level {
  return levelRank(a) >= levelRank(b) ? a : b;
}

/** A window's level for flag and kill: what was acknowledged by a forced clear counts as warn at most. */
export function effectiveLevel(level: Level, acknowledged: Level | undefined): Level {
  if (acknowledged === undefined || levelRank(level) > levelRank(acknowledged)) return level;
  return levelRank(level) > levelRank('warn') ? 'warn' : level;
}

export function limitFor(window: WindowStatus, level: Level): number | null {
  if (level === 'ok') return null;
  return window.limits[level] ?? null;
}

export function decide(input: DecideInput): Decision {
  const { nowMs, windows, state } = input;
  const next: AlertState = {
    ...state,
    windows: { ...state.windows },
    acknowledged: { ...state.acknowledged },
    incidents: { ...state.incidents },
    pending: [...state.pending],
    findings: { ...state.findings },
  };
  const events: AlertEvent[] = [];
  let level: Level = 'ok';
  let trigger: WindowStatus | null = null;
  // A window no longer in the config is forgotten, silently.
  for (const name of Object.keys(next.windows))
    if (!windows.some((w) => w.name === name)) delete next.windows[name];
  for (const name of Object.keys(next.acknowledged))
    if (!windows.some((w) => w.name === name)) delete next.acknowledged[name];

  for (const window of windows) {
    const previous = state.windows[window.name]?.level ?? 'ok';
    if (window.level === 'ok') {
      delete next.acknowledged[window.name];
      if (previous !== 'ok') {
        events.push({
          kind: 'recovery',
          window: window.name,
          level: 'ok',
          previous,
          spend: window.spend,
          limit: null,
        });
      }
      delete next.windows[window.name];
    } else if (levelRank(window.level) > levelRank(previous)) {
      events.push({
        kind: previous === 'ok' ? 'enter' : 'escalate',
        window: window.name,
        level: window.level,
        previous,
        spend: window.spend,
        limit: limitFor(window, window.level),
        ...(window.detail !== undefined ? { detail: window.detail } : {}),
      });
      next.windows[window.name] = { level: window.level, since_ms: nowMs };
    }
    const effective = effectiveLevel(window.level, next.acknowledged[window.name]);
    if (levelRank(effective) > levelRank(level)) {
      level = effective;
      trigger = window;
    }
  }

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

  return { level: maxLevel(level, 'ok'), trigger, writeFlag, kill, events, next };
}

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

/** The incident key of an emergency flag that could not be written. */
export const FLAG_FAILED = 'flag-failed';
export const FLAG_UNKNOWN = 'flag-unknown';

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

export const PENDING_LIMIT = 20;
export const PENDING_MAX_AGE_MS = 24 * 3_600_000;

function rankOf(p: PendingAlert): number {
  return p.level === undefined ? levelRank('warn') : levelRank(p.level);
}

/**
 * The unsent alerts worth keeping: none older than a day, and at most PENDING_LIMIT: beyond it the
 * lowest level goes first, the oldest of it first (a kill alert outlives a pile of warnings).
 * `keep` (the one being sent) is never dropped. Order is kept.
 */
export function keepPending(
  pending: readonly PendingAlert[],
  nowMs: number,
  keep: string | null = null,
): { kept: PendingAlert[]; dropped: number } {
  const fresh = pending.filter(
    (p) => nowMs - p.created_ms < PENDING_MAX_AGE_MS || (keep !== null && p.id === keep),
  );
  const out = new Set<PendingAlert>();
  if (fresh.length > PENDING_LIMIT) {
    const order = fresh.map((p, i) => ({ p, i })).filter(({ p }) => keep === null || p.id !== keep);
    order.sort((a, b) => rankOf(a.p) - rankOf(b.p) || a.i - b.i);
    for (const { p } of order.slice(0, fresh.length - PENDING_LIMIT)) out.add(p);
  }
  const kept = fresh.filter((p) => !out.has(p));
  return { kept, dropped: pending.length - kept.length };
}

/** Does `newer` say all that `older` (not sent yet) would: the same windows' climbs, at a level as high? */
export function supersedes(newer: PendingAlert, older: PendingAlert): boolean {
  if (older.plain !== true || newer.level === undefined || older.level === undefined) return false;
  const climbs = older.climbs ?? [];
  if (climbs.length === 0 || levelRank(newer.level) < levelRank(older.level)) return false;
  return climbs.every((w) => (newer.climbs ?? []).includes(w));
}

/** The first line of a Slack text, without its emoji and bold: "EMERGENCY: 15m spend ...". */
function headlineOf(text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.replace(/^:[a-z_]+: \*(?:cost-watchdog: )?/, '').replace(/\*$/, '');
}

/**
 * Queue a new alert behind the unsent ones. A queued alert that the new one supersedes is taken
 * out (never `busy`, the one being sent now), and the new one says what it replaces, so that nothing
 * said is lost: a queued "EMERGENCY 15m" becomes a line of the newer "KILL 15m". Then bounded.
 */
export function enqueuePending(
  queue: readonly PendingAlert[],
  item: PendingAlert,
  nowMs: number,
  busy: string | null = null,
): { queue: PendingAlert[]; replaced: PendingAlert[]; dropped: number } {
  const replaced = queue.filter((q) => (busy === null || q.id !== busy) && supersedes(item, q));
  let merged = item;
  if (replaced.length > 0) {
    const notes = replaced.flatMap((r) => [
      `• replaces an alert not sent in time (${new Date(r.created_ms).toISOString()}): ${headlineOf(r.text)}`,
      ...r.text.split('\n').filter((l) => l.startsWith('• replaces an alert not sent in time')),
    ]);
    merged = { ...item, text: [item.text, ...notes].join('\n') };
  }
  const kept = keepPending([...queue.filter((q) => !replaced.includes(q)), merged], nowMs, busy);
  return { queue: kept.kept, replaced, dropped: kept.dropped };
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
