import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import { Ledger } from '../../src/core/ledger.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const utc = new DayCalendar('UTC');

describe('rolling windows: the bucketed sum equals a brute-force sum (property test)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`random event stream #${seed}`, () => {
      const r = rng(seed);
      const windows = [60, 900, 3600, 86_400];
      const horizon = 86_400;
      const now = Date.UTC(2026, 10, 25, 12, 0, 0) + Math.floor(r() * 1000);
      const ledger = new Ledger(horizon, utc, now);
      const events: [number, number][] = [];
      const n = 200 + Math.floor(r() * 3000);
      for (let i = 0; i < n; i++) {
        // mostly recent, some old (outside every window), some up to 5 minutes ahead; bursts
        const span = r() < 0.1 ? 3 * 86_400_000 : r() < 0.5 ? 1_000_000 : 90_000_000;
        const t = now - Math.floor(r() * span) + (r() < 0.05 ? Math.floor(r() * 300_000) : 0);
        const cost = Math.floor(r() * 100_000); // µ$
        const repeat = r() < 0.1 ? 1 + Math.floor(r() * 50) : 1;
        for (let k = 0; k < repeat; k++) {
          events.push([t, cost]);
          ledger.add(t, cost);
        }
      }
      // Also round-trip through saved state, as a run followed by another run would.
      const reloaded = Ledger.fromState(JSON.parse(JSON.stringify(ledger.toState())), horizon, utc, now);
      expect(reloaded).not.toBeNull();
      for (const w of windows) {
        const from = Math.floor(now / 1000) - w;
        const brute = events.filter(([t]) => Math.floor(t / 1000) > from).reduce((a, [, c]) => a + c, 0);
        expect(ledger.rolling(w)).toBe(brute);
        expect(reloaded!.rolling(w)).toBe(brute);
      }
      const today = utc.dayOf(now);
      const bruteToday = events
        .filter(([t]) => t >= today.startMs && t < today.endMs)
        .reduce((a, [, c]) => a + c, 0);
      expect(ledger.today()).toBe(bruteToday);
      expect(reloaded!.today()).toBe(bruteToday);
    });
  }
});

describe('ledger over time', () => {
  it('spend leaves the window as time moves on, and memory stays bounded', () => {
    const t0 = Date.UTC(2026, 10, 25, 12, 0, 0);
    const ledger = new Ledger(900, utc, t0);
    // 120k calls of $0.01 in 10 min
    for (let i = 0; i < 120_000; i++) ledger.add(t0 - (i % 600) * 1000, 10_000);
    expect(ledger.rolling(900)).toBe(1200 * 1e6);
    expect(ledger.toState().rolling.length).toBe(600); // one bucket per second, not per call
    const later = Ledger.fromState(ledger.toState(), 900, utc, t0 + 600_000)!;
    // 10 minutes later only the first 5 minutes' seconds (t0-299s .. t0) are still inside 15m
    expect(later.rolling(900)).toBe(300 * 200 * 10_000);
    expect(later.today()).toBe(1200 * 1e6);
  });

  it('late lines land in the day of their own time', () => {
    const now = Date.UTC(2026, 10, 25, 0, 5, 0);
    const ledger = new Ledger(900, utc, now);
    ledger.add(Date.UTC(2026, 10, 24, 23, 59, 0), 2); // yesterday, but inside 15m
    ledger.add(Date.UTC(2026, 10, 25, 0, 1, 0), 3);
    expect(ledger.today()).toBe(3);
    expect(ledger.day('2026-11-24')).toBe(2);
    expect(ledger.rolling(900)).toBe(5);
  });

  it('refuses saved state that does not fit', () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const state = new Ledger(900, utc, now).toState();
    expect(Ledger.fromState(state, 3600, utc, now)).toBeNull(); // a longer window now needed
    expect(Ledger.fromState(state, 900, new DayCalendar('Europe/Berlin'), now)).toBeNull();
    expect(Ledger.fromState({ ...state, rolling: [[1, -5]] }, 900, utc, now)).toBeNull();
    // Dollar fractions (a version-1 checkpoint), NaN saved as null, or Infinity: not whole µ$.
    expect(
      Ledger.fromState({ ...state, rolling: [[Math.floor(now / 1000), 0.05]] }, 900, utc, now),
    ).toBeNull();
    expect(Ledger.fromState({ ...state, daily: { '2026-11-25': null } }, 900, utc, now)).toBeNull();
    expect(Ledger.fromState({ ...state, daily: { '2026-11-25': 1e308 } }, 900, utc, now)).toBeNull();
    expect(Ledger.fromState('garbage', 900, utc, now)).toBeNull();
    expect(Ledger.fromState(state, 900, utc, now)).not.toBeNull();
  });
});

