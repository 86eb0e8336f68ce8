// `alerts` (how often an emergency still in force is said again), `slack` (where the webhook URL
// is: never in this file) and `silence` (alert when the app runs but its log does not grow).
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import { offAsNull, positiveDuration, relativePath } from '../primitives.js';
import {
  type ChannelConfig,
  channelsSchema,
  dailySummarySchema,
  resolveChannels,
  resolveDailySummary,
} from './surfaces.js';

export const alertsSchema = z
  .strictObject({
    reminder: positiveDuration.default('1h'),
    channels: channelsSchema,
    daily_summary: dailySummarySchema,
  })
  .default({ reminder: '1h', channels: [], daily_summary: null });

export const slackSchema = z
  .strictObject({
    webhook_url_env: z
      .string({ error: 'expected the name of an environment variable' })
      .min(1)
      .default('SLACK_WEBHOOK_URL'),
    webhook_url_file: relativePath.optional(),
  })
  .default({ webhook_url_env: 'SLACK_WEBHOOK_URL' });

export const silenceSchema = z
  .strictObject({ after: z.preprocess(offAsNull, positiveDuration.nullable().default(null)) })
  .default({ after: null });

export interface AlertsConfig {
  /** How often an emergency still in force is announced again. */
  reminderMs: number;
  /** The channels besides Slack (webhook, PagerDuty), in the config's order. */
  channels: ChannelConfig[];
  /** When yesterday's summary is sent (config timezone); null: never. */
  dailySummary: { hour: number; minute: number; text: string } | null;
}

export interface SlackConfig {
  webhookUrlEnv: string;
  webhookUrlFile: string | null;
}

export function resolveAlerts(
  raw: z.output<typeof alertsSchema>,
  abs: (p: string) => string,
): { alerts: AlertsConfig; problems: string[] } {
  const { channels, problems } = resolveChannels(raw.channels, abs);
  return {
    alerts: {
      reminderMs: parseDuration(raw.reminder) as number,
      channels,
      dailySummary: resolveDailySummary(raw.daily_summary),
    },
    problems,
  };
}

export function resolveSlack(raw: z.output<typeof slackSchema>, abs: (p: string) => string): SlackConfig {
  return {
    webhookUrlEnv: raw.webhook_url_env,
    webhookUrlFile: raw.webhook_url_file === undefined ? null : abs(raw.webhook_url_file),
  };
}

/** Alert when the target runs but the log has not grown for this long; null: off. */
export function resolveSilenceAfterMs(raw: z.output<typeof silenceSchema>): number | null {
  return typeof raw.after === 'string' ? (parseDuration(raw.after) as number) : null;
}
