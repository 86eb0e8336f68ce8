// Alert delivery: each new alert said on stderr at once, then sent to Slack within the send
// budget, or handed to the `watch` that owns the queue; what could not be sent stays pending.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { type AlertFacts, consoleLine, slackText } from '../core/alert-text.js';
import {
  type AlertState,
  keepPending,
  type PendingAlert,
  type PendingOwner,
  SLACK_NOTE,
} from '../core/decide.js';
import type { Level } from '../core/levels.js';
import type { Auditor } from '../effects/audit.js';
import { isAlive, procStat } from '../effects/proc.js';
import { postToSlack, SEND_BUDGET_MS, webhookSource } from '../effects/slack.js';
import { host } from '../effects/identity.js';
import { printable } from '../format.js';
import { tallyAlert } from '../metrics/tally.js';

export interface Delivery {
  /** The state's pending list after this delivery. */
  pending: PendingAlert[];
  sent: number;
  failed: number;
}

/**
 * The in-process sender of `watch` (src/daemon/alert-sender.ts) as a check sees it: it takes the new
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

/**
 * Delivers a process's alerts. What it remembers between deliveries: a serial for alert ids, and
 * whether the one-time note on adding Slack was shown. `watch` keeps one for all its checks; a
 * command that checks once makes its own.
 */
export class AlertDispatch {
  private serial = 0;
  private slackNoteShown = false;

  /** A new alert as it waits to be sent: its text for Slack, its level and what it announces. */
  pendingOf(alert: { facts: AlertFacts; level: Level }, nowMs: number): PendingAlert {
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
      id:
        `${process.pid.toString(36)}-${nowMs.toString(36)}-${(++this.serial).toString(36)}-` +
        `${randomBytes(3).toString('hex')}`,
      level: alert.level,
      climbs,
      ...(plain ? { plain: true } : {}),
    };
  }

  /**
   * Print each new alert on stderr (always, at once), then send the pending ones and the new ones
   * to Slack within the budget; what could not be sent stays pending for the next check. Under
   * `watch` (`outbox`), nothing is sent here: the daemon's sender takes them and the check goes on.
   * The pending alerts of a `watch` that is running are its own to send: another command leaves
   * them alone (sends only its own), so that none is sent twice.
   */
  async deliver(
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
    tallyAlert('console', 'sent', alerts.length);
    const fresh = alerts.map((a) => this.pendingOf(a, nowMs));
    const source = webhookSource(config, process.env);
    if (source.kind === 'none') {
      if (alerts.length > 0 && state.incidents[SLACK_NOTE] === undefined && !this.slackNoteShown) {
        this.slackNoteShown = true;
        process.stderr.write(
          `cost-watchdog: note: alerts go to stderr only. To send them to Slack, create an ` +
            `incoming webhook and put its URL in $${config.slack.webhookUrlEnv} (or in a file named ` +
            `by slack.webhook_url_file)\n`,
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
          `cost-watchdog: ${fresh.length} alert(s) handed to the running watch (pid ` +
            `${state.pending_owner?.pid}) to send to Slack\n`,
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
      tallyAlert('slack', 'failed', queue.length);
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
        tallyAlert('slack', 'sent');
        audit?.record('alert_sent', {
          headline,
          attempts: outcome.attempts,
          ...(item.attempts > 0 ? { delayed_from: new Date(item.created_ms).toISOString() } : {}),
        });
      } else {
        failed++;
        tallyAlert('slack', 'failed');
        left.push({ ...item, attempts: item.attempts + outcome.attempts });
        audit?.record('alert_failed', {
          headline,
          attempts: outcome.attempts,
          error: outcome.error ?? 'unknown',
          kept_for_retry: true,
        });
        process.stderr.write(
          `cost-watchdog: could not send an alert to Slack (${outcome.error ?? 'unknown'}); it is ` +
            `kept and retried on the next check\n`,
        );
      }
    }
    const kept = keepPending([...held, ...left], nowMs);
    tallyAlert('slack', 'dropped', kept.dropped);
    if (kept.dropped > 0)
      audit?.record('alert_dropped', {
        count: kept.dropped,
        reason: 'older than a day or beyond the 20 kept',
      });
    return { pending: kept.kept, sent, failed };
  }
}

/**
 * Announce a person's clear (of the flag, or of a scope's): one alert at `ok` with its headline
 * and the windows as they stand, delivered like any alert.
 */
export function announceCleared(
  config: Config,
  headline: string,
  windows: AlertFacts['windows'],
  state: AlertState,
  audit: Auditor,
  nowMs: number,
): Promise<Delivery> {
  const facts: AlertFacts = {
    host: config.fleet?.host ?? host(),
    atIso: new Date(nowMs).toISOString(),
    by: 'clear-emergency',
    headline,
    events: [],
    windows,
    tops: null,
    flag: { kind: 'none' },
    kill: null,
  };
  return new AlertDispatch().deliver(config, [{ facts, level: 'ok' }], state, audit, nowMs, false);
}
