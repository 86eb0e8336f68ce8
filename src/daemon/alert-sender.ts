// `watch` sends its alerts beside the checks, never in them: a check hands its alerts to this
// sender and goes on at once to the next append, so a Slack that is slow, rate-limited or never
// answers cannot hold back a flag or a kill. One send at a time (each channel keeps its order; one
// that is down waits out its own back-off while the others send: Slack and alerts.channels), retried
// with back-off (Retry-After honoured), a queue kept small (core/decide/pending.ts: a newer, higher alert
// about the same windows replaces one not sent yet; at most PENDING_LIMIT), and the unsent queue
// saved in alerts.json under the state folder's lock, so that a restart loses none. While the
// daemon runs it owns that queue (alerts.json `pending_owner`): other commands leave it alone,
// so no alert is sent twice.
import type { Config } from '../config/index.js';
import {
  channelOf,
  enqueuePending,
  keepPending,
  type PendingAlert,
  type PendingOwner,
} from '../core/decide.js';
import { acquireLock } from '../effects/store.js';
import { SEND_BUDGET_MS } from '../effects/slack.js';
import { tallyAlert } from '../metrics/tally.js';
import { printable } from '../format.js';
import { loadAlerts, saveAlerts } from '../check/alert-state.js';
import { type AlertOutbox, channelLabel, messageOf, selfOwner, targetsOf } from '../check/deliver.js';
import { Auditor } from '../effects/audit.js';

/** Waits between failed rounds of sending; the last repeats. A new alert is tried at once. */
export const RETRY_MS = [2_000, 5_000, 10_000, 30_000, 60_000, 300_000];
/** Ids remembered after their alert has gone (sent, replaced, dropped): never taken back from alerts.json. */
const KNOWN_IDS = 2_000;
/** A save that found the lock held (a check is running) is tried again this soon. */
const SAVE_RETRY_MS = 500;

export interface AlertSenderOptions {
  config: () => Config;
  now?: () => number;
  /** Where to say what happened (stderr in the daemon). */
  say?: (text: string) => void;
}

function headlineOf(item: PendingAlert): string {
  return item.text.split('\n', 1)[0] ?? '';
}

export class AlertSender implements AlertOutbox {
  readonly owner: PendingOwner = selfOwner();
  private queue: PendingAlert[] = [];
  private readonly known = new Set<string>();
  private busy: string | null = null;
  /** Per channel: failed rounds in a row, and when it may be tried again. */
  private readonly failedRounds = new Map<string, number>();
  private readonly retryAtMs = new Map<string, number>();
  /** Channels whose last try failed while stopping: not tried again. */
  private readonly stopFailed = new Set<string>();
  private readonly failureSaid = new Set<string>();
  private pumping: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly abort = new AbortController();
  private stopping: { deadlineMs: number } | null = null;
  private dirty = false;
  private saveTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly say: (text: string) => void;

  constructor(private readonly options: AlertSenderOptions) {
    this.now = options.now ?? Date.now;
    this.say = options.say ?? ((text) => process.stderr.write(`cost-watchdog: ${text}\n`));
  }

  /** Unsent alerts held now (the one being sent included). */
  get unsent(): number {
    return this.queue.length;
  }

  private audit(event: string, fields: Record<string, unknown>): void {
    new Auditor(this.options.config().stateDir, this.now).record(event, fields);
  }

