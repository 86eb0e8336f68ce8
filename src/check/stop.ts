// The stop sequence, in one place: find the target, run the stop command, signal the process tree
// (SIGTERM, the grace period, SIGKILL), and record each step. Used by a check that decides to kill
// and by `kill`. The signalling itself is effects/kill.ts; finding the target, effects/target.ts.
import type { Config } from '../config/index.js';
import { graceCutText, type KillSummary } from '../core/alert-text.js';
import type { Auditor } from '../effects/audit.js';
import { type GraceSpend, killTree, planTree, runStopCommand } from '../effects/kill.js';
import { findTarget } from '../effects/target.js';
import { printable } from '../format.js';

export interface KillResult {
  summary: KillSummary;
  /** The kill was needed and did not leave the target dead, or the target could not be found. */
  failed: string | null;
}

/**
 * Stop the target: the stop command first (a supervisor would restart it), then the process
 * tree. No target configured or running is reported, not a failure. `meter` measures what the
 * log gains from the kill decision on (target.grace_spend).
 */
export async function stopTarget(
  config: Config,
  dryRun: boolean,
  audit: Auditor | null,
  meter: (() => Pick<GraceSpend, 'spentMicro'>) | null = null,
): Promise<KillResult> {
  const blank: KillSummary = {
    notRunning: true,
    tree: [],
    exited: [],
    killed: [],
    refused: [],
    survivors: [],
    stop: null,
    notes: [],
    dryRun,
  };
  const target = config.target;
  if (target === null) {
    audit?.record('kill', { result: 'no target configured' });
    return { summary: { ...blank, unconfigured: true }, failed: null };
  }
  let finding = await findTarget(config);
  if (finding.error !== null) {
    audit?.record('kill', { result: 'failed', error: finding.error });
    return {
      summary: { ...blank, notRunning: false, notes: [`KILL FAILED: ${finding.error}`] },
      failed: finding.error,
    };
  }
  const notes = finding.notes.map((n) => printable(n));
  if (dryRun) {
    const tree = planTree(finding.pids, finding.processes).map((p) => ({ pid: p.pid, name: p.name }));
    return {
      summary: {
        ...blank,
        notRunning: !finding.running,
        tree,
        notes,
        ...(target.stopCommand !== null && finding.running
          ? { notes: [...notes, `would run the stop command first: ${target.stopCommand}`] }
          : {}),
      },
      failed: null,
    };
  }
  if (!finding.running) {
    audit?.record('kill', { result: 'no target running', ...(notes.length > 0 ? { notes } : {}) });
    return { summary: { ...blank, notes }, failed: null };
  }
  let stop: KillSummary['stop'] = null;
  const before = finding.pids;
  if (target.stopCommand !== null) {
    // The webhook URL is a secret: the stop command has no need of it.
    const env = { ...process.env };
    delete env[config.slack.webhookUrlEnv];
    const report = await runStopCommand(target.stopCommand, target.stopTimeoutMs, env);
    audit?.record('stop_command', { ...report });
    stop = {
      ok: report.ok,
      exitCode: report.exit_code,
      timedOut: report.timed_out,
      ...(report.error !== undefined ? { error: report.error } : {}),
    };
    finding = await findTarget(config);
    if (finding.error !== null) {
      audit?.record('kill', { result: 'failed', error: finding.error });
      return {
        summary: { ...blank, notRunning: false, stop, notes: [`KILL FAILED: ${finding.error}`] },
        failed: finding.error,
      };
    }
    if (!finding.running) {
      audit?.record('kill', { result: 'stopped by the stop command', pids: before });
      return {
        summary: {
          ...blank,
          notRunning: false,
          stop,
          exited: before,
          tree: before.map((pid) => ({ pid, name: '' })),
          notes,
        },
        failed: null,
      };
    }
  }
  const spend =
    meter === null || target.graceSpendUsd === null
      ? null
      : { spentMicro: meter().spentMicro, limitMicro: Math.round(target.graceSpendUsd * 1e6) };
  // Each signal is recorded as it is sent, not after the grace period.
  const report = await killTree(finding.pids, finding.processes, target.graceMs, spend, (s) =>
    audit?.record('signal', { ...s }),
  );
  const graceCut =
    report.graceCut === null
      ? null
      : { spendUsd: report.graceCut.spentMicro / 1e6, afterMs: report.graceCut.afterMs };
  audit?.record('kill', {
    result: report.ok ? 'killed' : 'failed',
    tree: report.tree,
    exited_after_sigterm: report.exited,
    killed_by_sigkill: report.killed,
    refused: report.refused,
    survivors: report.survivors,
    ...(graceCut !== null
      ? {
          grace_cut: {
            spend_usd: graceCut.spendUsd,
            after_ms: graceCut.afterMs,
            grace_spend_usd: target.graceSpendUsd,
            note: graceCutText(graceCut.spendUsd),
          },
        }
      : {}),
  });
  const summary: KillSummary = {
    notRunning: false,
    tree: report.tree.map((p) => ({ pid: p.pid, name: p.name })),
    exited: report.exited,
    killed: report.killed,
    refused: report.refused,
    survivors: report.survivors,
    stop,
    notes,
    dryRun: false,
    ...(graceCut !== null ? { graceCut } : {}),
  };
  const failed = report.ok
    ? null
    : `kill failed: ${report.survivors.length} process(es) still running (${report.survivors.join(', ')})` +
      (report.refused.length > 0
        ? `, signals refused (EPERM) for ${report.refused.join(', ')}: run the watchdog as the app's ` +
          `user or as root`
        : '');
  return { summary, failed };
}
