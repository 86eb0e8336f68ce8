// A line's `currency`: converted to USD at cost.currency_rates, or malformed when it has no rate
// (never $0, never dollars). The same answer from the fast path (lineAt) and the JSON.parse one.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import type { ConfigError } from '../../src/errors.js';
import { DayCalendar } from '../../src/core/calendar.js';
import { fieldTable } from '../../src/core/fields.js';
import { currencyFindings } from '../../src/core/findings/index.js';
import { MAX_LABELS } from '../../src/core/labels.js';
import { Ledger } from '../../src/core/ledger.js';
import { PriceBook, ratesFromConfig } from '../../src/core/prices.js';
import { LineParser } from '../../src/core/record.js';
import { type CostPolicy, newTotals, SpendScanner } from '../../src/core/scan.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const T = NOW / 1000 - 60;
const RATES = { USD: 1, EUR: 1.08, GBP: 1.27, JPY: 0.0067 };
const lookup = (model: string): ReturnType<typeof ratesFromConfig> | null =>
  model === 'priced' ? ratesFromConfig({ input: 1, output: 2, cached: null }) : null;

function scan(lines: string[], fast: boolean, policy: CostPolicy = 'reported', renames = {}) {
  const ledger = new Ledger(900, new DayCalendar('UTC'), NOW);
  const totals = newTotals();
  const scanner = new SpendScanner(
    new LineParser(fieldTable(renames, { labels: true, tokens: policy !== 'reported' })),
    ledger,
    NOW,
    totals,
    null,
    { policy, prices: new PriceBook(lookup, MAX_LABELS), unpricedPerMillion: 75, currencyRates: RATES },
  );
  lines.forEach((line, i) => {
    const bytes = new TextEncoder().encode(`${line}\n${' '.repeat(64)}`);
    const end = fast ? scanner.lineAt(bytes, 0, bytes.length) : -1;
    if (end < 0) scanner.line(bytes, 0, line.length, i + 1);
  });
  return { micros: ledger.rolling(900), totals, found: scanner.found };
}

describe.each([
  ['the fast path', true],
  ['the JSON.parse path', false],
])('currencies, by %s', (_name, fast) => {
  it.each([
    ['no currency: USD', `{"t":${T},"cost":1.5}`, 1_500_000],
    ['"USD"', `{"t":${T},"cost":1.5,"currency":"USD"}`, 1_500_000],
    ['EUR at 1.08', `{"t":${T},"cost":1,"currency":"EUR"}`, 1_080_000],
    ['lower case is the same code', `{"t":${T},"cost":1,"currency":"eur"}`, 1_080_000],
    ['GBP at 1.27', `{"t":${T},"cost":0.5,"currency":"GBP"}`, 635_000],
    ['JPY rounded to the micro-dollar', `{"t":${T},"cost":150,"currency":"JPY"}`, 1_005_000],
    ['an escaped string', `{"t":${T},"cost":1,"currency":"\\u0045UR"}`, 1_080_000],
    ['null is no currency', `{"t":${T},"cost":2,"currency":null}`, 2_000_000],
  ])('%s', (_case, line, micros) => {
    const out = scan([line], fast);
    expect(out.totals.malformed).toBe(0);
    expect(out.micros).toBe(micros);
  });

  it.each([
    ['a currency without a rate', `{"t":${T},"cost":1,"currency":"CHF"}`, 'currency "CHF" has no rate'],
    ['not a code at all', `{"t":${T},"cost":1,"currency":"euros"}`, 'currency "EUROS" is not an ISO 4217'],
    ['a number', `{"t":${T},"cost":1,"currency":978}`, '"currency" is not a currency code: 978'],
    ['tokens only, in a currency without a rate', `{"t":${T},"in":10,"currency":"CHF"}`, 'no rate'],
  ])('%s is malformed, never counted', (_case, line, reason) => {
    const out = scan([line], fast);
    expect(out.micros).toBe(0);
    expect(out.totals.records).toBe(0);
    expect(out.totals.malformed).toBe(1);
    expect(out.found[0]?.reason).toContain(reason);
  });

  it('mixed lines sum exactly: 100 lines of 0.05 EUR are 5.40 USD', () => {
    const lines = Array.from({ length: 100 }, () => `{"t":${T},"cost":0.05,"currency":"EUR"}`);
    expect(scan(lines, fast).micros).toBe(5_400_000);
  });

  it('a renamed field (fields.currency)', () => {
    const out = scan([`{"t":${T},"cost":1,"ccy":"EUR","currency":"CHF"}`], fast, 'reported', {
      currency: ['ccy'],
    });
    expect(out.totals.malformed).toBe(0);
    expect(out.micros).toBe(1_080_000);
  });

  it('under max, the converted cost is compared with the estimate (in USD)', () => {
    // 1M input tokens of "priced" = $1; 0.5 EUR = $0.54 logged: the estimate is larger.
    const low = scan([`{"t":${T},"cost":0.5,"currency":"EUR","model":"priced","in":1000000}`], fast, 'max');
    expect(low.micros).toBe(1_000_000);
    const high = scan([`{"t":${T},"cost":1,"currency":"EUR","model":"priced","in":1000000}`], fast, 'max');
    expect(high.micros).toBe(1_080_000);
  });
});

