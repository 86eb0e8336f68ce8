// A generic webhook channel: the versioned JSON payload (channels/payload.ts) POSTed to the URL,
// signed with HMAC-SHA256 of the exact body when a secret is set:
//   X-Cost-Watchdog-Signature: sha256=<hex>   X-Cost-Watchdog-Timestamp: <unix seconds>
// The body carries `sent_at` (the same time), so the signed material covers when it was sent.
// The URL and the secret come from the environment (first) or a file held like a key; neither is
// ever printed, recorded or saved.
import { createHmac } from 'node:crypto';
import type { ChannelConfig } from '../config/sections/surfaces.js';
import { readSecretFile } from '../effects/secret-file.js';
import { host } from '../effects/identity.js';
import { postJson } from './http.js';
import { buildPayload, payloadBody } from './payload.js';
import type { Channel, ChannelMessage } from './types.js';

export type WebhookConfig = Extract<ChannelConfig, { type: 'webhook' }>;
export type PagerdutyConfig = Extract<ChannelConfig, { type: 'pagerduty' }>;

export const SIGNATURE_HEADER = 'X-Cost-Watchdog-Signature';
export const TIMESTAMP_HEADER = 'X-Cost-Watchdog-Timestamp';

/** `sha256=<hex HMAC-SHA256 of body with secret>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export type Secret =
  | { kind: 'none' }
  | { kind: 'set'; value: string; from: string }
  | { kind: 'broken'; from: string; problem: string };

/** A secret from `$env` (wins when set) or `file` (held like a key). */
export function secretFrom(
  envName: string,
  file: string | null,
  env: NodeJS.ProcessEnv,
  about: { holds: string; key: string },
): Secret {
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv.trim() !== '')
    return { kind: 'set', value: fromEnv.trim(), from: `$${envName}` };
  if (file === null) return { kind: 'none' };
  const read = readSecretFile(file, process.geteuid?.(), about);
  if (!read.ok) return { kind: 'broken', from: file, problem: read.problem };
  const value = read.text.trim();
  if (value === '') return { kind: 'broken', from: file, problem: 'is empty' };
  return { kind: 'set', value, from: file };
}

export function webhookUrl(c: WebhookConfig, env: NodeJS.ProcessEnv): Secret {
  const url = secretFrom(c.urlEnv, c.urlFile, env, {
    holds: "the webhook's URL",
    key: `url_file of channel ${c.name}`,
  });
  if (url.kind === 'set' && !/^https?:\/\/[^\s/]+\/?\S*$/i.test(url.value))
    return { kind: 'broken', from: url.from, problem: 'does not hold an http(s) URL' };
  return url;
}

export function webhookSecret(c: WebhookConfig, env: NodeJS.ProcessEnv): Secret {
  return secretFrom(c.secretEnv, c.secretFile, env, {
    holds: "the webhook's signing secret",
    key: `secret_file of channel ${c.name}`,
  });
}

export function webhookChannel(
  c: WebhookConfig,
  url: string,
  secret: string | null,
  now: () => number = Date.now,
): Channel {
  return {
    name: c.name,
    type: 'webhook',
    minLevel: c.minLevel,
    signed: secret !== null,
    send(message: ChannelMessage, deadlineMs: number, signal?: AbortSignal) {
      const payload =
        message.payload ??
        buildPayload(message, {
          id: message.id ?? `${c.name}-${now().toString(36)}`,
          host: host(),
          atMs: now(),
        });
      const withText = { ...payload, text: message.text };
      return postJson(
        {
          url,
          secrets: secret === null ? [url] : [url, secret],
          build: () => {
            const at = now();
            const body = payloadBody(withText, at);
            const headers: Record<string, string> = { [TIMESTAMP_HEADER]: String(Math.floor(at / 1000)) };
            if (secret !== null) headers[SIGNATURE_HEADER] = signature(secret, body);
            return { body, headers };
          },
        },
        deadlineMs,
        signal,
      );
    },
  };
}
