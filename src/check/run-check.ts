// One check as a command runs it: under the state folder's lock, read (inspect.ts), act
// (act.ts), and record it all in the audit log and the heartbeat.
import { afterCheck } from './after-check.js';
import { withBalance } from '../core/balance.js';
import type { Config } from '../config/index.js';
import { routineCheck } from '../core/decide.js';
import { Auditor } from '../effects/audit.js';
import { writeHeartbeat } from '../effects/heartbeat.js';
import { acquireLock, ensureDir } from '../effects/store.js';
import { FailureError } from '../errors.js';
import { printable } from '../format.js';
import { VERSION } from '../version.js';
import { act } from './act.js';
import { AlertDispatch } from './deliver.js';
import { round6 } from './figures.js';
import { inspect, inspectDeferred } from './inspect.js';
import type { CheckOutcome, CheckResult, Enforcement, RunOptions } from './types.js';

export const LOCK_WAIT_MS = 30_000;

/** Did the check do its job: read the log, and write, kill and record all it had to? */
export function checkSucceeded(outcome: CheckOutcome): boolean {
  return outcome.logError === null && outcome.failures.length === 0;
}

/**
 * The start of every command that acts (run, watch, kill, clear-emergency): take the state
 * folder's lock (so no two act at once), read what the log gained and save the checkpoint, then
 * act on the figures. The lock is released however `step` ends.
 */
export async function underLock<T>(
  config: Config,
  now: () => number,
  step: (result: CheckResult, audit: Auditor) => Promise<T>,
  fleet: { keep: boolean } | null = null,
): Promise<T> {
  ensureDir(config.stateDir);
  const lock = acquireLock(config.stateDir, LOCK_WAIT_MS);
  try {
    const { result, commit } = inspectDeferred(config, now());
    // With a fleet, what was read is pushed before the checkpoint that holds it is saved (a crash
    // in between re-reads and re-pushes the same values, which adds nothing twice). A command
    // that does not push (kill, clear-emergency) makes the next push a full one instead.
    if (config.fleet !== null) {
      const exchange = await import('../fleet/exchange.js');
      if (fleet !== null) result.fleet = await exchange.exchangeFleet(config, result, fleet.keep);
      else exchange.forgetSession(config);
    }
    commit();
    return await step(result, new Auditor(config.stateDir, now));
  } finally {
    lock.release();
  }
}

/**
 * One full check as `run` (and `watch`) does it: under the lock, read and recompute, save the
 * checkpoint, decide and act (flag, kill, alerts), and record it all in the audit log and the
 * heartbeat. --dry-run reads and decides the same way and writes, signals and sends nothing.
 */
export async function runCheck(config: Config, options: RunOptions): Promise<CheckOutcome> {
  const started = options.now();
  const dispatch = options.dispatch ?? new AlertDispatch();
  if (options.dryRun) {
    const result = inspect(config, started, false);
    if (config.fleet !== null) {
      const { outcomeOfView, viewFleet } = await import('../fleet/exchange.js');
      result.fleet = outcomeOfView(await viewFleet(config, started));
    }
    return { ...result, ...(await act(config, result, options.mode, true, null, null, dispatch)) };
  }
  return underLock(
    config,
    options.now,
    async (result, audit) => {
      const nowMs = result.nowMs;
      const quiet = options.quiet ?? null;
      if (quiet !== null) audit.hold();
      audit.record('check', {
        mode: options.mode,
        windows: Object.fromEntries(
          withBalance(result.windows, result.balance).map((w) => [
            w.name,
            { spend_usd: round6(w.spend), level: w.level },
          ]),
        ),
        new_lines: result.newRecords,
        new_malformed: result.newMalformed,
        ...(result.newFuture > 0 ? { future_lines: result.newFuture } : {}),
        ...(result.newMalformedSamples.length > 0 ? { malformed_samples: result.newMalformedSamples } : {}),
        ...(result.rebuilt !== null ? { rebuilt: result.rebuilt } : {}),
        ...(result.notes.length > 0 ? { notes: result.notes } : {}),
        ...(result.logError !== null ? { error: result.logError } : {}),
      });
      const fleet = result.fleet;
      if (fleet?.reachable)
        audit.record('fleet_push', {
          fleet: fleet.name,
          windows: Object.fromEntries(
            fleet.windows.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
          ),
          hosts: fleet.hosts,
          ...(fleet.resynced ? { resynced: true } : {}),
          ms: fleet.ms,
        });
      if (audit.failed !== null) throw new FailureError(audit.failed);
      let enforcement: Enforcement;
      try {
        enforcement = await act(config, result, options.mode, false, audit, options.outbox ?? null, dispatch);
      } catch (error) {
        audit.release(true);
        throw error;
      }
      if (quiet !== null) {
        const levels = withBalance(result.windows, result.balance)
          .map((w) => w.level)
          .join(',');
        const eventful =
          enforcement.events.length > 0 ||
          enforcement.flag.kind === 'written' ||
          enforcement.flag.kind === 'failed' ||
          enforcement.flag.kind === 'unknown' ||
          enforcement.kill !== null ||
          enforcement.failures.length > 0 ||
          enforcement.announced.length > 0 ||
          result.logError !== null ||
          result.newMalformed > 0 ||
          result.newFuture > 0 ||
          result.rebuilt !== null ||
          result.notes.length > 0 ||
          (result.fleet !== null && (result.fleet.events.length > 0 || result.fleet.notices.length > 0));
        const routine = routineCheck(
          { levels, onlyRoutineLines: audit.holding, eventful },
          quiet.last,
          nowMs,
        );
        audit.release(!routine);
        if (!routine) quiet.last = { levels, atMs: nowMs };
      }
      if (audit.failed !== null) enforcement.failures.push(audit.failed);
      const levels = Object.fromEntries(
        withBalance(result.windows, result.balance).map((w) => [w.name, w.level]),
      );
      const ok = checkSucceeded({ ...result, ...enforcement });
      const finishedMs = options.now();
      // `time` is when the check completed: the moment the watchdog last proved it was alive.
      writeHeartbeat(config.stateDir, {
        time: new Date(finishedMs).toISOString(),
        pid: process.pid,
        version: VERSION,
        mode: options.mode,
        result: {
          ok,
          levels,
          level: enforcement.decision.level,
          actions: {
            flag: enforcement.flag.kind,
            kill:
              enforcement.kill === null
                ? null
                : enforcement.kill.notRunning
                  ? 'not running'
                  : enforcement.kill.survivors.length > 0 || enforcement.kill.refused.length > 0
                    ? 'failed'
                    : 'killed',
            alerts_sent: enforcement.alerts.sent,
            alerts_failed: enforcement.alerts.failed,
          },
          ...(result.logError !== null
            ? { error: result.logError }
            : enforcement.failures.length > 0
              ? { error: enforcement.failures.join('; ') }
              : {}),
        },
        duration_ms: Math.max(0, finishedMs - started),
      });
      const outcome = { ...result, ...enforcement };
      for (const problem of await afterCheck(config, outcome, {
        mode: options.mode,
        startedMs: started,
        finishedMs,
        ok,
      }))
        process.stderr.write(`cost-watchdog: ${printable(problem)}\n`);
      return outcome;
    },
    { keep: options.mode === 'watch' },
  );
}
