// The cost policy, line by line: what each kind of line counts for under reported, estimated and
// max, and what is tallied (unpriced models, calls logged at cost 0).
import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import { Ledger } from '../../src/core/ledger.js';
import { PriceBook, ratesFromConfig } from '../../src/core/prices.js';
import { fieldTable } from '../../src/core/record.js';
import { type CostPolicy, newTotals, SpendScanner } from '../../src/core/scan.js';
import { MAX_LABELS } from '../../src/core/labels.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const T = NOW / 1000 - 60;

// "priced": $1 input / $2 output / $0.5 cached per million tokens.
const lookup = (model: string): ReturnType<typeof ratesFromConfig> | null => (model === 'priced' ? ratesFromConfig({ input: 1, output: 2, cached: 0.5 }) : null);

function count(policy: CostPolicy, line: string) {
  const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
  const totals = newTotals();
  const scanner = new SpendScanner(fieldTable({}, { labels: true, tokens: policy !== 'reported' }), ledger, NOW, totals, null, { policy, prices: new PriceBook(lookup, MAX_LABELS), unpricedPerMillion: 75 });
  const bytes = new TextEncoder().encode(`${line}\n`);
  scanner.line(bytes, 0, bytes.length - 1, 1);
  return { spend: ledger.rolling(900), totals };
}

const M = 1_000_000;
// A million input and a million output tokens of "priced": $1 + $2 = $3.
const priced = (cost: string) => `{"t":${T},"model":"priced","in":${M},"out":${M}${cost}}`;
const unpriced = (cost: string) => `{"t":${T},"model":"mystery","in":${M},"out":0${cost}}`;

describe('what a line counts for', () => {
  it.each([
    // policy, line, USD
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
    expect(count(policy, line).spend).toBeCloseTo(usd, 9);
  });

  it('tallies calls logged at cost 0 that the price table prices', () => {
    const { totals } = count('max', priced(',"cost":0'));
    expect(totals.zero_cost_lines).toBe(1);
    expect(totals.zero_cost_usd).toBeCloseTo(3, 9);
    expect(count('reported', priced(',"cost":0')).totals.zero_cost_lines).toBe(0);
  });

  it('tallies unpriced models: at the rate, or at the logged cost', () => {
    expect(count('max', unpriced(',"cost":0')).totals.unpriced).toEqual({ mystery: { lines: 1, tokens: M, usd: 75, at_rate: 1, last_ms: T * 1000 } });
    expect(count('max', unpriced(',"cost":2')).totals.unpriced).toEqual({ mystery: { lines: 1, tokens: M, usd: 2, at_rate: 0, last_ms: T * 1000 } });
    expect(count('max', `{"t":${T},"in":5,"out":5,"cost":0}`).totals.unpriced['(no model)']?.at_rate).toBe(1);
    // The Cost Control tracker's lines name no model but log a cost: nothing to report.
    expect(count('max', `{"t":${T},"in":1200,"out":300,"cost":0.0405}`).totals.unpriced).toEqual({});
  });

  it('a model named __proto__ is tallied as data, never as the object machinery', () => {
    const { totals } = count('max', `{"t":${T},"model":"__proto__","in":${M},"out":0,"cost":0}`);
    expect(Object.keys(totals.unpriced)).toEqual(['(__proto__)']);
    expect(({} as Record<string, unknown>).lines).toBeUndefined();
  });
});
