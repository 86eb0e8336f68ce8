// The app's state file against the watchdog: under-reporting, a state that stopped, an app not in
// emergency while the watchdog is, a file that cannot be read. Pure.
import { formatDuration } from '../duration.js';
import type { Level } from '../levels.js';
import { usd } from '../money.js';
import { type Finding, findingKey } from './finding.js';

export interface AppWindowFigure {
  window: string;
  /** The state file's key for it. */
  key: string;
  /** The app's figure; null when the state file has no number under the key. */
  app: number | null;
  /** The watchdog's figure for the same window at the app's `updated_at` (or now); null when not known. */
  watchdog: number | null;
}

export interface AppStateView {
  file: string;
  status: 'ok' | 'missing' | 'unreadable';
  /** Why it could not be read. */
  error: string | null;
  updatedAtKey: string;
  updatedAtMs: number | null;
  windows: AppWindowFigure[];
  /** The app's emergency mode; null when the state file does not say. */
  emergency: boolean | null;
  emergencyKey: string | null;
}

export interface AppRules {
  toleranceUsd: number;
  tolerancePercent: number;
  staleAfterMs: number;
}

/** The most the app may report below the watchdog before it under-reports. */
export function tolerance(watchdog: number, rules: AppRules): number {
  return Math.max(rules.toleranceUsd, (watchdog * rules.tolerancePercent) / 100);
}

/**
 * What the state file says against the watchdog: under-reporting beyond the tolerance, a state
 * that stopped while the log still grows, an app not in emergency while the watchdog is, or a
 * file that cannot be read. `logWrittenMs` is when the cost log last grew.
 */
export function appFindings(
  view: AppStateView,
  rules: AppRules,
  logWrittenMs: number | null,
  level: Level,
): Finding[] {
  const out: Finding[] = [];
  if (view.status === 'missing') {
    return [
      {
        key: findingKey('app-state', 'missing'),
        kind: 'app-state',
        text: `app state file ${view.file} does not exist: the app's own figures cannot be compared`,
      },
    ];
  }
  if (view.status === 'unreadable') {
    return [
      {
        key: findingKey('app-state', 'unreadable'),
        kind: 'app-state',
        text: `app state file ${view.file} cannot be read: ${view.error ?? 'unknown error'}`,
      },
    ];
  }
  if (view.updatedAtMs === null) {
    out.push({
      key: findingKey('app-state', 'no-updated-at'),
      kind: 'app-state',
      text:
        `app state file ${view.file} has no time under "${view.updatedAtKey}": whether it is stale ` +
        `cannot be told`,
    });
  } else if (logWrittenMs !== null && logWrittenMs - view.updatedAtMs > rules.staleAfterMs) {
    const behind = formatDuration(logWrittenMs - view.updatedAtMs);
    out.push({
      key: findingKey('app-stale'),
      kind: 'app-stale',
      text:
        `app state is stale: ${view.file} was last updated ${behind} before the cost log last grew (` +
        `${view.updatedAtKey} ${new Date(view.updatedAtMs).toISOString()}); the app's own accounting ` +
        `may have stopped`,
    });
  }
  for (const figure of view.windows) {
    if (figure.app === null || figure.watchdog === null) continue;
    const short = figure.watchdog - figure.app;
    if (short > tolerance(figure.watchdog, rules)) {
      out.push({
        key: findingKey('under-report', figure.window),
        kind: 'under-report',
        text:
          `app under-reports: its ${figure.window} spend (${figure.key}) is ${usd(figure.app)}, the ` +
          `watchdog counts ${usd(figure.watchdog)} from the log (${usd(short)} more)`,
      });
    }
  }
  if ((level === 'emergency' || level === 'kill') && view.emergency === false) {
    out.push({
      key: findingKey('app-not-in-emergency'),
      kind: 'app-not-in-emergency',
      text:
        `the app says it is not in emergency mode (${view.emergencyKey ?? 'emergency'}: false) while ` +
        `the watchdog's level is ${level}`,
    });
  }
  return out;
}
