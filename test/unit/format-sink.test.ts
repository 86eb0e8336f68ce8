// The formats' lines counted by the check's SpendScanner (src/sources/format-sink.ts), and the
// set of calls already counted (src/sources/dedupe.ts): the Claude Code fixtures' turns counted
// once across a resumed session, priced to the µ$ as the price table prices them; skipped and
// malformed lines told apart.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import { fieldTable } from '../../src/core/fields.js';
import { MAX_LABELS } from '../../src/core/labels.js';
import { Ledger } from '../../src/core/ledger.js';
import { feed, newAssembler } from '../../src/core/lines.js';
import { PriceBook } from '../../src/core/prices.js';
import { LineParser } from '../../src/core/record.js';
import { type CostPolicy, newTotals, SpendScanner } from '../../src/core/scan.js';
import { priceLookup } from '../../src/price-table.js';
import { DedupeSet } from '../../src/sources/dedupe.js';
import { FormatSink } from '../../src/sources/format-sink.js';
import { type FormatName, lineFormat } from '../../src/sources/formats/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'formats');
const PROJECT = join(FIXTURES, 'claude-code', 'projects', '-home-dev-shop');
const SESSIONS = [
  join(PROJECT, '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10.jsonl'),
  join(PROJECT, '9e2d4b61-7c85-4a39-b0f2-6d3e1a8c5f47.jsonl'),
];
const NOW = Date.parse('2026-11-30T12:00:00Z');
const DAY = 86_400;

function scan(
  name: FormatName,
  files: (string | Uint8Array)[],
  policy: CostPolicy = 'max',
  options: { seen?: DedupeSet; maxLineUsd?: number; fields?: Record<string, string> } = {},
) {
  const ledger = new Ledger(DAY, new DayCalendar('UTC'), NOW);
  const totals = newTotals();
  const scanner = new SpendScanner(
    new LineParser(fieldTable({}, { labels: true, tokens: true })),
    ledger,
    NOW,
    totals,
    null,
    {
      policy,
      prices: new PriceBook(priceLookup({}, NOW), MAX_LABELS),
      unpricedPerMillion: 75,
      ...(options.maxLineUsd === undefined ? {} : { maxLineUsd: options.maxLineUsd }),
    },
  );
  const seen = options.seen ?? new DedupeSet(DAY * 1000);
  const sink = new FormatSink(lineFormat(name, options.fields ?? {}), scanner, seen);
  for (const file of files) {
    scanner.file = typeof file === 'string' ? file : 'bytes';
    feed(newAssembler(), typeof file === 'string' ? readFileSync(file) : file, sink, true);
  }
  return { today: ledger.today(), totals, scanner, seen };
}

// The price table's own price of a call, by genai-prices' calcPrice (its usage convention: input
// includes the cache reads and writes; cache_write_tokens includes the 1-hour ones).
const table = createRequire(import.meta.url)('@pydantic/genai-prices') as {
  calcPrice(
    u: Record<string, number>,
    model: string,
    o: { providerId: string; timestamp: Date },
  ): { total_price: number };
};
const priceOf = (
  model: string,
  input: number,
  read: number,
  w5: number,
  w1: number,
  output: number,
): number =>
  table.calcPrice(
    {
      input_tokens: input + read + w5 + w1,
      cache_read_tokens: read,
      cache_write_tokens: w5 + w1,
      cache_write_1h_tokens: w1,
      output_tokens: output,
    },
    model,
    { providerId: 'anthropic', timestamp: new Date(NOW) },
  ).total_price;
const micros = (usd: number): number => Math.round(usd * 1e6);
// The fixtures' three API calls (Anthropic's raw usage).
// A streamed: its first snapshot (8 output tokens) is counted, then what the final one adds.
const A_FINAL = micros(priceOf('claude-sonnet-4-5-20250929', 4, 0, 12_000, 0, 120));
const A =
  micros(priceOf('claude-sonnet-4-5-20250929', 4, 0, 12_000, 0, 8)) +
  micros(priceOf('claude-sonnet-4-5-20250929', 0, 0, 0, 0, 112));
const B = micros(priceOf('claude-sonnet-4-5-20250929', 6, 12_000, 1_000, 2_000, 450));
const C_ESTIMATE = micros(priceOf('claude-opus-4-1-20250805', 10, 15_000, 500, 0, 800));
const C_LOGGED = 123_400;

