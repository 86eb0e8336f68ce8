// Every channel the config names, ready to send: Slack when its URL is set, and each entry of
// alerts.channels (webhook, PagerDuty: added by their modules). Used by `notify --test`, the
// daily summary, and alert delivery.
import type { Config } from '../config/index.js';
import { postToSlack, webhookSource } from '../effects/slack.js';
import type { BrokenChannel, Channel } from './types.js';

export type { BrokenChannel, Channel, ChannelMessage } from './types.js';

export function slackChannel(url: string): Channel {
  return {
    name: 'slack',
    type: 'slack',
    minLevel: 'ok',
    send: (message, deadlineMs, signal) => postToSlack(url, message.text, deadlineMs, signal),
  };
}

/** The channels configured: those that can send, and those whose secret is missing or broken. */
export function configuredChannels(
  config: Config,
  env: NodeJS.ProcessEnv,
): { channels: Channel[]; broken: BrokenChannel[] } {
  const channels: Channel[] = [];
  const broken: BrokenChannel[] = [];
  const slack = webhookSource(config, env);
  if (slack.kind === 'url') channels.push(slackChannel(slack.url));
  else if (slack.kind === 'broken')
    broken.push({
      name: 'slack',
      type: 'slack',
      problem: `the webhook URL from ${slack.from} ${slack.problem}`,
    });
  // alerts.channels (webhook, pagerduty): src/channels/webhook.ts and pagerduty.ts.
  return { channels, broken };
}
