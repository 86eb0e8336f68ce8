// Pure decisions at the edges: what an unseen flag means (core/flag.ts, statusCode, decide,
// troubles) and how a secret file is judged (core/strict.ts secretFileProblem).
import { describe, expect, it } from 'vitest';
import { decide, emptyAlertState, FLAG_UNKNOWN, troubles } from '../../src/core/decide.js';
import {
  errnoWords,
  type FlagOutcomeKind,
  flagCheckFailed,
  flagInForce,
  type FlagSeen,
  flagUnknownReason,
} from '../../src/core/flag.js';
import { type Level, statusCode, type WindowStatus } from '../../src/core/levels.js';
import { type SecretStat, secretFileProblem } from '../../src/core/strict.js';

const ABSENT: FlagSeen = { kind: 'absent' };
const PRESENT: FlagSeen = { kind: 'present' };
const ENOTDIR: FlagSeen = { kind: 'unknown', code: 'ENOTDIR', detail: 'ENOTDIR: not a directory, stat' };
const EACCES: FlagSeen = { kind: 'unknown', code: 'EACCES', detail: 'EACCES: permission denied, stat' };

describe(
  'flagCheckFailed: only a flag confirmed to exist is in force; one that cannot be seen fails the ' + 'check',
  () => {
    const cases: [string, FlagSeen, FlagOutcomeKind, boolean, boolean][] = [
      // name, seen, outcome, in force, check failed
      ['absent, nothing needed', ABSENT, 'none', false, false],
      ['absent, written', ABSENT, 'written', false, false],
      ['absent, write failed', ABSENT, 'failed', false, true],
      ['present', PRESENT, 'exists', true, false],
      ['folder is a file, nothing needed', ENOTDIR, 'unknown', false, true],
      ['folder is a file, write failed', ENOTDIR, 'failed', false, true],
      ['folder not searchable, nothing needed', EACCES, 'unknown', false, true],
      ['unknown, but the write went through after all', EACCES, 'written', false, false],
      ['unknown, dry run would write', EACCES, 'would-write', false, true],
    ];
    it.each(cases)('%s', (_name, seen, outcome, inForce, failed) => {
      expect(flagInForce(seen)).toBe(inForce);
      expect(flagCheckFailed(seen, outcome)).toBe(failed);
    });
  },
);

describe('errnoWords and flagUnknownReason', () => {
  it.each([
    ['EACCES', 'x', 'permission denied (EACCES)'],
    ['ENOTDIR', 'x', 'not a folder (ENOTDIR)'],
    ['ENOSPC', 'x', 'no space left on the device (ENOSPC)'],
    ['EWHATEVER', 'the system said so', 'the system said so'],
    [null, 'no code', 'no code'],
  ] as const)('%s', (code, fallback, words) => {
    expect(errnoWords(code, fallback)).toBe(words);
  });

  it.each([
    [
      'ENOTDIR',
      new RegExp(
        String.raw`^cannot tell whether the emergency flag \/a\/flags\/f exists: not a ` +
          String.raw`folder \(ENOTDIR\): \/a\/flags, or a folder above it, is a file ` +
          String.raw`\(fix: `,
      ),
    ],
    [
      'EACCES',
      new RegExp(
        String.raw`^cannot tell whether the emergency flag \/a\/flags\/f exists: ` +
          String.raw`permission denied \(EACCES\): the watchdog's user cannot look into ` +
          String.raw`\/a\/flags \(fix: `,
      ),
    ],
    [
      'ELOOP',
      new RegExp(
        String.raw`^cannot tell whether the emergency flag \/a\/flags\/f exists: too ` +
          String.raw`many levels of symbolic links \(ELOOP\)$`,
      ),
    ],
  ] as const)('names the file and the errno in words: %s', (code, pattern) => {
    expect(flagUnknownReason('/a/flags/f', '/a/flags', code, 'raw')).toMatch(pattern);
  });
});

