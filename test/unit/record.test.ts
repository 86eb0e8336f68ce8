import { describe, expect, it } from 'vitest';
import { daysFromCivil } from '../../src/core/timestamp.js';
import { type CostRecord, type FieldTable, fieldTable, type ParsedLine } from '../../src/core/fields.js';
import { LineParser } from '../../src/core/record.js';

const table = fieldTable({}, { labels: true, ids: true, tokens: true });
const plain = fieldTable();
// One parser per table, as each scan makes one.
const parsers = new Map<FieldTable, LineParser>();
function parserOf(t: FieldTable): LineParser {
  let parser = parsers.get(t);
  if (parser === undefined) {
    parser = new LineParser(t);
    parsers.set(t, parser);
  }
  return parser;
}
const parseLine = (line: string, t: FieldTable): ParsedLine => parserOf(t).parseLine(line);
const parseLineSlow = (line: string, t: FieldTable): ParsedLine => parserOf(t).parseLineSlow(line);
const parseLineBytes = (b: Uint8Array, start: number, end: number, t: FieldTable): ParsedLine =>
  parserOf(t).parseLineBytes(b, start, end);
const T = Date.UTC(2026, 0, 27, 0, 0, 0); // 1769472000 s

function rec(line: string): CostRecord {
  const parsed = parseLine(line, table);
  if (typeof parsed === 'string') throw new Error(`expected a record, got: ${parsed}`);
  return parsed;
}

describe('parseLine: field aliases and time formats', () => {
  const cases: [string, string, Partial<CostRecord>][] = [
    [
      'Cost Control tracker line',
      '{"t": 1769472000.1, "request_id": "r1", "in": 1200, "out": 300, "cost": 0.04050, "daily": 3.125}',
      { timeMs: T + 100, cost: 0.0405, inputTokens: 1200, outputTokens: 300, requestId: 'r1' },
    ],
    ['ts ISO with Z', '{"ts":"2026-01-27T00:00:00Z","cost_usd":1}', { timeMs: T, cost: 1 }],
    ['timestamp ISO without zone is UTC', '{"timestamp":"2026-01-27T00:00:00","cost":1}', { timeMs: T }],
    ['time ISO with offset', '{"time":"2026-01-27T01:30:00+01:30","cost":1}', { timeMs: T }],
    ['offset without colon', '{"time":"2026-01-26T19:00:00-0500","cost":1}', { timeMs: T }],
    ['hour-only offset', '{"time":"2026-01-27T02:00:00+02","cost":1}', { timeMs: T }],
    [
      'space separator, microseconds (Python str(datetime))',
      '{"ts":"2026-01-27 00:00:00.123456","cost":1}',
      { timeMs: T + 123 },
    ],
    ['lowercase t and z', '{"ts":"2026-01-27t00:00:00.5z","cost":1}', { timeMs: T + 500 }],
    ['date only', '{"ts":"2026-01-27","cost":1}', { timeMs: T }],
    ['minutes only', '{"ts":"2026-01-27T00:00Z","cost":1}', { timeMs: T }],
    ['epoch seconds integer', '{"t":1769472000,"cost":1}', { timeMs: T }],
    ['epoch milliseconds', '{"t":1769472000250,"cost":1}', { timeMs: T + 250 }],
    ['epoch microseconds', '{"t":1769472000250000,"cost":1}', { timeMs: T + 250 }],
    ['epoch nanoseconds', '{"t":1769472000250000000,"cost":1}', { timeMs: T + 250 }],
    ['epoch seconds in a string', '{"t":"1769472000.5","cost":1}', { timeMs: T + 500 }],
    [
      'prompt/completion tokens',
      '{"ts":"2026-01-27T00:00:00Z","prompt_tokens":10,"completion_tokens":20,"cost":0}',
      { inputTokens: 10, outputTokens: 20, cost: 0 },
    ],
    [
      'tokens_in/tokens_out',
      '{"ts":"2026-01-27T00:00:00Z","tokens_in":10,"tokens_out":20,"cost":0}',
      { inputTokens: 10, outputTokens: 20 },
    ],
    [
      'input/output/cached tokens',
      '{"ts":"2026-01-27T00:00:00Z","input_tokens":1,"output_tokens":2,"cached_input_tokens":3,"cos' +
        't_usd":0.5}',
      { inputTokens: 1, outputTokens: 2, cachedTokens: 3, cost: 0.5 },
    ],
    [
      'cache_read_input_tokens',
      '{"ts":"2026-01-27T00:00:00Z","cache_read_input_tokens":7,"cost":1}',
      { cachedTokens: 7 },
    ],
    [
      'attribution fields',
      '{"ts":"2026-01-27T00:00:00Z","cost":1,"model":"gpt-4o","provider":"openai","agent":"a1","tas' +
        'k":"t9","request_id":"r","fingerprint":"f"}',
      { model: 'gpt-4o', provider: 'openai', agent: 'a1', task: 't9', requestId: 'r', fingerprint: 'f' },
    ],
    ['numeric request id', '{"ts":"2026-01-27T00:00:00Z","cost":1,"request_id":42}', { requestId: '42' }],
    [
      'escaped model name',
      '{"ts":"2026-01-27T00:00:00Z","cost":1,"model":"a\\"b\\u00e9"}',
      { model: 'a"bé' },
    ],
    ['unicode model name', '{"ts":"2026-01-27T00:00:00Z","cost":1,"model":"模型"}', { model: '模型' }],
    ['cost_usd wins over cost', '{"cost":9,"ts":"2026-01-27T00:00:00Z","cost_usd":1}', { cost: 1 }],
    ['ts wins over t', '{"t":1,"ts":"2026-01-27T00:00:00Z","cost":1}', { timeMs: T }],
    ['null alias falls through to the next', '{"ts":null,"t":1769472000,"cost":1}', { timeMs: T }],
    [
      'repeated key: last wins (as JSON.parse)',
      '{"ts":"2026-01-27T00:00:00Z","cost":1,"cost":2}',
      { cost: 2 },
    ],
    [
      'nested objects are fine (slow path)',
      '{"ts":"2026-01-27T00:00:00Z","cost":1,"usage":{"x":[1,2]}}',
      { cost: 1 },
    ],
    ['whitespace and CR', '  { "ts" : "2026-01-27T00:00:00Z" , "cost" : 1e-3 }  \r', { cost: 0.001 }],
    ['tokens but no cost', '{"ts":"2026-01-27T00:00:00Z","in":5,"out":6}', { cost: null, inputTokens: 5 }],
    ['cost zero', '{"ts":"2026-01-27T00:00:00Z","cost":0}', { cost: 0 }],
    [
      'negative tokens ignored, cost kept',
      '{"ts":"2026-01-27T00:00:00Z","cost":1,"in":-5}',
      { cost: 1, inputTokens: null },
    ],
  ];
  it.each(cases)('%s', (_name, line, expected) => {
    expect(rec(line)).toMatchObject(expected);
  });
});

