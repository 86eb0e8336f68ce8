// Alert delivery: each new alert said on stderr at once, then sent to Slack and every channel of
// alerts.channels that wants it (its min_level) within the send budget,
// or handed to the `watch` that owns the queue; what could not be sent stays pending, per channel.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { type AlertFacts, consoleLine, slackText } from '../core/alert-text.js';
import {
  type AlertState,
  channelOf,
  keepPending,
  type PendingAlert,
  type PendingOwner,
  SLACK_NOTE,
} from '../core/decide.js';
import type { Level } from '../core/levels.js';
import type { Auditor } from '../effects/audit.js';
import { isAlive, procStat } from '../effects/proc.js';
import { SEND_BUDGET_MS } from '../effects/slack.js';
import { channelWants, configuredChannels } from '../channels/index.js';
import { type AlertPayload, buildPayload } from '../channels/payload.js';
import type { BrokenChannel, Channel, ChannelMessage } from '../channels/types.js';
import { tallyAlert } from '../metrics/tally.js';
import { host } from '../effects/identity.js';
import { printable } from '../format.js';

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

/** How a channel is named in what is said: "Slack", or "channel <name>". */
export function channelLabel(name: string): string {
  return name === 'slack' ? 'Slack' : `channel ${name}`;
}

/** A queued alert as the channel's send takes it. */
export function messageOf(item: PendingAlert): ChannelMessage {
  const payload = item.payload as AlertPayload | undefined;
  return {
    kind: payload?.kind ?? 'alert',
    level: item.level ?? 'warn',
    text: item.text,
    ...(payload !== undefined ? { payload: { ...payload, text: item.text } } : {}),
    ...(item.id !== undefined ? { id: item.id } : {}),
  };
}

/** Where alerts go now: the channels that can send, and those kept for retry (broken). */
export interface Targets {
  channels: Channel[];
  /** Configured but broken (a bad file, an unusable value): their alerts are kept and retried. */
  broken: BrokenChannel[];
  /** Configured but nothing set: their alerts are not queued. */
  missing: BrokenChannel[];
  unsigned: string[];
}

export function targetsOf(config: Config): Targets {
  const { channels, broken, unsigned } = configuredChannels(config, process.env);
  return {
    channels,
    broken: broken.filter((b) => b.missing !== true),
    missing: broken.filter((b) => b.missing === true),
    unsigned,
  };
}

function minLevelOf(config: Config, name: string): Level {
  return name === 'slack' ? 'ok' : (config.alerts.channels.find((c) => c.name === name)?.minLevel ?? 'warn');
}

/**
 * Delivers a process's alerts. What it remembers between deliveries: a serial for alert ids, and
 * whether the one-time note on adding Slack was shown. `watch` keeps one for all its checks; a
 * command that checks once makes its own.
 */
export class AlertDispatch {
  private serial = 0;
  private slackNoteShown = false;
  private readonly channelNotes = new Set<string>();

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

  /** One queued item per channel that wants the alert (Slack: every one), the same alert id. */
  itemsOf(
    config: Config,
    alert: { facts: AlertFacts; level: Level },
    nowMs: number,
    names: readonly string[],
  ): PendingAlert[] {
    const base = this.pendingOf(alert, nowMs);
    const out: PendingAlert[] = [];
    let payload: AlertPayload | null = null;
    for (const name of names) {
      if (name === 'slack') {
        out.push(base);
        continue;
      }
      if (!channelWants(minLevelOf(config, name), alert)) continue;
      payload ??= buildPayload(
        { kind: 'alert', level: alert.level, text: '', facts: alert.facts },
        { id: base.id as string, host: alert.facts.host, atMs: nowMs, fleet: config.fleet?.name ?? null },
      );
      out.push({
        ...base,
        id: `${base.id}.${name}`,
        text: payload.text,
        channel: name,
        payload: payload as unknown as Record<string, unknown>,
      });
    }
    return out;
  }

