// The daily summary, made and sent: the figures of a day put together (compose.ts) from the
// ledger and attribution of a check (the `summary` command reads the log first, as `status`
// does; `watch` uses the check it just ran), the book of peaks (summary.json), the audit log and
// the flag; then, once the day is claimed (claim.ts), sent to every channel at once within the
// alert budget. What was done is recorded in the audit log (`summary`).
import { configuredChannels } from '../channels/index.js';
import type { Config } from '../config/index.js';
import type { Attribution } from '../core/attribution.js';
import { DayCalendar, type DayRange } from '../core/calendar.js';
import { RETAIN_DAYS, type Ledger } from '../core/ledger.js';
import { Auditor } from '../effects/audit.js';
import { readFlag } from '../effects/flag.js';
import { host } from '../effects/identity.js';
import { SEND_BUDGET_MS } from '../effects/slack.js';
import { ensureDir } from '../effects/store.js';
import { readDayActions } from './read-audit.js';
import { claimDay, MARKER_DAYS, type Marker, markSent, pruneMarkers, releaseClaim } from './claim.js';
import { composeSummary, type SummaryJson, summaryLines, summarySlackText } from './compose.js';
import { loadBook } from './record.js';

/** What a summary is made from: a check's ledger and attribution (at `nowMs`). */
export interface Figures {
  nowMs: number;
  ledger: Ledger;
  attribution: Attribution;
  logError: string | null;
}

/** The day before the one `nowMs` falls in (config timezone). */
export function yesterday(calendar: DayCalendar, nowMs: number): DayRange {
  return calendar.dayOf(calendar.dayOf(nowMs).startMs - 1);
}

/** The local day of a date key (YYYY-MM-DD), or null when there is no such date. */
export function dayOfDate(calendar: DayCalendar, date: string): DayRange | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) return null;
  const noon = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
  if (new Date(noon).toISOString().slice(0, 10) !== date) return null;
  let day = calendar.dayOf(noon);
  // Far from UTC, noon UTC may be the day before or after; step to the date asked.
  if (day.key > date) day = calendar.dayOf(day.startMs - 1);
  else if (day.key < date) day = calendar.dayOf(day.endMs);
  return day.key === date ? day : null;
}

/** The summary of `day`, as of `figures`. */
export function makeSummary(config: Config, day: DayRange, figures: Figures): SummaryJson {
  const calendar = new DayCalendar(config.timezone);
  const notes: string[] = [];
  const { book, problem } = loadBook(config.stateDir);
  if (problem !== null) notes.push(problem);
  if (figures.logError !== null) notes.push(`the log could not be read now: ${figures.logError}`);
  const audit = readDayActions(config.stateDir, day.startMs, day.endMs);
  notes.push(...audit.problems);
  if (audit.actions.unreadable > 0)
    notes.push(`${audit.actions.unreadable} line(s) of the audit log were not JSON (skipped)`);
  const retainFrom = calendar.dayOf(figures.nowMs - (RETAIN_DAYS - 1) * 86_400_000).key;
  const flag = readFlag(config.flagFile);
  const content = flag.kind === 'present' ? flag.content : null;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const peaks = book.peaks[day.key];
  if (peaks === undefined && config.windows.some((w) => w.seconds !== null))
    notes.push(
      config.alerts.dailySummary === null
        ? 'rolling windows: peaks are recorded at checks only while alerts.daily_summary is set'
        : 'rolling windows: no check recorded a peak that day',
    );
  const yesterdayKey = yesterday(calendar, figures.nowMs).key;
  const attribution = day.key >= yesterdayKey ? figures.attribution.toState() : null;
  if (attribution === null) notes.push('top models, agents and logs are kept for yesterday only');
  return composeSummary({
    date: day.key,
    timezone: config.timezone,
    host: host(),
    generatedAtMs: figures.nowMs,
    startMs: day.startMs,
    endMs: day.endMs,
    windows: config.windows,
    peaks,
    dailyMicros: day.key >= retainFrom ? figures.ledger.day(day.key) : null,
    attribution,
    scopes: book.scopes[day.key],
    actions: audit.actions,
    flag:
      flag.kind === 'unknown'
        ? { active: false, unknown: flag.reason }
        : {
            active: flag.kind === 'present',
            ...(text(content?.triggered_at) !== undefined ? { since: text(content?.triggered_at) } : {}),
            ...(text(content?.reason) !== undefined ? { reason: text(content?.reason) } : {}),
          },
    notes,
  });
}

