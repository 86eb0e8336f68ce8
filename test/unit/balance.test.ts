// The prepaid balance (limits.balance): its figures at an instant (pure), the ledger's running
// total from `since` (saved, restored, split over two readers), the top-ups file, and the config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import type { BalanceSpec } from '../../src/config/sections/balance.js';
import { parseAmount } from '../../src/commands/balance.js';
import { balanceStatus, balanceWords, withBalance } from '../../src/core/balance.js';
import { DayCalendar } from '../../src/core/calendar.js';
import { Ledger } from '../../src/core/ledger.js';
import { readTopUps, writeTopUps } from '../../src/effects/balance-store.js';
import { UsageError } from '../../src/errors.js';
import { base, FILE, problems } from './config-support.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SINCE = Date.parse('2026-11-25T09:00:00Z');
const utc = new DayCalendar('UTC');

function spec(over: Partial<BalanceSpec> = {}): BalanceSpec {
  return {
    sinceMs: SINCE,
    sinceText: '2026-11-25T09:00:00Z',
    usd: 50,
    warn: { share: 0.8 },
    emergency: { share: 0.9 },
    kill: { share: 0.95 },
    ...over,
  };
}

describe('the balance at an instant', () => {
  it.each([
    // [what, spec, spend µ$, top-ups, expected limits, level, left]
    ['shares of usd', spec(), 30_000_000, [], { warn: 40, emergency: 45, kill: 47.5 }, 'ok', 20],
    ['at warn exactly', spec(), 40_000_000, [], { warn: 40, emergency: 45, kill: 47.5 }, 'warn', 10],
    [
      'a micro-dollar under kill',
      spec(),
      47_499_999,
      [],
      { warn: 40, emergency: 45, kill: 47.5 },
      'emergency',
      2.500001,
    ],
    ['at kill', spec(), 47_500_000, [], { warn: 40, emergency: 45, kill: 47.5 }, 'kill', 2.5],
    ['overspent', spec(), 52_000_000, [], { warn: 40, emergency: 45, kill: 47.5 }, 'kill', -2],
    [
      'shares of usd plus a top-up',
      spec(),
      47_500_000,
      [{ atMs: SINCE + 1, usd: 50 }],
      { warn: 80, emergency: 90, kill: 95 },
      'ok',
      52.5,
    ],
    [
      'a top-up before since does not count',
      spec(),
      47_500_000,
      [{ atMs: SINCE - 1, usd: 50 }],
      { warn: 40, emergency: 45, kill: 47.5 },
      'kill',
      2.5,
    ],
    [
      'a top-up at since counts (inclusive)',
      spec(),
      0,
      [{ atMs: SINCE, usd: 10 }],
      { warn: 48, emergency: 54, kill: 57 },
      'ok',
      60,
    ],
    [
      'amounts spent move up by the top-ups',
      spec({ warn: { usd: 40 }, emergency: null, kill: { usd: 48 } }),
      61_000_000,
      [
        { atMs: SINCE + 5, usd: 20 },
        { atMs: SINCE + 9, usd: 0.5 },
      ],
      { warn: 60.5, kill: 68.5 },
      'warn',
      9.5,
    ],
    [
      'a share rounds to the micro-dollar',
      spec({ usd: 0.000003, warn: null, emergency: null, kill: { share: 0.5 } }),
      2,
      [],
      { kill: 0.000002 },
      'kill',
      0.000001,
    ],
  ] as const)('%s', (_what, s, spendMicros, topUps, limits, level, left) => {
    const b = balanceStatus({ spec: s, spendMicros, topUps, burnMicros: 0, firstLineMs: null, nowMs: NOW });
    expect(b.window.limits).toEqual(limits);
    expect(b.window.level).toBe(level);
    expect(b.leftUsd).toBe(left);
    expect(b.window.name).toBe('balance');
    expect(b.window.spend).toBe(spendMicros / 1e6);
  });

  it.each([
    // [burn µ$ over the span, since, left $, expected runs out (ms after now) or null]
    ['$1 in the last 15 minutes, $4 left: an hour', 1_000_000, SINCE, 46_000_000, 3_600_000],
    ['not burning', 0, SINCE, 30_000_000, null],
    ['already out', 1_000_000, SINCE, 55_000_000, null],
    ['since 5 minutes ago: the rate over those 5', 1_000_000, NOW - 300_000, 49_000_000, 300_000],
  ] as const)('runs out: %s', (_what, burnMicros, sinceMs, spendMicros, after) => {
    const b = balanceStatus({
      spec: spec({ sinceMs }),
      spendMicros,
      topUps: [],
      burnMicros,
      firstLineMs: null,
      nowMs: NOW,
    });
    expect(b.runsOutAtMs).toBe(after === null ? null : NOW + after);
  });

  it('says when the log begins after since, and words it', () => {
    const at = (firstLineMs: number | null) =>
      balanceStatus({
        spec: spec(),
        spendMicros: 4_900_000,
        topUps: [],
        burnMicros: 0,
        firstLineMs,
        nowMs: NOW,
      });
    expect(at(SINCE - 1).logStartsMs).toBeNull();
    expect(at(SINCE).logStartsMs).toBeNull();
    expect(at(null).logStartsMs).toBeNull();
    const late = at(SINCE + 3_600_000);
    expect(late.logStartsMs).toBe(SINCE + 3_600_000);
    expect(balanceWords(late)).toBe(
      '$45.10 left of $50.00 since 2026-11-25T09:00:00.000Z; not burning (nothing spent in the last 15 ' +
        'minutes)',
    );
    expect(balanceWords(late, true)).toContain(
      'the log begins at 2026-11-25T10:00:00.000Z, spend before it is not known',
    );
    const over = balanceStatus({
      spec: spec(),
      spendMicros: 52_000_000,
      topUps: [{ atMs: SINCE, usd: 1 }],
      burnMicros: 100,
      firstLineMs: null,
      nowMs: NOW,
    });
    expect(balanceWords(over)).toBe(
      'overspent by $1.00 of $51.00 (with $1.00 of top-ups) since 2026-11-25T09:00:00.000Z',
    );
    expect(withBalance([], over).map((w) => w.name)).toEqual(['balance']);
    expect(withBalance([over.window], null)).toHaveLength(1);
  });
});