describe('parseLine: malformed lines say why', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', 'garbage', /^not JSON/],
    ['truncated JSON', '{"ts":"2026-01-27T00:00:00Z","cost":', /^not JSON/],
    ['trailing comma', '{"ts":"2026-01-27T00:00:00Z","cost":1,}', /^not JSON/],
    ['NaN from Python', '{"ts":"2026-01-27T00:00:00Z","cost":NaN}', /NaN or Infinity/],
    ['Infinity from Python', '{"ts":"2026-01-27T00:00:00Z","cost":Infinity}', /NaN or Infinity/],
    ['-Infinity from Python', '{"ts":"2026-01-27T00:00:00Z","cost":-Infinity}', /NaN or Infinity/],
    ['overflowing number', '{"ts":"2026-01-27T00:00:00Z","cost":1e999}', /"cost" is not finite/],
    ['array', '[1,2]', /^not a JSON object: an array/],
    ['number', '42', /^not a JSON object: 42/],
    ['string', '"hello"', /^not a JSON object/],
    ['null', 'null', /^not a JSON object: null/],
    ['no time', '{"cost":1}', /^no time \(expected one of: ts, timestamp, time, t\)/],
    [
      'bad ISO time',
      '{"ts":"yesterday","cost":1}',
      /"ts" is not an ISO 8601 time or epoch number: "yesterday"/,
    ],
    ['impossible date', '{"ts":"2026-02-30T00:00:00Z","cost":1}', /"ts" is not an ISO/],
    ['bad hour', '{"ts":"2026-01-27T25:00:00Z","cost":1}', /"ts" is not an ISO/],
    ['trailing junk in time', '{"ts":"2026-01-27T00:00:00Zjunk","cost":1}', /"ts" is not an ISO/],
    ['boolean time', '{"t":true,"cost":1}', /"t" is not an ISO/],
    ['negative epoch', '{"t":-5,"cost":1}', /"t" is not an ISO/],
    ['negative cost', '{"ts":"2026-01-27T00:00:00Z","cost":-0.5}', /"cost" is negative: -0.5/],
    ['string cost', '{"ts":"2026-01-27T00:00:00Z","cost":"0.5"}', /"cost" is not a number: "0.5"/],
    ['boolean cost', '{"ts":"2026-01-27T00:00:00Z","cost_usd":true}', /"cost_usd" is not a number: true/],
    ['object cost', '{"ts":"2026-01-27T00:00:00Z","cost":{"usd":1}}', /"cost" is not a number: an object/],
    [
      'no cost and no tokens',
      '{"ts":"2026-01-27T00:00:00Z","model":"x"}',
      /^no cost \(expected one of: cost_usd, cost\) and no token counts/,
    ],
  ];
  it.each(cases)('%s', (_name, line, reason) => {
    const parsed = parseLine(line, table);
    expect(typeof parsed).toBe('string');
    expect(parsed).toMatch(reason);
  });
});

