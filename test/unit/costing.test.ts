// The cost policy, line by line: what each kind of line counts for under reported, estimated and
// max, and what is tallied (unpriced models, calls logged at cost 0).
import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import { Ledger } from '../../src/core/ledger.js';
import { PriceBook, ratesFromConfig } from '../../src/core/prices.js';
import { fieldTable } from '../../src/core/fields.js';
import { LineParser } from '../../src/core/record.js';
import { type CostPolicy, newTotals, SpendScanner } from '../../src/core/scan.js';
import { MAX_LABELS } from '../../src/core/labels.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const T = NOW / 1000 - 60;

// "priced": $1 input / $2 output / $0.5 cached per million tokens.
const lookup = (model: string): ReturnType<typeof ratesFromConfig> | null =>
  model === 'priced' ? ratesFromConfig({ input: 1, output: 2, cached: 0.5 }) : null;

function count(policy: CostPolicy, line: string, maxLineUsd?: number) {
  const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
  const totals = newTotals();
  const scanner = new SpendScanner(
    new LineParser(fieldTable({}, { labels: true, tokens: policy !== 'reported' })),
    ledger,
    NOW,
    totals,
    null,
    {
      policy,
      prices: new PriceBook(lookup, MAX_LABELS),
      unpricedPerMillion: 75,
      ...(maxLineUsd !== undefined ? { maxLineUsd } : {}),
    },
  );
  const bytes = new TextEncoder().encode(`${line}\n`);
  scanner.line(bytes, 0, bytes.length - 1, 1);
  return { spend: ledger.rolling(900), totals };
}

/** The same line read by the fast path (lineAt), as most lines of a log are. */
function countFast(policy: CostPolicy, line: string, maxLineUsd?: number) {
  const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
  const totals = newTotals();
  const scanner = new SpendScanner(
    new LineParser(fieldTable({}, { labels: true, tokens: policy !== 'reported' })),
    ledger,
    NOW,
    totals,
    null,
    {
      policy,
      prices: new PriceBook(lookup, MAX_LABELS),
      unpricedPerMillion: 75,
      ...(maxLineUsd !== undefined ? { maxLineUsd } : {}),
    },
  );
  const bytes = new TextEncoder().encode(`${line}\n${' '.repeat(64)}`);
  const end = scanner.lineAt(bytes, 0, bytes.length);
  if (end < 0) scanner.line(bytes, 0, line.length, 1);
  return { spend: ledger.rolling(900), totals };
}

const M = 1_000_000;
// A million input and a million output tokens of "priced": $1 + $2 = $3.
const priced = (cost: string) => `{"t":${T},"model":"priced","in":${M},"out":${M}${cost}}`;
const unpriced = (cost: string) => `{"t":${T},"model":"mystery","in":${M},"out":0${cost}}`;

