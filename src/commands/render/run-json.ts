// The JSON of `run --json` (and of each check `watch --json` prints): its one typed shape, built
// here from the check's outcome, and imported as types by the tests that parse it.
import { type Shape, shapeOfName } from '../../core/storms/shapes.js';
import { type KillJson, killJson } from '../../core/alert-text.js';
import { BALANCE_WINDOW } from '../../core/balance.js';
import { balanceJson } from './status-json.js';
import type { EventKind } from '../../core/decide.js';
import type { FindingKind } from '../../core/findings/index.js';
import { highestLevel, type Level, type Limits } from '../../core/levels.js';
import { round6 } from '../../check/figures.js';
import type { CheckOutcome } from '../../check/types.js';
import { type RunFleetJson, runFleetJson } from './fleet-json.js';
import type { ReconcileEntry } from '../../reconcile/view.js';

export interface RunWindowJson {
  spend_usd: number;
  level: Level;
  limits: Limits;
}

export interface RunJson {
  level: Level;
  /** The level the check acted at (acknowledged levels set aside). */
  action_level: Level;
  windows: Record<string, RunWindowJson>;
  new_lines: number;
  new_malformed: number;
  malformed_lines: number;
  future_lines: number;
  new_future_lines: number;
  bytes_read: number;
  scan_threads: number;
  rebuilt: string | null;
  notes: string[];
  dry_run: boolean;
  events: {
    kind: EventKind;
    window: string;
    level: Level;
    previous: Level;
    spend_usd: number;
    limit_usd: number | null;
  }[];
  flag: CheckOutcome['flag'];
  kill: KillJson | null;
  alerts: { sent: number; failed: number; pending: number };
  failures: string[];
  error: string | null;
  retry_storms: { id: string; count: number; spend_usd: number }[];
  /** Call shapes of lines without ids billed again and again (status --json's shape_storms). */
  shape_storms: { shape: Shape; count: number; spend_usd: number }[];
  warnings: { kind: FindingKind; key: string; text: string; alerted_now: boolean }[];
  /** Scoped budgets: the instances decided on in this check (above ok, or remembered). */
  scopes: {
    name: string;
    key: Record<string, string>;
    level: Level;
    action_level: Level;
    /** `kind:window:level`, as the audit log's decision records them. */
    events: string[];
    flag: CheckOutcome['flag'];
    kill: KillJson | null;
  }[];
  /** With `fleet:` configured: what the fleet's Redis said in this check. */
  fleet?: RunFleetJson;
  /** With `reconcile:` configured: each provider against the logs (as status --json `reconcile`). */
  reconcile?: Record<string, ReconcileEntry>;
}

export function runJson(result: CheckOutcome, dryRun: boolean): RunJson {
  return {
    level: highestLevel(
      [...result.windows, ...(result.balance === null ? [] : [result.balance.window])].map((w) => w.level),
    ),
    action_level: result.decision.level,
    windows: Object.fromEntries([
      ...result.windows.map((w) => [
        w.name,
        { spend_usd: round6(w.spend), level: w.level, limits: { ...w.limits } },
      ]),
      ...(result.balance === null ? [] : [[BALANCE_WINDOW, balanceJson(result.balance)]]),
    ]),
    new_lines: result.newRecords,
    new_malformed: result.newMalformed,
    malformed_lines: result.totals.malformed,
    future_lines: result.totals.future_lines,
    new_future_lines: result.newFuture,
    bytes_read: result.bytesRead,
    scan_threads: result.scanThreads,
    rebuilt: result.rebuilt,
    notes: result.notes,
    dry_run: dryRun,
    events: result.events.map((e) => ({
      kind: e.kind,
      window: e.window,
      level: e.level,
      previous: e.previous,
      spend_usd: round6(e.spend),
      limit_usd: e.limit,
    })),
    flag: result.flag,
    kill: killJson(result.kill),
    alerts: result.alerts,
    failures: result.failures,
    error: result.logError,
    retry_storms: result.storms
      .slice(0, 100)
      .map((s) => ({ id: s.id, count: s.count, spend_usd: round6(s.usd) })),
    shape_storms: result.shapeStorms
      .slice(0, 100)
      .map((s) => ({ shape: shapeOfName(s.id), count: s.count, spend_usd: round6(s.usd) })),
    warnings: result.observation.findings.map((f) => ({
      kind: f.kind,
      key: f.key,
      text: f.text,
      alerted_now: result.announced.includes(f),
    })),
    scopes: result.scopeActions.map((a) => ({
      name: a.name,
      key: a.key,
      level: a.level,
      action_level: a.action_level,
      events: a.events,
      flag: a.flag,
      kill: killJson(a.kill),
    })),
    ...(result.fleet === null ? {} : { fleet: runFleetJson(result.fleet) }),
    ...(result.reconcile === null ? {} : { reconcile: result.reconcile.entries }),
  };
}
