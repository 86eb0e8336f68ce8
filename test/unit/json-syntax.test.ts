// jsonProblem must say "valid" exactly when JSON.parse accepts: a line it wrongly called invalid
// would be counted as malformed, its spend lost.
import { describe, expect, it } from 'vitest';
import { jsonProblem } from '../../src/core/json-syntax.js';

function accepts(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('jsonProblem: the verdicts of JSON.parse', () => {
  const cases: [string, boolean][] = [
    ['{}', true],
    ['[]', true],
    [' \t\r\n{ "a" : [ 1 , -0.5e+3 , true , false , null , "x\\"y\\u00e9\\/" ] }\r\n ', true],
    ['{"a":{"b":{"c":[[[[]]]]}}}', true],
    ['"just a string"', true],
    ['42', true],
    ['-0', true],
    ['0.0', true],
    ['1E5', true],
    ['"\\ud800"', true], // a lone surrogate escape: JSON.parse accepts it
    ['{"a":1,"a":2}', true],
    ['{"__proto__":1}', true],
    ['"é ✓ 🙂"', true],
    ['', false],
    ['   ', false],
    ['garbage', false],
    ['{', false],
    ['{"a":1', false],
    ['{"a":1,}', false],
    ['[1,]', false],
    ['[,1]', false],
    ['{"a" 1}', false],
    ['{a:1}', false],
    ["{'a':1}", false],
    ['{"a":01}', false],
    ['{"a":1.}', false],
    ['{"a":.5}', false],
    ['{"a":1e}', false],
    ['{"a":-}', false],
    ['{"a":+1}', false],
    ['{"a":NaN}', false],
    ['{"a":-Infinity}', false],
    ['{"a":tru}', false],
    ['{"a":"x\ty"}', false], // a raw tab inside a string
    ['{"a":"\\x"}', false],
    ['{"a":"\\u12g4"}', false],
    ['{"a":"unclosed}', false],
    ['{} {}', false],
    ['{}x', false],
    ['\ufeff{}', false], // a byte order mark is not whitespace to JSON.parse
    ['\u00a0{}', false],
    ['{"a":1}\u0000', false],
    ['[1 2]', false],
    ['{"a":[}', false],
    ['{"a":{]}', false],
  ];
  it.each(cases)('%j', (text, valid) => {
    expect(accepts(text)).toBe(valid); // the table itself is right
    expect(jsonProblem(text) === null).toBe(valid);
  });

  it('deep nesting, as JSON.parse (no depth limit short of memory)', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(jsonProblem(deep)).toBeNull();
    expect(jsonProblem(deep.slice(0, -1))).not.toBeNull();
  });

  it('says why, with the column', () => {
    expect(jsonProblem('not json')).toBe("unexpected 'n' at column 1 where a value should be");
    expect(jsonProblem('{"a":1,}')).toBe("unexpected '}' at column 8 where a quoted key should be");
    expect(jsonProblem('{"a":1')).toBe("the line ends where ',' or '}' should be");
    expect(jsonProblem('{"cost":NaN}')).toBe('NaN or Infinity is not a JSON number');
    expect(jsonProblem('{"cost":-Infinity}')).toBe('NaN or Infinity is not a JSON number');
    expect(jsonProblem('{"a":"b\u0001"}')).toBe('a raw control character in a string at column 8');
  });

  it('agrees with JSON.parse on 200,000 random and mutated texts', () => {
    const r = rng(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
    const atoms = [
      '0',
      '-0',
      '1',
      '-12',
      '0.5',
      '1e3',
      '1E-3',
      '2.5e+308',
      'true',
      'false',
      'null',
      '""',
      '"a"',
      '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
      '"\\u00e9"',
      '"é"',
      '"🙂"',
      '"\\ud83d"',
    ];
    const ws = ['', '', '', ' ', '\t', '\r', '\n', ' \r\n '];
    const value = (depth: number): string => {
      const w = (): string => pick(ws);
      if (depth > 3 || r() < 0.5) return pick(atoms);
      const count = Math.floor(r() * 4);
      const items: string[] = [];
      if (r() < 0.5) {
        for (let k = 0; k < count; k++)
          items.push(`${w()}"${pick(['k', 'ts', '', 'é', 'a b'])}"${w()}:${w()}${value(depth + 1)}${w()}`);
        return `{${w()}${items.join(',')}}`;
      }
      for (let k = 0; k < count; k++) items.push(`${w()}${value(depth + 1)}${w()}`);
      return `[${w()}${items.join(',')}]`;
    };
    const junk = [
      '',
      ' ',
      ',',
      '}',
      '{',
      ']',
      '[',
      '"',
      ':',
      '\\',
      '0',
      '-',
      '+',
      'e',
      'E',
      '.',
      '\t',
      '\u0001',
      '\u001f',
      'x',
      'u',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      '\ufeff',
      '\u00a0',
      '\u2028',
      '\\u',
      '\\u12',
    ];
    const mutate = (text: string): string => {
      const i = Math.floor(r() * (text.length + 1));
      const piece = pick(junk);
      switch (Math.floor(r() * 3)) {
        case 0:
          return text.slice(0, i) + piece + text.slice(i);
        case 1:
          return text.slice(0, i) + text.slice(i + 1);
        default:
          return text.slice(0, i) + piece + text.slice(i + 1);
      }
    };
    let valid = 0;
    const wrong: string[] = [];
    for (let n = 0; n < 200_000; n++) {
      let text = `${pick(ws)}${value(0)}${pick(ws)}`;
      const mutations = Math.floor(r() * 3);
      for (let m = 0; m < mutations; m++) text = mutate(text);
      const expected = accepts(text);
      if (expected) valid++;
      if ((jsonProblem(text) === null) !== expected && wrong.length < 5) wrong.push(text);
    }
    expect(wrong).toEqual([]);
    // Both verdicts are well represented.
    expect(valid).toBeGreaterThan(50_000);
    expect(valid).toBeLessThan(150_000);
  });
});