describe('claude-code through the scanner', () => {
  it.each([
    ['reported: the logged costUSD where there is one, else the estimate', 'reported', A + B + C_LOGGED],
    ['estimated: every call from its tokens', 'estimated', A + B + C_ESTIMATE],
    ['max: the larger', 'max', A + B + Math.max(C_LOGGED, C_ESTIMATE)],
  ] as [string, CostPolicy, number][])('%s', (_, policy, expected) => {
    const { today, totals } = scan('claude-code', SESSIONS, policy);
    // each call once: the streamed turn at its final snapshot (the first, then what the last
    // adds), and the turn copied into the resumed session not again
    expect(totals.records).toBe(4);
    expect(today).toBe(expected);
    expect(Math.abs(A - A_FINAL)).toBeLessThanOrEqual(1);
    // summary x2, user turns x3, the copy
    expect(totals.skipped_lines).toBe(6);
    expect(totals.malformed).toBe(0);
    expect(totals.uncosted_lines).toBe(3);
  });
  it("a streamed call in the long-context tier: the later copy priced at the whole call's tier", () => {
    const copy = (output: number): string =>
      `${JSON.stringify({
        type: 'assistant',
        timestamp: new Date(NOW - 60_000).toISOString(),
        sessionId: 's',
        requestId: 'req_long',
        message: {
          id: 'msg_long',
          model: 'claude-sonnet-4-5-20250929',
          usage: {
            input_tokens: 0,
            cache_read_input_tokens: 1_000_000,
            cache_creation_input_tokens: 1_000_000,
            output_tokens: output,
          },
        },
      })}\n`;
    const { today } = scan('claude-code', [new TextEncoder().encode(copy(0) + copy(100_000))], 'estimated');
    const whole = micros(priceOf('claude-sonnet-4-5-20250929', 0, 1_000_000, 1_000_000, 0, 100_000));
    expect(Math.abs(today - whole)).toBeLessThanOrEqual(1);
    // The long-context tier is dearer than the base one (the mistake this holds off).
    const base = micros(priceOf('claude-sonnet-4-5-20250929', 0, 0, 0, 0, 100_000));
    expect(
      whole - micros(priceOf('claude-sonnet-4-5-20250929', 0, 1_000_000, 1_000_000, 0, 0)),
    ).toBeGreaterThan(base);
  });

  it('the same call in a later check (the set kept across checks) is not counted again', () => {
    const first = scan('claude-code', [SESSIONS[0] as string]);
    const again = scan('claude-code', [SESSIONS[1] as string], 'max', {
      seen: DedupeSet.fromState(first.seen.toState(), DAY * 1000),
    });
    expect(again.totals.records).toBe(1);
    expect(again.today).toBe(Math.max(C_LOGGED, C_ESTIMATE));
  });
  it('malformed: named with the format; bad UTF-8; above cost.max_line_usd (and not remembered)', () => {
    const enc = new TextEncoder();
    const good = readFileSync(SESSIONS[1] as string, 'utf8').split('\n')[3] as string;
    const bytes = new Uint8Array([
      ...enc.encode('{"type":"assistant","timestamp":"soon","message":{"usage":{"output_tokens":1}}}\n'),
      ...enc.encode('{"type":"user","message":{"content":"'),
      0xff,
      0xfe,
      ...enc.encode('"}}\n'),
      ...enc.encode(`${good}\n`),
    ]);
    const { totals } = scan('claude-code', [bytes, enc.encode(`${good}\n`)], 'reported', { maxLineUsd: 0.1 });
    expect(totals.malformed_samples.map((s) => [s.line, s.reason])).toEqual([
      [1, 'claude-code: "timestamp" is not an ISO 8601 time: "soon"'],
      [2, 'not UTF-8 text'],
      [3, 'cost 0.1234 is above cost.max_line_usd (0.1)'],
      // refused, so not remembered as counted: refused again, loudly
      [1, 'cost 0.1234 is above cost.max_line_usd (0.1)'],
    ]);
    expect(totals.records).toBe(0);
  });
});

describe('otel-genai and litellm through the scanner', () => {
  it('OTLP: one record per usage span; the line of spans without usage is skipped', () => {
    const { totals, today } = scan(
      'otel-genai',
      [join(FIXTURES, 'otel-genai', 'traces.jsonl')],
      'estimated',
      {
        fields: { agent: 'service.name' },
      },
    );
    expect([totals.records, totals.skipped_lines, totals.malformed]).toEqual([2, 1, 0]);
    expect(today).toBeGreaterThan(0);
  });
  it('LiteLLM: the logged response_cost under reported, four calls', () => {
    const { totals, today } = scan(
      'litellm',
      [join(FIXTURES, 'litellm', 'standard_logging.jsonl')],
      'reported',
    );
    expect([totals.records, totals.skipped_lines, totals.malformed]).toEqual([4, 0, 0]);
    expect(today).toBe(micros(0.00435) + micros(0.02265));
  });
});

