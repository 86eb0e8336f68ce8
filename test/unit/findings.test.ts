// The findings beyond the limits: each rule as a table, and when a finding is alerted.
import { describe, expect, it } from 'vitest';
import { appView, figureOf, flagOf, timeOf } from '../../src/core/app-state.js';
import {
  announce,
  type AppStateView,
  appFindings,
  burnLimit,
  burnRate,
  clockFindings,
  EPISODE_GAP_MS,
  type Finding,
  findingsToSay,
  silentLog,
  STANDING_GAP_MS,
  stormFindings,
  stormSignal,
  unpricedFindings,
  zeroCostFinding,
} from '../../src/core/findings/index.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const rules = { toleranceUsd: 0.5, tolerancePercent: 10, staleAfterMs: 5 * 60_000 };

function view(over: Partial<AppStateView> = {}): AppStateView {
  return {
    file: '/s/cost_tracker.json',
    status: 'ok',
    error: null,
    updatedAtKey: 'updated_at',
    updatedAtMs: NOW - 10_000,
    windows: [],
    emergency: null,
    emergencyKey: null,
    ...over,
  };
}
const kinds = (f: Finding[]): string[] => f.map((x) => x.key);

describe('the app state file against the watchdog', () => {
  it.each([
    ['missing', view({ status: 'missing' }), NOW, 'ok', ['app-state:missing']],
    ['unreadable', view({ status: 'unreadable', error: 'not JSON' }), NOW, 'ok', ['app-state:unreadable']],
    ['no updated_at', view({ updatedAtMs: null }), NOW, 'ok', ['app-state:no-updated-at']],
    [
      'fresh, agreeing',
      view({ windows: [{ window: '15m', key: 'cost_15min', app: 4, watchdog: 4.2 }] }),
      NOW,
      'ok',
      [],
    ],
    [
      'under by $0.49 (within $0.50)',
      view({ windows: [{ window: '15m', key: 'cost_15min', app: 1, watchdog: 1.49 }] }),
      NOW,
      'ok',
      [],
    ],
    [
      'under by $0.51',
      view({ windows: [{ window: '15m', key: 'cost_15min', app: 1, watchdog: 1.51 }] }),
      NOW,
      'ok',
      ['under-report:15m'],
    ],
    [
      'under by 9% of $100 (within 10%)',
      view({ windows: [{ window: 'daily', key: 'cost_daily', app: 91, watchdog: 100 }] }),
      NOW,
      'ok',
      [],
    ],
    [
      'under by 11% of $100',
      view({ windows: [{ window: 'daily', key: 'cost_daily', app: 89, watchdog: 100 }] }),
      NOW,
      'ok',
      ['under-report:daily'],
    ],
    [
      'over-reporting is not under-reporting',
      view({ windows: [{ window: '15m', key: 'cost_15min', app: 50, watchdog: 1 }] }),
      NOW,
      'ok',
      [],
    ],
    [
      'no figure in the file',
      view({ windows: [{ window: '15m', key: 'cost_15min', app: null, watchdog: 9 }] }),
      NOW,
      'ok',
      [],
    ],
    ['stale: 6 minutes behind the log', view({ updatedAtMs: NOW - 6 * 60_000 }), NOW, 'ok', ['app-stale']],
    ['not stale: the log stopped too', view({ updatedAtMs: NOW - 60 * 60_000 }), NOW - 58 * 60_000, 'ok', []],
    [
      'not in emergency while the watchdog is',
      view({ emergency: false, emergencyKey: 'emergency_mode' }),
      NOW,
      'emergency',
      ['app-not-in-emergency'],
    ],
    ['in emergency too', view({ emergency: true, emergencyKey: 'emergency_mode' }), NOW, 'kill', []],
    [
      'not in emergency, and neither is the watchdog',
      view({ emergency: false, emergencyKey: 'emergency_mode' }),
      NOW,
      'warn',
      [],
    ],
  ] as const)('%s', (_name, v, logWritten, level, expected) => {
    expect(kinds(appFindings(v, rules, logWritten, level))).toEqual(expected);
  });

  it('words an under-report with both figures', () => {
    const [f] = appFindings(
      view({ windows: [{ window: '15m', key: 'cost_15min', app: 0.5, watchdog: 21.41 }] }),
      rules,
      NOW,
      'ok',
    );
    expect(f?.text).toBe(
      'app under-reports: its 15m spend (cost_15min) is $0.50, the watchdog counts $21.41 from the ' +
        'log ($20.91 more)',
    );
  });

  it.each([
    [1769472000.5, 1769472000500],
    [1769472000500, 1769472000500],
    ['2026-01-27T00:00:00Z', Date.parse('2026-01-27T00:00:00Z')],
    ['yesterday', null],
    [true, null],
    [null, null],
  ])('timeOf(%j) = %j', (value, ms) => {
    expect(timeOf(value)).toBe(ms);
  });

  it.each([
    [3.5, 3.5],
    ['3.50', 3.5],
    [-1, null],
    ['lots', null],
    [Number.NaN, null],
  ])('figureOf(%j) = %j', (value, usd) => {
    expect(figureOf(value)).toBe(usd);
  });

  it.each([
    [true, true],
    [0, false],
    ['false', false],
    ['yes', null],
  ])('flagOf(%j) = %j', (value, flag) => {
    expect(flagOf(value)).toBe(flag);
  });

  it("compares at the app's updated_at, or now when it has none or one in the future", () => {
    const asked: number[] = [];
    const at = (_w: string, ms: number): number => {
      asked.push(ms);
      return 1;
    };
    const settings = {
      windows: { '15m': 'cost_15min' },
      updatedAt: 'updated_at',
      emergency: ['emergency_mode', 'emergency'],
    };
    const v = appView(
      '/f',
      { status: 'ok', value: { updated_at: (NOW - 30_000) / 1000, cost_15min: 0.25, emergency: false } },
      settings,
      at,
      NOW,
    );
    expect(v).toMatchObject({
      updatedAtMs: NOW - 30_000,
      emergency: false,
      emergencyKey: 'emergency',
      windows: [{ window: '15m', key: 'cost_15min', app: 0.25, watchdog: 1 }],
    });
    appView('/f', { status: 'ok', value: {} }, settings, at, NOW);
    appView('/f', { status: 'ok', value: { updated_at: (NOW + 3_600_000) / 1000 } }, settings, at, NOW);
    expect(asked).toEqual([NOW - 30_000, NOW, NOW]);
    // Keys that are an object's own machinery are not the app's figures.
    expect(
      appView(
        '/f',
        { status: 'ok', value: JSON.parse('{"__proto__": 5}') as Record<string, unknown> },
        { ...settings, windows: { '15m': '__proto__' } },
        at,
        NOW,
      ).windows[0]?.app,
    ).toBe(5);
    expect(
      appView('/f', { status: 'ok', value: {} }, { ...settings, windows: { '15m': 'toString' } }, at, NOW)
        .windows[0]?.app,
    ).toBeNull();
  });
});

