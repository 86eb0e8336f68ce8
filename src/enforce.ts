// Acting on a decision: the flag, the kill, the alerts, the remembered alert state and the audit
// lines that record each of them. Shared by `run` (and `watch`), `kill` and `clear-emergency`.
// The order is the contract's: the flag and the kill first, then the alerts, which are bounded in
// time and never delay either.
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import type { Config } from './config.js';
import {
  type AlertFacts,
  consoleLine,
  graceCutText,
  type FlagOutcome,
  type KillSummary,
  slackText,
} from './core/alert-text.js';
import {
  type AlertState,
  emptyAlertState,
  keepPending,
  loadAlertState,
  type PendingAlert,
  type PendingOwner,
  SLACK_NOTE,
} from './core/decide.js';
import { errnoWords } from './core/flag.js';
import type { Level } from './core/levels.js';
import { appendAudit } from './effects/audit.js';
import { createFlag, type FlagContent } from './effects/flag.js';
import { type GraceSpend, killTree, planTree, runStopCommand } from './effects/kill.js';
import { isAlive, procStat } from './effects/proc.js';
import { postToSlack, webhookSource } from './effects/slack.js';
import { readJson, writeJsonAtomic } from './effects/store.js';
import { findTarget } from './effects/target.js';
import { printable } from './format.js';

/** The whole time alert sending may take in one check. */
export const SEND_BUDGET_MS = 10_000;

export function host(): string {
  return hostname();
}

