// Retry storms (core/storms.ts finds them) as findings, and as a window-like signal for the
// decision (flag, kill, acknowledgement). Pure.
import { formatDuration } from '../duration.js';
import type { Level, WindowStatus } from '../levels.js';
import { dollarsOf, toMicros, usd, usdOfMicros } from '../money.js';
import type { Storm } from '../storms.js';
import { shapeOfName, shapeWords } from '../storms/shapes.js';
import type { AlertEvent } from '../types.js';
import { type Finding, findingKey, NAMED_AT_MOST, quoted } from './finding.js';

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

/** The name of the signal of re-runs without ids (core/storms/shapes.ts): its own, apart from ids'. */
export const SHAPE_STORM_SIGNAL = 'shape-storm';

/** A shape storm in words: the shape, how often in the window, what it cost. */
export function shapeStormText(storm: Storm, windowMs: number): string {
  return (
    `shape storm (calls without ids): ${shapeWords(shapeOfName(storm.id))} billed ${storm.count} times ` +
    `in ${formatDuration(windowMs)} (${usd(storm.usd)})`
  );
}

/**
 * Shape storms as a signal, like stormSignal: at the configured level, named by the worst shape,
 * with how many more shapes; null when there is none.
 */
export function shapeStormSignal(
  storms: readonly Storm[],
  settings: { windowMs: number; level: Level },
): WindowStatus | null {
  const worst = storms[0];
  if (worst === undefined) return null;
  const more = storms.length > 1 ? ` and ${storms.length - 1} more shape${storms.length > 2 ? 's' : ''}` : '';
  return {
    name: SHAPE_STORM_SIGNAL,
    seconds: Math.round(settings.windowMs / 1000),
    limits: {},
    spend: dollarsOf(storms.reduce((sum, s) => sum + toMicros(s.usd), 0)),
    level: settings.level,
    detail: `${shapeStormText(worst, settings.windowMs)}${more}`,
  };
}

/** The findings an alert says: a storm already said as an event of its own is not said twice. */
export function findingsToSay(announced: readonly Finding[], events: readonly AlertEvent[]): string[] {
  const said = events
    .filter((e) => (e.window === STORM_SIGNAL || e.window === SHAPE_STORM_SIGNAL) && e.detail !== undefined)
    .map((e) => e.detail as string);
  return announced
    .filter(
      (f) => (f.kind !== 'storm' && f.kind !== 'shape-storm') || !said.some((d) => d.startsWith(f.text)),
    )
    .map((f) => f.text);
}

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

/** Shape storms as findings (for status, the audit and alerts that say findings): the worst named. */
export function shapeStormFindings(
  storms: readonly Storm[],
  windowMs: number,
  overflow: boolean,
  shapeLimit: number,
): Finding[] {
  const out: Finding[] = storms.slice(0, NAMED_AT_MOST).map((s) => ({
    key: findingKey('shape-storm', s.id),
    kind: 'shape-storm' as const,
    text: shapeStormText(s, windowMs),
  }));
  if (storms.length > NAMED_AT_MOST) {
    const rest = storms.slice(NAMED_AT_MOST);
    out.push({
      key: findingKey('shape-storm', '+more'),
      kind: 'shape-storm',
      text:
        `and ${rest.length} more call shapes billed again and again in ${formatDuration(windowMs)} (` +
        `${usdOfMicros(rest.reduce((sum, s) => sum + toMicros(s.usd), 0))}): see \`cost-watchdog ` +
        `status\``,
    });
  }
  if (overflow)
    out.push({
      key: findingKey('shape-storm', '+overflow'),
      kind: 'shape-storm',
      text:
        `more than ${shapeLimit} call shapes without ids in ${formatDuration(windowMs)}: shapes beyond ` +
        `that are not followed, so a re-run among them goes unseen`,
    });
  return out;
}