describe('burn rate', () => {
  const base = {
    shortMs: 5 * 60_000,
    longMs: 3_600_000,
    factor: 10,
    limit: { level: 'kill' as const, usd: 240 },
    today: 20,
    nowMs: NOW,
    dayEndMs: Date.parse('2026-11-26T00:00:00Z'),
    clock: (ms: number) => new Date(ms).toISOString().slice(11, 16),
  };
  // Even pace of $240 a day: $0.8333 per 5 minutes, $10 an hour; 10x: $8.33 / $100.
  it.each([
    ['both windows over 10x', 9, 110, true],
    ['only the last 5 minutes', 9, 50, false],
    ['only the last hour', 2, 110, false],
    ['both just under', 8.3, 99, false],
  ])('%s', (_name, shortUsd, longUsd, burning) => {
    expect(burnRate({ ...base, shortUsd, longUsd }) !== null).toBe(burning);
  });

  it('says when the daily kill limit is reached at this rate', () => {
    // $9 per 5 minutes = $1.8 a minute; $220 to go: 122.2 minutes: 14:02.
    const burn = burnRate({ ...base, shortUsd: 9, longUsd: 110 });
    expect(burn?.reachMs).toBeCloseTo(NOW + (220 / 9) * 5 * 60_000, -1);
    expect(burn?.finding.text).toContain(
      'at this rate the daily kill limit is reached at 14:02 (today so far $20.00)',
    );
  });

  it.each([
    ['the limit already crossed', { today: 250 }],
    ['no daily limit', { limit: null }],
  ])('nothing when %s', (_name, over) => {
    expect(burnRate({ ...base, shortUsd: 90, longUsd: 900, ...over })).toBeNull();
  });

  it('a time after the day ends is said to be tomorrow, after the reset', () => {
    const late = burnRate({ ...base, nowMs: Date.parse('2026-11-25T23:30:00Z'), shortUsd: 9, longUsd: 110 });
    expect(late?.finding.text).toContain('tomorrow, after the daily total starts again');
  });
});

