// Cost from tokens: rates derived once per model (flat, tiered, by time of day), estimates, the
// unpriced rate, the per-model cache, and the real price table the package ships (no network).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  estimate,
  type ModelRates,
  PriceBook,
  pricesInForce,
  ratesFromConfig,
  ratesFor,
  ratesFromTable,
  type TablePrices,
  unpricedCost,
} from '../../src/core/prices.js';
import { Labels, MAX_LABELS } from '../../src/core/labels.js';
import { loadPriceCache, priceLookup } from '../../src/price-table.js';

const M = 1e6;

describe('rates from a price', () => {
  it.each([
    [
      'flat with a cached price',
      { input_mtok: 3, output_mtok: 15, cache_read_mtok: 0.3 },
      { input: 3, output: 15, cached: 0.3, request: 0 },
    ],
    [
      'no cached price: cached tokens cost what input costs',
      { input_mtok: 2, output_mtok: 8 },
      { input: 2, output: 8, cached: 2, request: 0 },
    ],
    ['output only', { output_mtok: 5 }, { input: 0, output: 5, cached: 0, request: 0 }],
    [
      'a price per thousand requests',
      { input_mtok: 1, output_mtok: 1, requests_kcount: 5 },
      { input: 1, output: 1, cached: 1, request: 5000 },
    ],
  ])('%s', (_name, price, perMillion) => {
    const rates = ratesFromTable([price], 'p/m') as ModelRates;
    expect(rates.tiers).toEqual([]);
    expect(rates.base.input * M).toBeCloseTo(perMillion.input, 9);
    expect(rates.base.output * M).toBeCloseTo(perMillion.output, 9);
    expect(rates.base.cached * M).toBeCloseTo(perMillion.cached, 9);
    expect(rates.base.request * M).toBeCloseTo(perMillion.request, 9);
  });

  it('a price without token prices (images only) is no price', () => {
    expect(ratesFromTable([{ input_image_mtok: 3 }], 'p/m')).toBeNull();
    expect(ratesFromTable([], 'p/m')).toBeNull();
  });

  const tiered = ratesFromTable(
    [
      {
        input_mtok: { base: 3, tiers: [{ start: 200_000, price: 6 }] },
        output_mtok: { base: 15, tiers: [{ start: 200_000, price: 22.5 }] },
        cache_read_mtok: { base: 0.3, tiers: [{ start: 200_000, price: 0.6 }] },
      },
    ],
    'anthropic/claude-sonnet-4-5',
  ) as ModelRates;

  it.each([
    ['below the tier', 1000, 100, 0, 1000 * 3 + 100 * 15],
    ['at the tier start (not above it)', 200_000, 0, 0, 200_000 * 3],
    ['above the tier: every token at the tier price', 200_001, 1000, 0, 200_001 * 6 + 1000 * 22.5],
    ['cached tokens inside the input count at the cached rate', 1000, 0, 400, 600 * 3 + 400 * 0.3],
    ['more cached than input: counted apart, both billed', 100, 0, 400, 100 * 3 + 400 * 0.3],
  ])('tiered: %s', (_name, input, output, cached, microUsd) => {
    expect(estimate(tiered, input, output, cached) * M).toBeCloseTo(microUsd, 6);
  });

  it('config prices are USD per million tokens; cached defaults to the input price', () => {
    const rates = ratesFromConfig({ input: 4, output: 16, cached: null });
    expect(estimate(rates, 1_000_000, 1_000_000, 500_000)).toBeCloseTo(0.5 * 4 + 0.5 * 4 + 16, 9);
    expect(rates.source).toBe('config');
  });

  it(
    'the unpriced rate counts every token, cached ones ' + 'apart only when they are not part of the input',
    () => {
      expect(unpricedCost(75, 1_000_000, 0, 0)).toBeCloseTo(75, 9);
      expect(unpricedCost(75, 1000, 500, 200)).toBeCloseTo((1500 * 75) / M, 12);
      expect(unpricedCost(75, 100, 0, 400)).toBeCloseTo((500 * 75) / M, 12);
    },
  );
});

