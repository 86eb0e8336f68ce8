import { describe, expect, it } from 'vitest';
import { judgePidFile, matchesName, matchesRule, type ProcessInfo, protectedPids } from '../../src/core/target.js';

const proc = (over: Partial<ProcessInfo>): ProcessInfo => ({ pid: 100, ppid: 1, name: 'my-agent', cmd: 'my-agent --x', path: '/usr/bin/my-agent', startMs: 1000, ...over });

describe('matchesName: exact, with Linux 15-character names', () => {
  const cases: [string, Partial<ProcessInfo>, boolean][] = [
    ['my-agent', {}, true],
    ['my-agent', { name: 'my-agent-2', cmd: 'my-agent-2', path: '/usr/bin/my-agent-2' }, false],
    ['my-agent-2', {}, false],
    ['agent', {}, false],
    ['a-very-long-agent-name', { name: 'a-very-long-age', cmd: '/opt/bin/a-very-long-agent-name --run', path: '' }, true],
    ['a-very-long-agent-name', { name: 'a-very-long-age', cmd: 'x', path: '/opt/bin/a-very-long-agent-name' }, true],
    ['a-very-long-agent-name-2', { name: 'a-very-long-age', cmd: '/opt/bin/a-very-long-agent-name', path: '/opt/bin/a-very-long-agent-name' }, false],
    ['a-very-long-age', { name: 'a-very-long-age', cmd: '/opt/bin/a-very-long-agent-name', path: '/opt/bin/a-very-long-agent-name' }, true],
    ['python3', { name: 'python3', cmd: 'python3 agent.py', path: '/usr/bin/python3.11' }, true],
  ];
  it.each(cases)('%s vs %j -> %s', (want, over, expected) => {
    expect(matchesName(want, proc(over))).toBe(expected);
  });

  it('cmdline patterns match the full command line', () => {
    expect(matchesRule({ processName: null, cmdline: 'python .*agent\\.py' }, proc({ cmd: 'python /srv/agent.py --fast' }))).toBe(true);
    expect(matchesRule({ processName: null, cmdline: 'python .*agent\\.py' }, proc({ cmd: 'python /srv/other.py' }))).toBe(false);
  });
});

describe('judgePidFile', () => {
  const rule = { processName: 'my-agent', cmdline: null };
  const none = { processName: null, cmdline: null };
  const guard = new Set([1, 50]);
  const cases: [string, string, number, ProcessInfo | undefined, typeof rule | typeof none, boolean, RegExp | null][] = [
    ['trusted', '100\n', 5000, proc({}), rule, true, null],
    ['not a number', 'abc', 5000, undefined, rule, false, /does not hold a PID/],
    ['not running', '100', 5000, undefined, rule, false, /not running/],
    ['reused by another program', '100', 5000, proc({ name: 'sshd', cmd: 'sshd', path: '/usr/sbin/sshd' }), rule, false, /not the configured target/],
    ['started after the PID file was written', '100', 5000, proc({ startMs: 7000 }), none, false, /reused/],
    ['started within the second of writing', '100', 5000, proc({ startMs: 6000 }), none, true, null],
    ['PID 1 or an ancestor of the watchdog', '50', 5000, proc({ pid: 50 }), none, false, /ancestors/],
  ];
  it.each(cases)('%s', (_name, content, mtime, p, r, trusted, reason) => {
    const verdict = judgePidFile(content, mtime, p, r, guard);
    expect(verdict.trusted).toBe(trusted);
    if (!verdict.trusted && reason) expect(verdict.reason).toMatch(reason);
  });

  it('protects the watchdog and its ancestors', () => {
    const list = [proc({ pid: 10, ppid: 1 }), proc({ pid: 20, ppid: 10 }), proc({ pid: 30, ppid: 20 }), proc({ pid: 40, ppid: 10 })];
    expect([...protectedPids(30, list)].sort((a, b) => a - b)).toEqual([1, 10, 20, 30]);
  });
});
