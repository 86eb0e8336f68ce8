// Reconciling's pure parts: the comparison of a provider's priced buckets with the logs' spend
// (compareUsage), the pricing of usage rows (priceRows), the minutes in words, and when a read is
// due (isDue). Table-driven.
import { describe, expect, it } from 'vitest';
import type { ReconcileConfig } from '../../src/config/sections/reconcile.js';
import type { ModelRates, PriceLookup } from '../../src/core/prices.js';
import { compareUsage, type LoggedMinute, minuteRanges } from '../../src/reconcile/compare.js';
import { isDue } from '../../src/reconcile/poll.js';
import { canonicalModel, type PricedBucket, priceRows, providerOfModel } from '../../src/reconcile/price.js';
import { emptyMemory } from '../../src/reconcile/state.js';
import type { UsageRow } from '../../src/reconcile/types.js';

const M = 29_000_000; // an epoch minute (2025-02-19)
const usd = (n: number) => Math.round(n * 1e6);

function bucket(
  minute: number,
  model: string,
  dollars: number,
  key: string | null = 'proj_abc',
  raw = model,
): PricedBucket {
  return { minute: M + minute, model, raw, key, micros: usd(dollars) };
}

function logged(
  entries: [minute: number, models: Record<string, number>, unnamed?: number][],
): Map<number, LoggedMinute> {
  const out = new Map<number, LoggedMinute>();
  for (const [minute, models, unnamed = 0] of entries) {
    const map = new Map(Object.entries(models).map(([k, v]) => [k, usd(v)]));
    const total = [...map.values()].reduce((a, b) => a + b, 0) + usd(unnamed);
    out.set(M + minute, { models: map, total });
  }
  return out;
}

const base = {
  providerType: 'openai',
  fromMinute: M,
  toMinute: M + 15,
  providerOf: providerOfModel,
  tolerance: { usd: 1, ratio: 0.1 },
};

