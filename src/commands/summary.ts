// `summary`: yesterday's daily summary (or --date's), sent to every alert channel unless that
// day's was sent already (by `watch` at alerts.daily_summary, or an earlier `summary`). For a
// timer that runs it after alerts.daily_summary; whenever run, it sends yesterday's if not yet
// sent. The text goes to stdout too (or the JSON, --json). src/summary/ holds the parts.
import { configPath, loadConfig } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { inspect } from '../check/inspect.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { printable } from '../format.js';
import { summaryLines } from '../summary/compose.js';
import { dayOfDate, deliverSummary, deliveryWords, makeSummary, yesterday } from '../summary/deliver.js';

export interface SummaryOptions {
  config?: string;
  json?: boolean;
  date?: string;
  force?: boolean;
  dryRun?: boolean;
}

export async function summaryCommand(options: SummaryOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const nowMs = Date.now();
  const calendar = new DayCalendar(config.timezone);
  const today = calendar.dayOf(nowMs);
  let day = yesterday(calendar, nowMs);
  if (options.date !== undefined) {
    const asked = dayOfDate(calendar, options.date.trim());
    if (asked === null)
      throw new UsageError(
        `summary: --date expects a date like 2026-01-31, got "${printable(options.date)}"`,
      );
    if (asked.key >= today.key)
      throw new UsageError(
        `summary: --date ${asked.key} is not over yet (today is ${today.key} in ${config.timezone}): a ` +
          "day's summary is of a day that has ended",
      );
    day = asked;
  }
  // The log read up to now, as `status` reads it: nothing saved, no lock taken.
  const figures = inspect(config, nowMs, false);
  const summary = makeSummary(config, day, figures);
  const delivery = await deliverSummary(config, summary, nowMs, {
    by: 'summary',
    force: options.force === true,
    dryRun: options.dryRun === true,
  });
  const fresh = delivery.result !== 'already sent' && delivery.result !== 'being sent';
  if (options.json) {
    const shown =
      delivery.result === 'already sent' || delivery.result === 'being sent'
        ? {
            result: delivery.result,
            at: delivery.marker.at,
            by: delivery.marker.by,
            host: delivery.marker.host,
          }
        : delivery;
    process.stdout.write(`${JSON.stringify({ summary, delivery: shown })}\n`);
  } else if (fresh) {
    for (const line of summaryLines(summary)) process.stdout.write(`${printable(line)}\n`);
  }
  const words = deliveryWords(summary.date, delivery);
  if (delivery.result === 'failed') throw new FailureError(words);
  process.stderr.write(`cost-watchdog: ${printable(words)}\n`);
  return EXIT.OK;
}