describe('the ledger counts from since', () => {
  it('sums every line from since on, whatever its age, and keeps the earliest line time', () => {
    const ledger = new Ledger(900, utc, NOW, SINCE);
    ledger.add(SINCE - 1, 1_000_000); // before since: not the balance's
    ledger.add(SINCE, 2_000_000); // at since: counted
    ledger.add(SINCE + 60_000, 3_000_000); // hours ago: beyond every window, still counted
    ledger.add(NOW - 1000, 4_000_000);
    ledger.add(NOW - 500, 0); // a line at $0 still counts as a line
    expect(ledger.balanceSpend()).toBe(9_000_000);
    expect(ledger.rolling(900)).toBe(4_000_000);
    expect(ledger.firstLineMs()).toBe(SINCE - 1);
    expect(new Ledger(900, utc, NOW).balanceSpend()).toBe(0);
    expect(new Ledger(900, utc, NOW).firstLineMs()).toBeNull();
  });

  it('keeps the total across a save, and refuses a state of another since', () => {
    const ledger = new Ledger(900, utc, NOW, SINCE);
    ledger.add(SINCE + 1, 7_000_000);
    const state = JSON.parse(JSON.stringify(ledger.toState()));
    expect(state.balance).toEqual({ since_ms: SINCE, spend: 7_000_000 });
    const back = Ledger.fromState(state, 900, utc, NOW + 60_000, SINCE);
    expect(back?.balanceSpend()).toBe(7_000_000);
    back?.add(NOW + 30_000, 1);
    expect(back?.balanceSpend()).toBe(7_000_001);
    expect(back?.firstLineMs()).toBe(SINCE + 1);
    // Another since, or none saved: not restored (the caller re-reads the log).
    expect(Ledger.fromState(state, 900, utc, NOW, SINCE + 1)).toBeNull();
    const { balance: _gone, ...older } = state;
    expect(Ledger.fromState(older, 900, utc, NOW, SINCE)).toBeNull();
    // Without a balance configured, a saved one is ignored.
    expect(Ledger.fromState(state, 900, utc, NOW)?.balanceSpend()).toBe(0);
    // A damaged total is not taken as spend.
    expect(
      Ledger.fromState({ ...state, balance: { since_ms: SINCE, spend: -5 } }, 900, utc, NOW, SINCE),
    ).toBeNull();
    expect(
      Ledger.fromState({ ...state, balance: { since_ms: SINCE, spend: 1.5 } }, 900, utc, NOW, SINCE),
    ).toBeNull();
  });

  it('two readers of halves of a log add up to one reader of all of it (the helper thread)', () => {
    const lines: [number, number][] = [];
    for (let i = 0; i < 500; i++) lines.push([SINCE - 3_600_000 + i * 40_000, 1000 + i]);
    const whole = new Ledger(900, utc, NOW, SINCE);
    for (const [t, c] of lines) whole.add(t, c);
    const first = new Ledger(900, utc, NOW, SINCE);
    const second = new Ledger(900, utc, NOW, SINCE);
    lines.forEach(([t, c], i) => {
      (i < 250 ? first : second).add(t, c);
    });
    first.absorb(second.toState());
    expect(first.balanceSpend()).toBe(whole.balanceSpend());
    expect(first.firstLineMs()).toBe(whole.firstLineMs());
    const brute = lines.filter(([t]) => t >= SINCE).reduce((a, [, c]) => a + c, 0);
    expect(whole.balanceSpend()).toBe(brute);
  });
});