describe('compareUsage', () => {
  const cases: {
    name: string;
    buckets: PricedBucket[];
    logs: Map<number, LoggedMinute>;
    unlogged: number;
    over: boolean;
    provider?: number;
    loggedUsd?: number;
    minutes?: number[];
    keys?: string[];
  }[] = [
    {
      name: 'everything logged: nothing unlogged',
      buckets: [bucket(3, 'openai/gpt-4o', 5), bucket(4, 'openai/gpt-4o', 5)],
      logs: logged([
        [3, { 'openai/gpt-4o': 5 }],
        [4, { 'openai/gpt-4o': 5 }],
      ]),
      unlogged: 0,
      over: false,
      provider: 10,
      loggedUsd: 10,
    },
    {
      name: 'a second process on the key: $40 the logs never show',
      buckets: [bucket(3, 'openai/gpt-4o', 25), bucket(4, 'openai/gpt-4o', 25)],
      logs: logged([
        [3, { 'openai/gpt-4o': 5 }],
        [4, { 'openai/gpt-4o': 5 }],
      ]),
      unlogged: 40,
      over: true,
      minutes: [M + 3, M + 4],
      keys: ['proj_abc'],
    },
    {
      name: 'over the dollars but not the share: not a finding',
      buckets: [bucket(3, 'openai/gpt-4o', 100)],
      logs: logged([[3, { 'openai/gpt-4o': 95 }]]),
      unlogged: 5,
      over: false,
    },
    {
      name: 'over the share but not the dollars: not a finding',
      buckets: [bucket(3, 'openai/gpt-4o', 0.5)],
      logs: logged([]),
      unlogged: 0.5,
      over: false,
    },
    {
      name: 'a call logged a minute late counts (slack)',
      buckets: [bucket(14, 'openai/gpt-4o', 20)],
      logs: logged([[15, { 'openai/gpt-4o': 20 }]]),
      unlogged: 0,
      over: false,
      loggedUsd: 0,
    },
    {
      name: 'a call logged a minute early counts (slack)',
      buckets: [bucket(0, 'openai/gpt-4o', 20)],
      logs: logged([[-1, { 'openai/gpt-4o': 20 }]]),
      unlogged: 0,
      over: false,
    },
    {
      name: 'two minutes away is not the same call',
      buckets: [bucket(5, 'openai/gpt-4o', 20)],
      logs: logged([[-3, { 'openai/gpt-4o': 20 }]]),
      unlogged: 20,
      over: true,
    },
    {
      name: 'the still-open minute and minutes before the window are not judged',
      buckets: [bucket(15, 'openai/gpt-4o', 50), bucket(-1, 'openai/gpt-4o', 50)],
      logs: logged([]),
      unlogged: 0,
      over: false,
      provider: 0,
    },
    {
      name: 'models are compared one by one: extra spend of one model does not hide another',
      buckets: [bucket(3, 'openai/gpt-4o', 10), bucket(3, 'openai/gpt-4o-mini', 20)],
      logs: logged([[3, { 'openai/gpt-4o': 30 }]]),
      unlogged: 20,
      over: true,
    },
    {
      name: 'a model the logs name differently is compared in total',
      buckets: [bucket(3, 'openai/gpt-4.1', 20)],
      logs: logged([[3, { 'my-model': 20 }]]),
      unlogged: 0,
      over: false,
    },
    {
      name: 'spend logged without a model may be this provider’s',
      buckets: [bucket(3, 'openai/gpt-4o', 20)],
      logs: logged([[3, {}, 20]]),
      unlogged: 0,
      over: false,
    },
    {
      name: "another provider's logged spend does not explain this one's",
      buckets: [bucket(3, 'openai/gpt-4o', 20)],
      logs: logged([[3, { 'anthropic/claude-sonnet-4': 20 }]]),
      unlogged: 20,
      over: true,
      loggedUsd: 0,
    },
    {
      name: 'late reporting (the provider shows less than the logs) is never unlogged',
      buckets: [bucket(13, 'openai/gpt-4o', 1)],
      logs: logged([
        [13, { 'openai/gpt-4o': 30 }],
        [14, { 'openai/gpt-4o': 30 }],
      ]),
      unlogged: 0,
      over: false,
    },
    {
      name: 'a provider late by 6 minutes: the unreported minutes never cancel a real gap',
      buckets: [
        ...Array.from({ length: 10 }, (_, m) => bucket(m, 'openai/gpt-4o', 0.5)),
        bucket(6, 'openai/gpt-4o', 3),
      ],
      logs: logged(
        Array.from({ length: 16 }, (_, m): [number, Record<string, number>] => [m, { 'openai/gpt-4o': 0.5 }]),
      ),
      // $3 less the slack: the next minute's $0.50 of logs may be the same call, logged late.
      unlogged: 2.5,
      over: true,
      minutes: [M + 6],
    },
    {
      name: "a minute's logged spend explains the provider's once, not two minutes of it",
      buckets: [bucket(5, 'openai/gpt-4o', 10), bucket(6, 'openai/gpt-4o', 10)],
      logs: logged([[5, { 'openai/gpt-4o': 10 }]]),
      unlogged: 10,
      over: true,
      minutes: [M + 6],
    },
  ];
  it.each(cases)('$name', (c) => {
    const out = compareUsage({ ...base, buckets: c.buckets, logged: c.logs });
    expect(out.unloggedMicros).toBe(usd(c.unlogged));
    expect(out.over).toBe(c.over);
    if (c.provider !== undefined) expect(out.providerMicros).toBe(usd(c.provider));
    if (c.loggedUsd !== undefined) expect(out.loggedMicros).toBe(usd(c.loggedUsd));
    if (c.minutes !== undefined) expect(out.minutes).toEqual(c.minutes);
    if (c.keys !== undefined) expect(out.keys.map(([k]) => k)).toEqual(c.keys);
  });

  it('names the models with unlogged spend, the largest first, with the provider’s names', () => {
    const out = compareUsage({
      ...base,
      buckets: [
        bucket(3, 'openai/gpt-4o', 10, 'proj_a', 'gpt-4o-2024-08-06'),
        bucket(4, 'openai/gpt-4o-mini', 30, 'proj_b', 'gpt-4o-mini-2024-07-18'),
      ],
      logged: logged([]),
    });
    expect(out.models.map((m) => m.names[0])).toEqual(['gpt-4o-mini-2024-07-18', 'gpt-4o-2024-08-06']);
    expect(out.keys).toEqual([
      ['proj_b', usd(30)],
      ['proj_a', usd(10)],
    ]);
    expect(out.lastUsageMinute).toBe(M + 4);
  });
});

describe('minuteRanges', () => {
  it.each([
    [[], ''],
    [[M], `${new Date(M * 60_000).toISOString().slice(11, 16)} UTC`],
    [[M, M + 1, M + 2, M + 5], `${clock(M)}-${clock(M + 2)}, ${clock(M + 5)} UTC`],
    [
      [M, M + 2, M + 4, M + 6, M + 8],
      `${clock(M)}, ${clock(M + 2)}, ${clock(M + 4)}, ${clock(M + 6)} and 1 more UTC`,
    ],
  ])('%j', (minutes, text) => {
    expect(minuteRanges(minutes)).toBe(text);
  });
});

function clock(minute: number): string {
  return new Date(minute * 60_000).toISOString().slice(11, 16);
}

