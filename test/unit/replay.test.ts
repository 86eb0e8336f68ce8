import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import type { WindowSpec } from '../../src/core/levels.js';
import { toMicros } from '../../src/core/money.js';
import { localMidnight, parseWhen } from '../../src/replay/range.js';
import { StormWatch } from '../../src/replay/storms.js';
import { Timeline } from '../../src/replay/timeline.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const W15: WindowSpec = { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 } };

/** Lines as [seconds after T0, USD]; crossings as "window level at+s spend followed ok+s". */
function replayOf(
  lines: [number, number][],
  windows: WindowSpec[],
  options: { from?: number; to?: number; zone?: string; end?: number } = {},
): string[] {
  const calendar = new DayCalendar(options.zone ?? 'UTC');
  const timeline = new Timeline(windows, {
    fromMs: options.from === undefined ? -Infinity : T0 + options.from * 1000,
    toMs: options.to === undefined ? Infinity : T0 + options.to * 1000,
    dayOf: (ms) => calendar.dayOf(ms),
    series: true,
  });
  for (const [s, usd] of lines) timeline.add(T0 + s * 1000, toMicros(usd));
  timeline.finish(options.end === undefined ? timeline.clockMs : T0 + options.end * 1000);
  return timeline.crossings.map(
    (c) =>
      `${c.window} ${c.level} +${(c.atMs - T0) / 1000} $${c.spend / 1e6} followed $${c.followed / 1e6} ` +
      `ok ${c.okAgainMs === null ? 'never' : `+${(c.okAgainMs - T0) / 1000}`}`,
  );
}