describe('blind spots', () => {
  it.each([
    ['running, silent 31m of 30m', true, NOW - 31 * 60_000, true],
    ['running, silent 29m', true, NOW - 29 * 60_000, false],
    ['not running, silent 2h', false, NOW - 7_200_000, false],
    ['running, no log', true, null, false],
  ])('silent log: %s', (_name, running, written, silent) => {
    expect(silentLog(running, written, NOW, 30 * 60_000, '/log') !== null).toBe(silent);
  });

  it.each([
    ['nothing odd', 0, NOW - 1000, NOW, 100, []],
    ['future lines', 3, NOW - 1000, NOW, 100, ['future-lines']],
    ['newest line 6 minutes before the write', 0, NOW - 6 * 60_000, NOW, 100, ['log-behind']],
    ['the same, but the log was just emptied (copytruncate)', 0, NOW - 6 * 60_000, NOW, 0, []],
    ['no line yet', 0, 0, NOW, 100, []],
  ])('clocks: %s', (_name, future, newest, written, bytes, expected) => {
    expect(kinds(clockFindings(future, newest, written, bytes))).toEqual(expected);
  });

  it('unpriced models counted at the rate are reported, recent ones only', () => {
    const found = unpricedFindings(
      {
        mystery: { lines: 3, tokens: 9000, micros: 675_000, at_rate: 3, last_ms: NOW - 1000 },
        logged: { lines: 3, tokens: 9000, micros: 1_000_000, at_rate: 0, last_ms: NOW - 1000 },
        old: { lines: 1, tokens: 1, micros: 1_000_000, at_rate: 1, last_ms: NOW - 2 * 86_400_000 },
      },
      75,
      NOW,
    );
    expect(kinds(found)).toEqual(['unpriced:mystery']);
    expect(found[0]?.text).toBe(
      'model "mystery" has no price: 3 calls without a logged cost counted at $75.00 per million ' +
        'tokens ($0.67 so far); set cost.prices for it',
    );
    expect(zeroCostFinding(0, 0)).toBeNull();
    expect(zeroCostFinding(2, 6)?.text).toBe(
      'the app logged cost 0 for 2 calls with tokens; counted from their tokens instead ($6.00)',
    );
  });

  it('storms name the id quoted (text from the log cannot break the line)', () => {
    const [f] = stormFindings(
      [{ id: 'r"1\n<!channel>', count: 21, usd: 4.2, firstMs: 0, lastMs: 0 }],
      'request_id',
      900_000,
      false,
      1_000_000,
    );
    expect(f?.text).toBe('retry storm: request_id "r\\"1\\n<!channel>" seen 21 times in 15m ($4.20)');
    expect(kinds(stormFindings([], 'request_id', 900_000, true, 10))).toEqual(['storm-overflow']);
  });
});

describe('announce: each finding once', () => {
  const f = (key: string): Finding => ({ key, kind: key.split(':')[0] as Finding['kind'], text: key });
  it('announces what is new, not what lasts; forgets what was gone for its gap, then announces again', () => {
    let memory = {};
    let r = announce([f('burn-rate'), f('unpriced:m')], memory, NOW);
    expect(kinds(r.announce)).toEqual(['burn-rate', 'unpriced:m']);
    memory = r.memory;
    r = announce([f('burn-rate'), f('unpriced:m')], memory, NOW + 60_000);
    expect(r.announce).toEqual([]);
    memory = r.memory;
    // Both gone; an episode comes back after its gap, a standing finding only after a day.
    const back = NOW + 60_000 + EPISODE_GAP_MS + 1;
    r = announce([f('burn-rate'), f('unpriced:m')], memory, back);
    expect(kinds(r.announce)).toEqual(['burn-rate']);
    r = announce([], r.memory, back + 1000);
    r = announce([f('unpriced:m')], r.memory, back + STANDING_GAP_MS + 1);
    expect(kinds(r.announce)).toEqual(['unpriced:m']);
  });

  it('an episode that flaps within the gap is not announced again', () => {
    let r = announce([f('storm:r1')], {}, NOW);
    r = announce([], r.memory, NOW + 60_000);
    r = announce([f('storm:r1')], r.memory, NOW + 120_000);
    expect(r.announce).toEqual([]);
  });
});

