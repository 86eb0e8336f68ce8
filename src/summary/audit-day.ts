// What the watchdog did on a day, from its audit log (effects/audit.ts): the alerts it raised
// (a decision's events, a scope's, a finding announced, a heartbeat alert), the kills (by a
// check, or `kill` by hand), the flags written and cleared. Pure: lines of text come in, already
// cut to the day's bytes or not; a line that is not JSON or not of a shape written is skipped.

export interface DayAlert {
  at: string;
  level: string;
  /** In words: "15m enter warn", "scope research daily escalate kill", "finding burn-rate". */
  what: string;
}

export interface DayKill {
  at: string;
  /** killed, failed, no target running, no target configured, stopped by the stop command. */
  result: string;
  /** `kill` by hand: who and why. */
  by?: string;
  reason?: string;
  /** While reading: the pid of a `kill` by hand whose outcome is the next `kill` line it writes. */
  pending?: unknown;
}

/** The results of a check's kill that are kills (not "no target running": nothing was signalled). */
const KILLS = new Set(['killed', 'failed', 'stopped by the stop command']);

export interface DayActions {
  alerts: DayAlert[];
  kills: DayKill[];
  flagsWritten: number;
  flagsCleared: { at: string; by: string; reason: string }[];
  /** Lines of the day that could not be read (not JSON). */
  unreadable: number;
}

const KINDS = new Set(['enter', 'escalate', 'recovery', 'reminder', 'came-back', 'flag-removed']);
const LEVELS = new Set(['ok', 'warn', 'emergency', 'kill']);

/** "enter:15m:warn" -> its parts; null when it is not of that shape. */
function parseEvent(text: unknown): { kind: string; window: string; level: string } | null {
  if (typeof text !== 'string') return null;
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last <= first) return null;
  const kind = text.slice(0, first);
  const level = text.slice(last + 1);
  if (!KINDS.has(kind) || !LEVELS.has(level)) return null;
  return { kind, window: text.slice(first + 1, last), level };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** The events a line holds that fall in [fromMs, toMs), added to `into`. */
export function addAuditLine(into: DayActions, line: string, fromMs: number, toMs: number): void {
  if (line.trim() === '') return;
  let obj: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    obj = parsed as Record<string, unknown>;
  } catch {
    into.unreadable++;
    return;
  }
  const at = str(obj.ts);
  if (at === null) return;
  const ms = Date.parse(at);
  if (Number.isNaN(ms) || ms < fromMs || ms >= toMs) return;
  const events = Array.isArray(obj.events) ? obj.events : [];
  switch (obj.event) {
    case 'decision':
      for (const e of events.map(parseEvent))
        if (e !== null) into.alerts.push({ at, level: e.level, what: `${e.window} ${e.kind} ${e.level}` });
      if (obj.flag === 'written') into.flagsWritten++;
      break;
    case 'scope_decision': {
      const key =
        obj.key !== null && typeof obj.key === 'object'
          ? Object.entries(obj.key as Record<string, unknown>)
              .map(([k, v]) => ` ${k}=${String(v)}`)
              .join('')
          : '';
      const scope = `scope ${str(obj.scope) ?? '?'}${key}`;
      for (const e of events.map(parseEvent))
        if (e !== null)
          into.alerts.push({ at, level: e.level, what: `${scope} ${e.window} ${e.kind} ${e.level}` });
      if (obj.flag === 'written') into.flagsWritten++;
      break;
    }
    case 'finding':
      into.alerts.push({ at, level: 'warn', what: `finding ${str(obj.kind) ?? '?'}` });
      break;
    case 'heartbeat_alert':
      into.alerts.push({ at, level: 'emergency', what: `heartbeat ${str(obj.state) ?? '?'}` });
      break;
    case 'kill': {
      const result = str(obj.result);
      if (result === null) break;
      // `kill` by hand records who and why, then the stop's outcome: one kill, said as one.
      const byHand = into.kills.at(-1);
      if (byHand?.pending === obj.pid && byHand !== undefined) {
        byHand.result = `manual kill: ${result}`;
        delete byHand.pending;
      } else if (KILLS.has(result)) into.kills.push({ at, result });
      break;
    }
    case 'manual_kill':
      into.kills.push({
        at,
        result: 'manual kill',
        by: str(obj.by) ?? '?',
        reason: str(obj.reason) ?? '',
        pending: obj.pid,
      });
      break;
    case 'flag_cleared':
      into.flagsCleared.push({ at, by: str(obj.by) ?? '?', reason: str(obj.reason) ?? '' });
      break;
    default:
      break;
  }
}

export function emptyActions(): DayActions {
  return { alerts: [], kills: [], flagsWritten: 0, flagsCleared: [], unreadable: 0 };
}

/** Every line of `text` (whole lines) read into the day's actions. */
export function actionsOf(lines: readonly string[], fromMs: number, toMs: number): DayActions {
  const out = emptyActions();
  for (const line of lines) addAuditLine(out, line, fromMs, toMs);
  out.alerts.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  out.kills.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  for (const k of out.kills) delete k.pending;
  return out;
}