describe('the clock jumps backwards between two checks', () => {
  it('spend saved "in the future" counts as now, and new spend is never dropped', () => {
    const before = Date.UTC(2026, 10, 25, 12, 0, 0);
    const ledger = new Ledger(900, utc, before);
    for (let s = 0; s < 900; s++) ledger.add(before - s * 1000, 10_000); // a full 15 minutes at $0.01/s
    const saved = JSON.parse(JSON.stringify(ledger.toState()));
    for (const jumpMin of [10, 30, 90, 600]) {
      const after = before - jumpMin * 60_000; // the clock was set back
      const back = Ledger.fromState(saved, 900, utc, after)!;
      for (let s = 0; s < 900; s++) back.add(after - s * 1000, 20_000);
      // nothing is hidden: the old 15 minutes (now "in the future") and the new 15 minutes
      expect(back.rolling(900)).toBe((9 + 18) * 1e6);
    }
  });
});

describe('the clock jumps backwards across midnight', () => {
  it('spend saved for "tomorrow" counts today', () => {
    const before = Date.UTC(2026, 10, 26, 0, 10, 0); // 00:10 on the 26th
    const ledger = new Ledger(900, utc, before);
    ledger.add(Date.UTC(2026, 10, 25, 23, 0, 0), 1);
    ledger.add(before - 1000, 4);
    const after = Date.UTC(2026, 10, 25, 23, 50, 0); // set back to 23:50 on the 25th
    const back = Ledger.fromState(JSON.parse(JSON.stringify(ledger.toState())), 900, utc, after)!;
    expect(back.today()).toBe(5);
    expect(back.toState().daily).toEqual({ '2026-11-25': 5 });
  });
});

describe('figures at an earlier time (the app state file is dated)', () => {
  const NOW = Date.parse('2026-11-25T12:00:00Z');
  const ledger = new Ledger(3600, new DayCalendar('UTC'), NOW);
  ledger.add(NOW - 50 * 60_000, 1); // 50 minutes ago
  ledger.add(NOW - 10 * 60_000, 2);
  ledger.add(NOW - 60_000, 4);
  it.each([
    ['15m now', 900, NOW, 6],
    ['15m as of 5 minutes ago', 900, NOW - 5 * 60_000, 2],
    ['15m as of 40 minutes ago', 900, NOW - 40 * 60_000, 1],
    ['15m as of 50 minutes ago: beyond what is kept', 900, NOW - 50 * 60_000, null],
    ['a time in the future: now', 900, NOW + 60_000, 6],
  ])('rollingAt: %s', (_name, seconds, atMs, usd) => {
    expect(ledger.rollingAt(seconds, atMs)).toBe(usd);
  });

  it.each([
    ['now', NOW, 7],
    ['5 minutes ago', NOW - 5 * 60_000, 3],
    ['before all of it', NOW - 55 * 60_000, 0],
    ['yesterday', NOW - 13 * 3_600_000, null],
  ])('todayAt: %s', (_name, atMs, usd) => {
    expect(ledger.todayAt(atMs)).toBe(usd);
  });
});