describe('which of several dated or timed prices apply', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const dated: TablePrices = [
    { prices: { input_mtok: 1 } },
    { constraint: { type: 'start_date', start_date: '2026-01-01' }, prices: { input_mtok: 2 } },
    { constraint: { type: 'start_date', start_date: '2027-01-01' }, prices: { input_mtok: 3 } },
  ];
  it.each([
    ['one price', { input_mtok: 1 } as TablePrices, [1]],
    ['the newest dated price in force, not one yet to come', dated, [2]],
    [
      'every time-of-day price and the base (the dearest counts)',
      [
        { prices: { input_mtok: 1 } },
        { constraint: { type: 'time_of_date' }, prices: { input_mtok: 0.5 } },
      ] as TablePrices,
      [0.5, 1],
    ],
  ])('%s', (_name, prices, inputs) => {
    expect(pricesInForce(prices, now).map((p) => p.input_mtok)).toEqual(inputs);
  });

  it('time-of-day prices: the estimate never depends on the hour (the dearest)', () => {
    const rates = ratesFromTable(
      pricesInForce(
        [
          { prices: { input_mtok: 0.27, output_mtok: 1.1 } },
          { constraint: { type: 'time_of_date' }, prices: { input_mtok: 0.135, output_mtok: 0.55 } },
        ],
        now,
      ),
      'deepseek/x',
    ) as ModelRates;
    expect(rates.base.input * M).toBeCloseTo(0.27, 9);
    expect(rates.base.output * M).toBeCloseTo(1.1, 9);
  });
});

describe('PriceBook: a model is looked up once, then read by its label id', () => {
  it('looks each model (and provider) up once; an unpriced model is -1', () => {
    const asked: string[] = [];
    const book = new PriceBook((model, provider) => {
      asked.push(`${provider ?? ''}/${model}`);
      return model === 'known' ? ratesFromConfig({ input: 1, output: 2, cached: null }) : null;
    }, MAX_LABELS);
    const labels = new Labels();
    const known = labels.idOfString('known');
    const other = labels.idOfString('mystery');
    const prov = labels.idOfString('azure');
    for (let i = 0; i < 3; i++) {
      expect(book.estimate(known, 'known', -2, null, 1_000_000, 1_000_000, 0)).toBeCloseTo(3, 9);
      expect(book.estimate(other, 'mystery', -2, null, 10, 10, 0)).toBe(-1);
      expect(book.estimate(known, 'known', prov, 'azure', 1_000_000, 0, 0)).toBeCloseTo(1, 9);
      expect(book.estimate(-1, 'x'.repeat(100), -2, null, 1, 1, 0)).toBe(-1);
    }
    expect(book.estimate(-2, null, -2, null, 1, 1, 0)).toBe(-1);
    expect(asked.sort()).toEqual(['/known', '/mystery', `/${'x'.repeat(100)}`, 'azure/known'].sort());
  });
});

