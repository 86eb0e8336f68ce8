import { describe, expect, it } from 'vitest';
import { DayCalendar, isValidTimeZone } from '../../src/core/calendar.js';
import { Ledger } from '../../src/core/ledger.js';

const H = 3_600_000;

describe('calendar days across DST', () => {
  const cases: [string, string, string, string, number][] = [
    // zone, an instant inside the day, its date, the day's first instant (UTC), hours in the day
    ['UTC', '2026-11-25T12:00:00Z', '2026-11-25', '2026-11-25T00:00:00.000Z', 24],
    ['America/New_York', '2026-03-08T12:00:00Z', '2026-03-08', '2026-03-08T05:00:00.000Z', 23],
    ['America/New_York', '2026-11-01T12:00:00Z', '2026-11-01', '2026-11-01T04:00:00.000Z', 25],
    ['America/New_York', '2026-11-02T04:59:59Z', '2026-11-01', '2026-11-01T04:00:00.000Z', 25],
    ['Europe/London', '2026-03-29T12:00:00Z', '2026-03-29', '2026-03-29T00:00:00.000Z', 23],
    ['Europe/Berlin', '2026-10-25T12:00:00Z', '2026-10-25', '2026-10-24T22:00:00.000Z', 25],
    ['Australia/Lord_Howe', '2026-10-04T12:00:00Z', '2026-10-04', '2026-10-03T13:30:00.000Z', 23.5],
    // Santiago moves its clocks at midnight: that day starts at 01:00 local time
    ['America/Santiago', '2026-09-06T12:00:00Z', '2026-09-06', '2026-09-06T04:00:00.000Z', 23],
    ['Asia/Kolkata', '2026-11-25T12:00:00Z', '2026-11-25', '2026-11-24T18:30:00.000Z', 24],
    ['Pacific/Chatham', '2026-11-25T12:00:00Z', '2026-11-26', '2026-11-25T10:15:00.000Z', 24],
  ];
  it.each(cases)('%s at %s', (zone, at, date, start, hours) => {
    const day = new DayCalendar(zone).dayOf(Date.parse(at));
    expect(day.key).toBe(date);
    expect(new Date(day.startMs).toISOString()).toBe(start);
    expect((day.endMs - day.startMs) / H).toBe(hours);
  });

  it('the daily window sums exactly the local day, on a 25-hour day', () => {
    const cal = new DayCalendar('America/New_York');
    const now = Date.parse('2026-11-02T04:30:00Z'); // 23:30 local on Nov 1 (EST)
    const ledger = new Ledger(900, cal, now);
    ledger.add(Date.parse('2026-11-01T03:59:59Z'), 100); // 23:59:59 Oct 31 EDT: yesterday
    ledger.add(Date.parse('2026-11-01T04:00:00Z'), 1); // 00:00 Nov 1 EDT
    ledger.add(Date.parse('2026-11-01T05:30:00Z'), 2); // 01:30 EDT
    ledger.add(Date.parse('2026-11-01T06:30:00Z'), 4); // 01:30 EST (the repeated hour)
    ledger.add(Date.parse('2026-11-02T04:29:00Z'), 8); // 23:29 EST
    expect(ledger.today()).toBe(15);
    expect(ledger.day('2026-10-31')).toBe(100);
  });

  it('knows valid zones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('saved daily totals come back in any zone', () => {
  it.each(['Pacific/Kiritimati', 'Etc/GMT+12', 'UTC', 'America/Santiago'])('%s', (zone) => {
    const cal = new DayCalendar(zone);
    const now = Date.parse('2026-11-25T12:00:00Z');
    const ledger = new Ledger(900, cal, now);
    ledger.add(now, 3);
    ledger.add(now - 86_400_000, 2);
    const back = Ledger.fromState(JSON.parse(JSON.stringify(ledger.toState())), 900, cal, now)!;
    expect(back.today()).toBe(3);
    expect(back.day(cal.dayOf(now - 86_400_000).key)).toBe(2);
  });
});

describe('UTC without Intl', () => {
  it('agrees with an Intl zone at offset 0 (Africa/Abidjan)', () => {
    const utc = new DayCalendar('UTC');
    const intl = new DayCalendar('Africa/Abidjan');
    let t = Date.UTC(2019, 0, 1);
    for (let i = 0; i < 300; i++) {
      t += Math.floor(((i * 7919) % 1000) * 3_600_000 * 0.731);
      expect(utc.dayOf(t)).toEqual(intl.dayOf(t));
    }
  });
});