// A line counts once, in one day and one window position, however the clock goes (DESIGN.md,
// Exactness). Amounts are whole µ$.
describe('a line counts in one day only', () => {
  const at = (iso: string): number => Date.parse(iso);
  const reload = (ledger: Ledger, horizon: number, calendar: DayCalendar, nowMs: number) =>
    Ledger.restore(JSON.parse(JSON.stringify(ledger.toState())), horizon, calendar, nowMs)!;

  it.each([
    // [what, the zone, the line's time, read at, checked again at, in the day of the second check, moved]
    [
      '60 s ahead, tomorrow, read at 23:59:30; again at 23:59:50: still tomorrow',
      'UTC',
      '2026-11-26T00:00:30Z',
      '2026-11-25T23:59:30Z',
      '2026-11-25T23:59:50Z',
      0,
      0,
    ],
    [
      'the same after midnight: counted in tomorrow, once',
      'UTC',
      '2026-11-26T00:00:30Z',
      '2026-11-25T23:59:30Z',
      '2026-11-26T00:00:40Z',
      7_000_000,
      0,
    ],
    [
      '4 min ahead, in Berlin, read at 23:57 local; again at 23:58',
      'Europe/Berlin',
      '2026-11-25T23:01:00Z',
      '2026-11-25T22:57:00Z',
      '2026-11-25T22:58:00Z',
      0,
      0,
    ],
    [
      'clock set back 20 min after the line was read at 00:10: today',
      'UTC',
      '2026-11-26T00:09:00Z',
      '2026-11-26T00:10:00Z',
      '2026-11-25T23:50:00Z',
      7_000_000,
      7_000_000,
    ],
    [
      'clock set back 2 min across midnight: still within the tolerance, its own day',
      'UTC',
      '2026-11-26T00:01:00Z',
      '2026-11-26T00:02:00Z',
      '2026-11-25T23:58:00Z',
      0,
      0,
    ],
    [
      'clock set back a day: today',
      'UTC',
      '2026-11-26T12:00:00Z',
      '2026-11-26T12:00:10Z',
      '2026-11-25T12:00:00Z',
      7_000_000,
      7_000_000,
    ],
  ])('%s', (_what, zone, lineIso, readIso, againIso, today, moved) => {
    const calendar = new DayCalendar(zone);
    const read = new Ledger(900, calendar, at(readIso));
    read.add(at(lineIso), 7_000_000);
    const again = reload(read, 900, calendar, at(againIso));
    expect(again.ledger.today()).toBe(today);
    expect(again.moved).toBe(moved);
    // Wherever it is, it is there once: the days kept sum to the line.
    expect(Object.values(again.ledger.toState().daily).reduce((a, b) => a + b, 0)).toBe(7_000_000);
    // And once in the rolling window (spend is never hidden by a clock running ahead).
    expect(again.ledger.rolling(900)).toBe(7_000_000);
  });

  it(
    'checks at 23:59:30, 23:59:50 (nothing saved) and after midnight count a line dated 00:00:30 in ' +
      'tomorrow only',
    () => {
      const first = new Ledger(900, utc, at('2026-11-25T23:59:30Z'));
      first.add(at('2026-11-25T23:59:00Z'), 1_000_000);
      first.add(at('2026-11-26T00:00:30Z'), 2_000_000);
      const saved = JSON.stringify(first.toState());
      expect(first.today()).toBe(1_000_000);
      // A later check with no new bytes does not save: the next one starts from the same state.
      const second = Ledger.fromState(JSON.parse(saved), 900, utc, at('2026-11-25T23:59:50Z'))!;
      expect(second.today()).toBe(1_000_000);
      const third = Ledger.fromState(JSON.parse(saved), 900, utc, at('2026-11-26T00:00:40Z'))!;
      expect(third.today()).toBe(2_000_000);
      expect(third.day('2026-11-25')).toBe(1_000_000);
    },
  );

  it('spend moved to today (the clock went back) is moved once: saved, it stays in today', () => {
    const calendar = utc;
    const read = new Ledger(900, calendar, at('2026-11-26T00:03:00Z'));
    read.add(at('2026-11-26T00:00:50Z'), 2_000_000); // within now + 5 min of the earlier clock
    read.add(at('2026-11-26T00:02:30Z'), 3_000_000); // beyond it
    const back = reload(read, 900, calendar, at('2026-11-25T23:56:00Z'));
    expect(back.moved).toBe(3_000_000);
    expect(back.ledger.today()).toBe(3_000_000);
    expect(back.ledger.day('2026-11-26')).toBe(2_000_000);
    expect(back.ledger.rolling(900)).toBe(5_000_000);
    // The check saves that; the clock comes right again: each µ$ is in one day.
    const right = reload(back.ledger, 900, calendar, at('2026-11-26T00:05:00Z'));
    expect(right.moved).toBe(0);
    expect(right.ledger.today()).toBe(2_000_000);
    expect(right.ledger.day('2026-11-25')).toBe(3_000_000);
  });

  it("a helper thread's part: a line dated tomorrow within the tolerance stays tomorrow's", () => {
    const now = at('2026-11-25T23:59:30Z');
    const main = new Ledger(900, utc, now);
    const helper = new Ledger(900, utc, now);
    main.add(at('2026-11-25T23:59:00Z'), 1_000_000);
    helper.add(at('2026-11-26T00:00:30Z'), 2_000_000);
    helper.add(at('2026-11-25T23:58:00Z'), 4_000_000);
    main.absorb(JSON.parse(JSON.stringify(helper.toState())));
    expect(main.today()).toBe(5_000_000);
    expect(main.day('2026-11-26')).toBe(2_000_000);
    expect(main.rolling(900)).toBe(7_000_000);
  });
});