describe('the top-ups file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-balance-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty before the first top-up, and keeps what was written', () => {
    expect(readTopUps(dir)).toEqual({ ok: true, topUps: [] });
    const topUps = [
      { atMs: SINCE + 1000, usd: 54, amount: 50, currency: 'EUR', reason: 'invoice 1', by: 'ann@host' },
      { atMs: SINCE + 2000, usd: 10, amount: 10, currency: 'USD', reason: 'more', by: 'bob@host' },
    ];
    writeTopUps(dir, topUps);
    expect(readTopUps(dir)).toEqual({ ok: true, topUps });
  });

  it.each([
    ['not JSON', '{"version":1,', 'not JSON'],
    ['another version', '{"version":2,"top_ups":[]}', 'bad field "version"'],
    [
      'a negative top-up',
      '{"version":1,"top_ups":[{"at":"2026-11-25T10:00:00Z","usd":-5,"amount":5,"currency":"USD",' +
        '"reason":"x","by":"y"}]}',
      'bad field "top_ups[0].usd"',
    ],
    [
      'a time that is not one',
      '{"version":1,"top_ups":[{"at":"soon","usd":5,"amount":5,"currency":"USD","reason":"x","by":"y"}]}',
      'bad field "top_ups[0].at"',
    ],
  ])('a file that is %s is a problem, naming the file', (_what, text, problem) => {
    writeFileSync(path.join(dir, 'balance.json'), text);
    const read = readTopUps(dir);
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.file).toBe(path.join(dir, 'balance.json'));
      expect(read.problem).toContain(problem);
    }
  });
});

describe('balance --add amounts', () => {
  it.each([
    ['50', 50],
    ['+50', 50],
    [' 12.5 ', 12.5],
    ['0.000001', 0.000001],
    ['1000000000', 1e9],
  ])('%j is %d', (text, amount) => {
    expect(parseAmount(text, 'USD')).toBe(amount);
  });

  it.each([['0'], ['-5'], ['abc'], ['1e3'], [''], ['50$'], ['1000000001'], ['NaN'], ['Infinity']])(
    '%j is refused (exit 64)',
    (text) => {
      expect(() => parseAmount(text, 'EUR')).toThrow(UsageError);
      expect(() => parseAmount(text, 'EUR')).toThrow(/in EUR/);
    },
  );

  it('refuses an amount that would be recorded as less than a micro-dollar, at its rate', () => {
    expect(() => parseAmount('0.0000001', 'USD')).toThrow(UsageError);
    expect(() => parseAmount('0.0000004', 'EUR', 1.08)).toThrow(UsageError);
    expect(parseAmount('0.000001', 'EUR', 1.08)).toBe(0.000001);
  });

  it('says how to start over when the amount is negative', () => {
    expect(() => parseAmount('-5', 'USD')).toThrow(/set limits.balance.since and usd/);
  });
});

describe('limits.balance in the config', () => {
  it('is accepted, in the limits currency', () => {
    const config = resolveConfig(
      {
        ...base,
        limits: {
          ...base.limits,
          balance: { since: '2026-01-27T09:00:00Z', usd: 50, warn: 40, emergency: '90%', kill: '95%' },
        },
        cost: { currency_rates: { EUR: 1.08 }, limits_currency: 'EUR' },
      },
      FILE,
    );
    expect(config.balance).toEqual({
      sinceMs: Date.parse('2026-01-27T09:00:00Z'),
      sinceText: '2026-01-27T09:00:00Z',
      usd: 54,
      warn: { usd: 43.2 },
      emergency: { share: 0.9 },
      kill: { share: 0.95 },
    });
    // The balance is not one of the windows (the windows go by their own rules).
    expect(config.windows.map((w) => w.name)).not.toContain('balance');
  });

  it('without a zone, since is UTC', () => {
    const config = resolveConfig(
      { ...base, limits: { ...base.limits, balance: { since: '2026-01-27T09:00:00', usd: 5, kill: 4 } } },
      FILE,
    );
    expect(config.balance?.sinceMs).toBe(Date.parse('2026-01-27T09:00:00Z'));
  });

  it.each([
    [{ since: '2026-01-27', usd: 0, kill: '95%' }, 'limits.balance.usd: expected a balance above 0'],
    [{ since: '2026-01-27', usd: 50 }, 'limits.balance: set at least one of warn, emergency, kill'],
    [{ since: '2026-01-27', usd: 50, kill: '150%' }, 'limits.balance.kill: expected a share of the balance'],
    [{ since: '2026-01-27', usd: 50, kill: '95%', stop: 1 }, 'limits.balance'],
  ])('%j is refused', (balance, message) => {
    const found = problems({ ...base, limits: { ...base.limits, balance } });
    expect(found.some((p) => p.includes(message))).toBe(true);
  });
});
