// The operator surfaces (issue 15): `metrics` (a node_exporter textfile written after every
// check), `http` (`watch` only: /metrics, the live dashboard, /status.json), and the alert
// channels besides Slack (`alerts.channels`: webhook, PagerDuty) with the daily summary
// (`alerts.daily_summary`). Secrets (URLs, HMAC secrets, routing keys) are never in this file:
// each is named by an environment variable or a file held like a key (effects/secret-file.ts).
import { isIP } from 'node:net';
import * as z from 'zod';
import { LEVELS, type Level } from '../../core/levels.js';
import { describe } from '../messages.js';
import { relativePath } from '../primitives.js';

export const metricsSchema = z
  .strictObject({ textfile: relativePath.nullable().default(null) })
  .default({ textfile: null });

const LISTEN = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/;

export const httpSchema = z
  .strictObject({
    listen: z
      .string({ error: 'expected an address like "127.0.0.1:9464"' })
      .refine((text) => parseListen(text) !== null, {
        error: (issue) =>
          'expected host:port like "127.0.0.1:9464" or "[::1]:9464" (port 0-65535), got ' +
          describe(issue.input),
      })
      .nullable()
      .default(null),
    allow_remote: z.boolean({ error: 'expected true or false' }).default(false),
  })
  .default({ listen: null, allow_remote: false });

const envName = z.string({ error: 'expected the name of an environment variable' }).min(1);
const minLevel = z
  .enum(LEVELS.filter((l) => l !== 'ok') as [Level, ...Level[]], {
    error: (issue) => `expected one of warn, emergency, kill, got ${describe(issue.input)}`,
  })
  .default('warn');
const channelName = z.string({ error: 'expected a name' }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, {
  error: 'expected a short name of letters, digits, "_", "." or "-" (like "ops-webhook")',
});

const webhookChannel = z.strictObject({
  type: z.literal('webhook'),
  name: channelName.optional(),
  url_env: envName.optional(),
  url_file: relativePath.optional(),
  secret_env: envName.optional(),
  secret_file: relativePath.optional(),
  min_level: minLevel,
});

const pagerdutyChannel = z.strictObject({
  type: z.literal('pagerduty'),
  name: channelName.optional(),
  routing_key_env: envName.optional(),
  routing_key_file: relativePath.optional(),
  events_url: z
    .string({ error: 'expected an http(s) URL' })
    .regex(/^https?:\/\/\S+$/i, { error: 'expected an http(s) URL' })
    .default('https://events.pagerduty.com/v2/enqueue'),
  min_level: minLevel,
});

export const channelSchema = z.discriminatedUnion('type', [webhookChannel, pagerdutyChannel], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'expected `type: webhook` or `type: pagerduty`' : undefined,
});

export const channelsSchema = z.array(channelSchema, { error: 'expected a list of channels' }).default([]);

export const dailySummarySchema = z
  .string({ error: 'expected a time of day like "09:00"' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day like "09:00" (24-hour HH:MM)' })
  .nullable()
  .default(null);

export interface MetricsConfig {
  /** The node_exporter textfile written (atomically) after every check; null: none. */
  textfile: string | null;
}

export interface HttpConfig {
  /** Where `watch` serves /metrics, / and /status.json; null: no server. Port 0: any free port. */
  listen: { host: string; port: number; text: string } | null;
  allowRemote: boolean;
  /** The listen host is a loopback address (127.0.0.0/8, ::1, localhost). */
  loopback: boolean;
}

export type ChannelConfig =
  | {
      type: 'webhook';
      /** The channel's name in messages, metrics (`channel` label) and notify --test. */
      name: string;
      urlEnv: string;
      urlFile: string | null;
      secretEnv: string;
      secretFile: string | null;
      minLevel: Level;
    }
  | {
      type: 'pagerduty';
      name: string;
      routingKeyEnv: string;
      routingKeyFile: string | null;
      eventsUrl: string;
      minLevel: Level;
    };

export function parseListen(text: string): { host: string; port: number } | null {
  const m = LISTEN.exec(text.trim());
  if (m === null) return null;
  const host = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined && isIP(host) !== 6) return null;
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function resolveMetrics(
  raw: z.output<typeof metricsSchema>,
  abs: (p: string) => string,
): MetricsConfig {
  return { textfile: raw.textfile === null ? null : abs(raw.textfile) };
}

export function resolveHttp(raw: z.output<typeof httpSchema>): { http: HttpConfig; problems: string[] } {
  const problems: string[] = [];
  const parsed = raw.listen === null ? null : parseListen(raw.listen);
  const loopback = parsed === null || isLoopbackHost(parsed.host);
  if (parsed !== null && !loopback && !raw.allow_remote)
    problems.push(
      `http.listen: ${raw.listen} is not a loopback address: the dashboard and /metrics would be open ` +
        'to the network (read-only, but they show spend, models and agents). Set `http.allow_remote: ' +
        'true` to mean it, or listen on 127.0.0.1',
    );
  return {
    http: {
      listen: parsed === null ? null : { ...parsed, text: raw.listen as string },
      allowRemote: raw.allow_remote,
      loopback,
    },
    problems,
  };
}

export function resolveChannels(
  raw: z.output<typeof channelsSchema>,
  abs: (p: string) => string,
): { channels: ChannelConfig[]; problems: string[] } {
  const problems: string[] = [];
  const channels: ChannelConfig[] = [];
  const seen = new Map<string, number>();
  raw.forEach((c, i) => {
    const n = (seen.get(c.type) ?? 0) + 1;
    seen.set(c.type, n);
    const name = c.name ?? (n === 1 ? c.type : `${c.type}-${n}`);
    if (channels.some((x) => x.name === name) || name === 'slack')
      problems.push(`alerts.channels[${i}].name: "${name}" is used twice: give each channel its own name`);
    if (c.type === 'webhook') {
      channels.push({
        type: 'webhook',
        name,
        urlEnv: c.url_env ?? (n === 1 ? 'ALERT_WEBHOOK_URL' : `ALERT_WEBHOOK_URL_${n}`),
        urlFile: c.url_file === undefined ? null : abs(c.url_file),
        secretEnv: c.secret_env ?? (n === 1 ? 'ALERT_WEBHOOK_SECRET' : `ALERT_WEBHOOK_SECRET_${n}`),
        secretFile: c.secret_file === undefined ? null : abs(c.secret_file),
        minLevel: c.min_level,
      });
    } else {
      channels.push({
        type: 'pagerduty',
        name,
        routingKeyEnv:
          c.routing_key_env ?? (n === 1 ? 'PAGERDUTY_ROUTING_KEY' : `PAGERDUTY_ROUTING_KEY_${n}`),
        routingKeyFile: c.routing_key_file === undefined ? null : abs(c.routing_key_file),
        eventsUrl: c.events_url,
        minLevel: c.min_level,
      });
    }
  });
  return { channels, problems };
}

/** "HH:MM" as minutes after local midnight; null: no daily summary. */
export function resolveDailySummary(
  raw: string | null,
): { hour: number; minute: number; text: string } | null {
  if (raw === null) return null;
  const [h, m] = raw.split(':').map(Number) as [number, number];
  return { hour: h, minute: m, text: raw };
}