describe('statusCode with a flag that cannot be seen', () => {
  const M = 300_000;
  const cases: [string, Level[], boolean, number | null, number][] = [
    ['all ok', ['ok'], false, 1000, 0],
    ['flag unknown, spend ok: UNKNOWN', ['ok'], true, 1000, 3],
    ['flag unknown, a window at warn: UNKNOWN (cannot tell beats a warning)', ['warn'], true, 1000, 3],
    ['flag unknown, a window at emergency: CRITICAL', ['emergency'], true, 1000, 2],
    ['flag unknown, a window at kill: CRITICAL', ['ok', 'kill'], true, 1000, 2],
    ['flag unknown, heartbeat stale: CRITICAL', ['ok'], true, M + 1, 2],
  ];
  it.each(cases)('%s', (_name, levels, flagUnknown, age, code) => {
    expect(
      statusCode({
        levels,
        flagActive: false,
        flagUnknown,
        heartbeatAgeMs: age,
        heartbeatMaxAgeMs: M,
        logUnreadable: false,
      }),
    ).toBe(code);
  });
});

function window(level: Level, spend: number): WindowStatus {
  return { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 }, spend, level };
}

describe('decide with a flag that cannot be seen', () => {
  const NOW = 1_800_000_000_000;
  const seenBefore = {
    ...emptyAlertState(),
    flag_seen: true,
    windows: { '15m': { level: 'emergency' as Level, since_ms: NOW - 60_000 } },
    last_reminder_ms: NOW - 60_000,
  };
  const base = { nowMs: NOW, targetRunning: false, reminderMs: 3_600_000 };

  it('a flag seen before and not visible now is not "removed by hand"', () => {
    const unknown = decide({
      ...base,
      windows: [window('emergency', 6)],
      state: seenBefore,
      flagExists: false,
      flagUnknown: true,
    });
    expect(unknown.events.map((e) => e.kind)).not.toContain('flag-removed');
    const gone = decide({ ...base, windows: [window('emergency', 6)], state: seenBefore, flagExists: false });
    expect(gone.events.map((e) => e.kind)).toContain('flag-removed');
  });

  it('a kill switch stays on while the flag cannot be seen (only clear-emergency turns it off)', () => {
    const state = { ...seenBefore, kill_switch: { since_ms: NOW - 1000, by: 'kill by root' } };
    const d = decide({ ...base, windows: [window('ok', 0)], state, flagExists: false, flagUnknown: true });
    expect(d.kill).toBe(true);
    expect(d.next.kill_switch).not.toBeNull();
  });

  it('a flag that cannot be seen is never reminded of as "still in force"', () => {
    const late = { ...seenBefore, last_reminder_ms: NOW - 7_200_000 };
    // Spend has dropped to warn since the flag was written: nothing would write it again.
    const unknown = decide({
      ...base,
      windows: [window('warn', 4)],
      state: late,
      flagExists: false,
      flagUnknown: true,
    });
    expect(unknown.events.map((e) => e.kind)).not.toContain('reminder');
    expect(unknown.next.last_reminder_ms).toBe(late.last_reminder_ms);
    expect(unknown.next.flag_seen).toBe(true);
    const there = decide({ ...base, windows: [window('warn', 4)], state: late, flagExists: true });
    expect(there.events.map((e) => e.kind)).toContain('reminder');
  });

  it('at emergency the write is still tried (it may go through)', () => {
    const d = decide({
      ...base,
      windows: [window('emergency', 6)],
      state: emptyAlertState(),
      flagExists: false,
      flagUnknown: true,
    });
    expect(d.writeFlag).toBe(true);
  });
});

