// Types that more than one decision shares: defined here, so that no two core modules import each
// other for them (decide/ and findings/, levels.ts and money.ts).

/** How far spend has gone, lowest first (levels.ts LEVELS gives their order). */
export type Level = 'ok' | 'warn' | 'emergency' | 'kill';

export interface Limits {
  warn?: number | undefined;
  emergency?: number | undefined;
  kill?: number | undefined;
}

export type EventKind = 'enter' | 'escalate' | 'recovery' | 'reminder' | 'came-back' | 'flag-removed';

export interface AlertEvent {
  kind: EventKind;
  window: string;
  level: Level;
  previous: Level;
  spend: number;
  /** The limit of `level` in that window (for recovery: null). */
  limit: number | null;
  /** A signal's own words (a retry storm), said instead of spend against a limit. */
  detail?: string;
}

/** What is remembered of a finding between checks (see findings/announce.ts). */
export interface FindingMemory {
  /** When it was first seen in this episode, and last seen. */
  since_ms: number;
  last_ms: number;
}
