// `watch`'s daily summary: node-cron at alerts.daily_summary (HH:MM, config timezone) asks for a
// check, and after it the summary of yesterday is made from that check's figures and sent in the
// background (never holding the next check back). Re-scheduled on SIGHUP; on SIGTERM the send in
// flight gets a bounded last moment, then is cut off (its claim released: the next try sends).
// A send that fails on every channel is tried again every RETRY_MS, up to RETRIES times.
import type { CheckOutcome } from '../check/types.js';
import type { Config } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { printable } from '../format.js';
import { summaryLines } from '../summary/compose.js';
import { dayOfDate, deliverSummary, deliveryWords, makeSummary, yesterday } from '../summary/deliver.js';

export const RETRY_MS = 5 * 60_000;
const RETRIES = 12;

interface Scheduled {
  destroy(): void | Promise<void>;
}

export class DailySummary {
  private cron: Scheduled | null = null;
  private wanted = false;
  private sending: Promise<void> | null = null;
  private readonly abort = new AbortController();
  /** A day whose send failed everywhere, to try again, and the tries left. */
  private retry: { date: string; left: number; timer: NodeJS.Timeout | null } | null = null;

  constructor(
    private readonly say: (text: string) => void,
    private readonly requestCheck: () => void,
    private readonly json: boolean,
  ) {}

  /** Schedule for this config (again after a reload); none when daily_summary is not set. */
  async follow(config: Config): Promise<string | null> {
    await this.cron?.destroy();
    this.cron = null;
    const at = config.alerts.dailySummary;
    if (at === null) return null;
    const { schedule } = await import('node-cron');
    const quiet = () => undefined;
    this.cron = schedule(
      `${at.minute} ${at.hour} * * *`,
      () => {
        this.wanted = true;
        this.requestCheck();
      },
      {
        name: 'cost-watchdog-daily-summary',
        timezone: config.timezone,
        logger: {
          info: quiet,
          debug: quiet,
          warn: (m) => this.say(`daily summary scheduler: ${m}`),
          error: (m) => this.say(`daily summary scheduler: ${m instanceof Error ? m.message : m}`),
        },
      },
    );
    return `daily summary at ${at.text} ${config.timezone}`;
  }

  /** After each check: when the summary is due, make it from this check and send it. */
  afterCheck(config: Config, outcome: CheckOutcome): void {
    if (!this.wanted || this.sending !== null || this.abort.signal.aborted) return;
    this.wanted = false;
    const calendar = new DayCalendar(config.timezone);
    const day =
      (this.retry !== null ? dayOfDate(calendar, this.retry.date) : null) ??
      yesterday(calendar, outcome.nowMs);
    const run = async (): Promise<void> => {
      const summary = makeSummary(config, day, outcome);
      const delivery = await deliverSummary(config, summary, outcome.nowMs, {
        by: 'watch',
        force: false,
        dryRun: false,
        signal: this.abort.signal,
      });
      if (!this.json && delivery.result === 'printed')
        process.stdout.write(`${summaryLines(summary).map(printable).join('\n')}\n`);
      this.say(printable(deliveryWords(day.key, delivery)));
      if (delivery.result === 'failed') this.tryAgain(day.key);
      else this.retry = null;
    };
    this.sending = run()
      .catch((error: unknown) =>
        this.say(
          `daily summary of ${day.key} failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .finally(() => {
        this.sending = null;
      });
  }

  private tryAgain(date: string): void {
    const left = (this.retry?.date === date ? this.retry.left : RETRIES) - 1;
    if (this.abort.signal.aborted) {
      this.retry = null; // stopping: the next start, or `summary`, sends it
      return;
    }
    if (left < 0) {
      this.retry = null;
      this.say(
        `daily summary of ${date}: not sent after ${RETRIES} tries; \`cost-watchdog summary\` sends it`,
      );
      return;
    }
    const timer = setTimeout(() => {
      this.wanted = true;
      this.requestCheck();
    }, RETRY_MS);
    timer.unref();
    this.retry = { date, left, timer };
  }

  /** Stop scheduling; a send in flight gets `ms`, then is cut off. */
  async stop(ms: number): Promise<void> {
    if (this.retry?.timer) clearTimeout(this.retry.timer);
    this.retry = null;
    await this.cron?.destroy();
    this.cron = null;
    const sending = this.sending;
    if (sending === null) return;
    const cut = setTimeout(() => this.abort.abort(), ms);
    await sending;
    clearTimeout(cut);
  }
}
