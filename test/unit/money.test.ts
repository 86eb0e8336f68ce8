import { describe, expect, it } from 'vitest';
import { levelOf, levelOfMicros } from '../../src/core/levels.js';
import { dollarsOf, toMicros, usd } from '../../src/core/money.js';

describe('money in whole micro-dollars', () => {
  it.each([
    [0, '$0.00'],
    [0.0405, '$0.04'],
    [0.3, '$0.30'],
    [0.01, '$0.01'],
    // under a cent, and not zero: its digits down to the micro-dollar, never "$0.00"
    [0.009999, '$0.009999'],
    [0.0042, '$0.0042'],
    [0.005, '$0.005'],
    [-0.0042, '-$0.0042'],
    [0.0000004, '$0.00'],
    [4.2, '$4.20'],
    [5, '$5.00'],
    [1234.5, '$1,234.50'],
    [-2.5, '-$2.50'],
    [1e21, '$1,000,000,000,000,000,000,000.00'],
    [Infinity, '$(not a number)'],
    [NaN, '$(not a number)'],
    // cut, never rounded up: a figure shown is never more than was spent
    [4.999999, '$4.99'],
    [4.995, '$4.99'],
    [8.515, '$8.51'],
    [12.465, '$12.46'],
    [2.485, '$2.48'],
    [0.12345, '$0.12'],
    [0.99999, '$0.99'],
    [0.000001, '$0.000001'],
    [-1.005, '-$1.00'],
    [123456789.999999, '$123,456,789.99'],
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