  /** Said once per process: a channel configured but not set, a webhook without a secret. */
  private noteChannels(targets: Targets): void {
    for (const m of targets.missing) {
      if (this.channelNotes.has(`missing:${m.name}`)) continue;
      this.channelNotes.add(`missing:${m.name}`);
      process.stderr.write(
        `cost-watchdog: note: alerts are not sent to ${channelLabel(m.name)}: ${m.problem}\n`,
      );
    }
    for (const name of targets.unsigned) {
      if (this.channelNotes.has(`unsigned:${name}`)) continue;
      this.channelNotes.add(`unsigned:${name}`);
      process.stderr.write(
        `cost-watchdog: note: ${channelLabel(name)} has no signing secret: its alerts are sent unsigned ` +
          `and its receiver cannot tell them from forgeries (set the channel's secret_env or secret_file)\n`,
      );
    }
  }

  /**
   * Print each new alert on stderr (always, at once), then send the pending ones and the new ones
   * to every channel within the budget; what could not be sent stays pending for the next check.
   * Under `watch` (`outbox`), nothing is sent here: the daemon's sender takes them and the check
   * goes on. The pending alerts of a `watch` that is running are its own to send: another
   * command leaves them alone (sends only its own), so that none is sent twice.
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
    const targets = targetsOf(config);
    const names = [...targets.channels.map((c) => c.name), ...targets.broken.map((b) => b.name)];
    const order = ['slack', ...config.alerts.channels.map((c) => c.name)].filter((n) => names.includes(n));
    if (alerts.length > 0) this.noteChannels(targets);
    if (order.length === 0) {
      if (alerts.length > 0 && state.incidents[SLACK_NOTE] === undefined && !this.slackNoteShown) {
        this.slackNoteShown = true;
        process.stderr.write(
          `cost-watchdog: note: alerts go to stderr only. To send them to Slack, create an ` +
            `incoming webhook and put its URL in $${config.slack.webhookUrlEnv} (or in a file named ` +
            `by slack.webhook_url_file)\n`,
        );
        state.incidents[SLACK_NOTE] = nowMs;
      }
    }
    const fresh = alerts.flatMap((a) => this.itemsOf(config, a, nowMs, order));
    // What waits for a channel no longer configured goes (the alerts were on stderr).
    const saved = state.pending.filter((p) => order.includes(channelOf(p)));
    if (order.length === 0) {
      state.pending_owner = null;
      return { pending: [], sent: 0, failed: 0 };
    }
    if (outbox !== null) {
      state.pending_owner = outbox.owner;
      return { pending: outbox.take(saved, fresh, nowMs), sent: 0, failed: 0 };
    }
    if (foreignOwnerAlive(state.pending_owner)) {
      // A running `watch` owns the queue and sends beside its checks: hand it these alerts and
      // return at once. Sending here would hold the state lock for a network round trip, and that
      // watch's checks (the flag, the kill) would wait on it.
      const kept = keepPending([...saved, ...fresh], nowMs);
      if (fresh.length > 0) {
        const where = fresh.every((f) => channelOf(f) === 'slack') ? 'Slack' : 'its channels';
        process.stderr.write(
          `cost-watchdog: ${alerts.length} alert(s) handed to the running watch (pid ` +
            `${state.pending_owner?.pid}) to send to ${where}\n`,
        );
        audit?.record('alert_handed_over', {
          count: alerts.length,
          to_pid: state.pending_owner?.pid ?? null,
        });
      }
      return { pending: kept.kept, sent: 0, failed: 0 };
    }
    const queue: PendingAlert[] = [...saved, ...fresh];
    state.pending_owner = null;
    if (queue.length === 0) return { pending: [], sent: 0, failed: 0 };
    const deadline = Date.now() + SEND_BUDGET_MS;
    // Each channel sends its own queue in order; the channels side by side, within one budget.
    const results = await Promise.all(
      order.map((name) =>
        this.sendChannel(
          name,
          queue.filter((q) => channelOf(q) === name),
          targets,
          deadline,
          audit,
        ),
      ),
    );
    const left = results.flatMap((r) => r.left);
    const sent = results.reduce((n, r) => n + r.sent, 0);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    const kept = keepPending(left, nowMs);
    if (kept.dropped > 0) {
      audit?.record('alert_dropped', {
        count: kept.dropped,
        reason: 'older than a day or beyond the 20 kept',
      });
      for (const p of left) if (!kept.kept.includes(p)) tallyAlert(channelOf(p), 'dropped');
    }
    return { pending: kept.kept, sent, failed };
  }

  private async sendChannel(
    name: string,
    items: PendingAlert[],
    targets: Targets,
    deadline: number,
    audit: Auditor | null,
  ): Promise<{ left: PendingAlert[]; sent: number; failed: number }> {
    if (items.length === 0) return { left: [], sent: 0, failed: 0 };
    const tag = name === 'slack' ? {} : { channel: name };
    const broken = targets.broken.find((b) => b.name === name);
    const channel = targets.channels.find((c) => c.name === name);
    if (broken !== undefined || channel === undefined) {
      const problem =
        name === 'slack'
          ? `cannot send alerts to Slack: ${broken?.problem ?? 'not configured'}`
          : `cannot send alerts to ${channelLabel(name)}: ${broken?.problem ?? 'not configured'}`;
      process.stderr.write(`cost-watchdog: ${problem}\n`);
      audit?.record('alert_failed', { error: problem, count: items.length, ...tag });
      tallyAlert(name, 'failed', items.length);
      return { left: items, sent: 0, failed: items.length };
    }
    const left: PendingAlert[] = [];
    let sent = 0;
    let failed = 0;
    for (const item of items) {
      if (Date.now() >= deadline - 50) {
        left.push(item);
        continue;
      }
      const outcome = await channel.send(messageOf(item), deadline);
      const headline = item.text.split('\n', 1)[0] ?? '';
      if (outcome.ok) {
        sent++;
        tallyAlert(name, 'sent');
        audit?.record('alert_sent', {
          headline,
          attempts: outcome.attempts,
          ...(item.attempts > 0 ? { delayed_from: new Date(item.created_ms).toISOString() } : {}),
          ...tag,
        });
      } else {
        failed++;
        tallyAlert(name, 'failed');
        left.push({ ...item, attempts: item.attempts + outcome.attempts });
        audit?.record('alert_failed', {
          headline,
          attempts: outcome.attempts,
          error: outcome.error ?? 'unknown',
          kept_for_retry: true,
          ...tag,
        });
        process.stderr.write(
          `cost-watchdog: could not send an alert to ${channelLabel(name)} ` +
            `(${outcome.error ?? 'unknown'}); it is kept and retried on the next check\n`,
        );
      }
    }
    return { left, sent, failed };
  }
}

/**
 * Announce a person's clear (of the flag, or of a scope's), or a top-up of the prepaid balance
 * (`more.by`: balance): one alert at `ok` with its headline and the windows as they stand,
 * delivered like any alert.
 */
export function announceCleared(
  config: Config,
  headline: string,
  windows: AlertFacts['windows'],
  state: AlertState,
  audit: Auditor,
  nowMs: number,
  scope?: AlertFacts['scope'],
  more: { by?: string; balance?: string } = {},
): Promise<Delivery> {
  const facts: AlertFacts = {
    host: config.fleet?.host ?? host(),
    atIso: new Date(nowMs).toISOString(),
    by: more.by ?? 'clear-emergency',
    headline,
    events: [],
    windows,
    ...(more.balance !== undefined ? { balance: more.balance } : {}),
    tops: null,
    flag: { kind: 'none' },
    kill: null,
    ...(scope !== undefined ? { scope } : {}),
  };
  return new AlertDispatch().deliver(config, [{ facts, level: 'ok' }], state, audit, nowMs, false);
}