describe('replay timeline: crossings', () => {
  const cases: [string, [number, number][], WindowSpec[], Parameters<typeof replayOf>[2], string[]][] = [
    [
      'below every limit',
      [
        [0, 1],
        [10, 1.99],
      ],
      [W15],
      {},
      [],
    ],
    [
      'exactly at the limit fires (>=), in whole µ$',
      [...Array.from({ length: 60 }, (_, i): [number, number] => [i, 0.05])],
      [W15],
      { end: 3000 },
      ['15m warn +59 $3 followed $0 ok +900'],
    ],
    [
      'one line from ok to kill fires every level set, at once',
      [
        [0, 9],
        [10, 1],
      ],
      [W15],
      { end: 3000 },
      [
        '15m warn +0 $9 followed $1 ok +900',
        '15m emergency +0 $9 followed $1 ok +900',
        '15m kill +0 $9 followed $1 ok +900',
      ],
    ],
    [
      'kill without emergency configured: warn, then kill',
      [
        [0, 4],
        [60, 5],
      ],
      [{ name: '15m', seconds: 900, limits: { warn: 3, kill: 8 } }],
      { end: 3000 },
      ['15m warn +0 $4 followed $5 ok +960', '15m kill +60 $9 followed $0 ok +960'],
    ],
    [
      'crossing, down to ok, up again: fires again',
      [
        [0, 4],
        [1000, 4],
      ],
      [W15],
      { end: 3000 },
      ['15m warn +0 $4 followed $0 ok +900', '15m warn +1000 $4 followed $0 ok +1900'],
    ],
    [
      'down but not to ok, then up: a level fires once per episode',
      [
        [0, 6],
        [100, 3],
        [950, 3],
      ],
      [{ name: '15m', seconds: 900, limits: { warn: 3, emergency: 5 } }],
      { end: 3000 },
      // (at +900 the $6 leaves, $3 stay: still warn; at +950 $6 again: emergency fired already)
      ['15m warn +0 $6 followed $6 ok +1850', '15m emergency +0 $6 followed $6 ok +1850'],
    ],
    [
      'a line out of order lands in its own second while inside the window',
      [
        [0, 2],
        [600, 0.5],
        [300, 0.5],
      ],
      [W15],
      { end: 3000 },
      ['15m warn +600 $3 followed $0 ok +900'],
    ],
    [
      'a line out of order older than the window counts nowhere in it',
      [
        [1000, 2],
        [50, 2],
      ],
      [W15],
      {},
      [],
    ],
    [
      '--from: earlier lines warm the window up; crossings only from it on',
      [
        [0, 4],
        [100, 2],
        [1500, 4],
        [1510, 0.5],
      ],
      [W15],
      { from: 1200, end: 3000 },
      ['15m warn +1500 $4 followed $0.5 ok +2400'],
    ],
    [
      '--from: a window already above ok at --from is not reported until it crosses again',
      [
        [0, 4],
        [1000, 2],
      ],
      [W15],
      { from: 500 },
      [],
    ],
    [
      '--to: lines after it are not replayed; windows move to --to',
      [
        [0, 4],
        [200, 0.5],
        [2000, 100],
      ],
      [W15],
      { to: 1000, end: 1000 },
      ['15m warn +0 $4 followed $0.5 ok +900'],
    ],
    [
      'the window still above ok at the end of the replay: not back at ok',
      [
        [0, 4],
        [10, 0.5],
      ],
      [W15],
      {},
      ['15m warn +0 $4 followed $0.5 ok never'],
    ],
    [
      'the daily window goes back to ok at midnight (UTC)',
      [
        [0, 25],
        [13 * 3600, 1],
        [14 * 3600 + 1, 2],
      ],
      [{ name: 'daily', seconds: null, limits: { warn: 20 } }],
      {},
      ['daily warn +0 $25 followed $1 ok +50400'],
    ],
  ];
  it.each(cases)('%s', (_name, lines, windows, options, expected) => {
    expect(replayOf(lines, windows, options)).toEqual(expected);
  });

  it('the daily window resets at local midnight in a DST zone (23-hour day)', () => {
    // Europe/Berlin: 2026-03-29 is 23 hours long: from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    const calendar = new DayCalendar('Europe/Berlin');
    const timeline = new Timeline([{ name: 'daily', seconds: null, limits: { warn: 10 } }], {
      fromMs: -Infinity,
      toMs: Infinity,
      dayOf: (ms) => calendar.dayOf(ms),
      series: false,
    });
    timeline.add(Date.parse('2026-03-29T00:30:00Z'), toMicros(12));
    timeline.add(Date.parse('2026-03-29T21:59:59Z'), toMicros(1));
    timeline.add(Date.parse('2026-03-29T22:00:00Z'), toMicros(9));
    timeline.finish(timeline.clockMs);
    expect(
      timeline.crossings.map((c) => [c.level, c.followed / 1e6, new Date(c.okAgainMs ?? 0).toISOString()]),
    ).toEqual([['warn', 1, '2026-03-29T22:00:00.000Z']]);
  });

  it('totals count lines inside --from/--to only, and per minute', () => {
    const calendar = new DayCalendar('UTC');
    const timeline = new Timeline([W15], {
      fromMs: T0 + 60_000,
      toMs: T0 + 180_000,
      dayOf: (ms) => calendar.dayOf(ms),
      series: true,
    });
    for (const [s, usd] of [
      [0, 1],
      [61, 0.25],
      [90, 0.25],
      [130, 1],
      [200, 5],
    ] as const)
      timeline.add(T0 + s * 1000, toMicros(usd));
    const { minutes } = timeline.finish(T0 + 180_000);
    expect([timeline.total / 1e6, timeline.records, timeline.outside]).toEqual([1.5, 3, 2]);
    expect(minutes).toEqual([
      [T0 + 60_000, 500_000],
      [T0 + 120_000, 1_000_000],
    ]);
  });

  it('samples the window at minute ends where it changes, and where it falls back', () => {
    const calendar = new DayCalendar('UTC');
    const timeline = new Timeline([{ name: '1m', seconds: 60, limits: { warn: 3 } }], {
      fromMs: -Infinity,
      toMs: Infinity,
      dayOf: (ms) => calendar.dayOf(ms),
      series: true,
    });
    timeline.add(T0 + 10_000, toMicros(1));
    timeline.add(T0 + 70_000, toMicros(2));
    timeline.add(T0 + 600_000, toMicros(1));
    const { series } = timeline.finish(T0 + 600_000);
    expect(series[0]?.points.map(([ms, v]) => [(ms - T0) / 1000, v / 1e6])).toEqual([
      [60, 1],
      [120, 2],
      [180, 0],
      [600, 0],
    ]);
  });
});