describe('what a line counts for', () => {
  it.each([
    // policy, line, USD (counted in whole µ$)
    ['reported', priced(',"cost":0.5'), 0.5],
    ['estimated', priced(',"cost":0.5'), 3],
    ['max', priced(',"cost":0.5'), 3],
    ['max', priced(',"cost":7'), 7],
    ['estimated', priced(',"cost":7'), 3],
    ['reported', priced(',"cost":0'), 0],
    ['max', priced(',"cost":0'), 3],
    ['reported', priced(''), 3], // no logged cost: the estimate, whatever the policy
    ['estimated', priced(''), 3],
    ['reported', unpriced(',"cost":0'), 0],
    ['max', unpriced(',"cost":0'), 75], // never $0 in silence: the unpriced rate
    ['estimated', unpriced(',"cost":0'), 75],
    ['max', unpriced(',"cost":2'), 2], // an unpriced model with a logged cost: that cost
    ['estimated', unpriced(',"cost":2'), 2],
    ['reported', unpriced(''), 75],
    ['max', `{"t":${T},"in":${M},"out":0,"cost":0}`, 75], // no model named, cost 0
    ['max', `{"t":${T},"in":1200,"out":300,"cost":0.0405}`, 0.0405], // the Cost Control tracker's line
    ['max', `{"t":${T},"model":"priced","cost":0.25}`, 0.25], // no tokens: the logged cost
    ['max', `{"t":${T},"model":"priced","in":0,"out":0,"cost":0}`, 0],
    ['max', `{"t":${T},"model":"priced","in":${M},"out":0,"cached_tokens":${M / 2},"cost":0}`, 0.5 + 0.25],
  ] as [CostPolicy, string, number][])('%s: %s -> $%d', (policy, line, usd) => {
    expect(count(policy, line).spend).toBe(Math.round(usd * 1e6));
    expect(countFast(policy, line).spend).toBe(Math.round(usd * 1e6));
  });

  it('tallies calls logged at cost 0 that the price table prices', () => {
    const { totals } = count('max', priced(',"cost":0'));
    expect(totals.zero_cost_lines).toBe(1);
    expect(totals.zero_cost_micros).toBe(3_000_000);
    expect(count('reported', priced(',"cost":0')).totals.zero_cost_lines).toBe(0);
  });

  it('tallies unpriced models: at the rate, or at the logged cost', () => {
    expect(count('max', unpriced(',"cost":0')).totals.unpriced).toEqual({
      mystery: { lines: 1, tokens: M, micros: 75_000_000, at_rate: 1, last_ms: T * 1000 },
    });
    expect(count('max', unpriced(',"cost":2')).totals.unpriced).toEqual({
      mystery: { lines: 1, tokens: M, micros: 2_000_000, at_rate: 0, last_ms: T * 1000 },
    });
    expect(count('max', `{"t":${T},"in":5,"out":5,"cost":0}`).totals.unpriced['(no model)']?.at_rate).toBe(1);
    // The Cost Control tracker's lines name no model but log a cost: nothing to report.
    expect(count('max', `{"t":${T},"in":1200,"out":300,"cost":0.0405}`).totals.unpriced).toEqual({});
  });

  it('a model named __proto__ is tallied as data, never as the object machinery', () => {
    const { totals } = count('max', `{"t":${T},"model":"__proto__","in":${M},"out":0,"cost":0}`);
    expect(Object.keys(totals.unpriced)).toEqual(['(__proto__)']);
    expect(({} as Record<string, unknown>).lines).toBeUndefined();
  });

  it.each([
    // policy, line, cost.max_line_usd (undefined: the default 10000), the reason, or null: counted (µ$)
    ['max', `{"t":${T},"cost":1e308}`, undefined, 'cost 1e+308 is above cost.max_line_usd (10000)'],
    [
      'reported',
      `{"t":${T},"cost":10000.000001}`,
      undefined,
      'cost 10000.000001 is above cost.max_line_usd (10000)',
    ],
    ['reported', `{"t":${T},"cost":10000}`, undefined, 10_000 * 1e6],
    ['reported', `{"t":${T},"cost":2.5}`, 2, 'cost 2.5 is above cost.max_line_usd (2)'],
    // An estimate is held to the limit too: 1e12 input tokens of "priced" is $1,000,000.
    [
      'max',
      `{"t":${T},"model":"priced","in":1e12,"out":0,"cost":0.01}`,
      undefined,
      'estimated cost 1000000 is above cost.max_line_usd (10000)',
    ],
    [
      'estimated',
      `{"t":${T},"model":"priced","in":1e12,"out":0}`,
      undefined,
      'estimated cost 1000000 is above cost.max_line_usd (10000)',
    ],
    [
      'max',
      `{"t":${T},"model":"mystery","in":1e300,"out":1e300,"cost":0}`,
      undefined,
      'cost at the unpriced rate 1.5e+296 is above cost.max_line_usd (10000)',
    ],
    [
      'max',
      `{"t":${T},"model":"priced","in":1e308,"out":1e308}`,
      undefined,
      'estimated cost 3e+302 is above cost.max_line_usd (10000)',
    ],
    ['max', `{"t":${T},"cost":0.0000005}`, undefined, 1], // half a µ$ rounds to one
    ['max', `{"t":${T},"cost":0.0000004}`, undefined, 0],
  ] as [CostPolicy, string, number | undefined, string | number][])(
    'cost.max_line_usd: %s %s (max %s) -> %s',
    (policy, line, max, expected) => {
      for (const read of [count, countFast]) {
        const { spend, totals } = read(policy, line, max);
        if (typeof expected === 'string') {
          expect([spend, totals.records, totals.malformed, totals.malformed_samples[0]?.reason]).toEqual([
            0,
            0,
            1,
            expected,
          ]);
          expect(totals.unpriced).toEqual({});
          expect(totals.zero_cost_lines).toBe(0);
        } else {
          expect([spend, totals.records, totals.malformed]).toEqual([expected, 1, 0]);
        }
      }
    },
  );

  it('absurd token counts on a line with a logged cost never make a tally Infinity', () => {
    const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
    const totals = newTotals();
    const scanner = new SpendScanner(
      new LineParser(fieldTable({}, { labels: true, tokens: true })),
      ledger,
      NOW,
      totals,
      null,
      { policy: 'max', prices: new PriceBook(lookup, MAX_LABELS), unpricedPerMillion: 0 },
    );
    const bytes = new TextEncoder().encode(`{"t":${T},"model":"mystery","in":1e308,"out":1e308,"cost":1}\n`);
    for (let k = 1; k <= 3; k++) scanner.line(bytes, 0, bytes.length - 1, k);
    expect(totals.unpriced.mystery).toMatchObject({
      lines: 3,
      tokens: Number.MAX_SAFE_INTEGER,
      micros: 3_000_000,
    });
    expect(JSON.parse(JSON.stringify(totals)).unpriced.mystery.tokens).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('100 lines of $0.05 are exactly $5 (whole µ$ summed)', () => {
    const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
    const scanner = new SpendScanner(new LineParser(fieldTable({})), ledger, NOW, newTotals());
    const text = `{"t":${T},"cost":0.05}\n`.repeat(100);
    const bytes = new TextEncoder().encode(`${text}${' '.repeat(64)}`);
    let pos = 0;
    for (let k = 0; k < 100; k++) pos = scanner.lineAt(bytes, pos, text.length) + 1;
    expect(ledger.rolling(900)).toBe(5_000_000);
    expect(ledger.today()).toBe(5_000_000);
  });
});