describe('DST days: daily totals of the 23- and 25-hour days', () => {
  // One line of $1 at every whole hour of the local day (UTC instants), and one just before and
  // just after the day: the day's total is its length in hours.
  it.each([
    ['Europe/Berlin, spring forward', 'Europe/Berlin', '2026-03-29', '2026-03-28T23:00:00Z', 23],
    ['Europe/Berlin, fall back', 'Europe/Berlin', '2026-10-25', '2026-10-24T22:00:00Z', 25],
    ['America/New_York, spring forward', 'America/New_York', '2026-03-08', '2026-03-08T05:00:00Z', 23],
    ['America/New_York, fall back', 'America/New_York', '2026-11-01', '2026-11-01T04:00:00Z', 25],
    ['UTC, an ordinary day', 'UTC', '2026-11-01', '2026-11-01T00:00:00Z', 24],
  ])('%s: %s has %i hours', (_what, zone, key, startIso, hours) => {
    const calendar = new DayCalendar(zone);
    const start = Date.parse(startIso);
    const range = calendar.dayOf(start);
    expect([range.key, range.startMs, range.endMs - range.startMs]).toEqual([key, start, hours * 3_600_000]);
    const lastSecond = start + hours * 3_600_000 - 1000;
    const ledger = new Ledger(900, calendar, lastSecond);
    ledger.add(start - 1, 500_000); // the day before
    for (let h = 0; h < hours; h++) ledger.add(start + h * 3_600_000, 1_000_000);
    ledger.add(lastSecond, 250_000);
    expect(ledger.today()).toBe(hours * 1_000_000 + 250_000);
    // Saved, and read again the next morning: the day keeps its total, the next day starts at 0.
    const next = Ledger.fromState(
      JSON.parse(JSON.stringify(ledger.toState())),
      900,
      calendar,
      start + hours * 3_600_000 + 3_600_000,
    )!;
    expect(next.day(key)).toBe(hours * 1_000_000 + 250_000);
    expect(next.today()).toBe(0);
    ledger.add(start + hours * 3_600_000, 1); // the first instant of the next day is the next day's
    expect(ledger.day(key)).toBe(hours * 1_000_000 + 250_000);
  });
});

describe('today as of an earlier time, with a line of tomorrow already read', () => {
  it("todayAt does not take tomorrow's spend off today's", () => {
    const now = Date.parse('2026-11-25T23:59:30Z');
    const ledger = new Ledger(900, utc, now);
    ledger.add(Date.parse('2026-11-25T23:59:00Z'), 1_000_000);
    ledger.add(Date.parse('2026-11-26T00:00:30Z'), 2_000_000);
    expect(ledger.todayAt(Date.parse('2026-11-25T23:59:10Z'))).toBe(1_000_000);
    expect(ledger.todayAt(Date.parse('2026-11-25T23:58:00Z'))).toBe(0);
  });
});

describe('spend per minute (the chart, the sparkline)', () => {
  const cal = new DayCalendar('UTC');
  const t0 = Date.parse('2026-01-05T10:00:00Z');
  it('keeps six hours of minutes beyond the horizon, saved and restored', () => {
    const ledger = new Ledger(900, cal, t0 + 3 * 3_600_000);
    ledger.add(t0 + 5_000, 1_000_000); // three hours ago: outside the 15 min horizon
    ledger.add(t0 + 50_000, 500_000);
    ledger.add(t0 + 3 * 3_600_000 - 30_000, 250_000);
    const at = ledger.perMinute(t0, t0 + 60_000);
    expect(at).toEqual([
      [t0, 1_500_000],
      [t0 + 60_000, 0],
    ]);
    const restored = Ledger.fromState(ledger.toState(), 900, cal, t0 + 3 * 3_600_000);
    expect(restored?.perMinute(t0, t0)).toEqual([[t0, 1_500_000]]);
    expect(restored?.perMinute(t0 + 3 * 3_600_000 - 60_000, t0 + 3 * 3_600_000 - 60_000)).toEqual([
      [t0 + 3 * 3_600_000 - 60_000, 250_000],
    ]);
  });
  it('drops minutes older than six hours, and reads an older checkpoint without them', () => {
    const ledger = new Ledger(900, cal, t0 + 7 * 3_600_000);
    ledger.add(t0, 1_000_000);
    expect(ledger.perMinute(t0, t0).length).toBe(0);
    const state = ledger.toState();
    delete state.minutes;
    expect(Ledger.fromState(state, 900, cal, t0 + 7 * 3_600_000)).not.toBeNull();
  });
});
