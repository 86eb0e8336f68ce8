// The daily summary's pure parts: the book of peaks (recorded at checks), the day's actions from
// audit lines, the summary's figures and text, the claim's judgement of a marker, dates.
import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import type { WindowSpec } from '../../src/core/levels.js';
import { actionsOf, emptyActions } from '../../src/summary/audit-day.js';
import { emptyBook, parseBook, recordCheck, type SummaryBook } from '../../src/summary/book.js';
import { judgeMarker, STALE_MS } from '../../src/summary/claim.js';
import {
  composeSummary,
  dayTops,
  type SummaryFacts,
  summaryLines,
  summarySlackText,
} from '../../src/summary/compose.js';
import { dayOfDate, yesterday } from '../../src/summary/deliver.js';

const DAY = '2026-12-01';
const START = Date.parse(`${DAY}T00:00:00Z`);
const END = START + 86_400_000;

describe('recordCheck: a window peak rises only when a check sees more', () => {
  const check = (date: string, at: string, windows: [string, number][], keepFrom = '2026-11-24') => ({
    date,
    atIso: at,
    windows: windows.map(([name, spend]) => ({ name, spend })),
    scopes: [],
    keepFrom,
  });
  const cases: [string, SummaryBook, ReturnType<typeof check>, SummaryBook | null][] = [
    [
      'first check of a day records every window, $0 too',
      emptyBook(),
      check(DAY, `${DAY}T01:00:00Z`, [
        ['15m', 0],
        ['daily', 1],
      ]),
      {
        version: 1,
        peaks: {
          [DAY]: { '15m': { usd: 0, at: `${DAY}T01:00:00Z` }, daily: { usd: 1, at: `${DAY}T01:00:00Z` } },
        },
        scopes: {},
      },
    ],
    [
      'a higher figure replaces the peak and its time',
      { version: 1, peaks: { [DAY]: { '15m': { usd: 2, at: `${DAY}T01:00:00Z` } } }, scopes: {} },
      check(DAY, `${DAY}T02:00:00Z`, [['15m', 4.4]]),
      { version: 1, peaks: { [DAY]: { '15m': { usd: 4.4, at: `${DAY}T02:00:00Z` } } }, scopes: {} },
    ],
    [
      'a lower or equal figure changes nothing (no write)',
      { version: 1, peaks: { [DAY]: { '15m': { usd: 4.4, at: `${DAY}T02:00:00Z` } } }, scopes: {} },
      check(DAY, `${DAY}T03:00:00Z`, [['15m', 4.4]]),
      null,
    ],
    [
      'days before keepFrom go',
      { version: 1, peaks: { '2026-11-01': { '15m': { usd: 9, at: '2026-11-01T02:00:00Z' } } }, scopes: {} },
      check(DAY, `${DAY}T03:00:00Z`, []),
      { version: 1, peaks: {}, scopes: {} },
    ],
    [
      'a figure that is not a finite amount is ignored',
      emptyBook(),
      check(DAY, `${DAY}T03:00:00Z`, [['15m', Number.NaN]]),
      null,
    ],
  ];
  it.each(cases)('%s', (_name, book, figures, expected) => {
    expect(recordCheck(book, figures)).toEqual(expected);
  });

  it('keeps the highest scopes of a day, at most 10', () => {
    let book: SummaryBook = emptyBook();
    for (let i = 1; i <= 12; i++) {
      book =
        recordCheck(book, {
          date: DAY,
          atIso: `${DAY}T03:00:00Z`,
          windows: [],
          scopes: [{ label: `every-agent agent=a${i}`, spend: i }],
          keepFrom: DAY,
        }) ?? book;
    }
    const kept = Object.keys(book.scopes[DAY] ?? {});
    expect(kept).toHaveLength(10);
    expect(kept[0]).toBe('every-agent agent=a12');
    expect(kept).not.toContain('every-agent agent=a1');
  });
});

