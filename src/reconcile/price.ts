// A provider's usage rows priced with the same price table as the logs, into buckets per minute
// (our clock), price-table model and key. A bucket cannot show the tokens of one call, so a tiered
// price is taken at its base rate (documented in docs/operations.md). Batch usage is billed at
// half price by both providers. Pure: the price lookup is passed in.
import { estimate, type PriceLookup, unpricedCost } from '../core/prices.js';
import { toMicros } from '../core/money.js';
import type { UsageRow } from './types.js';

const MINUTE_MS = 60_000;

/** Usage of one minute (epoch minute, our clock), model and key, in whole µ$. */
export interface PricedBucket {
  minute: number;
  /** The model as the price table knows it (see canonicalModel). */
  model: string;
  /** The provider's own name for it. */
  raw: string;
  key: string | null;
  micros: number;
}

/**
 * The name models are compared by: the price table's `provider/model` when it knows the model
 * (so `gpt-4o-2024-08-06` and `gpt-4o` meet when the table resolves both to one), else
 * `config:<name>` for one priced in the config, else the name itself, lower-cased.
 */
export function canonicalModel(name: string, provider: string | null, lookup: PriceLookup): string {
  const rates = lookup(name, provider);
  if (rates === null) return name.toLowerCase();
  if (rates.source === 'config') return `config:${name.toLowerCase()}`;
  return rates.source.toLowerCase();
}

/** The provider a canonical name belongs to (`openai/gpt-4o` -> openai); null when unknown. */
export function providerOfModel(canonical: string): string | null {
  if (canonical.startsWith('config:')) return null;
  const slash = canonical.indexOf('/');
  return slash > 0 ? canonical.slice(0, slash) : null;
}

/**
 * Price the rows. `shiftMinutes` moves the provider's minutes onto our clock (its clock ahead by
 * k minutes: k). Rows of a model without a price count at `unpricedPerMillion`, and are named in
 * `unpriced`.
 */
export function priceRows(
  rows: readonly UsageRow[],
  providerType: string,
  lookup: PriceLookup,
  unpricedPerMillion: number,
  shiftMinutes = 0,
): { buckets: PricedBucket[]; unpriced: string[] } {
  const merged = new Map<string, PricedBucket>();
  const unpriced = new Set<string>();
  for (const row of rows) {
    const raw = row.model ?? '(no model)';
    const rates = row.model === null ? null : lookup(row.model, providerType);
    let usd =
      rates === null
        ? unpricedCost(
            unpricedPerMillion,
            row.inputTokens,
            row.outputTokens,
            row.cachedTokens,
            row.cacheWriteTokens,
            row.cacheWrite1hTokens,
          )
        : // Base rates: tierInput 0 never passes a tier's threshold.
          estimate(
            rates,
            row.inputTokens,
            row.outputTokens,
            row.cachedTokens,
            row.cacheWriteTokens,
            row.cacheWrite1hTokens,
            0,
          );
    if (rates === null) unpriced.add(raw);
    // A request price is per call, and a bucket's calls are counted by OpenAI only.
    if (rates !== null && rates.base.request > 0) usd += rates.base.request * ((row.requests ?? 1) - 1);
    if (row.batch) usd /= 2;
    if (!Number.isFinite(usd) || usd <= 0) continue;
    const model = row.model === null ? '(no model)' : canonicalModel(row.model, providerType, lookup);
    const minute = Math.floor(row.minuteMs / MINUTE_MS) - shiftMinutes;
    const id = `${minute}\u0000${model}\u0000${raw}\u0000${row.key ?? ''}`;
    const held = merged.get(id);
    if (held !== undefined) held.micros += toMicros(usd);
    else merged.set(id, { minute, model, raw, key: row.key, micros: toMicros(usd) });
  }
  return { buckets: [...merged.values()], unpriced: [...unpriced].sort() };
}
