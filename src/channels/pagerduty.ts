// PagerDuty, Events API v2: each alert becomes trigger / resolve events (pagerduty-events.ts) POSTed
// to `events_url` with the routing key; a test or a summary becomes a change event (beside it,
// /v2/change/enqueue) that pages nobody. 202 Accepted is delivered; 400 is not retried; 429 and 5xx
// are retried with back-off, as PagerDuty asks. The routing key is never printed, recorded or saved.
// https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/01-Overview.md
import { host } from '../effects/identity.js';
import { postJson } from './http.js';
import { buildPayload } from './payload.js';
import { clip, pagerdutyEvents, type PdEvent } from './pagerduty-events.js';
import type { Channel, ChannelMessage, SendOutcome } from './types.js';
import { type PagerdutyConfig, type Secret, secretFrom } from './webhook.js';

export function routingKey(c: PagerdutyConfig, env: NodeJS.ProcessEnv): Secret {
  return secretFrom(c.routingKeyEnv, c.routingKeyFile, env, {
    holds: 'the integration key (routing key) of the Events API v2 integration',
    key: `routing_key_file of channel ${c.name}`,
  });
}

/** The change-events address beside the events address: .../v2/enqueue -> .../v2/change/enqueue. */
export function changeUrl(eventsUrl: string): string {
  return /\/v2\/enqueue\/?$/.test(eventsUrl)
    ? eventsUrl.replace(/\/v2\/enqueue\/?$/, '/v2/change/enqueue')
    : `${eventsUrl.replace(/\/$/, '')}/change`;
}

/** The JSON of one event, the routing key in it. */
export function eventBody(
  event: PdEvent,
  key: string,
  payload: ReturnType<typeof buildPayload>,
): Record<string, unknown> {
  const details = {
    text: payload.text,
    id: payload.id,
    level: payload.level,
    windows: payload.windows,
    events: payload.events,
    flag: payload.flag,
    kill: payload.kill,
    ...(payload.scope !== null ? { scope: payload.scope } : {}),
    ...(payload.summary !== undefined ? { summary: payload.summary } : {}),
  };
  if (event.action === 'change')
    return {
      routing_key: key,
      payload: {
        summary: event.summary,
        timestamp: payload.at,
        source: payload.host,
        custom_details: details,
      },
    };
  if (event.action === 'resolve')
    return { routing_key: key, event_action: 'resolve', dedup_key: event.dedupKey };
  return {
    routing_key: key,
    event_action: 'trigger',
    dedup_key: event.dedupKey,
    client: 'cost-watchdog',
    payload: {
      summary: clip(event.summary),
      source: payload.host,
      severity: event.severity,
      timestamp: payload.at,
      component: 'cost-watchdog',
      group: event.group,
      class: event.class,
      custom_details: details,
    },
  };
}

export function pagerdutyChannel(c: PagerdutyConfig, key: string, now: () => number = Date.now): Channel {
  return {
    name: c.name,
    type: 'pagerduty',
    minLevel: c.minLevel,
    async send(message: ChannelMessage, deadlineMs: number, signal?: AbortSignal): Promise<SendOutcome> {
      const payload = {
        ...(message.payload ??
          buildPayload(message, {
            id: message.id ?? `${c.name}-${now().toString(36)}`,
            host: host(),
            atMs: now(),
          })),
      };
      let attempts = 0;
      for (const event of pagerdutyEvents(payload)) {
        const body = JSON.stringify(eventBody(event, key, payload));
        const outcome = await postJson(
          {
            url: event.action === 'change' ? changeUrl(c.eventsUrl) : c.eventsUrl,
            secrets: [key],
            build: () => ({ body, headers: {} }),
          },
          deadlineMs,
          signal,
        );
        attempts += outcome.attempts;
        if (!outcome.ok) return { ...outcome, attempts };
      }
      return { ok: true, attempts };
    },
  };
}
