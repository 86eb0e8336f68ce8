// The first line of `status`: one monitoring-plugin line (Nagios plugin guidelines), so that the
// verdict and its reason come first and a check_by_ssh or NRPE wrapper can pass it on as is:
//   COST-WATCHDOG CRITICAL - 15m $6.00 >= emergency $5.00 | 'spend_15m'=6.00;3;5;0 ...
// Perfdata per spend window: label=value;warn;crit;min, warn the warn limit, crit the emergency
// limit (the kill limit when there is no emergency one: CRITICAL starts at either). Pure.
import { type Level, levelRank, type WindowStatus } from '../../core/levels.js';
import { MICROS_PER_USD, usd } from '../../core/money.js';
import { formatDuration } from '../../core/duration.js';
import { printable } from '../../format.js';

/** The states of the monitoring-plugin convention, by exit code. */
export const VERDICT = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type Verdict = (typeof VERDICT)[number];

export interface PluginFacts {
  /** The status exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
  code: number;
  /** The spend windows, in config order: the perfdata. */
  windows: readonly WindowStatus[];
  /** With a fleet: its windows (perfdata `fleet_spend_<window>`; spend NaN when it cannot be seen). */
  fleetWindows?: readonly WindowStatus[];
  /** The windows and the signals that act like one (a retry storm, with its `detail`). */
  signals: readonly WindowStatus[];
  /** The emergency flag is in force; `reason` is its own, when it says one. */
  flagActive: boolean;
  flagReason?: string | null;
  /** Whether the flag is in force cannot be told: why. */
  flagUnknown?: string | null;
  heartbeatAgeMs: number | null;
  heartbeatMaxAgeMs: number;
  /** The heartbeat is stale (as core/levels.ts heartbeatStale decided). */
  heartbeatStale: boolean;
  logError: string | null;
  /** The findings' texts (WARNING). */
  warnings: readonly string[];
}

/** Dollars as perfdata: a plain number, exact to the micro-dollar, at least `minDecimals` decimals. */
export function perfNumber(dollars: number, minDecimals = 2): string {
  if (!Number.isFinite(dollars)) return 'U'; // the guidelines' "value cannot be determined"
  const micros = Math.round(Math.abs(dollars) * MICROS_PER_USD);
  const whole = Math.floor(micros / MICROS_PER_USD);
  let part = String(micros % MICROS_PER_USD)
    .padStart(6, '0')
    .replace(/0+$/, '');
  if (part.length < minDecimals) part = part.padEnd(minDecimals, '0');
  const sign = dollars < 0 && micros > 0 ? '-' : '';
  return `${sign}${whole}${part === '' ? '' : `.${part}`}`;
}

function perfdata(windows: readonly WindowStatus[], label = 'spend'): string {
  return windows
    .map((w) => {
      const warn = w.limits.warn === undefined ? '' : perfNumber(w.limits.warn, 0);
      const critLimit = w.limits.emergency ?? w.limits.kill;
      const crit = critLimit === undefined ? '' : perfNumber(critLimit, 0);
      return `'${label}_${w.name}'=${perfNumber(w.spend)};${warn};${crit};0`;
    })
    .join(' ');
}

/** The highest signal at `levels`, first in config order among equals. */
function worst(signals: readonly WindowStatus[], levels: readonly Level[]): WindowStatus | null {
  let found: WindowStatus | null = null;
  for (const s of signals)
    if (levels.includes(s.level) && (found === null || levelRank(s.level) > levelRank(found.level)))
      found = s;
  return found;
}

function signalReason(s: WindowStatus): string {
  if (s.detail !== undefined) return s.detail;
  const limit = s.limits[s.level as 'warn' | 'emergency' | 'kill'];
  return `${s.name} ${usd(s.spend)} >= ${s.level}${limit === undefined ? '' : ` ${usd(limit)}`}`;
}

/** One line of text from the log or a file: no control characters, and no `|` (it starts the perfdata). */
function oneLine(text: string): string {
  return printable(text).replace(/\|/g, '/');
}

/** The reasons, the verdict's first: what is CRITICAL, then what cannot be told, then warnings. */
export function pluginReasons(f: PluginFacts): string[] {
  const critical: string[] = [];
  const unknown: string[] = [];
  const warning: string[] = [];
  const top = worst(f.signals, ['emergency', 'kill']);
  if (top !== null) critical.push(signalReason(top));
  // The flag's own reason matters when spend has dropped since; beside a window it repeats it.
  if (f.flagActive)
    critical.push(`emergency flag set${top === null && f.flagReason ? `: ${f.flagReason}` : ''}`);
  if (f.heartbeatStale)
    critical.push(
      `heartbeat stale: last check ${formatDuration(f.heartbeatAgeMs ?? 0)} ago, ` +
        `older than ${formatDuration(f.heartbeatMaxAgeMs)}`,
    );
  if (f.logError !== null) unknown.push(f.logError);
  if (f.flagUnknown) unknown.push(f.flagUnknown);
  if (top === null) {
    const warned = worst(f.signals, ['warn']);
    if (warned !== null) warning.push(signalReason(warned));
  }
  // A storm is both a signal (said above with its detail) and a finding: said once.
  const details = f.signals.map((s) => s.detail).filter((d): d is string => d !== undefined);
  const findings = f.warnings.filter((w) => !details.some((d) => d.startsWith(w)));
  const first = findings[0];
  // Worse than a warning: the warnings are counted, not said (status lists them below).
  if (first !== undefined && critical.length + unknown.length > 0)
    warning.push(`${findings.length} warning${findings.length === 1 ? '' : 's'}`);
  else if (first !== undefined)
    warning.push(findings.length > 1 ? `${first} (and ${findings.length - 1} more warnings)` : first);
  return [...critical, ...unknown, ...warning].map(oneLine);
}

export function pluginLine(f: PluginFacts): string {
  const state = VERDICT[f.code] ?? 'UNKNOWN';
  const reasons = pluginReasons(f);
  const reason = reasons.length > 0 ? reasons.join('; ') : 'no limit reached';
  const perf = [perfdata(f.windows), perfdata(f.fleetWindows ?? [], 'fleet_spend')]
    .filter((p) => p !== '')
    .join(' ');
  return `COST-WATCHDOG ${state} - ${reason}${perf === '' ? '' : ` | ${perf}`}`;
}

/** The line when `status` cannot tell at all (a bad config, an unreadable state folder). */
export function pluginUnknownLine(reason: string): string {
  return `COST-WATCHDOG UNKNOWN - ${oneLine(reason.split('\n')[0] ?? '') || 'cannot tell'}`;
}
