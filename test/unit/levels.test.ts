import { describe, expect, it } from 'vitest';
import { assess, type Level, levelOf, type Limits, statusCode } from '../../src/core/levels.js';

describe('levelOf', () => {
  const all: Limits = { warn: 3, emergency: 5, kill: 8 };
  const cases: [number, Limits, Level][] = [
    [0, all, 'ok'],
    [2.99, all, 'ok'],
    [3, all, 'warn'],
    [4.99, all, 'warn'],
    [5, all, 'emergency'],
    [8, all, 'kill'],
    [100, all, 'kill'],
    [100, {}, 'ok'],
    [9, { kill: 8 }, 'kill'],
    [6, { warn: 3, kill: 8 }, 'warn'],
    [6, { emergency: 5 }, 'emergency'],
    [0, { warn: 0 }, 'warn'],
  ];
  it.each(cases)('$%s against %j is %s', (spend, limits, level) => {
    expect(levelOf(spend, limits)).toBe(level);
  });
});

describe('statusCode (monitoring convention)', () => {
  const M = 300_000;
  const cases: [string, Level[], boolean, number | null, boolean, number][] = [
    ['all ok', ['ok', 'ok'], false, 1000, false, 0],
    ['a window at warn', ['warn', 'ok'], false, 1000, false, 1],
    ['a window at emergency', ['ok', 'emergency'], false, 1000, false, 2],
    ['a window at kill', ['kill'], false, 1000, false, 2],
    ['the flag in force after spend dropped', ['ok'], true, 1000, false, 2],
    ['heartbeat stale', ['ok'], false, M + 1, false, 2],
    ['heartbeat exactly at max age', ['ok'], false, M, false, 0],
    ['heartbeat never written', ['ok'], false, null, false, 0],
    ['log unreadable', ['ok'], false, 1000, true, 3],
    ['log unreadable but the flag is in force', ['ok'], true, 1000, true, 2],
    ['log unreadable and warn', ['warn'], false, 1000, true, 3],
  ];
  it.each(cases)('%s', (_name, levels, flagActive, heartbeatAgeMs, logUnreadable, code) => {
    expect(statusCode({ levels, flagActive, heartbeatAgeMs, heartbeatMaxAgeMs: M, logUnreadable })).toBe(
      code,
    );
  });

  describe('statusCode with findings (cost truth)', () => {
    const M = 300_000;
    it.each([
      ['a finding with every window ok', ['ok'], 1, false, 1],
      ['a finding and a window at emergency', ['emergency'], 2, false, 2],
      ['a retry storm at emergency (a signal level)', ['ok', 'emergency'], 1, false, 2],
      ['a finding while the log is unreadable', ['ok'], 1, true, 3],
      ['no findings', ['ok'], 0, false, 0],
    ] as [string, Level[], number, boolean, number][])(
      '%s',
      (_name, levels, warnings, logUnreadable, code) => {
        expect(
          statusCode({
            levels,
            flagActive: false,
            heartbeatAgeMs: 1000,
            heartbeatMaxAgeMs: M,
            logUnreadable,
            warnings,
          }),
        ).toBe(code);
      },
    );
  });
});

describe('assess', () => {
  it('reads rolling windows and the day from the ledger', () => {
    // µ$
    const spend = { rolling: (s: number) => (s === 900 ? 4_200_000 : 7_000_000), today: () => 11_900_000 };
    const out = assess(
      [
        { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 } },
        { name: '1h', seconds: 3600, limits: { kill: 6 } },
        { name: 'daily', seconds: null, limits: { warn: 20 } },
      ],
      spend,
    );
    expect(out.map((w) => [w.name, w.spend, w.level])).toEqual([
      ['15m', 4.2, 'warn'],
      ['1h', 7, 'kill'],
      ['daily', 11.9, 'ok'],
    ]);
  });
});