describe('parseBook: what summary.json held, read without trusting it', () => {
  const cases: [string, unknown, SummaryBook][] = [
    ['null', null, emptyBook()],
    ['an array', [1, 2], emptyBook()],
    [
      'a bad date key',
      { peaks: { yesterday: { '15m': { usd: 1, at: '2026-12-01T00:00:00Z' } } } },
      emptyBook(),
    ],
    [
      'a negative, a string and a bad time dropped',
      {
        peaks: {
          [DAY]: {
            a: { usd: -1, at: '2026-12-01T00:00:00Z' },
            b: { usd: '3', at: '2026-12-01T00:00:00Z' },
            c: { usd: 3, at: 'noon' },
            d: { usd: 3, at: '2026-12-01T00:00:00Z' },
          },
        },
        scopes: { [DAY]: { x: 2, y: 'no' } },
      },
      {
        version: 1,
        peaks: { [DAY]: { d: { usd: 3, at: '2026-12-01T00:00:00Z' } } },
        scopes: { [DAY]: { x: 2 } },
      },
    ],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(parseBook(value)).toEqual(expected);
  });
});

const line = (ts: string, event: string, fields: Record<string, unknown> = {}, pid = 7): string =>
  JSON.stringify({ ts, event, pid, ...fields });

describe('actionsOf: the alerts, kills and flags of a day from audit lines', () => {
  const T = (hm: string): string => `${DAY}T${hm}:00.000Z`;
  const cases: [string, string[], Partial<ReturnType<typeof emptyActions>>][] = [
    [
      "a decision's events are alerts; a flag written is counted",
      [
        line(T('14:05'), 'decision', {
          events: ['enter:15m:warn', 'escalate:daily:emergency'],
          flag: 'written',
        }),
      ],
      {
        alerts: [
          { at: T('14:05'), level: 'warn', what: '15m enter warn' },
          { at: T('14:05'), level: 'emergency', what: 'daily escalate emergency' },
        ],
        flagsWritten: 1,
      },
    ],
    [
      'lines outside the day are left out',
      [
        line('2026-11-30T23:59:59.999Z', 'decision', { events: ['enter:15m:warn'] }),
        line('2026-12-02T00:00:00.000Z', 'decision', { events: ['enter:15m:warn'] }),
      ],
      { alerts: [] },
    ],
    [
      'a scope decision names the scope and its value',
      [
        line(T('10:00'), 'scope_decision', {
          scope: 'every-agent',
          key: { agent: 'bob' },
          events: ['enter:daily:kill'],
        }),
      ],
      { alerts: [{ at: T('10:00'), level: 'kill', what: 'scope every-agent agent=bob daily enter kill' }] },
    ],
    [
      "a check's kill counts; 'no target running' does not",
      [
        line(T('11:00'), 'kill', { result: 'killed' }),
        line(T('11:01'), 'kill', { result: 'no target running' }),
      ],
      { kills: [{ at: T('11:00'), result: 'killed' }] },
    ],
    [
      'a kill by hand and its outcome are one kill',
      [
        line(T('12:00'), 'manual_kill', { by: 'alice', reason: 'loop' }, 42),
        line(T('12:00'), 'kill', { result: 'no target running' }, 42),
      ],
      { kills: [{ at: T('12:00'), result: 'manual kill: no target running', by: 'alice', reason: 'loop' }] },
    ],
    [
      'not JSON is counted as unreadable; odd shapes are skipped',
      [
        '{"ts": "2026-12-01T',
        'null',
        '[]',
        line(T('09:00'), 'decision', { events: ['bogus', 7, 'enter:15m:nope'] }),
      ],
      { unreadable: 1, alerts: [] },
    ],
    [
      'flags cleared are listed with who and why',
      [line(T('16:00'), 'flag_cleared', { by: 'bob', reason: 'fixed' })],
      { flagsCleared: [{ at: T('16:00'), by: 'bob', reason: 'fixed' }] },
    ],
  ];
  it.each(cases)('%s', (_name, lines, expected) => {
    expect(actionsOf(lines, START, END)).toMatchObject({ ...emptyActions(), ...expected });
  });
});

const WINDOWS: WindowSpec[] = [
  { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 } },
  { name: 'daily', seconds: null, limits: { warn: 20, emergency: 25, kill: 30 } },
];

