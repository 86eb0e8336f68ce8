// Cost estimated from tokens. Pure: a model's price (as the config gives it, or as the
// @pydantic/genai-prices table describes it) becomes per-token rates once, and each line is then
// a few multiplications. The price table itself is loaded by prices-table.ts, only when a line
// needs an estimate.
//
// Token counts follow the price table's convention: input tokens include the cached ones (read
// from the cache, and written to it), which are billed at their own rates instead: a cache read
// at cache_read_mtok, a write at cache_write_mtok (Anthropic: 1.25x input, for 5 minutes) and a
// 1-hour write at cache_write_1h_mtok (2x), as @pydantic/genai-prices' Anthropic usage mapping
// adds cache_read_input_tokens and cache_creation_input_tokens to input_tokens. A line with more
// cached than input tokens clearly counts them apart (Anthropic's style), and then both are
// billed in full.
import { idHashOfString } from './storms.js';

/** USD per token (input, output, cached input, cache writes) and per request. */
export interface TokenRates {
  input: number;
  output: number;
  cached: number;
  /** A token written to the cache (the default, 5-minute, write): cache_write_mtok, else input. */
  cacheWrite: number;
  /** A token written to the 1-hour cache: cache_write_1h_mtok, else cacheWrite. */
  cacheWrite1h: number;
  request: number;
}

/** A model's rates: `base`, then each tier in order of `above` (total input tokens > above). */
export interface ModelRates {
  base: TokenRates;
  tiers: { above: number; rates: TokenRates }[];
  /** Where the price came from, for status: `config`, or `provider/model` of the price table. */
  source: string;
}

/** A tiered price as the price table writes it: `base` USD/Mtok, and `price` above `start` input tokens. */
interface Tiered {
  base: number;
  tiers: { start: number; price: number }[];
}

type PriceValue = number | Tiered | undefined;

function isTiered(value: unknown): value is Tiered {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Tiered>;
  return (
    typeof v.base === 'number' &&
    Array.isArray(v.tiers) &&
    v.tiers.every((t) => typeof t?.start === 'number' && typeof t.price === 'number')
  );
}

function priceValue(value: unknown): PriceValue {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  return isTiered(value) ? value : undefined;
}

/** A USD-per-million price (flat or tiered) at a given number of input tokens. */
function perMillionAt(value: PriceValue, inputTokens: number): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  let price = value.base;
  for (const tier of value.tiers) if (inputTokens > tier.start) price = tier.price;
  return price;
}

/**
 * Rates from one or more of the price table's ModelPrice objects (several when a model's price
 * depends on the time of day: then the dearest of them, so that an estimate never depends on
 * when the line was written). Null when none prices tokens.
 */
export function ratesFromTable(
  prices: readonly Record<string, unknown>[],
  source: string,
): ModelRates | null {
  const usable = prices.filter(
    (p) => priceValue(p.input_mtok) !== undefined || priceValue(p.output_mtok) !== undefined,
  );
  if (usable.length === 0) return null;
  const starts = new Set<number>();
  for (const p of usable) {
    for (const key of [
      'input_mtok',
      'output_mtok',
      'cache_read_mtok',
      'cache_write_mtok',
      'cache_write_1h_mtok',
    ]) {
      const value = priceValue(p[key]);
      if (typeof value === 'object') for (const tier of value.tiers) starts.add(tier.start);
    }
  }
  const at = (inputTokens: number): TokenRates => {
    const rates: TokenRates = { input: 0, output: 0, cached: 0, cacheWrite: 0, cacheWrite1h: 0, request: 0 };
    for (const p of usable) {
      const input = perMillionAt(priceValue(p.input_mtok), inputTokens) ?? 0;
      const output = perMillionAt(priceValue(p.output_mtok), inputTokens) ?? 0;
      // No cached price: cached tokens cost what input tokens cost (never less than known).
      const cached = perMillionAt(priceValue(p.cache_read_mtok), inputTokens) ?? input;
      // No write price: a write costs what input costs, as the price table prices it then.
      const write = perMillionAt(priceValue(p.cache_write_mtok), inputTokens) ?? input;
      const write1h = perMillionAt(priceValue(p.cache_write_1h_mtok), inputTokens) ?? write;
      const requests = priceValue(p.requests_kcount);
      rates.input = Math.max(rates.input, input / 1e6);
      rates.output = Math.max(rates.output, output / 1e6);
      rates.cached = Math.max(rates.cached, cached / 1e6);
      rates.cacheWrite = Math.max(rates.cacheWrite, write / 1e6);
      rates.cacheWrite1h = Math.max(rates.cacheWrite1h, write1h / 1e6);
      rates.request = Math.max(rates.request, typeof requests === 'number' ? requests / 1000 : 0);
    }
    return rates;
  };
  const tiers = [...starts].sort((a, b) => a - b).map((above) => ({ above, rates: at(above + 1) }));
  return { base: at(0), tiers, source };
}

