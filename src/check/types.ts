// The shapes one check passes along: what reading found (CheckResult), what acting did
// (Enforcement), what else was observed, and how a check is run. Types only, so that the check's
// steps can share them without importing each other.
import type { Attribution } from '../core/attribution.js';
import type { BalanceStatus } from '../core/balance.js';
import type { AlertEvent, Decision } from '../core/decide.js';
import type { FlagOutcome, KillSummary } from '../core/alert-text.js';
import type { AppStateView, Finding } from '../core/findings/index.js';
import type { Ledger } from '../core/ledger.js';
import type { WindowStatus } from '../core/levels.js';
import type { MalformedSample, ScanTotals } from '../core/scan.js';
import type { Storm } from '../core/storms.js';
import type { ScopeAction } from '../scopes/types.js';
import type { ScopeStatus } from '../scopes/counter.js';
import type { TargetFinding } from '../effects/target.js';
import type { AlertDispatch, AlertOutbox } from './deliver.js';
import type { SourceReport } from '../sources/read.js';
import type { MeterStart } from './grace-meter.js';
import type { FleetOutcome } from '../fleet/types.js';
import type { ReconcileView } from '../reconcile/view.js';

export interface CheckResult {
  nowMs: number;
  windows: WindowStatus[];
  /** The prepaid balance (limits.balance), null without one; its window is among the signals. */
  balance: BalanceStatus | null;
  /** balance.json cannot be read: its top-ups are not counted (why, naming the file). */
  balanceFileProblem: string | null;
  /** Spend per model and agent, for the top spenders of a window. */
  attribution: Attribution;
  totals: ScanTotals;
  /** Lines read in this check (records and malformed). */
  newRecords: number;
  newMalformed: number;
  /** Lines dated more than 5 minutes ahead, counted as now, in this check. */
  newFuture: number;
  newMalformedSamples: MalformedSample[];
  bytesRead: number;
  /** Why the checkpoint was rebuilt from the log, or null when it was used. */
  rebuilt: string | null;
  notes: string[];
  /** The log could not be read: the check is blind and must fail loudly. */
  logError: string | null;
  log: { path: string; size: number; mtimeMs: number } | null;
  /** Each file of the sources: what was read from it (status --json `sources`). */
  sources: SourceReport[];
  /** Globs of the sources (as written) that match no file now. */
  emptyGlobs: string[];
  /** Ids billed again and again inside the retry-storm window (empty when that check is off). */
  storms: Storm[];
  /** More ids than can be followed were in the window: storms among the rest go unseen. */
  stormOverflow: boolean;
  /** Call shapes of lines without ids billed again and again (core/storms/shapes.ts; empty when off). */
  shapeStorms: Storm[];
  /** More shapes than can be followed were in the window. */
  shapeOverflow: boolean;
  /** The newest line time read in this check (as dated, before clamping); 0 when none was read. */
  newestReadMs: number;
  /** Spend over the burn-rate windows (null when that check is off). */
  burn: { shortUsd: number; longUsd: number } | null;
  /** The ledger, for figures at other times (the app's state file is dated). */
  ledger: Ledger;
  /** The windows, and signals that act like one (a retry storm at its level): what decisions see. */
  signals: WindowStatus[];
  /** Threads that read the log in this check: 2 when a helper thread read part of it. */
  scanThreads: number;
  /**
   * Lines read in this check that logged cost 0 with tokens the price table prices, and what they counted
   * for.
   */
  newZeroCost: number;
  newZeroCostUsd: number;
  /**
   * Scoped budgets (empty when none are configured): every scope without `each`; under `each`, the
   * values above ok and the top ones by spend (ScopeCounter.statuses).
   */
  scopes: ScopeStatus[];
  /** How many values each `each` scope holds. */
  scopeValues: Record<string, number>;
  /** Any instance's status, also one not listed (at $0 when nothing is counted for it). */
  scopeStatus: (name: string, value: string | null) => ScopeStatus | null;
  /** Scopes with more distinct values than are kept by name (the rest under "(other)"). */
  scopesOverflowed: string[];
  /** Where reading stopped, for a kill's grace-period meter (grace-meter.ts). */
  meterStart: MeterStart;
  /** With a fleet: the seconds and days (µ$, at their new values) this read changed. */
  fleetChanges: { secs: [number, number][]; days: [string, number][] } | null;
  /** With a fleet: what the fleet's Redis said in this check (src/fleet/); null without one. */
  fleet: FleetOutcome | null;
  /** The providers' usage against the logs (src/reconcile/); null without `reconcile`. */
  reconcile: ReconcileView | null;
}

export interface Observation {
  app: AppStateView | null;
  findings: Finding[];
  /** When the burn rate would reach the daily limit (epoch ms); null when it is not burning. */
  burnReachMs: number | null;
  /** The target, when it had to be looked for (a quiet log with silence.after set). */
  target: TargetFinding | null;
}

export type Mode = 'run' | 'watch';

export interface RunOptions {
  mode: Mode;
  dryRun: boolean;
  /** The clock, passed in so that a check is one instant from start to end. */
  now: () => number;
  /**
   * `watch`: leave routine checks out of the audit log (see routineCheck); the daemon keeps this
   * object between checks: the levels and time of the last check recorded.
   */
  quiet?: { last: { levels: string; atMs: number } | null };
  /** `watch`: its sender, which takes the alerts so that the check never waits for Slack. */
  outbox?: AlertOutbox | null;
  /** `watch`: the alert dispatch kept between checks (ids, the one-time note on adding Slack). */
  dispatch?: AlertDispatch;
}

export interface Enforcement {
  decision: Decision;
  /** The events alerted (the decision's, and a target that came back). */
  events: AlertEvent[];
  flag: FlagOutcome;
  kill: KillSummary | null;
  /** Why the command must exit 1 (flag not written, kill failed, state not saved). */
  failures: string[];
  alerts: { sent: number; failed: number; pending: number };
  /** What else the check found (app state, storms, burn rate, blind spots), and which were alerted now. */
  observation: Observation;
  announced: Finding[];
  /** Scoped budgets: what was decided and done per instance that had something to say. */
  scopeActions: ScopeAction[];
}

export interface CheckOutcome extends CheckResult, Enforcement {}
