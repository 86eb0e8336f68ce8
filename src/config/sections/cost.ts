// `cost`: which figure counts (the logged cost, the estimate from tokens, or the larger), the
// prices of models the table does not know, the most one line may cost, and currencies: the fixed
// rates a line's `currency` converts at, the currency figures are shown in, and the currency of
// the limits.
import { isCurrencyCode } from '../../core/money.js';
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

export const currencyCode = z
  .string({ error: (issue) => `expected an ISO 4217 currency code like "EUR", got ${describe(issue.input)}` })
  .refine((code) => isCurrencyCode(code), {
    error: (issue) =>
      /^[A-Z]{3}$/.test(String(issue.input))
        ? `expected an ISO 4217 currency code like "EUR", got ${describe(issue.input)}, which is not ` +
          'one (a currency in use, not a code set aside for tests or metals)'
        : 'expected an ISO 4217 currency code like "EUR" (three capital letters), got ' +
          describe(issue.input),
  });

/** USD per unit of a currency: fixed, configured, never fetched. */
const currencyRate = z
  .number({ error: 'expected the US dollars one unit of the currency is worth, like 1.08' })
  .gt(0, { error: (issue) => `expected a rate above 0 (USD per unit), got ${describe(issue.input)}` })
  .max(1e6, { error: 'expected a rate of at most 1000000 (USD per unit)' });

export const currencyRatesSchema = z
  .record(currencyCode, currencyRate, {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected a mapping of currency codes to USD per unit, like `{ EUR: 1.08, GBP: 1.27 }`'
        : undefined,
  })
  .superRefine((rates, ctx) => {
    if (rates.USD !== undefined && rates.USD !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['USD'],
        message: `USD is what every amount is counted in: its rate is 1, got ${describe(rates.USD)}`,
      });
  });

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
    currency_rates: currencyRatesSchema.optional(),
    display_currency: currencyCode.optional(),
    limits_currency: currencyCode.optional(),
  })
  .superRefine((cost, ctx) => {
    for (const key of ['display_currency', 'limits_currency'] as const) {
      const code = cost[key];
      if (
        code !== undefined &&
        code !== 'USD' &&
        isCurrencyCode(code) &&
        cost.currency_rates?.[code] === undefined
      )
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            `${code} has no rate: add it to cost.currency_rates, what one ${code} is worth in US ` +
            `dollars (\`${code}: <USD per ${code}>\`)`,
        });
    }
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
  /**
   * USD per unit of each currency a line may log its cost in (`currency`), USD itself included
   * at 1. A line in a currency not here is malformed.
   */
  currencyRates: Record<string, number>;
  /** The currency figures are shown in (status, alerts, dashboard), and its rate (USD per unit). */
  display: { code: string; rate: number };
  /** The currency the config's limits (and top-ups) are written in, and its rate. */
  limitsCurrency: { code: string; rate: number };
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
    currencyRates: { ...(raw.currency_rates ?? {}), USD: 1 },
    display: currencyOf(raw.display_currency, raw.currency_rates),
    limitsCurrency: currencyOf(raw.limits_currency, raw.currency_rates),
  };
}

function currencyOf(
  code: string | undefined,
  rates: Record<string, number> | undefined,
): { code: string; rate: number } {
  if (code === undefined || code === 'USD') return { code: 'USD', rate: 1 };
  return { code, rate: rates?.[code] ?? 1 };
}