describe('replay storms', () => {
  it('finds an id seen count times within the window, and follows it', () => {
    const watch = new StormWatch(3, 60_000);
    const seen: [number, number][] = [
      [1, 0],
      [1, 10_000],
      [2, 20_000],
      [1, 30_000],
      [1, 40_000],
      [2, 200_000],
      [2, 210_000],
    ];
    for (const [hash, t] of seen) watch.add(hash, T0 + t, 100, T0 + t, () => `id${hash}`);
    expect(watch.storms().map((s) => [s.id, s.count, s.micros, s.firstMs - T0, s.lastMs - T0])).toEqual([
      ['id1', 4, 400, 0, 40_000],
    ]);
  });

  it('forgets sightings that left the window', () => {
    const watch = new StormWatch(2, 60_000);
    watch.add(7, T0, 1, T0, () => 'a');
    watch.add(7, T0 + 61_000, 1, T0 + 61_000, () => 'a');
    expect(watch.storms()).toEqual([]);
    watch.add(7, T0 + 62_000, 1, T0 + 62_000, () => 'a');
    expect(watch.storms().map((s) => s.count)).toEqual([2]);
  });

  it('keeps counting right across table rebuilds (many ids seen once)', () => {
    const watch = new StormWatch(2, 1_000_000);
    for (let i = 0; i < 5000; i++) watch.add(i * 7919 + 1, T0 + i, 1, T0 + i, () => `id${i}`);
    watch.add(1, T0 + 6000, 1, T0 + 6000, () => 'id0');
    expect(watch.storms().map((s) => [s.id, s.count])).toEqual([['id0', 2]]);
  });
});

describe('replay storms, expiry across rebuilds', () => {
  it('a sighting leaves the window at its time, wherever the table moved its slot', () => {
    const watch = new StormWatch(2, 100);
    for (let i = 0; i < 20_000; i++) {
      const t = T0 + i;
      watch.add(i * 7919 + 1, t, 1, t, () => `id${i}`);
      // Every 1000th id is seen again 50 ms later (a storm of 2), every 1000th + 500 after 150 ms (none).
      if (i >= 50 && (i - 50) % 1000 === 0) watch.add((i - 50) * 7919 + 1, t, 1, t, () => `id${i - 50}`);
      if (i >= 150 && (i - 150) % 1000 === 500)
        watch.add((i - 150) * 7919 + 1, t, 1, t, () => `id${i - 150}`);
    }
    const found = watch.storms();
    expect(found.length).toBe(20);
    expect(found.every((s) => s.count === 2 && s.lastMs - s.firstMs === 50)).toBe(true);
  });
});

describe('replay --from/--to', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const berlin = new DayCalendar('Europe/Berlin');
  const utc = new DayCalendar('UTC');
  const cases: [string, DayCalendar, number | string][] = [
    ['2026-11-23', utc, Date.parse('2026-11-23T00:00:00Z')],
    ['2026-11-23', berlin, Date.parse('2026-11-22T23:00:00Z')],
    ['2026-07-01', berlin, Date.parse('2026-06-30T22:00:00Z')],
    ['2026-11-23T14:00:00Z', berlin, Date.parse('2026-11-23T14:00:00Z')],
    ['2026-11-23T14:00:00+02:00', utc, Date.parse('2026-11-23T12:00:00Z')],
    ['2026-11-23T14:00:00', berlin, Date.parse('2026-11-23T14:00:00Z')],
    ['7d', utc, now - 7 * 86_400_000],
    ['24h', utc, now - 86_400_000],
    ['1h30m', utc, now - 5_400_000],
    ['now', utc, now],
    ['2026-02-30', utc, 'no such date'],
    ['yesterday', utc, 'is not a time'],
    ['7', utc, 'is not a time'],
    ['', utc, 'empty'],
  ];
  it.each(cases)('%s', (text, calendar, expected) => {
    const got = parseWhen(text, now, calendar);
    if (typeof expected === 'number') expect(got).toBe(expected);
    else expect(String(got)).toContain(expected);
  });

  it('local midnight across the zones farthest from UTC', () => {
    expect(localMidnight('2026-11-23', new DayCalendar('Pacific/Kiritimati'))).toBe(
      Date.parse('2026-11-22T10:00:00Z'),
    );
    expect(localMidnight('2026-11-23', new DayCalendar('Etc/GMT+12'))).toBe(
      Date.parse('2026-11-23T12:00:00Z'),
    );
  });
});
