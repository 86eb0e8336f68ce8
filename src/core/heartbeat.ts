// Is the watchdog alive? The verdict of `check-heartbeat` on what `heartbeat.json` says, and when
// that verdict is worth an alert. Pure: the heartbeat as read, the clock and the previous state in;
// the verdict, the alert to send and the next state out.
import { repeatDue } from './decide.js';
import { formatDuration } from './duration.js';
import { MONITOR } from './levels.js';

/** What was found in the state folder. */
export type HeartbeatFound =
  | { kind: 'ok'; timeMs: number; ok: boolean; mode: string; pid: number | null; error: string | null }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string }
  | { kind: 'unreadable'; reason: string };

/**
 * fresh: a check completed within max-age and did its job. failing: a check completed within
 * max-age but could not do its job (log unreadable, flag not written, kill failed). stale: the
 * last check is older than max-age. missing: no check has ever completed here. unknown: the
 * heartbeat cannot be read or cannot be believed (dated in the future).
 */
export type HeartbeatState = 'fresh' | 'failing' | 'stale' | 'missing' | 'unknown';

export interface HeartbeatVerdict {
  state: HeartbeatState;
  /** Monitoring-plugin exit code: 0 fresh, 1 failing, 2 stale or missing, 3 unknown. */
  code: number;
  /** Age of the last completed check, when known. */
  ageMs: number | null;
  /** One line for a person: what was found. */
  summary: string;
}

/** A heartbeat dated further ahead than this was written by a clock that is wrong. */
export const FUTURE_TOLERANCE_MS = 60_000;

export function judgeHeartbeat(found: HeartbeatFound, nowMs: number, maxAgeMs: number): HeartbeatVerdict {
  const max = formatDuration(maxAgeMs);
  switch (found.kind) {
    case 'missing':
      return {
        state: 'missing',
        code: MONITOR.CRITICAL,
        ageMs: null,
        summary:
          'no heartbeat: the watchdog has never completed a check here (is its timer or service running?)',
      };
    case 'corrupt':
      return {
        state: 'unknown',
        code: MONITOR.UNKNOWN,
        ageMs: null,
        summary: `heartbeat unreadable: ${found.reason}`,
      };
    case 'unreadable':
      return {
        state: 'unknown',
        code: MONITOR.UNKNOWN,
        ageMs: null,
        summary: `cannot read the heartbeat: ${found.reason}`,
      };
    case 'ok':
      break;
  }
  const ageMs = nowMs - found.timeMs;
  if (ageMs < -FUTURE_TOLERANCE_MS) {
    return {
      state: 'unknown',
      code: MONITOR.UNKNOWN,
      ageMs: null,
      summary:
        `heartbeat dated ${formatDuration(-ageMs)} in the future: this clock or the watchdog's is ` +
        `wrong, so its age cannot be told`,
    };
  }
  const age = Math.max(0, ageMs);
  const by = `${found.mode}${found.pid !== null ? `, pid ${found.pid}` : ''}`;
  if (age > maxAgeMs) {
    return {
      state: 'stale',
      code: MONITOR.CRITICAL,
      ageMs: age,
      summary:
        `last check ${formatDuration(age)} ago (${by}), older than the ${max} allowed: the watchdog ` +
        `has stopped checking`,
    };
  }
  if (!found.ok) {
    return {
      state: 'failing',
      code: MONITOR.WARNING,
      ageMs: age,
      summary:
        `last check ${formatDuration(age)} ago (${by}) could not do its job: ` +
        `${found.error ?? 'no reason recorded'}`,
    };
  }
  return {
    state: 'fresh',
    code: MONITOR.OK,
    ageMs: age,
    summary: `last check ${formatDuration(age)} ago (${by}), within the ${max} allowed`,
  };
}

/** What check-heartbeat remembers between runs (state_dir/heartbeat-alert.json). */
export interface HeartbeatAlertState {
  version: 1;
  /** The bad state being reported, since when, and whether its alert went out. */
  down: { state: 'failing' | 'stale' | 'missing'; since_ms: number; announced: boolean } | null;
}

export function emptyHeartbeatAlertState(): HeartbeatAlertState {
  return { version: 1, down: null };
}

export type HeartbeatAlertKind = 'down' | 'recovered';

export interface HeartbeatAlertPlan {
  /** The alert to send now, or null. */
  alert: HeartbeatAlertKind | null;
  /** The state to keep if the alert is sent (or when there is none). */
  next: HeartbeatAlertState;
  /** The state to keep if the alert could not be sent: tried again next time. */
  unsent: HeartbeatAlertState;
}

