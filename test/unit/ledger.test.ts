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
        const cost = Math.round(r() * 100000) / 1e5;
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
        expect(ledger.rolling(w)).toBeCloseTo(brute, 6);
        expect(reloaded!.rolling(w)).toBeCloseTo(brute, 6);
      }
      const today = utc.dayOf(now);
      const bruteToday = events.filter(([t]) => t >= today.startMs && t < today.endMs).reduce((a, [, c]) => a + c, 0);
      expect(ledger.today()).toBeCloseTo(bruteToday, 6);
      expect(reloaded!.today()).toBeCloseTo(bruteToday, 6);
    });
  }
});

describe('ledger over time', () => {
  it('spend leaves the window as time moves on, and memory stays bounded', () => {
    const t0 = Date.UTC(2026, 10, 25, 12, 0, 0);
    const ledger = new Ledger(900, utc, t0);
    for (let i = 0; i < 120_000; i++) ledger.add(t0 - (i % 600) * 1000, 0.01); // 120k calls in 10 min
    expect(ledger.rolling(900)).toBeCloseTo(1200, 6);
    expect(ledger.toState().rolling.length).toBe(600); // one bucket per second, not per call
    const later = Ledger.fromState(ledger.toState(), 900, utc, t0 + 600_000)!;
    // 10 minutes later only the first 5 minutes' seconds (t0-299s .. t0) are still inside 15m
    expect(later.rolling(900)).toBeCloseTo(300 * 200 * 0.01, 6);
    expect(later.today()).toBeCloseTo(1200, 6);
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
    expect(Ledger.fromState('garbage', 900, utc, now)).toBeNull();
    expect(Ledger.fromState(state, 900, utc, now)).not.toBeNull();
  });
});

describe('the clock jumps backwards between two checks', () => {
  it('spend saved "in the future" counts as now, and new spend is never dropped', () => {
    const before = Date.UTC(2026, 10, 25, 12, 0, 0);
    const ledger = new Ledger(900, utc, before);
    for (let s = 0; s < 900; s++) ledger.add(before - s * 1000, 0.01); // a full 15 minutes
    const saved = JSON.parse(JSON.stringify(ledger.toState()));
    for (const jumpMin of [10, 30, 90, 600]) {
      const after = before - jumpMin * 60_000; // the clock was set back
      const back = Ledger.fromState(saved, 900, utc, after)!;
      for (let s = 0; s < 900; s++) back.add(after - s * 1000, 0.02);
      // nothing is hidden: the old 15 minutes (now "in the future") and the new 15 minutes
      expect(back.rolling(900)).toBeCloseTo(9 + 18, 6);
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
    expect(back.today()).toBeCloseTo(5, 9);
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