  private remember(id: string): void {
    this.known.add(id);
    if (this.known.size > KNOWN_IDS) {
      const oldest = this.known.values().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  take(saved: readonly PendingAlert[], fresh: readonly PendingAlert[], nowMs: number): PendingAlert[] {
    // What alerts.json holds that is not ours yet: left by a run, a kill, an earlier daemon.
    let adopted = false;
    for (const item of saved) {
      if (item.id === undefined || this.known.has(item.id)) continue;
      this.remember(item.id);
      this.queue.push(item);
      adopted = true;
    }
    if (adopted) {
      this.queue.sort((a, b) => a.created_ms - b.created_ms);
      this.bound(keepPending(this.queue, nowMs, this.busy));
    }
    for (const item of fresh) {
      if (item.id !== undefined) this.remember(item.id);
      const result = enqueuePending(this.queue, item, nowMs, this.busy);
      this.queue = result.queue;
      for (const r of result.replaced)
        this.audit('alert_superseded', {
          headline: headlineOf(r),
          by: headlineOf(item),
          queued_at: new Date(r.created_ms).toISOString(),
        });
      tallyAlert(channelOf(item), 'dropped', result.dropped);
      if (result.dropped > 0)
        this.audit('alert_dropped', {
          count: result.dropped,
          reason: 'older than a day or beyond the 20 kept',
        });
    }
    for (const item of fresh) this.retryAtMs.delete(channelOf(item)); // a new alert is worth a try now
    this.dirty = false; // the caller saves what this returns
    if (this.queue.length > 0) this.kick();
    return [...this.queue];
  }

  private bound(kept: { kept: PendingAlert[]; dropped: number }): void {
    for (const p of this.queue) if (!kept.kept.includes(p)) tallyAlert(channelOf(p), 'dropped');
    this.queue = kept.kept;
    if (kept.dropped > 0)
      this.audit('alert_dropped', { count: kept.dropped, reason: 'older than a day or beyond the 20 kept' });
  }

  private kick(): void {
    if (this.pumping !== null) {
      this.wakeUp?.();
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      const self = this;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * One send at a time: the oldest alert of a channel that is not waiting out a back-off (each
   * channel keeps its order; one that is down does not hold back the others' alerts).
   */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      if (this.queue.length === 0) return;
      const now = Date.now();
      const item =
        this.stopping !== null
          ? this.queue.find((q) => !this.stopFailed.has(channelOf(q)))
          : this.queue.find((q) => (this.retryAtMs.get(channelOf(q)) ?? 0) <= now);
      if (item === undefined) {
        if (this.stopping !== null) return; // one last try each, when stopping
        const next = Math.min(...this.queue.map((q) => this.retryAtMs.get(channelOf(q)) ?? 0));
        await this.sleep(Math.max(1, next - now));
        continue;
      }
      const id = item.id ?? null;
      this.busy = id;
      const ok = await this.sendOne(item);
      this.busy = null;
      this.markDirty();
      if (!ok && this.stopping !== null) this.stopFailed.add(channelOf(item));
    }
  }

  /** One round for the oldest alert: sent (and gone from the queue), or kept with a retry time. */
  private async sendOne(item: PendingAlert): Promise<boolean> {
    const config = this.options.config();
    const name = channelOf(item);
    const targets = targetsOf(config);
    const channel = targets.channels.find((c) => c.name === name);
    const broken = targets.broken.find((b) => b.name === name);
    const headline = headlineOf(item);
    const tag = name === 'slack' ? {} : { channel: name };
    if (channel === undefined && broken === undefined) {
      // The channel was taken away (a reload): nothing to send to; the alerts were on stderr.
      const gone = this.queue.filter((q) => channelOf(q) === name);
      this.say(
        name === 'slack'
          ? `note: ${gone.length} unsent alert(s) dropped: no Slack webhook is configured any more`
          : `note: ${gone.length} unsent alert(s) dropped: ${channelLabel(name)} is not configured any more`,
      );
      this.audit('alert_dropped', {
        count: gone.length,
        reason: name === 'slack' ? 'no webhook configured' : 'channel not configured',
        ...tag,
      });
      tallyAlert(name, 'dropped', gone.length);
      this.queue = this.queue.filter((q) => channelOf(q) !== name);
      return true;
    }
    const budgetEnd = this.stopping?.deadlineMs ?? Infinity;
    const outcome =
      channel === undefined
        ? { ok: false, attempts: 1, error: broken?.problem ?? 'not configured' }
        : await channel.send(
            messageOf(item),
            Math.min(Date.now() + SEND_BUDGET_MS, budgetEnd),
            this.abort.signal,
          );
    const attempts = item.attempts + outcome.attempts;
    const index = this.queue.findIndex((q) => q === item || (item.id !== undefined && q.id === item.id));
    if (outcome.ok) {
      if (index >= 0) this.queue.splice(index, 1);
      this.failedRounds.delete(name);
      this.retryAtMs.delete(name);
      tallyAlert(name, 'sent');
      this.audit('alert_sent', {
        headline,
        attempts: outcome.attempts,
        ...(item.attempts > 0
          ? { delayed_from: new Date(item.created_ms).toISOString(), total_attempts: attempts }
          : {}),
        ...tag,
      });
      if (item.id !== undefined && this.failureSaid.delete(item.id))
        this.say(
          `an alert held back by ${channelLabel(name)} was sent after ${attempts} attempts: ` +
            `${printable(printableHead(headline))}`,
        );
      return true;
    }
    if (index >= 0) this.queue[index] = { ...item, attempts };
    const rounds = (this.failedRounds.get(name) ?? 0) + 1;
    this.failedRounds.set(name, rounds);
    tallyAlert(name, 'failed');
    const backoff = RETRY_MS[Math.min(rounds - 1, RETRY_MS.length - 1)] as number;
    const retryIn = Math.max(
      backoff,
      'retryAfterMs' in outcome && outcome.retryAfterMs !== undefined ? outcome.retryAfterMs : 0,
    );
    this.retryAtMs.set(name, Date.now() + retryIn);
    const error = outcome.error ?? 'unknown';
    const first = item.id === undefined || !this.failureSaid.has(item.id);
    // Each alert's first failure is said and recorded; later rounds only in the audit log, at most
    // once per back-off step (a Slack down for a day is not a line a second).
    this.audit('alert_failed', {
      headline,
      attempts: outcome.attempts,
      error,
      kept_for_retry: true,
      retry_in_s: Math.round(retryIn / 1000),
      ...tag,
    });
    if (first && this.stopping === null) {
      if (item.id !== undefined) this.failureSaid.add(item.id);
      this.say(
        `could not send an alert to ${channelLabel(name)} (${error}); it is kept and retried beside ` +
          `the checks ` +
          `(next try in ${Math.round(retryIn / 1000)}s)`,
      );
    }
    return false;
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.stopping === null) this.save(false);
  }

  /**
   * Write the queue into alerts.json under the lock. Between checks the lock is only tried (a
   * check that holds it saves the queue itself, and never waits for this); at the end it is waited for.
   */
  private save(final: boolean): boolean {
    if (this.saveTimer !== null) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const config = this.options.config();
    let lock: ReturnType<typeof acquireLock>;
    try {
      lock = acquireLock(config.stateDir, final ? 10_000 : 0);
    } catch (error) {
      if (final) {
        this.say(`could not save the unsent alerts: ${(error as Error).message}`);
        return false;
      }
      this.saveTimer = setTimeout(() => {
        this.saveTimer = null;
        if (this.dirty && this.stopping === null) this.save(false);
      }, SAVE_RETRY_MS);
      this.saveTimer.unref();
      return false;
    }
    try {
      const loaded = loadAlerts(config);
      if (loaded.note !== null) return false; // the next check says so and starts afresh
      const state = loaded.state;
      state.pending = this.take(state.pending, [], this.now());
      state.pending_owner = final ? null : this.owner;
      saveAlerts(config, state);
      this.dirty = false;
      return true;
    } catch (error) {
      if (final) this.say(`could not save the unsent alerts: ${(error as Error).message}`);
      return false;
    } finally {
      lock.release();
    }
  }

  /**
   * Stop: one last try for each unsent alert within `budgetMs` (a send in flight is cut off at
   * the end of it), then save what is left as pending for whoever checks next. Resolves with
   * how many alerts are left unsent.
   */
  async stop(budgetMs: number): Promise<number> {
    this.stopping = { deadlineMs: Date.now() + budgetMs };
    this.retryAtMs.clear();
    this.wakeUp?.();
    const timer = setTimeout(() => this.abort.abort(), budgetMs);
    if (this.queue.length > 0 && this.pumping === null) this.kick();
    await this.pumping;
    clearTimeout(timer);
    this.abort.abort();
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    // Saved even when nothing is left: alerts.json must not name a daemon that is gone as the owner.
    this.save(true);
    return this.queue.length;
  }
}

function printableHead(headline: string): string {
  return headline.replace(/^:[a-z_]+: \*(?:cost-watchdog: )?/, '').replace(/\*$/, '');
}
