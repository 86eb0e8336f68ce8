import { describe, expect, it } from 'vitest';
import { Attribution } from '../../src/core/attribution.js';
import {
  actionLines,
  type AlertFacts,
  alertLines,
  consoleLine,
  type KillSummary,
  slackEscape,
  slackText,
} from '../../src/core/alert-text.js';
import { DayCalendar } from '../../src/core/calendar.js';
import { Labels } from '../../src/core/labels.js';
import { levelOf, type WindowStatus } from '../../src/core/levels.js';
import { unsafeFile, unsafeFolder } from '../../src/core/strict.js';

const LIMITS = { warn: 3, emergency: 5, kill: 8 };
const w15: WindowStatus = {
  name: '15m',
  seconds: 900,
  limits: LIMITS,
  spend: 8.4,
  level: levelOf(8.4, LIMITS),
};

const kill: KillSummary = {
  notRunning: false,
  tree: [
    { pid: 10, name: 'my-agent' },
    { pid: 11, name: 'worker' },
  ],
  exited: [10],
  killed: [11],
  refused: [],
  survivors: [],
  stop: null,
  notes: [],
  dryRun: false,
};

function facts(patch: Partial<AlertFacts> = {}): AlertFacts {
  return {
    host: 'box',
    atIso: '2026-11-25T12:00:00.000Z',
    by: 'run',
    events: [{ kind: 'escalate', window: '15m', level: 'kill', previous: 'warn', spend: 8.4, limit: 8 }],
    windows: [w15],
    tops: {
      window: '15m',
      models: [
        ['<!channel>', 6],
        ['gpt-4o', 2.4],
      ],
      agents: [['a&b', 8.4]],
    },
    flag: { kind: 'written', file: '/app/state/cost_emergency.flag' },
    kill,
    ...patch,
  };
}

