// A notice about the watchdog itself (a stale heartbeat, a failed unit), as opposed to a check's
// alert: said on stderr, and sent to Slack once within the send budget.
import type { Config } from '../config/index.js';
import type { Level } from '../core/levels.js';
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
): Promise<NoticeDelivery> {
  const { noticeConsoleLine, noticeSlackText } = await import('../core/alert-text.js');
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
