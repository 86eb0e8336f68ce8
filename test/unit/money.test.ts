import { afterEach, describe, expect, it } from 'vitest';
import { levelOf, levelOfMicros } from '../../src/core/levels.js';
import {
  dollarsOf,
  figuresCurrency,
  figuresNote,
  limitsText,
  showFiguresIn,
  toMicros,
  usd,
  usdWhole,
} from '../../src/core/money.js';

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

describe('figures in a display currency', () => {
  afterEach(() => showFiguresIn({ code: 'USD', rate: 1 }));

  it.each([
    // code, USD per unit, amount in USD, as shown: converted, then cut like dollars in its digits
    ['EUR', 1.08, 5, '€4.62'],
    ['EUR', 1.08, 4.999999, '€4.62'],
    ['EUR', 1.08, 0, '€0.00'],
    ['EUR', 1.08, 0.003, '€0.002778'],
    ['EUR', 1.08, 1234.5, '€1,143.05'],
    ['EUR', 1.08, -3, '-€2.77'],
    ['EUR', 1.08, Number.POSITIVE_INFINITY, '€(not a number)'],
    ['GBP', 1.27, 5, '£3.93'],
    ['JPY', 0.0067, 5, '¥746'],
    ['JPY', 0.0067, 0, '¥0'],
    ['JPY', 0.0067, 0.003, '¥0.447761'],
    ['CHF', 1.13, 5, 'CHF 4.42'],
    ['CAD', 0.73, 5, 'CA$6.84'],
    ['KWD', 3.25, 5, 'KWD 1.538'],
    ['EUR', 1, 5, '€5.00'],
  ] as const)('%s at %s: usd(%s) = %s', (code, rate, amount, text) => {
    showFiguresIn({ code, rate });
    expect(usd(amount)).toBe(text);
    expect(figuresCurrency()).toEqual({ code, rate });
    expect(figuresNote()).toBe(`figures in ${code} (1 ${code} = ${rate} USD)`);
  });

  it('limits written in EUR (made USD at load) read back as written', () => {
    showFiguresIn({ code: 'EUR', rate: 1.08 });
    expect(limitsText({ warn: 3.24, kill: 5.4 })).toBe('warn €3.00 / kill €5.00');
  });

  it('USD again (or a rate that is not above 0) is dollars, with no note', () => {
    showFiguresIn({ code: 'EUR', rate: 1.08 });
    showFiguresIn({ code: 'USD', rate: 1 });
    expect(usd(5)).toBe('$5.00');
    expect(figuresNote()).toBeNull();
    showFiguresIn({ code: 'EUR', rate: 0 });
    expect(usd(5)).toBe('$5.00');
  });

  it('whole units for a chart axis', () => {
    expect(usdWhole(120.4)).toBe('$120');
    showFiguresIn({ code: 'EUR', rate: 1.08 });
    expect(usdWhole(120.4)).toBe('€111');
  });
});