function facts(over: Partial<SummaryFacts> = {}): SummaryFacts {
  return {
    date: DAY,
    timezone: 'UTC',
    host: 'web-3',
    generatedAtMs: END + 9 * 3_600_000,
    startMs: START,
    endMs: END,
    windows: WINDOWS,
    peaks: { '15m': { usd: 4.2, at: `${DAY}T14:03:10Z` }, daily: { usd: 11, at: `${DAY}T23:59:00Z` } },
    dailyMicros: 11_900_000,
    attribution: {
      minutes: [[Math.floor(END / 60_000) - 1, { 'gpt-4o': 1_000_000 }, {}]],
      days: { [DAY]: [{ 'gpt-4o': 7_100_000, 'claude-sonnet': 3_800_000 }, { research: 6_000_000 }] },
    },
    scopes: { research: 6 },
    actions: actionsOf(
      [
        line(`${DAY}T14:03:10Z`, 'decision', { events: ['enter:15m:warn'] }),
        line(`${DAY}T14:30:00Z`, 'decision', { events: ['recovery:15m:ok'] }),
      ],
      START,
      END,
    ),
    flag: { active: false },
    notes: [],
    ...over,
  };
}

describe('composeSummary: the figures of a day', () => {
  const cases: [string, Partial<SummaryFacts>, (s: ReturnType<typeof composeSummary>) => void][] = [
    [
      'the daily total comes from the ledger, a rolling peak from the checks',
      {},
      (s) => {
        expect(s.windows).toEqual([
          {
            window: '15m',
            peak_usd: 4.2,
            at: `${DAY}T14:03:10Z`,
            level: 'warn',
            limits: WINDOWS[0]?.limits,
            seen: 'checks',
          },
          {
            window: 'daily',
            peak_usd: 11.9,
            at: null,
            level: 'ok',
            limits: WINDOWS[1]?.limits,
            seen: 'ledger',
          },
        ]);
      },
    ],
    [
      'a day beyond the ledger falls back on the checks; no check at all is "not recorded"',
      { dailyMicros: null, peaks: undefined },
      (s) => {
        expect(s.windows.map((w) => [w.peak_usd, w.seen])).toEqual([
          [null, 'not recorded'],
          [null, 'not recorded'],
        ]);
      },
    ],
    [
      'checks that day but no spend in a window: $0, ok',
      { peaks: {} },
      (s) => expect(s.windows[0]).toMatchObject({ peak_usd: 0, level: 'ok', seen: 'checks' }),
    ],
    [
      "top spenders sum the day's bucket and its minutes still kept",
      {},
      (s) => {
        expect(s.top.models).toEqual([
          { name: 'gpt-4o', usd: 8.1 },
          { name: 'claude-sonnet', usd: 3.8 },
        ]);
        expect(s.top.agents).toEqual([{ name: 'research', usd: 6 }]);
        expect(s.top.scopes).toEqual([{ name: 'research', usd: 6 }]);
      },
    ],
    [
      'alerts counted and listed',
      {},
      (s) => expect([s.alerts.count, s.alerts.list[0]?.what]).toEqual([2, '15m enter warn']),
    ],
    [
      'the flag now, with its time and reason',
      { flag: { active: true, since: `${DAY}T14:03:10Z`, reason: '15m spend $5 >= emergency' } },
      (s) =>
        expect(s.flag_now).toEqual({
          active: true,
          since: `${DAY}T14:03:10Z`,
          reason: '15m spend $5 >= emergency',
          unknown: null,
        }),
    ],
  ];
  it.each(cases)('%s', (_name, over, check) => check(composeSummary(facts(over))));
});

describe('dayTops', () => {
  it('leaves out minutes of other days and names without spend', () => {
    const tops = dayTops(
      {
        minutes: [
          [Math.floor(END / 60_000), { late: 5 }, {}],
          [Math.floor(START / 60_000), { early: 0 }, {}],
        ],
        days: {},
      },
      DAY,
      START,
      END,
    );
    expect(tops.models).toEqual([]);
  });
});