describe('parseLine: a fields map renames', () => {
  it('replaces the default names of a field, keeps the others', () => {
    const renamed = fieldTable({ time: ['created_at'], cost: ['usd', 'price'] }, { tokens: true });
    expect(parseLine('{"created_at":"2026-01-27T00:00:00Z","price":2,"in":3}', renamed)).toMatchObject({
      timeMs: T,
      cost: 2,
      inputTokens: 3,
    });
    expect(parseLine('{"created_at":"2026-01-27T00:00:00Z","usd":1,"price":2}', renamed)).toMatchObject({
      cost: 1,
    });
    // The default names of a renamed field no longer count.
    expect(parseLine('{"ts":"2026-01-27T00:00:00Z","cost":1}', renamed)).toMatch(
      /^no time \(expected one of: created_at\)/,
    );
  });
});

// The fast path must agree with JSON.parse on every line: same verdict, same values.
describe('parseLine: fast path agrees with JSON.parse (property test)', () => {
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
  const keys = [
    'ts',
    'timestamp',
    'time',
    't',
    'cost',
    'cost_usd',
    'in',
    'out',
    'input_tokens',
    'model',
    'agent',
    'request_id',
    'x',
    'daily',
    'cached_tokens',
  ];
  const values = [
    '"2026-01-27T00:00:00Z"',
    '"2026-01-27 00:00:00.5"',
    '1769472000.1',
    '1769472000123',
    '0',
    '-0',
    '0.0405',
    '1e-3',
    '1E+2',
    '-1',
    '12',
    'true',
    'false',
    'null',
    '"gpt-4o"',
    '"a\\"b"',
    '"\\u0041"',
    '"é"',
    '""',
    '{}',
    '[]',
    '{"a":1}',
    '"1769472000"',
    '2.5e308',
  ];
  const mutate = (line: string, r: () => number): string => {
    const i = Math.floor(r() * (line.length + 1));
    const junk = ['', ' ', ',', '}', '{', '"', ':', '\\', '0', '-', 'e', '.', '\t', '\u0001', 'x'][
      Math.floor(r() * 15)
    ] as string;
    switch (Math.floor(r() * 3)) {
      case 0:
        return line.slice(0, i) + junk + line.slice(i);
      case 1:
        return line.slice(0, i) + line.slice(i + 1);
      default:
        return line.slice(0, i) + junk + line.slice(i + 1);
    }
  };
  it('20,000 random and mutated lines', () => {
    const r = rng(42);
    let mismatches = 0;
    for (let n = 0; n < 20_000; n++) {
      const count = Math.floor(r() * 7);
      const parts: string[] = [];
      for (let k = 0; k < count; k++) {
        const ws = r() < 0.2 ? ' ' : '';
        parts.push(
          `${ws}"${keys[Math.floor(r() * keys.length)]}"${ws}:${ws}` +
            `${values[Math.floor(r() * values.length)]}`,
        );
      }
      let line = `{${parts.join(',')}}`;
      if (r() < 0.5) line = mutate(line, r);
      if (r() < 0.2) line = mutate(line, r);
      for (const t of [table, plain]) {
        const fast = parseLine(line, t);
        const slow = parseLineSlow(line, t);
        // Same verdict and the same record; a malformed line gets its reason from JSON.parse's
        // path in both, so the words match too.
        if (JSON.stringify(fast) !== JSON.stringify(slow)) {
          mismatches++;
          if (mismatches < 5) console.error('mismatch', line, fast, slow);
        }
      }
    }
    expect(mismatches).toBe(0);
  });
});