const rates = (input: number, output: number, cached: number, source: string): ModelRates => ({
  base: {
    input: input / 1e6,
    output: output / 1e6,
    cached: cached / 1e6,
    cacheWrite: (input * 1.25) / 1e6,
    cacheWrite1h: (input * 2) / 1e6,
    request: 0,
  },
  tiers: [
    { above: 200_000, rates: { input: 1, output: 1, cached: 1, cacheWrite: 1, cacheWrite1h: 1, request: 0 } },
  ],
  source,
});
const lookup: PriceLookup = (model) =>
  model.startsWith('gpt-4o')
    ? rates(2.5, 10, 1.25, 'openai/gpt-4o')
    : model.startsWith('claude-sonnet-4')
      ? rates(3, 15, 0.3, 'anthropic/claude-sonnet-4')
      : model === 'house-model'
        ? { ...rates(1, 1, 1, 'config'), tiers: [] }
        : null;

function row(partial: Partial<UsageRow>): UsageRow {
  return {
    minuteMs: M * 60_000,
    model: 'gpt-4o-2024-08-06',
    key: 'proj_abc',
    inputTokens: 0,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    batch: false,
    requests: null,
    ...partial,
  } as UsageRow;
}

describe('priceRows', () => {
  it.each([
    ['input and output at base rates', row({ inputTokens: 1_000_000, outputTokens: 100_000 }), 2.5 + 1],
    [
      'cached input at its rate (part of input)',
      row({ inputTokens: 1_000_000, cachedTokens: 400_000 }),
      0.6 * 2.5 + 0.4 * 1.25,
    ],
    ['a tier is never reached (base rates: a bucket is not a call)', row({ inputTokens: 3_000_000 }), 7.5],
    ['batch at half price', row({ inputTokens: 1_000_000, batch: true }), 1.25],
    [
      'Anthropic cache writes (5m and 1h) within input',
      row({
        model: 'claude-sonnet-4-20250514',
        inputTokens: 1_000_000,
        cacheWriteTokens: 100_000,
        cacheWrite1hTokens: 100_000,
      }),
      0.8 * 3 + 0.1 * 3.75 + 0.1 * 6,
    ],
  ])('%s', (_name, r, dollars) => {
    const { buckets } = priceRows([r], 'openai', lookup, 10);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]?.micros).toBe(usd(dollars));
  });

  it('counts a model without a price at the unpriced rate, and names it', () => {
    const { buckets, unpriced } = priceRows(
      [row({ model: 'gpt-9-preview', inputTokens: 100_000, outputTokens: 100_000 })],
      'openai',
      lookup,
      10,
    );
    expect(unpriced).toEqual(['gpt-9-preview']);
    expect(buckets[0]?.micros).toBe(usd(2));
  });

  it('moves the provider’s minutes onto ours and merges rows of one minute, model and key', () => {
    const { buckets } = priceRows(
      [
        row({ inputTokens: 1_000_000 }),
        row({ inputTokens: 1_000_000 }),
        row({ inputTokens: 1_000_000, key: 'proj_b' }),
      ],
      'openai',
      lookup,
      10,
      3,
    );
    expect(buckets.map((b) => [b.minute - M, b.key, b.micros])).toEqual([
      [-3, 'proj_abc', usd(5)],
      [-3, 'proj_b', usd(2.5)],
    ]);
  });

  it.each([
    ['gpt-4o-2024-08-06', 'openai/gpt-4o', 'openai'],
    ['house-model', 'config:house-model', null],
    ['Mystery-Model', 'mystery-model', null],
  ])('canonical name of %s', (name, canonical, provider) => {
    expect(canonicalModel(name, null, lookup)).toBe(canonical);
    expect(providerOfModel(canonical)).toBe(provider);
  });
});

describe('isDue', () => {
  const rc = { everyMs: 300_000 } as ReconcileConfig;
  const at = 1_800_000_000_000;
  it.each([
    ['never read', undefined, at, true],
    ['read 4 minutes ago', { ...emptyMemory(), triedAtMs: at - 240_000 }, at, false],
    ['read 5 minutes ago', { ...emptyMemory(), triedAtMs: at - 300_000 }, at, true],
    [
      'a Retry-After not yet passed',
      { ...emptyMemory(), triedAtMs: at - 600_000, notBeforeMs: at + 1000 },
      at,
      false,
    ],
    ['a Retry-After passed', { ...emptyMemory(), triedAtMs: at - 600_000, notBeforeMs: at - 1000 }, at, true],
    ['a clock set back', { ...emptyMemory(), triedAtMs: at + 600_000 }, at, true],
  ])('%s', (_name, memory, now, due) => {
    expect(isDue(rc, memory, now)).toBe(due);
  });
});