describe('the price table shipped with @pydantic/genai-prices', () => {
  const now = Date.now();
  const lookup = priceLookup({}, now);

  it.each([
    ['gpt-4o-mini', null, 0.15, 0.6],
    ['gpt-4o', 'openai', 2.5, 10],
    ['openai/gpt-4o', null, 2.5, 10],
    ['GPT-4o-mini', null, 0.15, 0.6],
  ])('%s (provider %s): input $%d, output $%d per million', (model, provider, input, output) => {
    const rates = lookup(model, provider) as ModelRates;
    expect(rates).not.toBeNull();
    expect(rates.base.input * M).toBeCloseTo(input, 6);
    expect(rates.base.output * M).toBeCloseTo(output, 6);
  });

  it('keeps tiers (long-context prices)', () => {
    const rates = lookup('claude-sonnet-4-5', null) as ModelRates;
    expect(rates.tiers.length).toBeGreaterThan(0);
    expect(estimate(rates, 300_000, 0, 0)).toBeGreaterThan(estimate(rates, 190_000, 0, 0) * 1.5);
  });

  it('an unknown model, or an unknown provider with an unknown model, has no price', () => {
    expect(lookup('my-private-finetune-7', null)).toBeNull();
    expect(lookup('my-private-finetune-7', 'nosuch')).toBeNull();
  });

  it('an unknown provider with a known model falls back to the model', () => {
    expect(lookup('gpt-4o', 'nosuch-provider')).not.toBeNull();
  });

  it('cost.prices wins over the table: by exact name, any case, or provider/model', () => {
    const own = priceLookup(
      {
        'gpt-4o': { input: 1, output: 1, cached: null, cacheWrite: null, cacheWrite1h: null },
        'My-FT': { input: 9, output: 9, cached: 1, cacheWrite: null, cacheWrite1h: null },
        'azure/gpt-4o-mini': { input: 7, output: 7, cached: null, cacheWrite: null, cacheWrite1h: null },
      },
      now,
    );
    expect((own('gpt-4o', null) as ModelRates).base.input * M).toBeCloseTo(1, 9);
    expect((own('my-ft', null) as ModelRates).base.cached * M).toBeCloseTo(1, 9);
    expect((own('gpt-4o-mini', 'azure') as ModelRates).base.input * M).toBeCloseTo(7, 9);
    expect((own('gpt-4o-mini', null) as ModelRates).base.input * M).toBeCloseTo(0.15, 6);
  });

  it('cost.prices may price cache writes (5-minute and 1-hour); without, they go at the input price', () => {
    const own = priceLookup(
      {
        'my-claude': { input: 3, output: 15, cached: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 },
        'my-other': { input: 2, output: 8, cached: null, cacheWrite: null, cacheWrite1h: null },
        'my-5m': { input: 2, output: 8, cached: null, cacheWrite: 2.5, cacheWrite1h: null },
      },
      now,
    );
    const rates = (name: string) => (own(name, null) as ModelRates).base;
    expect([rates('my-claude').cacheWrite * M, rates('my-claude').cacheWrite1h * M]).toEqual([3.75, 6]);
    expect([rates('my-other').cacheWrite * M, rates('my-other').cacheWrite1h * M]).toEqual([2, 2]);
    expect([rates('my-5m').cacheWrite * M, rates('my-5m').cacheWrite1h * M]).toEqual([2.5, 2.5]);
  });

  it('remembers what it found in the cache it is given (kept in the checkpoint)', () => {
    const cache = { tag: 't', models: Object.create(null) as Record<string, ModelRates | null> };
    const cached = priceLookup({}, now, cache);
    cached('gpt-4o-mini', null);
    cached('nope-model', null);
    expect(Object.keys(cache.models).sort()).toEqual(['\u0000gpt-4o-mini', '\u0000nope-model']);
    expect(cache.models['\u0000nope-model']).toBeNull();
    // A cached answer is used without the table.
    cache.models['\u0000gpt-4o-mini'] = ratesFromConfig({ input: 100, output: 100, cached: null });
    expect((cached('gpt-4o-mini', null) as ModelRates).base.input * M).toBeCloseTo(100, 9);
  });

  it(
    'the cache keeps at most 1,000 models, those it was given counted, without listing its keys per ' +
      'lookup',
    () => {
      const models = Object.create(null) as Record<string, ModelRates | null>;
      for (let k = 0; k < 998; k++) models[`\u0000given-${k}`] = null;
      // 100,000 unpriced model names listed the cache's 1,000 keys for each of them (3 s of a 5 s run).
      let listed = 0;
      const watched = new Proxy(models, {
        ownKeys: (target) => {
          listed++;
          return Reflect.ownKeys(target);
        },
      });
      const lookup = priceLookup({}, now, { tag: 't', models: watched }, () => null);
      for (let k = 0; k < 5000; k++) expect(lookup(`invented-${k}`, null)).toBeNull();
      expect(Object.keys(models).length).toBe(1000);
      expect(models['\u0000invented-1']).toBeNull();
      expect('\u0000invented-2' in models).toBe(false);
      expect(listed).toBeLessThanOrEqual(1);
    },
  );
});