/**
 * Alert once when the heartbeat goes bad (or from one bad state to a worse one), and once when it
 * is fresh again; say nothing while it stays the same. An alert that could not be sent is tried
 * again next time. UNKNOWN changes nothing: it is reported by the exit code and on stderr.
 */
export function planHeartbeatAlert(
  previous: HeartbeatAlertState,
  verdict: HeartbeatVerdict,
  nowMs: number,
): HeartbeatAlertPlan {
  const down = previous.down;
  if (verdict.state === 'unknown') return { alert: null, next: previous, unsent: previous };
  if (verdict.state === 'fresh') {
    if (down === null) return { alert: null, next: previous, unsent: previous };
    // A bad state that was never announced needs no "recovered".
    if (!down.announced)
      return { alert: null, next: emptyHeartbeatAlertState(), unsent: emptyHeartbeatAlertState() };
    return { alert: 'recovered', next: emptyHeartbeatAlertState(), unsent: previous };
  }
  const state = verdict.state;
  if (down?.announced && BADNESS[down.state] >= BADNESS[state]) {
    // Still down, or better than what was announced (stale -> failing): already said. Worse
    // again later (failing -> stale) is said again.
    const same = { version: 1 as const, down: { ...down, state } };
    return { alert: null, next: same, unsent: same };
  }
  const since = down?.since_ms ?? nowMs;
  return {
    alert: 'down',
    next: { version: 1, down: { state, since_ms: since, announced: true } },
    unsent: { version: 1, down: { state, since_ms: since, announced: false } },
  };
}

const BADNESS: Record<'failing' | 'stale' | 'missing', number> = { failing: 1, stale: 2, missing: 2 };

/** The words of a heartbeat alert, for Slack (escaped by the caller) and stderr. */
export function heartbeatAlertText(
  kind: HeartbeatAlertKind,
  verdict: HeartbeatVerdict,
  host: string,
  sinceMs: number | null,
  nowMs: number,
  /** The names the units start with (`cost-watchdog`, or `cost-watchdog-<instance>`). */
  units = 'cost-watchdog',
): string {
  if (kind === 'recovered') {
    const downFor = sinceMs === null ? '' : ` after ${formatDuration(Math.max(0, nowMs - sinceMs))}`;
    return `RECOVERED: cost-watchdog on ${host} is checking again${downFor}: ${verdict.summary}`;
  }
  const word = verdict.state === 'failing' ? 'WATCHDOG FAILING' : 'WATCHDOG DOWN';
  const hint =
    verdict.state === 'failing'
      ? 'spend may be going unwatched: see `cost-watchdog status` and the audit log'
      : 'spend is NOT being watched: check its timer or service (`systemctl status ' +
        `${units}.timer ${units}-watch.service\`, or cron)`;
  return `${word}: cost-watchdog on ${host}: ${verdict.summary}; ${hint}`;
}

/**
 * The dead-man's-switch URL for a check's outcome: the URL itself after a good check,
 * `<url>/fail` after a failed one (the healthchecks.io convention), keeping any query string.
 */
export function pingUrlFor(url: string, ok: boolean): string {
  if (ok) return url;
  const parsed = new URL(url);
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/fail`;
  return parsed.toString();
}

/**
 * `notify`: announce a failed unit now? The first time; again once the reminder is due while it
 * keeps failing; and at once if a good check completed since it was last announced (that is a
 * new failure, not the same one).
 */
export function notifyDue(
  lastSentMs: number | undefined,
  nowMs: number,
  reminderMs: number,
  lastGoodCheckMs: number | null,
): boolean {
  if (lastSentMs !== undefined && lastGoodCheckMs !== null && lastGoodCheckMs > lastSentMs) return true;
  return repeatDue(lastSentMs, nowMs, reminderMs);
}

/** `watch` pings at most this often while the outcome stays the same (services rate-limit pings). */
export const WATCH_PING_EVERY_MS = 60_000;

/**
 * Should `watch` ping after this check? A daemon checking on every append could ping several
 * times a second, which dead-man's-switch services rate-limit. So: after the first check, when the
 * outcome changes (good to failed or back), and otherwise at most every `everyMs`.
 */
export function pingDue(
  last: { atMs: number; ok: boolean } | null,
  ok: boolean,
  nowMs: number,
  everyMs: number,
): boolean {
  if (last === null || last.ok !== ok) return true;
  return repeatDue(last.atMs, nowMs, everyMs);
}