describe('retry storms as a signal, and what an alert says', () => {
  const storm = (id: string, count: number, usd: number) => ({
    id,
    count,
    usd,
    firstMs: NOW - 1000,
    lastMs: NOW,
  });
  it('no storm, no signal; storms: one signal at the configured level, named by the worst', () => {
    expect(stormSignal([], { key: 'request_id', windowMs: 900_000, level: 'emergency' })).toBeNull();
    expect(
      stormSignal([storm('b-1', 21, 4.2), storm('b-2', 6, 1), storm('b-3', 5, 1)], {
        key: 'request_id',
        windowMs: 900_000,
        level: 'kill',
      }),
    ).toEqual({
      name: 'retry-storm',
      seconds: 900,
      limits: {},
      spend: 6.2,
      level: 'kill',
      detail: 'retry storm: request_id "b-1" seen 21 times in 15m ($4.20) and 2 more ids',
    });
  });

  it('a storm said as an event is not said again among the findings; others are', () => {
    const announced: Finding[] = [
      { key: 'storm:b-1', kind: 'storm', text: 'retry storm: request_id "b-1" seen 21 times in 15m ($4.20)' },
      { key: 'storm:b-2', kind: 'storm', text: 'retry storm: request_id "b-2" seen 6 times in 15m ($1.00)' },
      { key: 'burn-rate', kind: 'burn-rate', text: 'burn rate: ...' },
    ];
    const event = {
      kind: 'enter' as const,
      window: 'retry-storm',
      level: 'emergency' as const,
      previous: 'ok' as const,
      spend: 5.2,
      limit: null,
      detail: 'retry storm: request_id "b-1" seen 21 times in 15m ($4.20) and 1 more id',
    };
    expect(findingsToSay(announced, [event])).toEqual([announced[1]?.text, 'burn rate: ...']);
    expect(findingsToSay(announced, [])).toEqual(announced.map((f) => f.text));
  });

  it.each([
    [
      { warn: 1, emergency: 2, kill: 3 },
      { level: 'kill', usd: 3 },
    ],
    [
      { warn: 1, emergency: 2 },
      { level: 'emergency', usd: 2 },
    ],
    [{ warn: 1 }, { level: 'warn', usd: 1 }],
    [{}, null],
  ])('the burn rate measures against %j', (limits, expected) => {
    expect(burnLimit(limits)).toEqual(expected);
  });
});

describe('many at once: the worst are named, the rest counted', () => {
  it('a batch re-run is thousands of storms: five named, one line for the rest', () => {
    const storms = Array.from({ length: 1200 }, (_, k) => ({
      id: `item-${k}`,
      count: 21 - (k % 3),
      usd: 0.1,
      firstMs: 0,
      lastMs: 0,
    }));
    const found = stormFindings(storms, 'request_id', 900_000, false, 1_000_000);
    expect(found.length).toBe(6);
    expect(found[5]).toEqual({
      key: 'storm:+more',
      kind: 'storm',
      text: 'and 1195 more request_ids seen again and again in 15m ($119.50): see `cost-watchdog status`',
    });
  });

  it('many unpriced models: the five that cost most are named', () => {
    const unpriced = Object.fromEntries(
      Array.from({ length: 8 }, (_, k) => [
        `m${k}`,
        { lines: 1, tokens: 1, micros: k * 1_000_000, at_rate: 1, last_ms: NOW },
      ]),
    );
    const found = unpricedFindings(unpriced, 75, NOW);
    expect(found.map((f) => f.key)).toEqual([
      'unpriced:m7',
      'unpriced:m6',
      'unpriced:m5',
      'unpriced:m4',
      'unpriced:m3',
      'unpriced:+more',
    ]);
    expect(found[5]?.text).toBe(
      'and 3 more models without a price, counted at $75.00 per million tokens ($3.00): see ' +
        '`cost-watchdog status`',
    );
  });
});
