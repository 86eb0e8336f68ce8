// The ways the app can lie about its spend, or go blind, beyond the limits themselves: an app
// state file that under-reports or has stopped, retry storms, a burn rate that will reach the
// daily kill limit, a cost log that has gone silent while the app runs, clocks that disagree,
// models without a price, calls logged at cost 0. Each is a finding with a key; a finding is
// alerted once when it appears (see announce) and shown by `status` while it lasts. Pure.
import type { Level, Limits, WindowStatus } from './levels.js';
import { dollarsOf, toMicros, usd, usdOfMicros } from './money.js';
import { formatDuration } from './duration.js';
import type { Storm } from './storms.js';
import type { UnpricedModel } from './scan.js';
import type { AlertEvent, FindingMemory } from './types.js';

export type FindingKind =
  | 'unpriced'
  | 'zero-cost'
  | 'price-table'
  | 'under-report'
  | 'app-state'
  | 'app-stale'
  | 'app-not-in-emergency'
  | 'storm'
  | 'storm-overflow'
  | 'burn-rate'
  | 'silent-log'
  | 'future-lines'
  | 'log-behind';

export interface Finding {
  /** What identifies it across checks (a storm by its id, an unpriced model by its name). */
  key: string;
  kind: FindingKind;
  text: string;
}

/** Findings that describe an episode are alerted again when they come back after this long away. */
export const EPISODE_GAP_MS = 3_600_000;
/** The others (a model without a price, a clock that disagrees) are alerted once a day at most. */
export const STANDING_GAP_MS = 24 * 3_600_000;
const EPISODES: ReadonlySet<FindingKind> = new Set([
  'under-report',
  'app-stale',
  'app-not-in-emergency',
  'storm',
  'burn-rate',
  'silent-log',
]);

/**
 * Which findings to alert now, and the memory to keep: a finding is alerted when it is new, or
 * back after being away for EPISODE_GAP_MS (episodes) or STANDING_GAP_MS (the rest); a finding
 * away for longer than that is forgotten.
 */
export function announce(
  findings: readonly Finding[],
  memory: Readonly<Record<string, FindingMemory>>,
  nowMs: number,
): { announce: Finding[]; memory: Record<string, FindingMemory> } {
  const next: Record<string, FindingMemory> = {};
  const out: Finding[] = [];
  const gapOf = (kind: FindingKind | undefined): number =>
    kind !== undefined && EPISODES.has(kind) ? EPISODE_GAP_MS : STANDING_GAP_MS;
  for (const [key, held] of Object.entries(memory)) {
    // Kept while it may still come back within its gap; the longest gap when its kind is unknown.
    const kind = key.split(':', 1)[0] as FindingKind;
    if (nowMs - held.last_ms < gapOf(kind) && nowMs >= held.last_ms) next[key] = { ...held };
  }
  for (const finding of findings) {
    const held = next[finding.key];
    if (held === undefined) {
      out.push(finding);
      next[finding.key] = { since_ms: nowMs, last_ms: nowMs };
    } else {
      held.last_ms = nowMs;
    }
  }
  return { announce: out, memory: next };
}

/** A finding's key: its kind, then what it is about. */
export function findingKey(kind: FindingKind, about = ''): string {
  return about === '' ? kind : `${kind}:${about}`;
}

/** Text from the log, quoted and cut short for a message. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

// ---- the app's state file ------------------------------------------------------------------

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

// ---- retry storms ----------------------------------------------------------------------------

export function stormText(storm: Storm, key: string, windowMs: number): string {
  return (
    `retry storm: ${key} ${quoted(storm.id)} seen ${storm.count} times in ${formatDuration(windowMs)} ` +
    `(${usd(storm.usd)})`
  );
}

/** The name under which a retry storm is remembered and acknowledged, as a window is. */
export const STORM_SIGNAL = 'retry-storm';

/**
 * Retry storms as a signal for the decision: a window-like status at the configured level (so
 * that it flags, kills, is acknowledged by a forced clear, like a window there), or null when
 * there is none. Its words name the worst storm.
 */
export function stormSignal(
  storms: readonly Storm[],
  settings: { key: string; windowMs: number; level: Level },
): WindowStatus | null {
  const worst = storms[0];
  if (worst === undefined) return null;
  const more = storms.length > 1 ? ` and ${storms.length - 1} more id${storms.length > 2 ? 's' : ''}` : '';
  return {
    name: STORM_SIGNAL,
    seconds: Math.round(settings.windowMs / 1000),
    limits: {},
    spend: dollarsOf(storms.reduce((sum, s) => sum + toMicros(s.usd), 0)),
    level: settings.level,
    detail: `${stormText(worst, settings.key, settings.windowMs)}${more}`,
  };
}

