// Where a model's price comes from: the config's `cost.prices` first, then the table that
// @pydantic/genai-prices ships. The package is loaded (about 30 ms) only when a line first needs
// an estimate, synchronously, because lines are counted as they are read. Nothing is fetched over
// the network: the package's remote update is never started.
import { createRequire } from 'node:module';
import type { Config } from './config/index.js';
import {
  type ModelRates,
  type PriceLookup,
  pricesInForce,
  ratesFromConfig,
  ratesFromTable,
  type TablePrices,
} from './core/prices.js';

interface GenaiPrices {
  calcPrice(
    usage: Record<string, number>,
    model: string,
    options?: { providerId?: string; timestamp?: Date },
  ): null | { model: { id: string; prices: TablePrices }; provider: { id: string } };
}

let table: GenaiPrices | null | undefined;
/** Why the price table could not be loaded (every model is then unpriced); null when it loaded. */
export let priceTableError: string | null = null;

function loadTable(): GenaiPrices | null {
  if (table !== undefined) return table;
  try {
    table = createRequire(import.meta.url)('@pydantic/genai-prices') as GenaiPrices;
  } catch (error) {
    table = null;
    priceTableError =
      `the price table (@pydantic/genai-prices) could not be loaded: ` +
      `${(error as Error).message.split('\n')[0]}`;
  }
  return table;
}

/** Why estimates cannot use the price table (it failed to load, or is not installed); null when they can. */
export function priceTableProblem(): string | null {
  if (priceTableError !== null) return priceTableError;
  return priceTableVersion() === null ? 'the price table (@pydantic/genai-prices) is not installed' : null;
}

let versionFound: string | null | undefined;

/** The package's version, for status; null when it is not installed. */
export function priceTableVersion(): string | null {
  if (versionFound === undefined) versionFound = findVersion();
  return versionFound;
}

function findVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@pydantic/genai-prices');
    const pkg = require(main.replace(/dist[/\\][^/\\]*$/, 'package.json')) as { version?: string };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

/**
 * Rates found in the price table, kept in the checkpoint so that a check that reads a few lines
 * does not load the table again. Valid for one version of the table and one UTC day (a dated
 * price may take effect).
 */
export interface PriceCache {
  tag: string;
  models: Record<string, ModelRates | null>;
}

function cacheTag(nowMs: number): string {
  return `${priceTableVersion() ?? 'none'} ${new Date(nowMs).toISOString().slice(0, 10)}`;
}

function isRates(value: unknown): value is ModelRates {
  const v = value as ModelRates | null;
  const ok = (r: unknown): boolean =>
    r !== null &&
    typeof r === 'object' &&
    // A cache saved before cache-write rates has none: those models are looked up again.
    ['input', 'output', 'cached', 'cacheWrite', 'cacheWrite1h', 'request'].every(
      (k) => typeof (r as Record<string, unknown>)[k] === 'number',
    );
  return (
    v !== null &&
    typeof v === 'object' &&
    ok(v.base) &&
    typeof v.source === 'string' &&
    Array.isArray(v.tiers) &&
    v.tiers.every((t) => typeof t?.above === 'number' && ok(t.rates))
  );
}

/** The cache saved in the checkpoint, if it is still valid now; otherwise an empty one. */
export function loadPriceCache(saved: unknown, nowMs: number): PriceCache {
  const tag = cacheTag(nowMs);
  const s = saved as Partial<PriceCache> | null | undefined;
  const models: Record<string, ModelRates | null> = Object.create(null) as Record<string, ModelRates | null>;
  if (
    s !== null &&
    typeof s === 'object' &&
    s.tag === tag &&
    s.models !== null &&
    typeof s.models === 'object'
  ) {
    for (const [key, rates] of Object.entries(s.models))
      if (rates === null || isRates(rates)) models[key] = rates;
  }
  return { tag, models };
}

/**
 * `table` finds a model in the price table; a helper thread passes one that asks the main thread
 * (so that the table is loaded once).
 */
export function priceLookup(
  configured: Config['cost']['prices'],
  nowMs: number,
  cache: PriceCache = { tag: '', models: Object.create(null) as Record<string, ModelRates | null> },
  table: (model: string, provider: string | null, nowMs: number) => ModelRates | null = fromTable,
): PriceLookup {
  const own = new Map<string, ModelRates>();
  for (const [name, price] of Object.entries(configured)) {
    own.set(name, ratesFromConfig(price));
    if (!own.has(name.toLowerCase())) own.set(name.toLowerCase(), ratesFromConfig(price));
  }
  let kept: number | undefined;
  return (model, provider) => {
    const mine =
      (provider === null
        ? undefined
        : (own.get(`${provider}/${model}`) ?? own.get(`${provider}/${model}`.toLowerCase()))) ??
      own.get(model) ??
      own.get(model.toLowerCase());
    if (mine !== undefined) return mine;
    const key = `${provider ?? ''}\u0000${model}`;
    if (key in cache.models) return cache.models[key] ?? null;
    const found = table(model, provider, nowMs);
    // A table that did not load is not remembered as "no price": it may load next time.
    // Counted, not Object.keys(...).length: 100,000 unpriced model names made that a 1,000-key array per
    // name.
    if (priceTableError === null && (kept ??= Object.keys(cache.models).length) < 1000) {
      cache.models[key] = found;
      kept++;
    }
    return found;
  };
}

function fromTable(model: string, provider: string | null, nowMs: number): ModelRates | null {
  const prices = loadTable();
  if (prices === null) return null;
  // The line's provider first; then the model alone; then a "provider/model" name split.
  const tries: [string, string | undefined][] = [];
  if (provider !== null && provider !== '') tries.push([model, provider]);
  tries.push([model, undefined]);
  const slash = model.indexOf('/');
  if (slash > 0 && slash < model.length - 1)
    tries.push([model.slice(slash + 1), model.slice(0, slash)], [model.slice(slash + 1), undefined]);
  const timestamp = new Date(nowMs);
  for (const [name, providerId] of tries) {
    let found: ReturnType<GenaiPrices['calcPrice']>;
    try {
      found = prices.calcPrice(
        { input_tokens: 1, output_tokens: 1 },
        name,
        providerId === undefined ? { timestamp } : { providerId, timestamp },
      );
    } catch {
      found = null;
    }
    if (found === null) continue;
    const rates = ratesFromTable(
      pricesInForce(found.model.prices, nowMs),
      `${found.provider.id}/${found.model.id}`,
    );
    if (rates !== null) return rates;
  }
  return null;
}
