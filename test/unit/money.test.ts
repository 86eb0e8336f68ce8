import { describe, expect, it } from 'vitest';
import { levelOf, levelOfMicros } from '../../src/core/levels.js';
import { dollarsOf, toMicros, usd } from '../../src/core/money.js';

describe('money in whole micro-dollars', () => {
  it.each([
    [0, '$0.00'],
    [0.0405, '$0.0405'],
    [4.2, '$4.20'],
    [5, '$5.00'],
    [1234.5, '$1,234.50'],
    [-2.5, '-$2.50'],
    [1e21, '$1,000,000,000,000,000,000,000.00'],
    [Infinity, '$(not a number)'],
    [NaN, '$(not a number)'],
  ])('usd(%s) = %s', (amount, text) => {
    expect(usd(amount)).toBe(text);
  });

  it('100 × $0.05 in µ$ is $5 exactly, where dollars in floating point are not', () => {
    let floating = 0;
    let micros = 0;
    for (let k = 0; k < 100; k++) {
      floating += 0.05;
      micros += toMicros(0.05);
    }
    expect(floating).not.toBe(5);
    expect(micros).toBe(5_000_000);
    expect(dollarsOf(micros)).toBe(5);
    expect(levelOfMicros(micros, { emergency: 5 })).toBe('emergency');
    expect(levelOfMicros(micros - 1, { emergency: 5 })).toBe('ok');
  });

  it.each([
    // spend (µ$), limits, level: compared in µ$
    [3_000_000, { warn: 3, emergency: 5, kill: 8 }, 'warn'],
    [2_999_999, { warn: 3, emergency: 5, kill: 8 }, 'ok'],
    [8_000_000, { warn: 3, emergency: 5, kill: 8 }, 'kill'],
    [100_001, { warn: 0.100001 }, 'warn'],
    [100_000, { warn: 0.100001 }, 'ok'],
  ] as const)('levelOfMicros(%i, %o) = %s', (micros, limits, level) => {
    expect(levelOfMicros(micros, limits)).toBe(level);
    expect(levelOf(dollarsOf(micros), limits)).toBe(level);
  });
});