/** The findings an alert says: a storm already said as an event of its own is not said twice. */
export function findingsToSay(announced: readonly Finding[], events: readonly AlertEvent[]): string[] {
  const said = events
    .filter((e) => e.window === STORM_SIGNAL && e.detail !== undefined)
    .map((e) => e.detail as string);
  return announced
    .filter((f) => f.kind !== 'storm' || !said.some((d) => d.startsWith(f.text)))
    .map((f) => f.text);
}

/** At most this many storms, or unpriced models, are named one by one; the rest are counted. */
export const NAMED_AT_MOST = 5;

export function stormFindings(
  storms: readonly Storm[],
  key: string,
  windowMs: number,
  overflow: boolean,
  idLimit: number,
): Finding[] {
  // A batch re-run is thousands of storms at once: the worst are named, the rest counted.
  const out: Finding[] = storms.slice(0, NAMED_AT_MOST).map((s) => ({
    key: findingKey('storm', s.id),
    kind: 'storm' as const,
    text: stormText(s, key, windowMs),
  }));
  if (storms.length > NAMED_AT_MOST) {
    const rest = storms.slice(NAMED_AT_MOST);
    out.push({
      key: findingKey('storm', '+more'),
      kind: 'storm',
      text:
        `and ${rest.length} more ${key}s seen again and again in ${formatDuration(windowMs)} (` +
        `${usdOfMicros(rest.reduce((sum, s) => sum + toMicros(s.usd), 0))}): see \`cost-watchdog ` +
        `status\``,
    });
  }
  if (overflow) {
    out.push({
      key: findingKey('storm-overflow'),
      kind: 'storm-overflow',
      text:
        `more than ${idLimit} ${key}s in ${formatDuration(windowMs)}: ids beyond that are not ` +
        `followed, so a retry storm among them goes unseen`,
    });
  }
  return out;
}

// ---- burn rate -------------------------------------------------------------------------------

export interface BurnFacts {
  shortUsd: number;
  longUsd: number;
  shortMs: number;
  longMs: number;
  factor: number;
  /** The daily limit burnt towards: the kill limit, else emergency, else warn. */
  limit: { level: Level; usd: number } | null;
  today: number;
  nowMs: number;
  /** When the calendar day ends (the daily total starts again). */
  dayEndMs: number;
  /** Local HH:MM of a time, in the daily window's zone. */
  clock: (ms: number) => string;
}

/** The daily limit a burn rate is measured against: kill, else emergency, else warn; null without one. */
export function burnLimit(daily: Limits): { level: Level; usd: number } | null {
  if (daily.kill !== undefined) return { level: 'kill', usd: daily.kill };
  if (daily.emergency !== undefined) return { level: 'emergency', usd: daily.emergency };
  if (daily.warn !== undefined) return { level: 'warn', usd: daily.warn };
  return null;
}

/** The burn-rate verdict: both windows faster than `factor` times the even pace of the daily limit. */
export function burnRate(f: BurnFacts): { finding: Finding; reachMs: number } | null {
  if (f.limit === null || f.limit.usd <= 0 || f.today >= f.limit.usd) return null;
  const pace = f.limit.usd / 86_400_000; // USD per ms spent evenly over a day
  const shortRate = f.shortUsd / f.shortMs;
  const longRate = f.longUsd / f.longMs;
  if (!(shortRate > f.factor * pace && longRate > f.factor * pace)) return null;
  const reachMs = f.nowMs + (f.limit.usd - f.today) / shortRate;
  const times = (shortRate / pace).toFixed(0);
  const when =
    reachMs >= f.dayEndMs
      ? `${f.clock(reachMs)} tomorrow, after the daily total starts again, unless the pace rises`
      : f.clock(reachMs);
  return {
    reachMs,
    finding: {
      key: findingKey('burn-rate'),
      kind: 'burn-rate',
      text:
        `burn rate: ${usd(f.shortUsd)} in the last ${formatDuration(f.shortMs)} and ${usd(f.longUsd)} ` +
        `in the last ${formatDuration(f.longMs)}, ${times}x the even pace of the daily ` +
        `${f.limit.level} limit ${usd(f.limit.usd)}; at this rate the daily ${f.limit.level} limit ` +
        `is reached at ${when} (today so far ${usd(f.today)})`,
    },
  };
}

