// The value schemas several sections share: durations, paths, USD amounts, prices, and `off`.
import * as z from 'zod';
import { parseDuration } from '../core/duration.js';
import { describe } from './messages.js';

/** Rolling windows are kept to the second; longer spans are what `daily` is for. */
export const MAX_ROLLING_SECONDS = 86_400;

/** `off` (or false) for a check that is on by default. */
export function offAsNull(value: unknown): unknown {
  return value === false || value === 'off' ? null : value;
}

export const duration = z
  .string({ error: 'expected a duration like "30s", "15m" or "1h"' })
  .refine((text) => parseDuration(text) !== null, {
    error: (issue) => `expected a duration like "30s", "15m" or "1h", got ${describe(issue.input)}`,
    // Not a duration: the checks of its size that follow would only repeat it.
    abort: true,
  });

/** A duration of at least one second (0s would fire every time, or never stop waiting). */
export const positiveDuration = duration.refine((text) => (parseDuration(text) ?? Infinity) >= 1000, {
  error: (issue) => `expected at least "1s", got ${describe(issue.input)}`,
});

/** A rolling span: from 1s up to the longest rolling window kept, 24h. */
export const rollingDuration = positiveDuration.refine(
  (text) => (parseDuration(text) as number) <= MAX_ROLLING_SECONDS * 1000,
  { error: 'expected at most "24h"' },
);

export const relativePath = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path, got ""' });

export const usd = z
  .number({ error: 'expected a number (USD)' })
  .min(0, { error: (issue) => `expected a number >= 0 (USD), got ${describe(issue.input)}` });

export const perMillion = z
  .number({ error: 'expected USD per million tokens' })
  .min(0, { error: (issue) => `expected USD per million tokens >= 0, got ${describe(issue.input)}` })
  .max(1_000_000, { error: 'expected USD per million tokens (at most 1000000)' });
