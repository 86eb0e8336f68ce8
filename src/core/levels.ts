// Where spend stands against limits. Pure: the same figures always give the same answer.
// Compared in whole micro-dollars (core/money.ts), so $0.05 a hundred times reaches $5.
import { dollarsOf, toMicros } from './money.js';
import type { Level, Limits } from './types.js';

export type { Level, Limits } from './types.js';

export const LEVELS = ['ok', 'warn', 'emergency', 'kill'] as const satisfies readonly Level[];

/** The highest limit that spend (USD) has reached (`>=`), or `ok`. */
export function levelOf(spend: number, limits: Limits): Level {
  return levelOfMicros(toMicros(spend), limits);
}

/** The highest limit that spend in whole µ$ has reached (`>=`, in µ$), or `ok`. */
export function levelOfMicros(micros: number, limits: Limits): Level {
  if (limits.kill !== undefined && micros >= toMicros(limits.kill)) return 'kill';
  if (limits.emergency !== undefined && micros >= toMicros(limits.emergency)) return 'emergency';
  if (limits.warn !== undefined && micros >= toMicros(limits.warn)) return 'warn';
  return 'ok';
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

export function highestLevel(levels: readonly Level[]): Level {
  let best: Level = 'ok';
  for (const level of levels) if (levelRank(level) > levelRank(best)) best = level;
  return best;
}

/** Monitoring-plugin exit codes (Nagios, Icinga, monit, Sensu). */
export const MONITOR = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;

export interface StatusFacts {
  levels: readonly Level[];
  flagActive: boolean;
  /** Age of the last heartbeat, or null when none was ever written. */
  heartbeatAgeMs: number | null;
  heartbeatMaxAgeMs: number;
  /** The log could not be read: spend is not known. */
  logUnreadable: boolean;
  /** The flag's state cannot be told (its folder is a file, or cannot be searched): see core/flag.ts. */
  flagUnknown?: boolean;
  /** Findings hold (core/findings/: an app that under-reports, a burn rate, a blind spot...). */
  warnings?: number;
  /** The fleet's Redis cannot be seen (its emergency and windows are `levels` when it can). */
  fleetLost?: boolean;
}

/**
 * The `status` verdict: CRITICAL when a window is at emergency or kill, the emergency flag is in
 * force (even after spend has dropped), or the heartbeat is stale; otherwise UNKNOWN when the log
 * cannot be read or the flag cannot be seen; WARNING at warn, while a finding holds or while the
 * fleet cannot be seen (this host's own limits still work); otherwise OK. A
 * heartbeat that was never written is not stale:
 * nothing has run yet (`check-heartbeat` is the check that insists on one).
 */
export function statusCode(facts: StatusFacts): number {
  const top = highestLevel(facts.levels);
  if (
    facts.flagActive ||
    heartbeatStale(facts.heartbeatAgeMs, facts.heartbeatMaxAgeMs) ||
    top === 'emergency' ||
    top === 'kill'
  ) {
    return MONITOR.CRITICAL;
  }
  if (facts.logUnreadable || facts.flagUnknown === true) return MONITOR.UNKNOWN;
  if (top === 'warn' || (facts.warnings ?? 0) > 0 || facts.fleetLost === true) return MONITOR.WARNING;
  return MONITOR.OK;
}

export function heartbeatStale(ageMs: number | null, maxAgeMs: number): boolean {
  return ageMs !== null && ageMs > maxAgeMs;
}

export interface WindowSpec {
  /** `daily`, or a rolling window's name as written in the config (`15m`). */
  name: string;
  /** Length of a rolling window; null for the calendar day. */
  seconds: number | null;
  limits: Limits;
}

export interface WindowStatus extends WindowSpec {
  /** USD (whole µ$ / 1e6: exact in print). */
  spend: number;
  level: Level;
  /** For a signal that is not a spend window (a retry storm): what it is, in words. */
  detail?: string;
}

/** Spend and level of each window, from anything that can total spend in whole µ$ (a Ledger). */
export function assess(
  windows: readonly WindowSpec[],
  spend: { rolling(seconds: number): number; today(): number },
): WindowStatus[] {
  return windows.map((window) => {
    const micros = window.seconds === null ? spend.today() : spend.rolling(window.seconds);
    return { ...window, spend: dollarsOf(micros), level: levelOfMicros(micros, window.limits) };
  });
}
