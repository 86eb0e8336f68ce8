// A notice about the watchdog itself (a stale heartbeat, a failed unit), as opposed to a check's
// alert: said on stderr, and sent to Slack once within the send budget, and to each channel of
// alerts.channels whose min_level it reaches (PagerDuty: the host's `watchdog` incident, resolved
// by a notice at ok). A channel's failure is said; only Slack's is kept for the next try.
import type { Config } from '../config/index.js';
import type { ChannelConfig } from '../config/sections/surfaces.js';
import { type Level, levelRank } from '../core/levels.js';
import { printable } from '../format.js';
import { postToSlack, SEND_BUDGET_MS, webhookSource } from './slack.js';

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
  channels: readonly ChannelConfig[] = [],
): Promise<NoticeDelivery> {
  const { noticeConsoleLine, noticeSlackText } = await import('../core/alert-text.js');
  process.stderr.write(`cost-watchdog: ${printable(noticeConsoleLine(headline, details))}\n`);
  const [delivery] = await Promise.all([
    toSlack(slack, noticeSlackText(level, headline, details)),
    toChannels(channels, level, [headline, ...details].join('\n')),
  ]);
  return delivery;
}

async function toChannels(channels: readonly ChannelConfig[], level: Level, text: string): Promise<void> {
  const wanted = channels.filter((c) => level === 'ok' || levelRank(level) >= levelRank(c.minLevel));
  if (wanted.length === 0) return;
  const { configuredChannels } = await import('../channels/index.js');
  const { buildPayload } = await import('../channels/payload.js');
  const { host } = await import('./identity.js');
  const message = { kind: 'alert' as const, level, text };
  const id = `notice-${process.pid.toString(36)}-${Date.now().toString(36)}`;
  const payload = buildPayload(message, { id, host: host(), atMs: Date.now(), by: 'notice' });
  const none = { webhookUrlEnv: '', webhookUrlFile: null };
  const found = configuredChannels({ slack: none, alerts: { channels: wanted } }, process.env);
  for (const b of found.broken)
    if (b.name !== 'slack') process.stderr.write(`cost-watchdog: not sent to ${b.name}: ${b.problem}\n`);
  const deadline = Date.now() + SEND_BUDGET_MS;
  await Promise.all(
    found.channels
      .filter((c) => c.name !== 'slack')
      .map(async (c) => {
        const outcome = await c.send({ ...message, id, payload }, deadline);
        if (!outcome.ok)
          process.stderr.write(
            `cost-watchdog: could not send the notice to ${c.name} (${outcome.error ?? 'unknown'})\n`,
          );
      }),
  );
}

async function toSlack(slack: Config['slack'], text: string): Promise<NoticeDelivery> {
  const source = webhookSource({ slack }, process.env);
  if (source.kind === 'none') return { kind: 'stderr-only' };
  if (source.kind === 'broken')
    return { kind: 'failed', error: `the webhook URL from ${source.from} ${source.problem}` };
  const outcome = await postToSlack(source.url, text, Date.now() + SEND_BUDGET_MS);
  if (outcome.ok) return { kind: 'sent' };
  return { kind: 'failed', error: outcome.error ?? 'unknown' };
}
