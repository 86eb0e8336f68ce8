// A finding: what the app's log or state file shows beyond the limits themselves, under a key that
// identifies it across checks. The kinds, the key, and the words shared by every family. Pure.

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
  | 'shape-storm'
  | 'burn-rate'
  | 'silent-log'
  | 'future-lines'
  | 'log-behind'
  | 'glob-empty'
  | 'fleet'
  | 'reconcile'
  | 'currency'
  | 'balance';

export interface Finding {
  /** What identifies it across checks (a storm by its id, an unpriced model by its name). */
  key: string;
  kind: FindingKind;
  text: string;
}

/** A finding's key: its kind, then what it is about. */
export function findingKey(kind: FindingKind, about = ''): string {
  return about === '' ? kind : `${kind}:${about}`;
}

/** Text from the log, quoted and cut short for a message. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** At most this many storms, or unpriced models, are named one by one; the rest are counted. */
export const NAMED_AT_MOST = 5;