describe('troubles: a flag that cannot be seen is alerted once per reminder, and said once', () => {
  const NOW = 1_800_000_000_000;
  const none = { killFailed: null, killTried: false, stopFailed: undefined, flagFailed: null };
  it.each([
    [
      'first time: alerted',
      {},
      { flagUnknown: 'cannot tell' },
      ['EMERGENCY FLAG UNKNOWN: cannot tell'],
      true,
    ],
    [
      'again within the reminder: not alerted, still remembered',
      { [FLAG_UNKNOWN]: NOW - 1000 },
      { flagUnknown: 'cannot tell' },
      [],
      true,
    ],
    [
      'again after the reminder: alerted',
      { [FLAG_UNKNOWN]: NOW - 3_600_000 },
      { flagUnknown: 'cannot tell' },
      ['EMERGENCY FLAG UNKNOWN: cannot tell'],
      true,
    ],
    [
      'a failed write says it instead',
      {},
      { flagUnknown: 'cannot tell', flagFailed: 'f: ENOTDIR' },
      ['EMERGENCY FLAG NOT WRITTEN: f: ENOTDIR'],
      true,
    ],
    ['seen again: forgotten', { [FLAG_UNKNOWN]: NOW - 1000 }, { flagUnknown: null }, [], false],
  ] as const)('%s', (_name, before, trouble, problems, remembered) => {
    const out = troubles(before, { ...none, ...trouble }, false, NOW, 3_600_000);
    expect(out.problems).toEqual(problems);
    expect(out.incidents[FLAG_UNKNOWN] !== undefined).toBe(remembered);
  });
});

describe('secretFileProblem: a webhook file is held like a private key', () => {
  const file = '/etc/cw/slack';
  const cases: [string, SecretStat, number, RegExp | null][] = [
    ['0600, ours', { kind: 'file', mode: 0o100600, uid: 1000 }, 1000, null],
    ['0400, ours', { kind: 'file', mode: 0o100400, uid: 1000 }, 1000, null],
    ['0600, root-owned, watchdog as root', { kind: 'file', mode: 0o100600, uid: 0 }, 0, null],
    [
      '0600, root-owned, watchdog as a user (it must still be readable: the loader tries)',
      { kind: 'file', mode: 0o100600, uid: 0 },
      1000,
      null,
    ],
    [
      '0644: readable by group and others',
      { kind: 'file', mode: 0o100644, uid: 1000 },
      1000,
      new RegExp(
        String.raw`^is open to group and others \(mode 0644\): UNPROTECTED SECRET ` +
          String.raw`FILE: anyone who can read it .*\(fix: chmod 600 \/etc\/cw\/slack\)$`,
      ),
    ],
    [
      '0640: readable by group',
      { kind: 'file', mode: 0o100640, uid: 0 },
      0,
      new RegExp(
        String.raw`^is open to group \(mode 0640\): UNPROTECTED SECRET FILE: anyone ` +
          String.raw`who can read it .*chmod 600 \/etc\/cw\/slack`,
      ),
    ],
    [
      '0604: readable by others',
      { kind: 'file', mode: 0o100604, uid: 0 },
      0,
      /^is open to others \(mode 0604\): UNPROTECTED/,
    ],
    [
      '0666: read and write, the secret wording, not the config one',
      { kind: 'file', mode: 0o100666, uid: 0 },
      0,
      /anyone who can read and write it .*chmod 600/,
    ],
    ['0620: writable by group', { kind: 'file', mode: 0o100620, uid: 0 }, 0, /anyone who can write it/],
    [
      '0610: group execute bit only (sshd refuses any 077 bit)',
      { kind: 'file', mode: 0o100610, uid: 0 },
      0,
      /anyone who can use it/,
    ],
    [
      'owned by another user',
      { kind: 'file', mode: 0o100600, uid: 1001 },
      1000,
      new RegExp(
        '^is owned by uid 1001, not by root or the user the watchdog runs as ' +
          String.raw`\(uid 1000\): .*\(fix: chown 1000 \/etc\/cw\/slack && chmod 600 ` +
          String.raw`\/etc\/cw\/slack\)$`,
      ),
    ],
    [
      'owned by another user, watchdog as root',
      { kind: 'file', mode: 0o100600, uid: 65534 },
      0,
      /owned by uid 65534.*\(root\).*chown root/,
    ],
    [
      'a folder',
      { kind: 'directory', mode: 0o40700, uid: 0 },
      0,
      /^is a folder, expected a file holding the URL/,
    ],
    ['a FIFO', { kind: 'other', mode: 0o10600, uid: 0 }, 0, /^is not a regular file/],
  ];
  it.each(cases)('%s', (_name, st, euid, expected) => {
    const problem = secretFileProblem(st, euid, file);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
    expect(problem ?? '').not.toMatch(/decides what gets killed/);
  });
});
