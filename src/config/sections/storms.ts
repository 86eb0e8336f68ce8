// `retry_storm` (the same request seen again and again) and `burn_rate` (the short window spending
// far faster than the long one): both on by default, `off` (or false) turns each off.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import { describe } from '../messages.js';
import { offAsNull, positiveDuration, rollingDuration } from '../primitives.js';

export const retryStormSchema = z.preprocess(
  offAsNull,
  z
    .strictObject(
      {
        key: z
          .enum(['request_id', 'fingerprint'], {
            error: (issue) => `expected request_id or fingerprint, got ${describe(issue.input)}`,
          })
          .default('request_id'),
        count: z
          .int({ error: 'expected a whole number of sightings, 2 or more' })
          .min(2, { error: 'expected a whole number of sightings, 2 or more' })
          .max(1_000_000)
          .default(5),
        window: rollingDuration.default('15m'),
        level: z
          .enum(['warn', 'emergency', 'kill'], {
            error: (issue) => `expected one of warn, emergency, kill, got ${describe(issue.input)}`,
          })
          .default('emergency'),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a mapping like `{ count: 5, window: 15m, level: emergency }`, or off'
            : undefined,
      },
    )
    .nullable()
    .default({ key: 'request_id', count: 5, window: '15m', level: 'emergency' }),
);

export const burnRateSchema = z.preprocess(
  offAsNull,
  z
    .strictObject(
      {
        factor: z
          .number({ error: 'expected a number above 1' })
          .gt(1, { error: 'expected a number above 1' })
          .default(10),
        short: positiveDuration.default('5m'),
        long: rollingDuration.default('1h'),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a mapping like `{ factor: 10, short: 5m, long: 1h }`, or off'
            : undefined,
      },
    )
    .nullable()
    .default({ factor: 10, short: '5m', long: '1h' }),
);

type RawRetryStorm = NonNullable<z.output<typeof retryStormSchema>>;

export interface RetryStormConfig {
  key: RawRetryStorm['key'];
  count: number;
  windowMs: number;
  level: RawRetryStorm['level'];
}

export interface BurnRateConfig {
  factor: number;
  shortMs: number;
  longMs: number;
}

/** null: off. */
export function resolveRetryStorm(raw: z.output<typeof retryStormSchema>): RetryStormConfig | null {
  if (raw === null || typeof raw !== 'object') return null;
  return { key: raw.key, count: raw.count, windowMs: parseDuration(raw.window) as number, level: raw.level };
}

/** null: off. A short window not shorter than the long one is a problem. */
export function resolveBurnRate(raw: z.output<typeof burnRateSchema>): {
  burnRate: BurnRateConfig | null;
  problems: string[];
} {
  if (raw === null || typeof raw !== 'object') return { burnRate: null, problems: [] };
  const shortMs = parseDuration(raw.short) as number;
  const longMs = parseDuration(raw.long) as number;
  const problems =
    shortMs >= longMs
      ? [`burn_rate.short: ${raw.short} is not shorter than burn_rate.long (${raw.long})`]
      : [];
  return { burnRate: { factor: raw.factor, shortMs, longMs }, problems };
}

/**
 * `storms`: re-runs that carry no ids (issue 16). A line without a request id or fingerprint is
 * followed by its call shape (model, agent or task, input and output tokens): the same shape
 * billed `shape_count` times inside the storm window (retry_storm.window, else `shape_window`,
 * default 15m) is a storm at `shape_level`. `shape_count: off` (or `storms: off`) turns it off.
 */
export const stormsSchema = z.preprocess(
  offAsNull,
  z
    .strictObject(
      {
        shape_count: z.preprocess(
          offAsNull,
          z
            .int({ error: 'expected a whole number of calls of the same shape, 2 or more, or off' })
            .min(2, { error: 'expected a whole number of calls of the same shape, 2 or more, or off' })
            .max(1_000_000)
            .nullable()
            .default(3),
        ),
        shape_level: z
          .enum(['warn', 'emergency', 'kill'], {
            error: (issue) => `expected one of warn, emergency, kill, got ${describe(issue.input)}`,
          })
          .default('warn'),
        shape_window: rollingDuration.optional(),
        shape_with_ids: z.boolean({ error: 'expected true or false' }).default(false),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a mapping like `{ shape_count: 3, shape_level: warn }`, or off'
            : undefined,
      },
    )
    .nullable()
    .default({ shape_count: 3, shape_level: 'warn', shape_with_ids: false }),
);

export interface ShapeStormConfig {
  count: number;
  windowMs: number;
  level: 'warn' | 'emergency' | 'kill';
  /** Lines with a request id or fingerprint are followed by shape too (a queue that logs fresh ids). */
  withIds: boolean;
}

/** null: off. The window is `shape_window`, else the retry-storm window, else 15 minutes. */
export function resolveShapeStorm(
  raw: z.output<typeof stormsSchema>,
  retryStorm: RetryStormConfig | null,
): ShapeStormConfig | null {
  if (raw === null || typeof raw !== 'object' || raw.shape_count === null) return null;
  const windowMs =
    raw.shape_window !== undefined
      ? (parseDuration(raw.shape_window) as number)
      : (retryStorm?.windowMs ?? 15 * 60_000);
  return { count: raw.shape_count, windowMs, level: raw.shape_level, withIds: raw.shape_with_ids };
}
