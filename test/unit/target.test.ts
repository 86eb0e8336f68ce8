import { describe, expect, it } from 'vitest';
import {
  graceSpendExceeded,
  judgePidFile,
  matchesName,
  matchesRule,
  type ProcessInfo,
  processStartMs,
  protectedPids,
} from '../../src/core/target.js';

const proc = (over: Partial<ProcessInfo>): ProcessInfo => ({
  pid: 100,
  ppid: 1,
  name: 'my-agent',
  cmd: 'my-agent --x',
  path: '/usr/bin/my-agent',
  startMs: 1000,
  ...over,
});

describe('matchesName: exact, with Linux 15-character names', () => {
  const cases: [string, Partial<ProcessInfo>, boolean][] = [
    ['my-agent', {}, true],
    ['my-agent', { name: 'my-agent-2', cmd: 'my-agent-2', path: '/usr/bin/my-agent-2' }, false],
    ['my-agent-2', {}, false],
    ['agent', {}, false],
    [
      'a-very-long-agent-name',
      { name: 'a-very-long-age', cmd: '/opt/bin/a-very-long-agent-name --run', path: '' },
      true,
    ],
    [
      'a-very-long-agent-name',
      { name: 'a-very-long-age', cmd: 'x', path: '/opt/bin/a-very-long-agent-name' },
      true,
    ],
    [
      'a-very-long-agent-name-2',
      {
        name: 'a-very-long-age',
        cmd: '/opt/bin/a-very-long-agent-name',
        path: '/opt/bin/a-very-long-agent-name',
      },
      false,
    ],
    [
      'a-very-long-age',
      {
        name: 'a-very-long-age',
        cmd: '/opt/bin/a-very-long-agent-name',
        path: '/opt/bin/a-very-long-agent-name',
      },
      true,
    ],
    ['python3', { name: 'python3', cmd: 'python3 agent.py', path: '/usr/bin/python3.11' }, true],
  ];
  it.each(cases)('%s vs %j -> %s', (want, over, expected) => {
    expect(matchesName(want, proc(over))).toBe(expected);
  });

  it('cmdline patterns match the full command line', () => {
    expect(
      matchesRule(
        { processName: null, cmdline: 'python .*agent\\.py' },
        proc({ cmd: 'python /srv/agent.py --fast' }),
      ),
    ).toBe(true);
    expect(
      matchesRule(
        { processName: null, cmdline: 'python .*agent\\.py' },
        proc({ cmd: 'python /srv/other.py' }),
      ),
    ).toBe(false);
  });
});

describe('judgePidFile', () => {
  const rule = { processName: 'my-agent', cmdline: null };
  const none = { processName: null, cmdline: null };
  const guard = new Set([1, 50]);
  const cases: [
    string,
    string,
    number,
    ProcessInfo | undefined,
    typeof rule | typeof none,
    boolean,
    RegExp | null,
  ][] = [
    ['trusted', '100\n', 5000, proc({}), rule, true, null],
    ['not a number', 'abc', 5000, undefined, rule, false, /does not hold a PID/],
    [
      'not running: a stale PID file, said',
      '100',
      5000,
      undefined,
      rule,
      false,
      /PID 100, which is not running \(a stale PID file\)/,
    ],
    [
      'reused by another program',
      '100',
      5000,
      proc({ name: 'sshd', cmd: 'sshd', path: '/usr/sbin/sshd' }),
      rule,
      false,
      /not the configured target/,
    ],
    ['started after the PID file was written', '100', 5000, proc({ startMs: 7000 }), none, false, /reused/],
    ['started within the second of writing', '100', 5000, proc({ startMs: 6000 }), none, true, null],
    // Start times from the kernel carry fractions; the PID file's time too (from nanoseconds).
    [
      'started 1.001 s after: reused',
      '100',
      5000.25,
      proc({ startMs: 6001.26 }),
      none,
      false,
      /started after the PID file was written \(1\.00 s later\): the PID was reused/,
    ],
    ['started 0.999 s after: the target', '100', 5000.25, proc({ startMs: 5999.25 }), none, true, null],
    [
      'started 2.02 s after (forced PID reuse): reused',
      '100',
      1_796_155_459_626.123,
      proc({ startMs: 1_796_155_461_646.5 }),
      none,
      false,
      /\(2\.02 s later\)/,
    ],
    [
      'started before the file was written (the app writes its own PID)',
      '100',
      5000,
      proc({ startMs: 4200.5 }),
      none,
      true,
      null,
    ],
    ['start unknown: judged by the rest', '100', 5000, proc({ startMs: null }), none, true, null],
    ['PID 1 or an ancestor of the watchdog', '50', 5000, proc({ pid: 50 }), none, false, /ancestors/],
  ];
  it.each(cases)('%s', (_name, content, mtime, p, r, trusted, reason) => {
    const verdict = judgePidFile(content, mtime, p, r, guard);
    expect(verdict.trusted).toBe(trusted);
    if (!verdict.trusted && reason) expect(verdict.reason).toMatch(reason);
  });

  it('protects the watchdog and its ancestors', () => {
    const list = [
      proc({ pid: 10, ppid: 1 }),
      proc({ pid: 20, ppid: 10 }),
      proc({ pid: 30, ppid: 20 }),
      proc({ pid: 40, ppid: 10 }),
    ];
    expect([...protectedPids(30, list)].sort((a, b) => a - b)).toEqual([1, 10, 20, 30]);
  });
});

describe('processStartMs: the age from /proc/uptime and the start ticks, no boot time', () => {
  const cases: [string, number, number, number, number, number | null][] = [
    // now, uptime s, start ticks, ticks/s -> start, epoch ms
    ['started 2.5 s ago', 1_000_000, 393.02, 39_052, 100, 997_500],
    ['started at boot', 1_000_000, 393.02, 0, 100, 606_980],
    ['started this instant', 1_000_000, 393.02, 39_302, 100, 1_000_000],
    [
      'a start read a tick after the uptime is now, not the future',
      1_000_000,
      393.02,
      39_303,
      100,
      1_000_000,
    ],
    ['another tick rate', 1_000_000, 10, 2_048, 1024, 1_000_000 - 8_000],
    ['no tick rate', 1_000_000, 10, 5, 0, null],
    ['garbage uptime', 1_000_000, Number.NaN, 5, 100, null],
  ];
  it.each(cases)('%s', (_name, now, uptime, ticks, hz, expected) => {
    const got = processStartMs(now, uptime, ticks, hz);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(expected, 6);
  });
});

describe('graceSpendExceeded: SIGKILL before the grace is over', () => {
  const cases: [string, number | null, number | null, boolean][] = [
    ['nothing spent', 0, 100_000, false],
    ['exactly the allowance', 100_000, 100_000, false],
    ['one micro-dollar over', 100_001, 100_000, true],
    ['allowance 0: any spend', 1, 0, true],
    ['allowance 0, nothing spent', 0, 0, false],
    ['off', 5_000_000, null, false],
    ['spend unknown', null, 100_000, false],
  ];
  it.each(cases)('%s', (_name, spent, limit, expected) => {
    expect(graceSpendExceeded(spent, limit)).toBe(expected);
  });
});