/** Rates from the config's `cost.prices` entry (USD per million tokens). */
export function ratesFromConfig(price: {
  input: number;
  output: number;
  cached: number | null;
  cacheWrite?: number | null;
  cacheWrite1h?: number | null;
}): ModelRates {
  const write = price.cacheWrite ?? price.input;
  return {
    base: {
      input: price.input / 1e6,
      output: price.output / 1e6,
      cached: (price.cached ?? price.input) / 1e6,
      // Without a write price, cache writes go at the input price.
      cacheWrite: write / 1e6,
      cacheWrite1h: (price.cacheWrite1h ?? write) / 1e6,
      request: 0,
    },
    tiers: [],
    source: 'config',
  };
}

/** The price table's entry for a model: one price, or prices that depend on a date or the time of day. */
export type TablePrices =
  | Record<string, unknown>
  | { constraint?: { type?: string; start_date?: string }; prices: Record<string, unknown> }[];

/**
 * The prices that may apply from now on: the newest dated price already in force, and every
 * time-of-day price (each applies some hours of the day). `nowMs` chooses among dated prices.
 */
export function pricesInForce(prices: TablePrices, nowMs: number): Record<string, unknown>[] {
  if (!Array.isArray(prices)) return [prices];
  const out: Record<string, unknown>[] = [];
  for (let k = prices.length - 1; k >= 0; k--) {
    const entry = prices[k];
    if (entry === undefined) continue;
    const constraint = entry.constraint;
    if (constraint?.type === 'time_of_date') {
      out.push(entry.prices);
      continue;
    }
    if (
      constraint === undefined ||
      (constraint.type === 'start_date' &&
        typeof constraint.start_date === 'string' &&
        Date.parse(constraint.start_date) <= nowMs)
    ) {
      out.push(entry.prices);
      break;
    }
  }
  if (out.length === 0 && prices[0] !== undefined) out.push(prices[0].prices);
  return out;
}

/** The rates that apply to a line with this many input tokens. */
export function ratesFor(model: ModelRates, inputTokens: number): TokenRates {
  let rates = model.base;
  for (const tier of model.tiers) if (inputTokens > tier.above) rates = tier.rates;
  return rates;
}

/**
 * The estimated cost of one call, USD. `write` and `write1h` are cache writes (5-minute and
 * 1-hour), part of `input` like `cached` (0 for lines of the app's own JSONL log).
 */
export function estimateWith(
  rates: TokenRates,
  input: number,
  output: number,
  cached: number,
  write = 0,
  write1h = 0,
): number {
  const apart = cached + write + write1h;
  const uncached = apart <= input ? input - apart : input;
  return (
    uncached * rates.input +
    cached * rates.cached +
    write * rates.cacheWrite +
    write1h * rates.cacheWrite1h +
    output * rates.output +
    rates.request
  );
}

export function estimate(
  model: ModelRates,
  input: number,
  output: number,
  cached: number,
  write = 0,
  write1h = 0,
  tierInput = input,
): number {
  return estimateWith(ratesFor(model, tierInput), input, output, cached, write, write1h);
}

/** The cost of tokens of a model without a price: all of them at the unpriced rate. */
export function unpricedCost(
  perMillion: number,
  input: number,
  output: number,
  cached: number,
  write = 0,
  write1h = 0,
): number {
  const apart = cached + write + write1h;
  const tokens = (apart <= input ? input : input + apart) + output;
  return (tokens * perMillion) / 1e6;
}

/** Finds a model's rates (config first, then the price table); null when it has none. */
export type PriceLookup = (model: string, provider: string | null) => ModelRates | null;

const NOT_LOOKED_UP = 0;
const FLAT = 1;
const TIERED = 2;
const UNPRICED = 3;
/** Rates kept per model id: input, output, cached, request, cache write, 1-hour cache write. */
const RATES = 6;

/** Names without a label id kept by name in a PriceBook; past this, unpriced ones by hash (see estimate). */
export const NAMES_KEPT = 4096;

/** A set of 53-bit hashes: open addressing on a Float64Array, keyed by hash + 1. */
class HashSet {
  private d = new Float64Array(1024);
  private size = 0;

  has(hash: number): boolean {
    return this.d[this.slotOf(hash)] === hash + 1;
  }