describe('summary text', () => {
  it('reads as a few lines, in the config timezone', () => {
    expect(summaryLines(composeSummary(facts({ timezone: 'Europe/Berlin' })))).toEqual([
      'daily summary for 2026-12-01 (Europe/Berlin) on web-3',
      '  15m: peak $4.20 at 15:03 (warn $3.00 / emergency $5.00 / kill $8.00): warn',
      '  daily: total $11.90 (warn $20.00 / emergency $25.00 / kill $30.00): ok',
      '  top spenders: models: gpt-4o $8.10, claude-sonnet $3.80 | agents: research $6.00 | ' +
        'scopes: research $6.00',
      '  alerts: 2 (15:03 15m enter warn; 15:30 15m recovery ok)',
      '  kills: none; flags written: 0, cleared: 0',
      '  emergency flag now: not in force',
    ]);
  });

  it('for Slack: a bold headline, bullets, and names from the log escaped', () => {
    const text = summarySlackText(
      composeSummary(
        facts({
          attribution: {
            minutes: [],
            days: { [DAY]: [{ '<!channel>': 1_000_000 }, { '@here': 1_000_000 }] },
          },
        }),
      ),
    );
    expect(text.split('\n')[0]).toBe(
      ':bar_chart: *cost-watchdog: daily summary for 2026-12-01 (UTC) on web-3*',
    );
    expect(text).toContain('• 15m: peak $4.20 at 14:03');
    expect(text).toContain('&lt;!channel&gt; $1.00');
    expect(text).toContain('@\u200bhere $1.00');
    expect(text).not.toContain('<!channel>');
  });

  it('more than five alerts: the first five and a count of the rest', () => {
    const lines = Array.from({ length: 7 }, (_, i) =>
      line(`${DAY}T1${i}:00:00Z`, 'decision', { events: ['reminder:15m:emergency'] }),
    );
    const text = summaryLines(composeSummary(facts({ actions: actionsOf(lines, START, END) }))).join('\n');
    expect(text).toContain('alerts: 7 (10:00 15m reminder emergency;');
    expect(text).toContain('; and 2 more)');
  });
});

describe('judgeMarker: a day claimed, sent, or left by a process that died', () => {
  const now = Date.parse('2026-12-02T09:00:30Z');
  const marker = (status: string, at: string, pid = 100, host = 'web-3') => ({
    date: DAY,
    status,
    at,
    pid,
    host,
    by: 'watch',
  });
  const alive = (pid: number): boolean => pid === 100;
  const cases: [string, unknown, string][] = [
    ['sent', marker('sent', '2026-12-02T09:00:00Z'), 'sent'],
    ['being sent by a live process', marker('sending', '2026-12-02T09:00:20Z'), 'busy'],
    [
      'sending, by a process of this host that is gone',
      marker('sending', '2026-12-02T09:00:20Z', 999),
      'stale',
    ],
    [
      'sending, on another host (cannot tell): busy',
      marker('sending', '2026-12-02T09:00:20Z', 999, 'web-4'),
      'busy',
    ],
    [
      'sending for longer than any send takes',
      marker('sending', new Date(now - STALE_MS - 1000).toISOString(), 999, 'web-4'),
      'stale',
    ],
    ['not JSON of ours', { hello: 1 }, 'stale'],
    ['null', null, 'stale'],
  ];
  it.each(cases)('%s', (_name, value, kind) => {
    expect(judgeMarker(value, now, 'web-3', alive).kind).toBe(kind);
  });
});

describe('dates', () => {
  const cases: [string, string, string | null][] = [
    ['UTC', '2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['Pacific/Kiritimati', '2026-12-01', '2026-11-30T10:00:00.000Z'],
    ['Pacific/Pago_Pago', '2026-12-01', '2026-12-01T11:00:00.000Z'],
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00.000Z'],
    ['UTC', '2026-02-30', null],
    ['UTC', '1 Dec', null],
  ];
  it.each(cases)('dayOfDate in %s: %s starts at %s', (tz, date, start) => {
    const day = dayOfDate(new DayCalendar(tz), date);
    expect(day === null ? null : new Date(day.startMs).toISOString()).toBe(start);
  });
  it('yesterday is the local day before', () => {
    const cal = new DayCalendar('Europe/Berlin');
    expect(yesterday(cal, Date.parse('2026-12-01T23:30:00Z')).key).toBe('2026-12-01');
    expect(yesterday(cal, Date.parse('2026-12-01T22:30:00Z')).key).toBe('2026-11-30');
  });
});