/** Who ran a command: the person behind sudo when there is one. */
export function who(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? '?'}`;
  }
  const sudo = process.env.SUDO_USER;
  return sudo !== undefined && sudo !== '' && sudo !== user ? `${sudo} (as ${user})` : user;
}

export function alertsPath(config: Config): string {
  return path.join(config.stateDir, 'alerts.json');
}

export function loadAlerts(config: Config): { state: AlertState; note: string | null } {
  const read = readJson(alertsPath(config));
  if (read.kind === 'missing') return { state: emptyAlertState(), note: null };
  const state = read.kind === 'ok' ? loadAlertState(read.value) : null;
  if (state === null) {
    return {
      state: emptyAlertState(),
      note: `alert state ${alertsPath(config)} unreadable (${read.kind === 'corrupt' ? read.reason : 'unknown format'}): started afresh, alerts may repeat once`,
    };
  }
  return { state, note: null };
}

export function saveAlerts(config: Config, state: AlertState): void {
  writeJsonAtomic(alertsPath(config), state);
}

/**
 * Audit lines: a failure to append one never stops an action; it is remembered, said on stderr,
 * and fails the command at the end (a watchdog that cannot keep its record says so).
 */
export class Auditor {
  failed: string | null = null;
  /**
   * Routine lines (`check`, `decision`) held back, with their time, until `release` says whether
   * they are worth keeping. Any other line (an action) writes them out at once, before itself:
   * what was done is never held, so a watchdog killed mid-check leaves its record.
   */
  private held: { event: string; fields: Record<string, unknown>; atMs: number }[] | null = null;
  constructor(
    private readonly stateDir: string,
    private readonly now: () => number,
  ) {}

  /** Hold the lines recorded from now on, until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Still holding: nothing but routine lines recorded since `hold`. */
  get holding(): boolean {
    return this.held !== null;
  }

  /** Append the held lines in order (`keep`), or drop them; recording goes straight out again. */
  release(keep: boolean): void {
    const held = this.held ?? [];
    this.held = null;
    if (keep) for (const h of held) this.append(h.event, h.fields, h.atMs);
  }

  record(event: string, fields: Record<string, unknown>): void {
    if (this.held !== null) {
      if (event === 'check' || event === 'decision') {
        this.held.push({ event, fields, atMs: this.now() });
        return;
      }
      this.release(true);
    }
    this.append(event, fields, this.now());
  }

  private append(event: string, fields: Record<string, unknown>, atMs: number): void {
    try {
      appendAudit(this.stateDir, event, fields, atMs);
    } catch (error) {
      if (this.failed === null) {
        this.failed = `cannot append to the audit log in ${this.stateDir}: ${(error as Error).message}`;
        process.stderr.write(`cost-watchdog: ${this.failed}\n`);
      }
    }
  }
}

/** Write the flag unless it exists; a failure is an outcome (the kill still happens). */
export function placeFlag(
  config: Config,
  content: FlagContent,
  dryRun: boolean,
  audit: Auditor | null,
): FlagOutcome {
  if (dryRun) return { kind: 'would-write', file: config.flagFile };
  try {
    const result = createFlag(config.flagFile, content);
    audit?.record(result === 'written' ? 'flag_written' : 'flag_exists', {
      file: config.flagFile,
      ...(result === 'written' ? { flag: content } : {}),
    });
    return { kind: result, file: config.flagFile };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? `its folder ${path.dirname(config.flagFile)} does not exist`
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? `permission denied in ${path.dirname(config.flagFile)}`
          : e.code === 'EROFS'
            ? 'read-only file system'
            : e.code === 'ENOSPC'
              ? 'no space left on the device'
              : e.code === 'ENOTDIR'
                ? `not a folder (ENOTDIR): ${path.dirname(config.flagFile)}, or a folder above it, is a file`
                : errnoWords(e.code, e.message);
    audit?.record('flag_failed', { file: config.flagFile, error: why, code: e.code ?? null });
    return { kind: 'failed', file: config.flagFile, error: why };
  }
}

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
    : `kill failed: ${report.survivors.length} process(es) still running (${report.survivors.join(', ')})${report.refused.length > 0 ? `, signals refused (EPERM) for ${report.refused.join(', ')}: run the watchdog as the app's user or as root` : ''}`;
  return { summary, failed };
}

export interface Delivery {
  /** The state's pending list after this delivery. */
  pending: PendingAlert[];
  sent: number;
  failed: number;
}

/**
 * The in-process sender of `watch` (src/alert-sender.ts) as a check sees it: it takes the new
 * alerts (and any it does not know yet from alerts.json) and sends them beside the checks.
 */
export interface AlertOutbox {
  readonly owner: PendingOwner;
  /** Queue `fresh`, adopt what `saved` holds that the outbox does not know; returns the queue to save. */
  take(saved: readonly PendingAlert[], fresh: readonly PendingAlert[], nowMs: number): PendingAlert[];
}

/** This process, as the owner of pending alerts. */
export function selfOwner(): PendingOwner {
  return { pid: process.pid, start: procStat(process.pid)?.startTicks ?? null, host: hostname() };
}

/** Is the `watch` that owns the pending alerts still running (and not this process)? */
export function foreignOwnerAlive(owner: PendingOwner | null | undefined): boolean {
  if (owner == null || owner.pid === process.pid) return false;
  if (owner.host !== hostname()) return true; // a state folder shared with another host: cannot tell
  if (!isAlive(owner.pid)) return false;
  const stat = procStat(owner.pid);
  return !(stat !== null && owner.start !== null && stat.startTicks !== owner.start);
}

let serial = 0;

/** A new alert as it waits to be sent: its text for Slack, its level and what it announces. */
export function pendingOf(alert: { facts: AlertFacts; level: Level }, nowMs: number): PendingAlert {
  const f = alert.facts;
  const climbs = [
    ...new Set(f.events.filter((e) => e.kind === 'enter' || e.kind === 'escalate').map((e) => e.window)),
  ];
  const plain =
    f.headline === undefined &&
    (f.problems ?? []).length === 0 &&
    (f.findings ?? []).length === 0 &&
    f.events.length > 0 &&
    f.events.every((e) => e.kind === 'enter' || e.kind === 'escalate');
  return {
    text: slackText(f, alert.level),
    created_ms: nowMs,
    attempts: 0,
    id: `${process.pid.toString(36)}-${nowMs.toString(36)}-${(++serial).toString(36)}-${randomBytes(3).toString('hex')}`,
    level: alert.level,
    climbs,
    ...(plain ? { plain: true } : {}),
  };
}

let slackNoteShown = false;

/**
 * Print each new alert on stderr (always, at once), then send the pending ones and the new ones
 * to Slack within the budget; what could not be sent stays pending for the next check. Under
 * `watch` (`outbox`), nothing is sent here: the daemon's sender takes them and the check goes on.
 * The pending alerts of a `watch` that is running are its own to send: another command leaves
 * them alone (sends only its own), so that none is sent twice.
 */
export async function deliver(
  config: Config,
  alerts: readonly { facts: AlertFacts; level: Level }[],
  state: AlertState,
  audit: Auditor | null,
  nowMs: number,
  dryRun: boolean,
  outbox: AlertOutbox | null = null,
): Promise<Delivery> {
  for (const alert of alerts)
    process.stderr.write(
      `cost-watchdog: ${dryRun ? 'would alert: ' : ''}${printable(consoleLine(alert.facts))}\n`,
    );
  if (dryRun) return { pending: state.pending, sent: 0, failed: 0 };
  const fresh = alerts.map((a) => pendingOf(a, nowMs));
  const source = webhookSource(config, process.env);
  if (source.kind === 'none') {
    if (alerts.length > 0 && state.incidents[SLACK_NOTE] === undefined && !slackNoteShown) {
      slackNoteShown = true;
      process.stderr.write(
        `cost-watchdog: note: alerts go to stderr only. To send them to Slack, create an incoming webhook and put its URL in $${config.slack.webhookUrlEnv} (or in a file named by slack.webhook_url_file)\n`,
      );
      state.incidents[SLACK_NOTE] = nowMs;
    }
    state.pending_owner = null;
    return { pending: [], sent: 0, failed: 0 };
  }
  if (outbox !== null) {
    state.pending_owner = outbox.owner;
    return { pending: outbox.take(state.pending, fresh, nowMs), sent: 0, failed: 0 };
  }
  if (foreignOwnerAlive(state.pending_owner)) {
    // A running `watch` owns the queue and sends beside its checks: hand it these alerts and
    // return at once. Sending here would hold the state lock for a network round trip, and that
    // watch's checks (the flag, the kill) would wait on it.
    const kept = keepPending([...state.pending, ...fresh], nowMs);
    if (fresh.length > 0) {
      process.stderr.write(
        `cost-watchdog: ${fresh.length} alert(s) handed to the running watch (pid ${state.pending_owner?.pid}) to send to Slack\n`,
      );
      audit?.record('alert_handed_over', { count: fresh.length, to_pid: state.pending_owner?.pid ?? null });
    }
    return { pending: kept.kept, sent: 0, failed: 0 };
  }
  const held: PendingAlert[] = [];
  const queue: PendingAlert[] = [...state.pending, ...fresh];
  state.pending_owner = null;
  if (queue.length === 0) return { pending: held, sent: 0, failed: 0 };
  if (source.kind === 'broken') {
    const problem = `cannot send alerts to Slack: the webhook URL from ${source.from} ${source.problem}`;
    process.stderr.write(`cost-watchdog: ${problem}\n`);
    audit?.record('alert_failed', { error: problem, count: queue.length });
    const kept = keepPending([...held, ...queue], nowMs);
    return { pending: kept.kept, sent: 0, failed: queue.length };
  }
  const deadline = Date.now() + SEND_BUDGET_MS;
  const left: PendingAlert[] = [];
  let sent = 0;
  let failed = 0;
  for (const item of queue) {
    if (Date.now() >= deadline - 50) {
      left.push(item);
      continue;
    }
    const outcome = await postToSlack(source.url, item.text, deadline);
    const headline = item.text.split('\n', 1)[0] ?? '';
    if (outcome.ok) {
      sent++;
      audit?.record('alert_sent', {
        headline,
        attempts: outcome.attempts,
        ...(item.attempts > 0 ? { delayed_from: new Date(item.created_ms).toISOString() } : {}),
      });
    } else {
      failed++;
      left.push({ ...item, attempts: item.attempts + outcome.attempts });
      audit?.record('alert_failed', {
        headline,
        attempts: outcome.attempts,
        error: outcome.error ?? 'unknown',
        kept_for_retry: true,
      });
      process.stderr.write(
        `cost-watchdog: could not send an alert to Slack (${outcome.error ?? 'unknown'}); it is kept and retried on the next check\n`,
      );
    }
  }
  const kept = keepPending([...held, ...left], nowMs);
  if (kept.dropped > 0)
    audit?.record('alert_dropped', { count: kept.dropped, reason: 'older than a day or beyond the 20 kept' });
  return { pending: kept.kept, sent, failed };
}

/**
 * Keep the alert state for the next check (with what is still unsent). Returns why the command
 * must fail: the state could not be saved, or the audit log could not be appended.
 */
export function rememberAlerts(
  config: Config,
  state: AlertState,
  delivery: Delivery,
  audit: Auditor | null,
): string[] {
  const failures: string[] = [];
  state.pending = delivery.pending;
  try {
    saveAlerts(config, state);
  } catch (error) {
    failures.push(`cannot save the alert state ${alertsPath(config)}: ${(error as Error).message}`);
  }
  if (audit?.failed != null) failures.push(audit.failed);
  return failures;
}

/**
 * Tell the dead-man's-switch how the check went (heartbeat.ping_url). Bounded, never throws; a
 * failed ping is said on stderr and in the audit log, and changes nothing else. `signal`: a newer
 * ping takes this one's place (`watch` keeps at most one in flight), and that is not a failure.
 */
export async function pingAfterCheck(
  config: Config,
  checkOk: boolean,
  now: () => number,
  signal?: AbortSignal,
): Promise<void> {
  const url = config.heartbeat.pingUrl;
  if (url === null) return;
  const { ping, PING_TIMEOUT_MS } = await import('./effects/ping.js');
  const outcome = await ping(url, checkOk, PING_TIMEOUT_MS, signal);
  if (outcome.ok || outcome.superseded === true) return;
  process.stderr.write(
    `cost-watchdog: note: dead-man's-switch ping to ${outcome.target} failed (${outcome.error ?? 'unknown'}); the check itself is not affected\n`,
  );
  new Auditor(config.stateDir, now).record('ping_failed', {
    target: outcome.target,
    check_ok: checkOk,
    error: outcome.error ?? 'unknown',
  });
}

export type NoticeDelivery = { kind: 'sent' } | { kind: 'stderr-only' } | { kind: 'failed'; error: string };

/**
 * An alert about the watchdog itself (heartbeat, a failed unit): one line on stderr always, and to
 * Slack within the send budget when a webhook is set. Never throws.
 */
export async function sendNotice(
  slack: Config['slack'],
  level: Level,
  headline: string,
  details: readonly string[],
): Promise<NoticeDelivery> {
  const { noticeConsoleLine, noticeSlackText } = await import('./core/alert-text.js');
  process.stderr.write(`cost-watchdog: ${printable(noticeConsoleLine(headline, details))}\n`);
  const source = webhookSource({ slack }, process.env);
  if (source.kind === 'none') return { kind: 'stderr-only' };
  if (source.kind === 'broken')
    return { kind: 'failed', error: `the webhook URL from ${source.from} ${source.problem}` };
  const outcome = await postToSlack(
    source.url,
    noticeSlackText(level, headline, details),
    Date.now() + SEND_BUDGET_MS,
  );
  if (outcome.ok) return { kind: 'sent' };
  return { kind: 'failed', error: outcome.error ?? 'unknown' };
}