  add(hash: number): void {
    const slot = this.slotOf(hash);
    if (this.d[slot] === hash + 1) return;
    this.d[slot] = hash + 1;
    this.size++;
    if (this.size * 4 > this.d.length * 3) {
      const old = this.d;
      this.d = new Float64Array(old.length * 2);
      for (const key of old) if (key > 0) this.d[this.slotOf(key - 1)] = key;
    }
  }

  private slotOf(hash: number): number {
    const mask = this.d.length - 1;
    let slot = (hash ^ (hash / 2_097_152)) & mask;
    while (this.d[slot] !== 0 && this.d[slot] !== hash + 1) slot = (slot + 1) & mask;
    return slot;
  }
}

/**
 * Rates per model, found once and then read per line by the model's label id (core/labels.ts),
 * so that a line costs an array read and four multiplications. Names without an id, and lines
 * that name a provider, are kept in a map.
 */
export class PriceBook {
  private readonly kind: Int8Array;
  private readonly rates: Float64Array;
  private readonly tiered: (ModelRates | undefined)[] = [];
  private readonly byKey = new Map<string | number, ModelRates | null>();
  private readonly unpricedHashes = new HashSet();
  /** Every model looked up: name (with provider) -> where its price came from, or null. */
  readonly found = new Map<string, string | null>();

  constructor(
    private readonly lookup: PriceLookup,
    capacity: number,
  ) {
    this.kind = new Int8Array(capacity);
    this.rates = new Float64Array(capacity * RATES);
  }

  /**
   * The estimated cost of a line, USD, or -1 when its model has no price. `modelId` and
   * `providerId` are label ids (-2: the line has none; -1: a name without an id). `write` and
   * `write1h` are cache writes (part of `input`, like `cached`).
   */
  estimate(
    modelId: number,
    model: string | null,
    providerId: number,
    provider: string | null,
    input: number,
    output: number,
    cached: number,
    write = 0,
    write1h = 0,
    /** The input tokens that choose a tier (see CostRecord.tierInputTokens). */
    tierInput = input,
  ): number {
    if (model === null) return -1;
    if (modelId >= 0 && providerId === -2) {
      let kind = this.kind[modelId] as number;
      if (kind === NOT_LOOKED_UP) kind = this.remember(modelId, this.find(model, null));
      if (kind === FLAT) {
        const at = modelId * RATES;
        const r = this.rates;
        const apart = cached + write + write1h;
        const uncached = apart <= input ? input - apart : input;
        return (
          uncached * (r[at] as number) +
          cached * (r[at + 2] as number) +
          output * (r[at + 1] as number) +
          (r[at + 3] as number) +
          write * (r[at + 4] as number) +
          write1h * (r[at + 5] as number)
        );
      }
      if (kind === UNPRICED) return -1;
      return estimate(this.tiered[modelId] as ModelRates, input, output, cached, write, write1h, tierInput);
    }
    const key =
      modelId >= 0 && providerId >= 0 ? modelId * 65_536 + providerId : `${provider ?? ''}\u0000${model}`;
    let rates = this.byKey.get(key);
    if (rates === undefined) {
      const hash = typeof key === 'string' && this.byKey.size >= NAMES_KEPT ? idHashOfString(key) : -1;
      if (hash >= 0 && this.unpricedHashes.has(hash)) return -1;
      rates = this.find(model, provider);
      // Past NAMES_KEPT names, one without a price is remembered by a 53-bit hash alone (16 bytes,
      // not a string and a map entry): 100,000 invented model names cost 1.6 MB, not 8. Two names
      // sharing a hash (odds about n^2 / 2^54) would price the second one at the unpriced rate.
      if (hash >= 0 && rates === null) this.unpricedHashes.add(hash);
      else this.byKey.set(key, rates);
    }
    return rates === null ? -1 : estimate(rates, input, output, cached, write, write1h, tierInput);
  }

  private find(model: string, provider: string | null): ModelRates | null {
    const rates = this.lookup(model, provider);
    if (this.found.size < 1000)
      this.found.set(provider === null ? model : `${provider}/${model}`, rates?.source ?? null);
    return rates;
  }

  private remember(id: number, rates: ModelRates | null): number {
    if (rates === null) {
      this.kind[id] = UNPRICED;
      return UNPRICED;
    }
    if (rates.tiers.length > 0) {
      this.tiered[id] = rates;
      this.kind[id] = TIERED;
      return TIERED;
    }
    const at = id * RATES;
    this.rates[at] = rates.base.input;
    this.rates[at + 1] = rates.base.output;
    this.rates[at + 2] = rates.base.cached;
    this.rates[at + 3] = rates.base.request;
    this.rates[at + 4] = rates.base.cacheWrite;
    this.rates[at + 5] = rates.base.cacheWrite1h;
    this.kind[id] = FLAT;
    return FLAT;
  }
}