export interface ChannelResult {
  name: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

export type Delivery =
  | { result: 'sent'; channels: ChannelResult[] }
  /** No channel configured: printed (stdout, or the journal under watch) and marked as done. */
  | { result: 'printed'; channels: ChannelResult[] }
  | { result: 'failed'; channels: ChannelResult[] }
  | { result: 'already sent'; marker: Marker }
  | { result: 'being sent'; marker: Marker }
  | { result: 'dry run' };

/** Send to every channel at once, each within the alert budget; never throws. */
async function sendAll(
  config: Config,
  summary: SummaryJson,
  signal?: AbortSignal,
): Promise<{ results: ChannelResult[]; configured: number }> {
  // Every channel, whatever its min_level: the summary is news, not an alert.
  const { channels, broken } = configuredChannels(config, process.env);
  const deadline = Date.now() + SEND_BUDGET_MS;
  // Slack gets its markup; the webhook and PagerDuty get plain text (their payloads say so).
  const slackText = summarySlackText(summary);
  const plainText = summaryLines(summary).join('\n');
  const sent = await Promise.all(
    channels.map(async (channel): Promise<ChannelResult> => {
      const outcome = await channel
        .send(
          {
            kind: 'summary',
            level: 'ok',
            text: channel.type === 'slack' ? slackText : plainText,
            summary: summary as unknown as Record<string, unknown>,
          },
          deadline,
          signal,
        )
        .catch((error: unknown) => ({ ok: false, attempts: 0, error: String(error) }));
      return {
        name: channel.name,
        ok: outcome.ok,
        attempts: outcome.attempts,
        ...(outcome.ok ? {} : { error: outcome.error ?? 'not sent' }),
      };
    }),
  );
  const results = [
    ...sent,
    ...broken.map((b): ChannelResult => ({ name: b.name, ok: false, attempts: 0, error: b.problem })),
  ];
  return { results, configured: results.length };
}

export interface DeliverOptions {
  by: 'watch' | 'summary';
  force: boolean;
  dryRun: boolean;
  signal?: AbortSignal;
}

/**
 * Claim the day, send its summary, and mark it sent (or release the claim when every channel
 * failed). `summary` comes made (makeSummary) so that the caller can print it too.
 */
export async function deliverSummary(
  config: Config,
  summary: SummaryJson,
  nowMs: number,
  options: DeliverOptions,
): Promise<Delivery> {
  if (options.dryRun) return { result: 'dry run' };
  ensureDir(config.stateDir);
  const claim = claimDay(config.stateDir, summary.date, nowMs, options.by, options.force);
  if (claim.kind === 'sent') return { result: 'already sent', marker: claim.marker };
  if (claim.kind === 'busy') return { result: 'being sent', marker: claim.marker };
  let delivery: Delivery;
  try {
    const { results, configured } = await sendAll(config, summary, options.signal);
    const ok = results.filter((r) => r.ok).map((r) => r.name);
    delivery =
      configured === 0
        ? { result: 'printed', channels: [] }
        : ok.length > 0
          ? { result: 'sent', channels: results }
          : { result: 'failed', channels: results };
    if (delivery.result === 'failed') releaseClaim(claim.file, claim.marker);
    else markSent(claim.file, claim.marker, ok);
  } catch (error) {
    releaseClaim(claim.file, claim.marker);
    throw error;
  }
  const calendar = new DayCalendar(config.timezone);
  pruneMarkers(config.stateDir, calendar.dayOf(nowMs - MARKER_DAYS * 86_400_000).key);
  new Auditor(config.stateDir, Date.now).record('summary', {
    date: summary.date,
    by: options.by,
    result: delivery.result,
    ...(options.force ? { forced: true } : {}),
    channels: Object.fromEntries(
      delivery.channels.map((c) => [c.name, c.ok ? 'sent' : (c.error ?? 'failed')]),
    ),
  });
  return delivery;
}

/** What became of a summary, in one line (stderr, the journal). */
export function deliveryWords(date: string, delivery: Delivery): string {
  const failures = (channels: ChannelResult[]): string =>
    channels
      .filter((c) => !c.ok)
      .map((c) => `${c.name}: ${c.error ?? 'failed'}`)
      .join('; ');
  switch (delivery.result) {
    case 'sent': {
      const failed = failures(delivery.channels);
      const to = delivery.channels
        .filter((c) => c.ok)
        .map((c) => c.name)
        .join(', ');
      return `daily summary of ${date} sent to ${to}${failed !== '' ? ` (not to ${failed})` : ''}`;
    }
    case 'printed':
      return `daily summary of ${date}: no alert channel configured, printed here only (marked as sent)`;
    case 'failed':
      return (
        `daily summary of ${date} NOT SENT: ${failures(delivery.channels)} (not marked as sent: a later ` +
        '`cost-watchdog summary` tries again)'
      );
    case 'already sent':
      return (
        `daily summary of ${date} already sent at ${delivery.marker.at} by ${delivery.marker.by} on ` +
        `${delivery.marker.host}: not sent again (--force sends it again)`
      );
    case 'being sent':
      return (
        `daily summary of ${date} is being sent by ${delivery.marker.by} (pid ${delivery.marker.pid}) ` +
        'right now: not sent again'
      );
    case 'dry run':
      return `daily summary of ${date}: dry run, nothing sent or marked`;
  }
}
