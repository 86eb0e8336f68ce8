// Scoped budgets: the shapes the check shares with its renderers. Types only.
import type { FlagOutcome, KillSummary } from '../core/alert-text.js';
import type { Level } from '../core/levels.js';

/** What was decided and done for one scope instance (`run --json` `scopes`, the audit log). */
export interface ScopeAction {
  name: string;
  key: Record<string, string>;
  /** The highest level of its windows. */
  level: Level;
  /** The level it was acted at (levels acknowledged by clear-emergency --force set aside). */
  action_level: Level;
  events: string[];
  flag: FlagOutcome;
  kill: KillSummary | null;
}
