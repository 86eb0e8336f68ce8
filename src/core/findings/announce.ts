// When a finding is alerted: once when it appears, again when it comes back after a gap (an
// episode: an hour; the rest: a day), forgotten once away for longer. Pure.
import type { FindingMemory } from '../types.js';
import type { Finding, FindingKind } from './finding.js';

/** Findings that describe an episode are alerted again when they come back after this long away. */
export const EPISODE_GAP_MS = 3_600_000;
/** The others (a model without a price, a clock that disagrees) are alerted once a day at most. */
export const STANDING_GAP_MS = 24 * 3_600_000;
const EPISODES: ReadonlySet<FindingKind> = new Set([
  'under-report',
  'app-stale',
  'app-not-in-emergency',
  'storm',
  'shape-storm',
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