describe('cache writes and reads, priced as @pydantic/genai-prices prices them', () => {
  const require = createRequire(import.meta.url);
  const table = require('@pydantic/genai-prices') as {
    calcPrice(
      usage: Record<string, number>,
      model: string,
      options: { providerId: string; timestamp: Date },
    ): { total_price: number; model: { prices: TablePrices } };
  };
  const now = Date.parse('2026-11-30T09:00:00Z');
  const lookup = priceLookup({}, now);
  // A claude-code record (test/fixtures/formats/claude-code): Anthropic's input_tokens 6, cache
  // reads 12,000, writes 1,000 for 5 minutes and 2,000 for an hour, output 450. The watchdog's
  // input count includes the cache (genai-prices' convention): 15,006.
  const turn = { input: 6 + 12_000 + 3_000, read: 12_000, w5: 1_000, w1: 2_000, output: 450 };
  it.each([
    ['claude-sonnet-4-5-20250929', turn],
    ['claude-opus-4-1-20250805', turn],
    ['claude-sonnet-4-5-20250929', { ...turn, w1: 0, w5: 3_000 }],
    // Over 200k input tokens (cache included): the long-context tier, for every kind of token.
    ['claude-sonnet-4-5-20250929', { input: 250_000, read: 200_000, w5: 20_000, w1: 10_000, output: 1000 }],
  ])("%s: the estimate is the table's own price to the µ$", (model, t) => {
    const rates = lookup(model, 'anthropic') as ModelRates;
    const ours = estimate(rates, t.input, t.output, t.read, t.w5, t.w1);
    const theirs = table.calcPrice(
      {
        input_tokens: t.input,
        output_tokens: t.output,
        cache_read_tokens: t.read,
        cache_write_tokens: t.w5 + t.w1,
        cache_write_1h_tokens: t.w1,
      },
      model,
      { providerId: 'anthropic', timestamp: new Date(now) },
    ).total_price;
    expect(Math.round(ours * M)).toBe(Math.round(theirs * M));
    // And by hand, from the table's rates: writes cost more than input, reads less.
    const b = ratesFor(rates, t.input);
    expect(b.cacheWrite).toBeCloseTo(b.input * 1.25, 12);
    expect(b.cacheWrite1h).toBeCloseTo(b.input * 2, 12);
    const byHand =
      (t.input - t.read - t.w5 - t.w1) * b.input +
      t.read * b.cached +
      t.w5 * b.cacheWrite +
      t.w1 * b.cacheWrite1h +
      t.output * b.output;
    expect(Math.round(ours * M)).toBe(Math.round(byHand * M));
  });
  it('the PriceBook prices writes the same, flat or tiered', () => {
    const labels = new Labels();
    const book = new PriceBook(lookup, MAX_LABELS);
    for (const model of ['claude-sonnet-4-5-20250929', 'claude-haiku-4-5']) {
      const rates = lookup(model, null) as ModelRates;
      const id = labels.idOfString(model);
      const got = book.estimate(id, model, -2, null, turn.input, turn.output, turn.read, turn.w5, turn.w1);
      expect(got).toBeCloseTo(estimate(rates, turn.input, turn.output, turn.read, turn.w5, turn.w1), 12);
      // Without writes, as on the JSONL path: what it was before.
      expect(book.estimate(id, model, -2, null, 1000, 10, 100)).toBeCloseTo(
        estimate(rates, 1000, 10, 100),
        12,
      );
    }
  });
  it('a model without a write price: writes at the input price; the config names none either', () => {
    const rates = ratesFromTable(
      [{ input_mtok: 2, output_mtok: 8, cache_read_mtok: 0.5 }],
      'p/m',
    ) as ModelRates;
    expect([rates.base.cacheWrite * M, rates.base.cacheWrite1h * M]).toEqual([2, 2]);
    const own = ratesFromConfig({ input: 4, output: 16, cached: null });
    expect([own.base.cacheWrite * M, own.base.cacheWrite1h * M]).toEqual([4, 4]);
  });
  it('unpriced: every token at the rate, writes included once', () => {
    expect(unpricedCost(75, 15_006, 450, 12_000, 1_000, 2_000) * M).toBeCloseTo(75 * (15_006 + 450), 6);
    // Apart from a smaller input count (Anthropic's raw style): added.
    expect(unpricedCost(75, 6, 450, 12_000, 1_000, 2_000) * M).toBeCloseTo(75 * (6 + 15_000 + 450), 6);
  });
  it('a price cache saved before cache-write rates is looked up again (not read as no write price)', () => {
    const old = {
      tag: loadPriceCache(null, now).tag,
      models: {
        '\u0000claude-sonnet-4-5': {
          base: { input: 3e-6, output: 15e-6, cached: 0.3e-6, request: 0 },
          tiers: [],
          source: 'anthropic/claude-sonnet-4-5',
        },
        '\u0000nope-model': null,
      },
    };
    const loaded = loadPriceCache(old, now);
    expect(Object.keys(loaded.models)).toEqual(['\u0000nope-model']);
    const rates = priceLookup({}, now, loaded)('claude-sonnet-4-5', null) as ModelRates;
    expect(rates.base.cacheWrite * M).toBeCloseTo(3.75, 9);
    expect(Object.keys(loaded.models).sort()).toEqual(['\u0000claude-sonnet-4-5', '\u0000nope-model']);
  });
});