describe('DedupeSet', () => {
  const u = (output: number, cost = -1): [number, number, number, number, number, number] => [
    4,
    output,
    0,
    12_000,
    0,
    cost,
  ];
  it('remembers keys, forgets those older than the horizon, and keeps at most its capacity', () => {
    const set = new DedupeSet(1000, 3);
    set.set('a', 100, u(1));
    set.set('b', 2000, u(2));
    expect([set.get('a'), set.get('b'), set.get('c')]).toEqual([u(1), u(2), undefined]);
    set.forget(1500);
    expect([set.get('a'), set.get('b')]).toEqual([undefined, u(2)]);
    for (const k of ['c', 'd', 'e']) set.set(k, 3000, u(3));
    // capacity 3: the first remembered ("b") dropped first
    expect(['b', 'c', 'd', 'e'].map((k) => set.get(k) !== undefined)).toEqual([false, true, true, true]);
    expect(set.size).toBe(3);
  });
  it.each([
    ['missing', undefined],
    ['not an object', 'x'],
    ['lengths differ', { hashes: [1, 2], times: [1], usage: [] }],
    ['no usage', { hashes: [1], times: [1] }],
    ['a hash not a safe integer', { hashes: [1.5], times: [1], usage: u(1) }],
    ['a time not finite', { hashes: [1], times: [null], usage: u(1) }],
    ['a negative count', { hashes: [1], times: [1], usage: [-4, 1, 0, 0, 0, -1] }],
  ])('a saved set that does not fit (%s) starts empty', (_, saved) => {
    expect(DedupeSet.fromState(saved, 1000).size).toBe(0);
  });
  it('toState / fromState round trip, cut to the capacity (the newest kept)', () => {
    const set = new DedupeSet(10_000);
    for (let k = 0; k < 10; k++) set.set(`msg_${k}:req_${k}`, k, u(k, k / 100));
    const back = DedupeSet.fromState(JSON.parse(JSON.stringify(set.toState())), 10_000, 4);
    expect(back.size).toBe(4);
    expect([back.get('msg_5:req_5'), back.get('msg_6:req_6'), back.get('msg_9:req_9')]).toEqual([
      undefined,
      u(6, 0.06),
      u(9, 0.09),
    ]);
  });
});

describe('copies of one call: counted once, at the largest', () => {
  const line = (output: number, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      type: 'assistant',
      sessionId: 's',
      requestId: 'req_1',
      timestamp: '2026-11-30T11:00:00Z',
      message: {
        id: 'msg_1',
        model: 'claude-sonnet-4-5-20250929',
        usage: { input_tokens: 10, output_tokens: output },
      },
      ...extra,
    });
  const run = (policy: CostPolicy, ...texts: string[]) =>
    scan('claude-code', [new TextEncoder().encode(`${texts.join('\n')}\n`)], policy);
  const price = (input: number, output: number) =>
    micros(priceOf('claude-sonnet-4-5-20250929', input, 0, 0, 0, output));
  it.each([
    ['a smaller copy after the final one adds nothing', [100, 5], price(10, 100), 1, 1],
    [
      'growing snapshots add what they grow by',
      [5, 50, 100],
      price(10, 5) + price(0, 45) + price(0, 50),
      3,
      0,
    ],
    ['the same snapshot three times: once', [7, 7, 7], price(10, 7), 1, 2],
  ] as [string, number[], number, number, number][])('%s', (_, outputs, expected, records, skipped) => {
    const { today, totals } = run('estimated', ...outputs.map((o) => line(o)));
    expect([today, totals.records, totals.skipped_lines]).toEqual([expected, records, skipped]);
  });
  it('a logged costUSD that grows: what it grows by; the same: nothing more', () => {
    const { today, totals } = run(
      'reported',
      line(5, { costUSD: 0.01 }),
      line(50, { costUSD: 0.03 }),
      line(50, { costUSD: 0.03 }),
    );
    expect([today, totals.records, totals.skipped_lines]).toEqual([30_000, 2, 1]);
  });
});