describe('alert text', () => {
  it('says level, window, spend against the limit, top spenders, what was done, host and time', () => {
    const lines = alertLines(facts());
    expect(lines[0]).toBe('KILL: 15m spend $8.40 crossed the kill limit $8.00 (was warn)');
    const all = lines.join('\n');
    expect(all).toContain('top models (15m): <!channel> $6.00, gpt-4o $2.40');
    expect(all).toContain('top agents (15m): a&b $8.40');
    expect(all).toContain('emergency flag written: /app/state/cost_emergency.flag');
    expect(all).toContain('killed 2 processes (1 needed SIGKILL): 10 (my-agent), 11 (worker)');
    expect(all).toContain('host box at 2026-11-25T12:00:00.000Z');
  });

  it('escapes text from the log so it cannot ping a channel or make a link', () => {
    const text = slackText(facts(), 'kill');
    expect(text).not.toMatch(/<!channel>|[^&]&b/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('a&amp;b');
    expect(slackEscape('<https://x|y> & <@U1>')).toBe('&lt;https://x|y&gt; &amp; &lt;@U1&gt;');
  });

  it('is one line on the console', () => {
    const line = consoleLine(facts());
    expect(line).not.toContain('\n');
    expect(line.startsWith('ALERT KILL: 15m')).toBe(true);
  });

  const actionRows: [string, Parameters<typeof actionLines>, string[]][] = [
    [
      'flag failed',
      [{ kind: 'failed', file: '/f', error: 'read-only file system' }, null],
      ['EMERGENCY FLAG NOT WRITTEN: /f: read-only file system'],
    ],
    [
      'nothing running',
      [{ kind: 'none' }, { ...kill, notRunning: true, tree: [], exited: [], killed: [] }],
      ['kill: no target running'],
    ],
    [
      'refused and surviving',
      [
        { kind: 'exists', file: '/f' },
        { ...kill, exited: [], killed: [], refused: [10], survivors: [10] },
      ],
      [
        'emergency flag in force: /f',
        'KILL REFUSED (EPERM, not ours to signal): 10 (my-agent)',
        'KILL FAILED, still running: 10 (my-agent)',
      ],
    ],
    [
      'stop command failed, then signals worked',
      [
        { kind: 'none' },
        { ...kill, killed: [], exited: [10, 11], stop: { ok: false, exitCode: 5, timedOut: false } },
      ],
      ['STOP COMMAND FAILED: exit 5', 'killed 2 processes (after SIGTERM): 10 (my-agent), 11 (worker)'],
    ],
    [
      'dry run',
      [
        { kind: 'would-write', file: '/f' },
        { ...kill, dryRun: true },
      ],
      [
        'would write the emergency flag: /f',
        'would send SIGTERM, then SIGKILL after the grace period, to 10 (my-agent), 11 (worker)',
      ],
    ],
  ];
  it('names at most 12 PIDs and counts the rest', () => {
    const tree = Array.from({ length: 30 }, (_, i) => ({ pid: 100 + i, name: 'w' }));
    const [line] = actionLines(
      { kind: 'none' },
      { ...kill, tree, exited: tree.map((p) => p.pid), killed: [] },
    );
    expect(line).toMatch(
      /^killed 30 processes \(after SIGTERM\): 100 \(w\), .*111 \(w\), and 18 more \(all in the audit log\)$/,
    );
  });

  it.each(actionRows)('actions: %s', (_name, args, want) => expect(actionLines(...args)).toEqual(want));
});

describe('attribution: top spenders per window', () => {
  const labels = new Labels();
  const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
  it('ranks models and agents in a rolling window and in the day, and survives a save', () => {
    const a = new Attribution(900, new DayCalendar('UTC'), NOW);
    a.add(NOW - 60_000, 2_000_000, labels.idOfString('gpt-4o'), labels.idOfString('a1'), 'gpt-4o', 'a1');
    a.add(NOW - 30_000, 5_000_000, labels.idOfString('claude'), labels.idOfString('a2'), 'claude', 'a2');
    a.add(
      NOW - 3 * 3_600_000,
      10_000_000,
      labels.idOfString('old-model'),
      labels.idOfString('a1'),
      'old-model',
      'a1',
    ); // today, outside 15 minutes
    a.add(
      NOW - 2 * 86_400_000,
      99_000_000,
      labels.idOfString('ancient'),
      labels.idOfString('a9'),
      'ancient',
      'a9',
    ); // before yesterday: dropped
    expect(a.top(900, 'model')).toEqual([
      ['claude', 5],
      ['gpt-4o', 2],
    ]);
    expect(a.top(null, 'model')).toEqual([
      ['old-model', 10],
      ['claude', 5],
      ['gpt-4o', 2],
    ]);
    expect(a.top(null, 'agent')).toEqual([
      ['a1', 12],
      ['a2', 5],
    ]);
    const b = Attribution.fromState(
      JSON.parse(JSON.stringify(a.toState())),
      900,
      new DayCalendar('UTC'),
      NOW + 20 * 60_000,
    );
    // 20 minutes later the recent spend has left the 15-minute window but is still today's.
    expect(b.top(900, 'model')).toEqual([]);
    expect(b.top(null, 'agent')).toEqual([
      ['a1', 12],
      ['a2', 5],
    ]);
  });

  it("the day's top spenders are not tomorrow's (a line dated ahead within the tolerance)", () => {
    const now = Date.UTC(2026, 10, 25, 23, 59, 30);
    const a = new Attribution(900, new DayCalendar('UTC'), now);
    a.add(now - 20_000, 1_000_000, labels.idOfString('today-model'), -2, 'today-model', null);
    a.add(
      Date.UTC(2026, 10, 26, 0, 0, 30),
      2_000_000,
      labels.idOfString('tomorrow-model'),
      -2,
      'tomorrow-model',
      null,
    );
    expect(a.top(null, 'model')).toEqual([['today-model', 1]]);
    expect(a.top(900, 'model')).toEqual([
      ['tomorrow-model', 2],
      ['today-model', 1],
    ]);
  });

  it('ranks logs (sources), a long path kept by its end (the file name tells them apart)', () => {
    const a = new Attribution(900, new DayCalendar('UTC'), NOW);
    const long = `${'deep/'.repeat(20)}5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10.jsonl`;
    a.addSource(NOW - 60_000, 3_000_000, long);
    a.addSource(NOW - 30_000, 1_000_000, 'workers/w1/cost_log.jsonl');
    a.addSource(NOW - 20_000, 1_000_000, 'workers/w1/cost_log.jsonl');
    const top = a.top(900, 'source');
    expect(top[0]![0]).toMatch(/^….*\/5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10\.jsonl$/);
    expect(top[0]![0].length).toBe(80);
    expect(top).toEqual([
      [top[0]![0], 3],
      ['workers/w1/cost_log.jsonl', 2],
    ]);
    const back = Attribution.fromState(
      JSON.parse(JSON.stringify(a.toState())),
      900,
      new DayCalendar('UTC'),
      NOW,
    );
    expect(back.top(900, 'source')).toEqual(top);
  });

  it('keeps at most 20 names per bucket, the rest as (other)', () => {
    const a = new Attribution(900, new DayCalendar('UTC'), NOW);
    for (let i = 0; i < 30; i++)
      a.add(NOW - 1000, 1_000_000, i % 2 === 0 ? labels.idOfString(`m${i}`) : -1, -2, `m${i}`, null);
    const top = a.top(900, 'model', 100);
    expect(top.length).toBe(21);
    expect(top[0]).toEqual(['(other)', 10]);
  });
});

describe('StrictModes', () => {
  const rows: [string, { mode: number; uid: number }, number, RegExp | null][] = [
    ['ours, 0644', { mode: 0o100644, uid: 1000 }, 1000, null],
    ["root's, 0600, run by a user", { mode: 0o100600, uid: 0 }, 1000, null],
    ['group-writable', { mode: 0o100664, uid: 1000 }, 1000, /writable by group \(mode 0664\).*chmod go-w/],
    ['world-writable', { mode: 0o100666, uid: 0 }, 0, /writable by group and others/],
    [
      "someone else's",
      { mode: 0o100644, uid: 1001 },
      1000,
      /owned by uid 1001, not by root or the user the watchdog runs as \(uid 1000\).*chown 1000/,
    ],
    [
      "a user's file, watchdog run as root",
      { mode: 0o100644, uid: 1000 },
      0,
      /owned by uid 1000.*chown root/,
    ],
  ];
  it.each(rows)('%s', (_name, st, euid, want) => {
    const problem = unsafeFile({ ...st, isDirectory: false }, euid, '/etc/cw.yaml');
    if (want === null) expect(problem).toBeNull();
    else expect(problem).toMatch(want);
  });
  it('a folder anyone can write to is refused unless sticky (like /tmp)', () => {
    expect(unsafeFolder({ mode: 0o40777, uid: 0, isDirectory: true }, '/x')).toMatch(/anyone can write/);
    expect(unsafeFolder({ mode: 0o41777, uid: 0, isDirectory: true }, '/tmp')).toBeNull();
    expect(unsafeFolder({ mode: 0o40755, uid: 0, isDirectory: true }, '/etc')).toBeNull();
  });
});