describe('parseLineBytes: bytes that are not UTF-8', () => {
  it('reports invalid UTF-8', () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"ts":"2026-01-27T00:00:00Z","cost":1,"model":"'),
      0xff,
      0x22,
      0x7d,
    ]);
    expect(parseLineBytes(bytes, 0, bytes.length, table)).toBe('invalid UTF-8');
  });
  it('reads a line from the middle of a buffer', () => {
    const bytes = new TextEncoder().encode('xx{"t":1769472000,"cost":2}yy');
    expect(parseLineBytes(bytes, 2, bytes.length - 2, table)).toMatchObject({ timeMs: T, cost: 2 });
  });
});

describe('numbers read by the fast path equal Number()', () => {
  it('for many decimal forms', () => {
    const forms = [
      '0',
      '-0',
      '0.1',
      '0.000405',
      '0.04050',
      '123456789012345',
      '1234567890123456789',
      '0.1234567890123456789',
      '1e-7',
      '2.5E+3',
      '99.99',
      '1769472000.123',
      '-12.5',
      '0.0000000000000000000000001',
    ];
    for (const f of forms) {
      const parsed = parseLine(`{"t":1769472000,"cost":${f.startsWith('-') ? `1,"in":${f}` : f}}`, table);
      if (f.startsWith('-')) continue;
      expect((parsed as CostRecord).cost).toBe(Number(f));
    }
    const r = () => Math.random();
    for (let i = 0; i < 20_000; i++) {
      const text = (r() * 10 ** Math.floor(r() * 12 - 6)).toFixed(Math.floor(r() * 12));
      const parsed = parseLine(`{"t":1769472000,"cost":${text}}`, table) as CostRecord;
      expect(parsed.cost).toBe(Number(text));
    }
  });
});

describe('ISO dates without Date.UTC', () => {
  it('daysFromCivil agrees with Date.UTC over four centuries', () => {
    for (let y = 1900; y <= 2300; y += 7) {
      for (let m = 1; m <= 12; m++) {
        for (const d of [1, 15, 28]) expect(daysFromCivil(y, m, d) * 86_400_000).toBe(Date.UTC(y, m - 1, d));
      }
    }
    expect(daysFromCivil(2024, 2, 29) * 86_400_000).toBe(Date.UTC(2024, 1, 29));
  });
});

describe('time strings read in place by the scanner', () => {
  it.each([
    ['2026-01-27T00:00:00Z', T],
    ['2026-01-27T01:00:00+01', T],
    ['2026-01-27T01:00:00+0100', T],
    ['2026-01-27T01:00:00+01:00', T],
    ['2026-01-27', T],
    ['2026-01-27 00:00:00.250', T + 250],
  ])('%s', (time, ms) => {
    expect(parseLine(`{"ts":"${time}","cost":1}`, table)).toMatchObject({ timeMs: ms });
  });
  it.each([
    '2026-01-27T01:00:00+01:',
    '2026-01-27T',
    '2026-01-27 ',
    '2026-01-27T00:00:00Zx',
    '2026-01-27T00:00:00+1',
  ])('%s is refused', (time) => {
    expect(parseLine(`{"ts":"${time}","cost":1}`, table)).toMatch(/is not an ISO 8601 time/);
  });
});

describe('token counts are read only when asked for, or when a line has no cost', () => {
  it('skips them on lines with a cost by default', () => {
    expect(parseLine('{"t":1769472000,"cost":1,"in":5}', plain)).toMatchObject({
      cost: 1,
      inputTokens: null,
    });
    expect(parseLine('{"t":1769472000,"in":5}', plain)).toMatchObject({ cost: null, inputTokens: 5 });
    expect(parseLine('{"t":1769472000,"cost":1,"in":5}', fieldTable({}, { tokens: true }))).toMatchObject({
      inputTokens: 5,
    });
  });
});
