// Every channel the config names, ready to send: Slack when its URL is set, and each entry of
// alerts.channels (webhook, PagerDuty) whose URL / routing key is set. Used by `notify --test`,
// the daily summary, and alert delivery. A channel whose secret is missing or held badly is
// returned as broken, with the words to say: the others still send.
import type { Config } from '../config/index.js';
import type { AlertFacts } from '../core/alert-text.js';
import { type Level, levelRank } from '../core/levels.js';
import { postToSlack, webhookSource } from '../effects/slack.js';
import { pagerdutyChannel, routingKey } from './pagerduty.js';
import type { BrokenChannel, Channel } from './types.js';
import { webhookChannel, webhookSecret, webhookUrl } from './webhook.js';

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
  config: Pick<Config, 'slack'> & { alerts: Pick<Config['alerts'], 'channels'> },
  env: NodeJS.ProcessEnv,
): { channels: Channel[]; broken: BrokenChannel[]; unsigned: string[] } {
  const channels: Channel[] = [];
  const broken: BrokenChannel[] = [];
  const unsigned: string[] = [];
  const slack = webhookSource(config, env);
  if (slack.kind === 'url') channels.push(slackChannel(slack.url));
  else if (slack.kind === 'broken')
    broken.push({
      name: 'slack',
      type: 'slack',
      problem: `the webhook URL from ${slack.from} ${slack.problem}`,
    });
  for (const c of config.alerts.channels) {
    if (c.type === 'webhook') {
      const url = webhookUrl(c, env);
      const secret = webhookSecret(c, env);
      if (url.kind === 'none')
        broken.push({
          name: c.name,
          type: 'webhook',
          missing: true,
          problem: `no URL: $${c.urlEnv} is not set (nor url_file)`,
        });
      else if (url.kind === 'broken')
        broken.push({ name: c.name, type: 'webhook', problem: `the URL from ${url.from} ${url.problem}` });
      else if (secret.kind === 'broken')
        broken.push({
          name: c.name,
          type: 'webhook',
          problem: `the signing secret from ${secret.from} ${secret.problem}`,
        });
      else {
        if (secret.kind === 'none') unsigned.push(c.name);
        channels.push(webhookChannel(c, url.value, secret.kind === 'set' ? secret.value : null));
      }
    } else {
      const key = routingKey(c, env);
      if (key.kind === 'none')
        broken.push({
          name: c.name,
          type: 'pagerduty',
          missing: true,
          problem: `no routing key: $${c.routingKeyEnv} is not set (nor routing_key_file)`,
        });
      else if (key.kind === 'broken')
        broken.push({
          name: c.name,
          type: 'pagerduty',
          problem: `the routing key from ${key.from} ${key.problem}`,
        });
      else channels.push(pagerdutyChannel(c, key.value));
    }
  }
  return { channels, broken, unsigned };
}

/**
 * Does a channel get this alert: at its min_level or above, or when it ends what such an alert
 * began (a recovery from a level it was sent, a person's clear), so that PagerDuty can resolve.
 */
export function channelWants(minLevel: Level, alert: { facts: AlertFacts; level: Level }): boolean {
  const min = levelRank(minLevel);
  if (levelRank(alert.level) >= min) return true;
  if (alert.facts.by === 'clear-emergency') return true;
  return alert.facts.events.some((e) => e.kind === 'recovery' && levelRank(e.previous) >= min);
}