describe('a currency that is not a code', () => {
  it.each([
    ['""', ''],
    ['"EURO"', 'EURO'],
    ['"XXX" (no currency)', 'XXX'],
  ])('%s is malformed as not a code, and its finding says to fix the app', (_what, code) => {
    const out = scan([`{"t":${T},"cost":1,"currency":${JSON.stringify(code)}}`], true, 'max');
    expect(out.micros).toBe(0);
    expect(out.found[0]?.reason).toContain('is not an ISO 4217 currency code');
    const [finding] = currencyFindings(out.totals.unrated, NOW);
    expect(finding?.text).toContain('is not an ISO 4217 currency code');
    expect(finding?.text).not.toContain('Add its rate');
  });
});

describe('a currency without a rate is said once per currency', () => {
  it('counts the lines per currency and makes one finding each', () => {
    const out = scan(
      [
        `{"t":${T},"cost":1,"currency":"CHF"}`,
        `{"t":${T},"cost":1,"currency":"CHF"}`,
        `{"t":${T},"cost":1,"currency":"SEK"}`,
        `{"t":${T},"cost":1,"currency":"EUR"}`,
      ],
      false,
    );
    expect(out.totals.unrated).toEqual({
      CHF: { lines: 2, last_ms: T * 1000 },
      SEK: { lines: 1, last_ms: T * 1000 },
    });
    const findings = currencyFindings(out.totals.unrated, NOW);
    expect(findings.map((f) => f.key)).toEqual(['currency:CHF', 'currency:SEK']);
    expect(findings[0]?.text).toContain('2 lines logged a cost in "CHF"');
    expect(currencyFindings(out.totals.unrated, NOW + 2 * 86_400_000)).toEqual([]);
  });
});

describe('the config of currencies', () => {
  const problems = (raw: Record<string, unknown>): string[] => {
    try {
      resolveConfig({ log: 'a.jsonl', limits: { '15m': { kill: 5 } }, ...raw }, '/srv/w.yaml');
      return [];
    } catch (error) {
      return [...(error as ConfigError).problems];
    }
  };
  it.each([
    [
      { cost: { currency_rates: { eur: 1.08 } } },
      'cost.currency_rates.eur: expected an ISO 4217 currency code',
    ],
    [{ cost: { currency_rates: { XYZ: 1 } } }, 'cost.currency_rates.XYZ: expected an ISO 4217 currency code'],
    [{ cost: { currency_rates: { EUR: 0 } } }, 'cost.currency_rates.EUR: expected a rate above 0'],
    [
      { cost: { currency_rates: { USD: 2 } } },
      'cost.currency_rates.USD: USD is what every amount is counted in',
    ],
    [{ cost: { limits_currency: 'EUR' } }, 'cost.limits_currency: EUR has no rate'],
    [{ limits_currency: 'EUR' }, 'limits_currency: EUR has no rate'],
    [
      { limits_currency: 'EUR', cost: { limits_currency: 'GBP', currency_rates: { EUR: 1, GBP: 1 } } },
      "write the limits' currency once",
    ],
    [
      { cost: { display_currency: 'EUR' } },
      'cost.display_currency: EUR has no rate: add it to cost.currency_rates',
    ],
    [{ cost: { display_currency: 'JPY' } }, '(`JPY: <USD per JPY>`)'],
    [{ cost: { display_currency: 'XXX' } }, 'got "XXX", which is not one'],
    [
      { limits: { balance: { since: 'yesterday', usd: 50, kill: '95%' } } },
      'limits.balance.since: expected a time like "2026-01-27T09:00:00Z"',
    ],
    [
      { limits: { balance: { since: '2026-01-27', usd: 50, warn: 48, kill: '90%' } } },
      'limits.balance: warn (48) is above kill (90%) of a balance of 50',
    ],
  ])('%j is refused', (raw, message) => {
    expect(problems(raw).join('\n')).toContain(message);
  });

  it('display_currency with its rate is taken, and changes no limit', () => {
    const config = resolveConfig(
      {
        log: 'a.jsonl',
        limits: { '15m': { kill: 5 } },
        cost: { display_currency: 'EUR', currency_rates: { EUR: 1.08 } },
      },
      '/w.yaml',
    );
    expect(config.cost.display).toEqual({ code: 'EUR', rate: 1.08 });
    expect(config.cost.limitsCurrency).toEqual({ code: 'USD', rate: 1 });
    expect(config.windows.find((w) => w.name === '15m')?.limits.kill).toBe(5);
  });

  it('limits in the limits currency are made USD at its rate, top level or in cost', () => {
    for (const raw of [
      { limits_currency: 'EUR', cost: { currency_rates: { EUR: 1.08 } } },
      { cost: { limits_currency: 'EUR', currency_rates: { EUR: 1.08 } } },
    ]) {
      const config = resolveConfig(
        { log: 'a.jsonl', limits: { '15m': { warn: 3, kill: 5 } }, ...raw },
        '/w.yaml',
      );
      expect(config.windows.find((w) => w.name === '15m')?.limits).toEqual({
        warn: 3.24,
        emergency: undefined,
        kill: 5.4,
      });
      expect(config.cost.currencyRates).toEqual({ EUR: 1.08, USD: 1 });
      expect(config.cost.limitsCurrency).toEqual({ code: 'EUR', rate: 1.08 });
    }
  });
});
