// What keeps a full read's memory bounded, as pure behaviour: malformed lines are judged without
// JSON.parse throwing (or interning their strings), and the storm ids by name are saved as JSON
// text one id at a time, the same bytes as JSON.stringify of the whole state.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fieldTable } from '../../src/core/fields.js';
import { LineParser } from '../../src/core/record.js';
import { NAMES_KEPT, PriceBook } from '../../src/core/prices.js';
import { StormTracker } from '../../src/core/storms.js';

const parser = new LineParser(
  fieldTable({}, { labels: true, tokens: true, stormKey: 'request_id', idsSinceMs: 0 }),
);
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('malformed lines are judged without JSON.parse', () => {
  afterEach(() => vi.restoreAllMocks());
  const lines: [string, string, RegExp][] = [
    ['not JSON', 'not json at all, line 7', /^not JSON: unexpected 'n' at column 1/],
    [
      'NaN from Python',
      '{"ts":"2026-01-27T00:00:00Z","cost_usd":NaN,"request_id":"r1"}',
      /^not JSON: NaN or Infinity is not a JSON number$/,
    ],
    [
      'cut short',
      '{"ts":"2026-01-27T00:00:00Z","cost_usd":0.001,"request_id":"r1"',
      /^not JSON: the line ends where ',' or '}' should be$/,
    ],
    ['no time', '{"model":"gpt-4o-mini","cost_usd":0.0012,"request_id":"r1"}', /^no time/],
    [
      'bad time',
      '{"ts":"yesterday at 3h","cost_usd":0.0012,"request_id":"r1"}',
      /"ts" is not an ISO 8601 time/,
    ],
    [
      'negative cost',
      '{"ts":"2026-01-27T00:00:00Z","cost_usd":-0.25,"request_id":"r1"}',
      /^"cost_usd" is negative: -0.25$/,
    ],
    [
      'string cost',
      '{"ts":"2026-01-27T00:00:00Z","cost_usd":"0.5","request_id":"r1"}',
      /^"cost_usd" is not a number: "0.5"$/,
    ],
    ['no cost, no tokens', '{"ts":"2026-01-27T00:00:00Z","model":"m","request_id":"r1"}', /^no cost/],
  ];
  it.each(lines)('%s', (_name, line, reason) => {
    // A line JSON.parse rejects leaves V8 a Script in the old generation; a flat line it accepts
    // interns its short strings: either way, memory that grows with every malformed line.
    const parse = vi.spyOn(JSON, 'parse');
    const b = bytes(line);
    expect(parser.parseLineBytes(b, 0, b.length)).toMatch(reason);
    expect(parse).not.toHaveBeenCalled();
  });

  it('a nested line is still read by JSON.parse, and counted', () => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(parser.parseLine('{"ts":"2026-01-27T00:00:00Z","cost":1,"usage":{"in":[1,2]}}')).toMatchObject({
      cost: 1,
    });
    expect(parse).toHaveBeenCalled();
  });
});

describe('StormTracker.stateJson', () => {
  it('is JSON.stringify(toState()) in UTF-8, also across chunks and for names that need escapes', () => {
    const nowMs = 1_800_000_000_000;
    const tracker = new StormTracker({ count: 3, windowMs: 900_000 }, nowMs);
    const names = ['plain', 'quote"d', 'back\\slash', 'é-ü', '🙂', 'ctl\u0001', ''];
    for (let k = 0; k < 60_000; k++) {
      const id = `${names[k % names.length]}-${k}`;
      tracker.addId(id, nowMs - 100_000 + k, 0.000123 * (k % 7));
      tracker.addId(id, nowMs - 50_000 + k, 0.1 / 3);
      if (k % 5 === 0) tracker.addId(id, nowMs - 2_000_000, 1); // outside the window: not kept
    }
    const chunks = tracker.stateJson();
    expect(chunks.length).toBeGreaterThan(1); // several MB: written in more than one chunk
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toBe(JSON.stringify(tracker.toState()));
    expect((JSON.parse(text) as unknown[]).length).toBe(60_000);
  });

  it('of a tracker with no ids is an empty list', () => {
    const tracker = new StormTracker({ count: 3, windowMs: 900_000 }, 1_800_000_000_000);
    expect(Buffer.concat(tracker.stateJson()).toString('utf8')).toBe('[]');
  });
});

describe('PriceBook: names without a label id', () => {
  it('past NAMES_KEPT, an unpriced name is still looked up once, and a priced one still priced', () => {
    const asked = new Map<string, number>();
    const rates = {
      base: { input: 1e-6, output: 2e-6, cached: 1e-6, cacheWrite: 1e-6, cacheWrite1h: 1e-6, request: 0 },
      tiers: [],
      source: 'config',
    };
    const book = new PriceBook((model) => {
      asked.set(model, (asked.get(model) ?? 0) + 1);
      return model.startsWith('priced-') ? rates : null;
    }, 16);
    const names = NAMES_KEPT + 20_000;
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < names; k++)
        expect(book.estimate(-1, `invented-${k}`, -2, null, 1000, 100, 0)).toBe(-1);
      expect(book.estimate(-1, `priced-${round}`, -2, null, 1000, 100, 0)).toBeCloseTo(1000e-6 + 200e-6, 12);
    }
    expect(asked.size).toBe(names + 3);
    expect([...asked.values()].every((n) => n === 1)).toBe(true);
  });
});
