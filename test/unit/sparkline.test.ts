import { describe, expect, it } from 'vitest';
import { SPARK_MARKS, sparkSummary, sparkText, sparkline } from '../../src/core/sparkline.js';

const $ = (dollars: number): number => Math.round(dollars * 1_000_000);

describe('sparkline', () => {
  const cases: { name: string; values: number[]; unicode: boolean; line: string }[] = [
    { name: 'all zero (ASCII)', values: [0, 0, 0, 0], unicode: false, line: '____' },
    { name: 'all zero (unicode)', values: [0, 0, 0, 0], unicode: true, line: '▁▁▁▁' },
    { name: 'nothing at all', values: [], unicode: true, line: '' },
    { name: 'one spike (ASCII)', values: [0, 0, $(2), 0], unicode: false, line: '__@_' },
    { name: 'one spike (unicode)', values: [0, 0, $(2), 0], unicode: true, line: '▁▁█▁' },
    // Linear: 1/9 of the top is the first mark above nothing, 5/9 the fifth, the top the last.
    { name: 'scaling (ASCII)', values: [1, 5, 9, 0], unicode: false, line: '.+@_' },
    { name: 'scaling (unicode)', values: [1, 4, 7, 0], unicode: true, line: '▂▅█▁' },
    // A cent beside $100 is still spend: never drawn as nothing.
    { name: 'a little is not nothing', values: [$(100), $(0.01)], unicode: false, line: '@.' },
    { name: 'a little is not nothing (unicode)', values: [$(100), 1], unicode: true, line: '█▂' },
    // Values between two marks go up: the busiest minute alone is the full mark.
    { name: 'rounded up', values: [10, 11, 100], unicode: false, line: '..@' },
    { name: 'equal values all full', values: [3, 3, 3], unicode: true, line: '███' },
    { name: 'a refund is the baseline', values: [-5, 0, 5], unicode: false, line: '__@' },
    {
      name: 'every ASCII mark in order',
      values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      unicode: false,
      line: SPARK_MARKS.ascii.join(''),
    },
    {
      name: 'every block in order',
      values: [0, 1, 2, 3, 4, 5, 6, 7],
      unicode: true,
      line: SPARK_MARKS.unicode.join(''),
    },
  ];
  it.each(cases)('$name', ({ values, unicode, line }) => {
    expect(sparkline(values, unicode)).toBe(line);
  });

  it('is one character per minute: 60 minutes, 60 columns, in either alphabet', () => {
    const hour = Array.from({ length: 60 }, (_, i) => (i % 7) * 1000);
    for (const unicode of [true, false]) {
      const line = sparkline(hour, unicode);
      expect([...line]).toHaveLength(60);
      const marks: readonly string[] = unicode ? SPARK_MARKS.unicode : SPARK_MARKS.ascii;
      expect([...line].every((c) => marks.includes(c))).toBe(true);
    }
  });

  it('ASCII is plain printable ASCII', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], false)).toMatch(/^[\x21-\x7e]+$/);
  });
});

describe('sparkSummary and sparkText', () => {
  const cases: {
    name: string;
    values: number[];
    unicode: boolean;
    max: number;
    total: number;
    text: string;
  }[] = [
    {
      name: 'an idle hour',
      values: new Array(60).fill(0),
      unicode: false,
      max: 0,
      total: 0,
      text: `  last hour   ${'_'.repeat(60)}  no spend in 60 min`,
    },
    {
      name: 'a spike',
      values: [0, $(0.42), $(0.21), 0],
      unicode: true,
      max: $(0.42),
      total: $(0.63),
      text: '  last hour   ▁█▅▁  max $0.42/min, $0.63 in 4 min',
    },
    {
      name: 'under a cent',
      values: [0, 4200, 0],
      unicode: false,
      max: 4200,
      total: 4200,
      text: '  last hour   _@_  max $0.0042/min, $0.0042 in 3 min',
    },
    {
      name: 'the scale is the busiest minute, the total all of them',
      values: [$(1), $(2), $(0.1)],
      unicode: false,
      max: $(2),
      total: $(3.1),
      text: '  last hour   +@.  max $2.00/min, $3.10 in 3 min',
    },
  ];
  it.each(cases)('$name', ({ values, unicode, max, total, text }) => {
    const s = sparkSummary(values, unicode);
    expect(s.maxMicros).toBe(max);
    expect(s.totalMicros).toBe(total);
    expect(s.minutes).toBe(values.length);
    expect(sparkText(values, unicode)).toBe(text);
  });
});
