// `cost`: which figure counts (the logged cost, the estimate from tokens, or the larger), the
// prices of models the table does not know, and the most one line may cost.
import * as z from 'zod';
import { DEFAULT_MAX_LINE_USD } from '../../core/scan.js';
import { describe } from '../messages.js';
import { perMillion } from '../primitives.js';

/** A model's price in the config, USD per million tokens (null: the input price). */
export interface ConfigPrice {
  input: number;
  output: number;
  cached: number | null;
  /** Cache writes (5-minute), and 1-hour ones (null: the 5-minute price). */
  cacheWrite: number | null;
  cacheWrite1h: number | null;
}

/** Tokens of a model with no price and no logged cost count at this (USD per million). */
export const DEFAULT_UNPRICED_PER_MILLION = 75;

const modelPrice = z.strictObject(
  {
    input: perMillion,
    output: perMillion,
    cached: perMillion.optional(),
    cache_write: perMillion.optional(),
    cache_write_1h: perMillion.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected USD per million tokens, like `{ input: 3, output: 15, cached: 0.3 }`'
        : undefined,
  },
);

export const costSchema = z
  .strictObject({
    policy: z
      .enum(['reported', 'estimated', 'max'], {
        error: (issue) => `expected one of reported, estimated, max, got ${describe(issue.input)}`,
      })
      .default('max'),
    prices: z
      .record(z.string().min(1, { error: 'expected a model name' }), modelPrice, {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a mapping of model names to prices, like `my-model: { input: 3, output: 15 }`'
            : undefined,
      })
      .optional(),
    unpriced_per_million_tokens: perMillion.default(DEFAULT_UNPRICED_PER_MILLION),
    // Above it a line is malformed, never summed (1e308 would make the sums Infinity). At most
    // $1e9 so that a line's micro-dollars stay an exact integer.
    max_line_usd: z
      .number({ error: 'expected USD (the most one log line can cost)' })
      .gt(0, { error: (issue) => `expected USD > 0, got ${describe(issue.input)}` })
      .max(1e9, { error: 'expected USD (at most 1000000000)' })
      .default(DEFAULT_MAX_LINE_USD),
  })
  .default({
    policy: 'max',
    unpriced_per_million_tokens: DEFAULT_UNPRICED_PER_MILLION,
    max_line_usd: DEFAULT_MAX_LINE_USD,
  });

export type RawCost = z.output<typeof costSchema>;

export interface CostConfig {
  policy: RawCost['policy'];
  /** Per model (exact name), USD per million input / output / cached-input tokens. */
  prices: Record<string, ConfigPrice>;
  unpricedPerMillion: number;
  /** cost.max_line_usd: a line above it (logged or estimated) is malformed. */
  maxLineUsd: number;
}

export function resolveCost(raw: RawCost): CostConfig {
  return {
    policy: raw.policy,
    prices: Object.fromEntries(
      Object.entries(raw.prices ?? {}).map(([model, p]) => [
        model,
        {
          input: p.input,
          output: p.output,
          cached: p.cached ?? null,
          cacheWrite: p.cache_write ?? null,
          cacheWrite1h: p.cache_write_1h ?? null,
        },
      ]),
    ),
    unpricedPerMillion: raw.unpriced_per_million_tokens,
    maxLineUsd: raw.max_line_usd,
  };
}