// ---- blind spots -----------------------------------------------------------------------------

/** The target runs but the log has not grown for `afterMs`: the app's accounting may be broken. */
export function silentLog(
  targetRunning: boolean,
  logWrittenMs: number | null,
  nowMs: number,
  afterMs: number,
  logPath: string,
): Finding | null {
  if (!targetRunning || logWrittenMs === null || nowMs - logWrittenMs < afterMs) return null;
  return {
    key: findingKey('silent-log'),
    kind: 'silent-log',
    text:
      `cost log silent while the app runs — its accounting may be broken (${logPath} has not grown ` +
      `for ${formatDuration(nowMs - logWrittenMs)})`,
  };
}

/** How far the newest line may be dated before the log's last write before that is reported. */
export const BEHIND_TOLERANCE_MS = 5 * 60_000;

/**
 * Clocks that disagree: lines from the future (counted as now) in this check, or a log whose
 * newest line is far older than its last write. `newestMs` is the newest line time counted (0:
 * none); a log of 0 bytes (just rotated by copytruncate) is not judged.
 */
export function clockFindings(
  newFuture: number,
  newestMs: number,
  logWrittenMs: number | null,
  logBytes = 1,
): Finding[] {
  const out: Finding[] = [];
  if (newFuture > 0) {
    out.push({
      key: findingKey('future-lines'),
      kind: 'future-lines',
      text:
        `${newFuture} line${newFuture === 1 ? '' : 's'} dated more than 5 minutes in the future ` +
        `(clock skew?) were counted as now`,
    });
  }
  if (
    newestMs > 0 &&
    logBytes > 0 &&
    logWrittenMs !== null &&
    logWrittenMs - newestMs > BEHIND_TOLERANCE_MS
  ) {
    out.push({
      key: findingKey('log-behind'),
      kind: 'log-behind',
      text:
        `the log's newest line is dated ${formatDuration(logWrittenMs - newestMs)} before the log ` +
        `was last written: the app's clock may be behind, or it logs late (lines count at their own ` +
        `time)`,
    });
  }
  return out;
}

// ---- prices ----------------------------------------------------------------------------------

/** Unpriced models seen within this long are reported. */
export const UNPRICED_RECENT_MS = 24 * 3_600_000;

/**
 * Models with tokens and no price, counted at the unpriced rate (a logged cost above 0 is used where there is
 * one).
 */
export function unpricedFindings(
  unpriced: Readonly<Record<string, UnpricedModel>>,
  perMillion: number,
  nowMs: number,
): Finding[] {
  const recent = Object.entries(unpriced)
    .filter(([, entry]) => entry.at_rate > 0 && nowMs - entry.last_ms <= UNPRICED_RECENT_MS)
    .sort((a, b) => b[1].micros - a[1].micros || (a[0] < b[0] ? -1 : 1));
  const out: Finding[] = recent.slice(0, NAMED_AT_MOST).map(([model, entry]) => ({
    key: findingKey('unpriced', model),
    kind: 'unpriced' as const,
    text:
      `model ${quoted(model)} has no price: ${entry.at_rate} call${entry.at_rate === 1 ? '' : 's'} wi` +
      `thout a logged cost counted at ${usd(perMillion)} per million tokens (` +
      `${usdOfMicros(entry.micros)} so far); set cost.prices for it`,
  }));
  if (recent.length > NAMED_AT_MOST) {
    const rest = recent.slice(NAMED_AT_MOST);
    out.push({
      key: findingKey('unpriced', '+more'),
      kind: 'unpriced',
      text:
        `and ${rest.length} more models without a price, counted at ${usd(perMillion)} per million ` +
        `tokens (${usdOfMicros(rest.reduce((sum, [, e]) => sum + e.micros, 0))}): see \`cost-watchdog` +
        ` status\``,
    });
  }
  return out;
}

export function zeroCostFinding(lines: number, usdCounted: number): Finding | null {
  if (lines <= 0) return null;
  return {
    key: findingKey('zero-cost'),
    kind: 'zero-cost',
    text:
      `the app logged cost 0 for ${lines} call${lines === 1 ? '' : 's'} with tokens; counted from ` +
      `their tokens instead (${usd(usdCounted)})`,
  };
}
