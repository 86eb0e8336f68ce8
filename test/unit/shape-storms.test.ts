// Re-runs without ids (core/storms/shapes.ts): which lines are call shapes, which repetitions are
// storms and which are not, the same answer from the fast parser and the JSON.parse path, counts
// that stay exact across checks and when a helper thread's part is taken in, and the signal's words.
import { describe, expect, it } from 'vitest';
import { Attribution } from '../../src/core/attribution.js';
import { DayCalendar } from '../../src/core/calendar.js';
import { fieldTable } from '../../src/core/fields.js';
import { shapeStormFindings, shapeStormSignal } from '../../src/core/findings/index.js';
import { MAX_LABELS } from '../../src/core/labels.js';
import { Ledger } from '../../src/core/ledger.js';
import { feed, newAssembler, SCAN_PADDING } from '../../src/core/lines.js';
import { PriceBook, ratesFromConfig } from '../../src/core/prices.js';
import { LineParser } from '../../src/core/record.js';
import { newTotals, SpendScanner } from '../../src/core/scan.js';
import { type Storm, StormTracker } from '../../src/core/storms.js';
import {
  ShapeHasher,
  ShapeNotes,
  shapeHashOfName,
  shapeName,
  shapeOfName,
  shapeTrackerSettings,
  shapeWords,
} from '../../src/core/storms/shapes.js';
import { Labels } from '../../src/core/labels.js';
import type { CostRecord } from '../../src/core/fields.js';
import { absorbPart, partOf } from '../../src/parallel/merge.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const WINDOW = 15 * 60_000;
const HORIZON = 86_400;
const SETTINGS = shapeTrackerSettings({ count: 3, windowMs: WINDOW });

type Line = Record<string, unknown>;

const lookup = (model: string): ReturnType<typeof ratesFromConfig> | null =>
  model === 'gpt-4o' ? ratesFromConfig({ input: 2.5, output: 10, cached: 1.25 }) : null;

interface Options {
  stormKey?: 'request_id' | 'fingerprint' | null;
  /** Read tokens on every line (a cost policy that estimates); false: `reported`. */
  tokens?: boolean;
  shapes?: StormTracker;
}

function scanner(options: Options = {}): SpendScanner {
  const calendar = new DayCalendar('UTC');
  const shapes = options.shapes ?? new StormTracker(SETTINGS, NOW);
  const ids = options.stormKey === undefined ? 'request_id' : options.stormKey;
  const storms = ids === null ? null : new StormTracker({ count: 5, windowMs: WINDOW }, NOW);
  const tokens = options.tokens ?? true;
  const s = new SpendScanner(
    new LineParser(
      fieldTable(
        {},
        {
          labels: true,
          tokens,
          shapes: true,
          idsSinceMs: shapes.sinceMs,
          ...(ids === null ? {} : { stormKey: ids }),
        },
      ),
    ),
    new Ledger(HORIZON, calendar, NOW),
    NOW,
    newTotals(),
    new Attribution(HORIZON, calendar, NOW),
    {
      policy: tokens ? 'max' : 'reported',
      prices: new PriceBook(lookup, MAX_LABELS),
      unpricedPerMillion: 75,
    },
    storms,
  );
  s.shapes = shapes;
  return s;
}

/** Feed whole lines as the reader does. */
function read(s: SpendScanner, lines: readonly Line[]): number {
  const text = new TextEncoder().encode(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const bytes = new Uint8Array(text.length + SCAN_PADDING).fill(10);
  bytes.set(text);
  const asm = newAssembler();
  feed(asm, bytes, s.sinkFor('cost_log.jsonl'), true, text.length);
  return asm.lineNo;
}

/** A line `agoSec` seconds before NOW. */
function at(agoSec: number, fields: Line): Line {
  return { ts: new Date(NOW - agoSec * 1000).toISOString(), cost_usd: 0.01, ...fields };
}

/** The same lines `times` times, each pass `everySec` later than the one before. */
function repeated(times: number, everySec: number, batch: readonly Line[], startAgoSec = 600): Line[] {
  const out: Line[] = [];
  for (let r = 0; r < times; r++)
    batch.forEach((fields, k) => {
      out.push(at(startAgoSec - r * everySec - k * 0.1, fields));
    });
  return out;
}

function stormsOf(lines: readonly Line[], options: Options = {}): [string, number][] {
  const s = scanner(options);
  read(s, lines);
  return (s.shapes as StormTracker).storms().map((st) => [shapeWords(shapeOfName(st.id)), st.count]);
}

const call = { model: 'gpt-4o', agent: 'summarizer', in: 1200, out: 300 };
let fresh = 0;
const newId = (): string => `req-${++fresh}`;

describe('shapes that are storms', () => {
  it.each([
    [
      'the same call three times, no ids',
      repeated(3, 30, [call]),
      {},
      [['model "gpt-4o", agent "summarizer", 1200 input / 300 output tokens', 3]],
    ],
    [
      "a task in the agent's place (the line names no agent)",
      repeated(3, 30, [{ model: 'gpt-4o', task: 'nightly-digest', in: 800, out: 90 }]),
      {},
      [['model "gpt-4o", task "nightly-digest", 800 input / 90 output tokens', 3]],
    ],
    [
      'a line with input tokens only (the log has no output count)',
      repeated(3, 30, [{ model: 'gpt-4o', agent: 'a', in: 640 }]),
      {},
      [['model "gpt-4o", agent "a", 640 input tokens', 3]],
    ],
    [
      'under the `reported` policy (tokens read only for lines without ids)',
      repeated(4, 30, [call]),
      { tokens: false },
      [['model "gpt-4o", agent "summarizer", 1200 input / 300 output tokens', 4]],
    ],
    [
      'a placeholder request id is no id',
      repeated(3, 30, [{ ...call, request_id: 'unknown' }]),
      {},
      [['model "gpt-4o", agent "summarizer", 1200 input / 300 output tokens', 3]],
    ],
    [
      'with the retry-storm check off (no id field read for it)',
      repeated(3, 30, [call]),
      { stormKey: null },
      [['model "gpt-4o", agent "summarizer", 1200 input / 300 output tokens', 3]],
    ],
    [
      'a batch of 4 re-run 21 times: each call of the batch',
      repeated(
        21,
        20,
        [0, 1, 2, 3].map((k) => ({ model: 'gpt-4o', agent: 'etl', in: 1000 + k * 111, out: 50 + k })),
      ),
      {},
      [0, 1, 2, 3].map((k) => [
        `model "gpt-4o", agent "etl", ${1000 + k * 111} input / ${50 + k} output tokens`,
        21,
      ]),
    ],
  ] as [string, Line[], Options, [string, number][]][])('%s', (_name, lines, options, expected) => {
    expect(stormsOf(lines, options).sort()).toEqual(expected.sort());
  });
});

describe('repetitions that are not storms', () => {
  it.each([
    [
      'the same prompt size from different agents',
      ['planner', 'coder', 'reviewer', 'tester'].map((agent, k) => at(300 - k, { ...call, agent })),
    ],
    [
      'a busy agent whose inputs vary',
      Array.from({ length: 200 }, (_, k) => at(600 - k * 2, { ...call, in: 900 + ((k * 37) % 400) + k })),
    ],
    [
      'the same output from inputs that differ',
      [1200, 1201, 1202].map((input, k) => at(300 - k, { ...call, in: input })),
    ],
    [
      'the same call from different models',
      ['gpt-4o', 'gpt-4o-mini', 'o3'].map((model, k) => at(300 - k, { ...call, model })),
    ],
    [
      'an agent and a task of the same name',
      [
        at(300, { model: 'gpt-4o', agent: 'digest', in: 5, out: 5 }),
        at(299, { model: 'gpt-4o', task: 'digest', in: 5, out: 5 }),
        at(298, { model: 'gpt-4o', agent: 'digest', in: 5, out: 5 }),
      ],
    ],
    [
      'lines that carry a (fresh) request id',
      repeated(5, 30, [call]).map((l) => ({ ...l, request_id: newId() })),
    ],
    [
      'lines that carry a fingerprint (the retry storm follows request_id)',
      repeated(5, 30, [call]).map((l) => ({ ...l, fingerprint: newId() })),
    ],
    ['lines without tokens (a cost only)', repeated(5, 30, [{ model: 'gpt-4o', agent: 'summarizer' }])],
    ['lines with 0 tokens', repeated(5, 30, [{ model: 'gpt-4o', agent: 'summarizer', in: 0, out: 0 }])],
    ['seen twice (the count is 3)', repeated(2, 30, [call])],
    ['three times, but not within the window', repeated(3, 500, [call], 1100)],
    ['three times, all older than the window', repeated(3, 10, [call], 1000)],
  ] as [string, Line[]][])('%s', (_name, lines) => {
    expect(stormsOf(lines)).toEqual([]);
  });
});

describe('the fast parser and the JSON.parse path agree', () => {
  it('a line the fast path leaves to JSON.parse has the same shape', () => {
    // Nesting is read by JSON.parse: two of the three lines go that way.
    const lines = [
      at(30, call),
      at(20, { ...call, meta: { queue: 'q1' } }),
      at(10, { ...call, meta: { queue: 'q2' }, request_id: null }),
    ];
    expect(stormsOf(lines)).toEqual([
      ['model "gpt-4o", agent "summarizer", 1200 input / 300 output tokens', 3],
    ]);
    expect(stormsOf(lines, { tokens: false })).toHaveLength(1);
    // An id in a nested line is still an id.
    const withId = [at(30, call), at(20, { ...call, meta: {}, fingerprint: 'fp-1' }), at(10, call)];
    expect(stormsOf(withId)).toEqual([]);
  });
});

/** One check: load what the last saved, read these lines, save (as check/checkpoint.ts does). */
function check(
  saved: { named: unknown; base: Float64Array | null; delta: number[] },
  nowMs: number,
  lines: readonly Line[],
  rewrite = false,
): { storms: Storm[]; saved: typeof saved } {
  const shapes = StormTracker.fromState(saved.named, SETTINGS, nowMs, () => saved.base, saved.delta);
  const s = scanner({ shapes });
  read(s, lines);
  const plan = shapes.singlesToSave(rewrite);
  const next = {
    named: JSON.parse(JSON.stringify(shapes.toState())) as unknown,
    base: saved.base,
    delta: saved.delta,
  };
  if (plan !== null) {
    if (plan.base !== null) {
      next.base = plan.base;
      next.delta = [];
    } else next.delta = plan.delta;
  }
  return { storms: shapes.storms(), saved: next };
}

describe('exact across checks', () => {
  const batch = Array.from({ length: 8 }, (_, k) => ({
    model: 'gpt-4o',
    agent: 'queue',
    in: 700 + k * 13,
    out: 40 + k,
  }));

  it.each([
    ['each repetition in a check of its own', [[0], [1], [2]]],
    ['two repetitions, then one', [[0, 1], [2]]],
    ['one, then two', [[0], [1, 2]]],
    ['all three in one check', [[0, 1, 2]]],
  ] as [string, number[][]][])('%s: 8 storms of 3', (_name, checks) => {
    let saved = { named: [] as unknown, base: null as Float64Array | null, delta: [] as number[] };
    let storms: Storm[] = [];
    for (const reps of checks) {
      const lines = reps.flatMap((r) => batch.map((fields, k) => at(300 - r * 60 - k, fields)));
      const r = check(saved, NOW, lines);
      saved = r.saved;
      storms = r.storms;
    }
    expect(storms.map((s) => s.count)).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
    expect(storms.reduce((sum, s) => sum + s.usd, 0)).toBeCloseTo(8 * 3 * 0.01, 9);
  });

  it('thousands of shapes seen once go to a base file; a later sighting of one of them counts', () => {
    let saved = { named: [] as unknown, base: null as Float64Array | null, delta: [] as number[] };
    const many = Array.from({ length: 6000 }, (_, k) =>
      at(600, { model: 'gpt-4o', agent: 'busy', in: 10_000 + k, out: 7 }),
    );
    saved = check(saved, NOW, many).saved;
    expect(saved.base?.length).toBe(6000 * 3);
    const again = { model: 'gpt-4o', agent: 'busy', in: 10_777, out: 7 };
    saved = check(saved, NOW + 1000, [at(100, again)]).saved;
    const last = check(saved, NOW + 2000, [at(50, again)]);
    expect(last.storms.map((s) => [shapeOfName(s.id).input_tokens, s.count])).toEqual([[10_777, 3]]);
  });
});

describe('a helper thread part taken in', () => {
  it.each([1, 7, 12, 20])('split after line %i: the same storms as one reader', (split) => {
    const lines = [
      ...repeated(3, 40, [call, { ...call, agent: 'other' }, { model: 'gpt-4o', task: 't', in: 9, out: 9 }]),
      ...Array.from({ length: 12 }, (_, k) => at(100 - k, { ...call, in: 5000 + k })),
    ];
    const whole = scanner();
    read(whole, lines);
    const main = scanner();
    const before = read(main, lines.slice(0, split));
    // The helper notes its sightings in bulk, each with what names its shape (as worker.ts does).
    const helperShapes = new StormTracker(SETTINGS, NOW);
    helperShapes.startBulk();
    const helper = scanner({ shapes: helperShapes });
    const notes = new ShapeNotes();
    helper.shapeRef = (record) => notes.note(record);
    read(helper, lines.slice(split));
    const found = helperShapes.finishBulk((ref) => notes.nameOf(ref));
    const kept = new Float64Array(found.refs.length * 4);
    for (let k = 0; k < found.refs.length; k++) {
      const from = ((found.refs[k] as number) - 1) * 4;
      kept.set(notes.data.subarray(from, from + 4), k * 4);
    }
    const part = partOf(helper, lines.length - split, undefined, {
      named: helperShapes.toState(),
      singles: found.singles,
      notes: kept,
      names: notes.names,
    });
    absorbPart(main, part, before, () => '');
    const shapes = (s: SpendScanner) =>
      (s.shapes as StormTracker).storms().map((st) => [st.id, st.count, st.usd]);
    expect(shapes(main)).toEqual(shapes(whole));
    expect(shapes(whole)).toHaveLength(3);
  });
});

describe('the signal and its words', () => {
  const storm = (name: string, count: number, usd: number): Storm => ({
    id: name,
    count,
    usd,
    firstMs: NOW - 1,
    lastMs: NOW,
  });
  const name = JSON.stringify(['gpt-4o', 'agent', 'etl', 1200, 300]);

  it('names the shape, the count, the cost, the window and how many more shapes', () => {
    const signal = shapeStormSignal(
      [
        storm(name, 21, 2.1),
        storm(JSON.stringify(['gpt-4o', 'task', 't', 5, null]), 3, 0.3),
        storm('x', 3, 0.1),
      ],
      { windowMs: WINDOW, level: 'warn' },
    );
    expect(signal).toMatchObject({ name: 'shape-storm', level: 'warn', seconds: 900, spend: 2.5 });
    expect(signal?.detail).toBe(
      'shape storm (calls without ids): model "gpt-4o", agent "etl", 1200 input / 300 output tokens billed ' +
        '21 times in 15m ($2.10) and 2 more shapes',
    );
    expect(shapeStormSignal([], { windowMs: WINDOW, level: 'warn' })).toBeNull();
  });

  it.each([
    [['gpt-4o', 'task', 'nightly', 5, null], 'model "gpt-4o", task "nightly", 5 input tokens'],
    [[null, null, null, null, 7], 'model (none), no agent or task, 7 output tokens'],
  ] as [unknown[], string][])('%j in words', (parts, words) => {
    expect(shapeWords(shapeOfName(JSON.stringify(parts)))).toBe(words);
  });

  it('findings name the worst five, count the rest, and say when shapes went unfollowed', () => {
    const storms = Array.from({ length: 7 }, (_, k) =>
      storm(JSON.stringify(['m', 'agent', 'a', k + 1, 1]), 3, 1),
    );
    const found = shapeStormFindings(storms, WINDOW, true, 1000);
    expect(found.map((f) => f.kind)).toEqual(Array(7).fill('shape-storm'));
    expect(found[5]?.text).toBe(
      'and 2 more call shapes billed again and again in 15m ($2.00): see `cost-watchdog status`',
    );
    expect(found[6]?.text).toContain('more than 1000 call shapes without ids in 15m');
  });
});

describe("a shape's hash is its name's", () => {
  const labels = new Labels();
  const record = (fields: Partial<CostRecord>): CostRecord => {
    const model = fields.model ?? null;
    const agent = fields.agent ?? null;
    return {
      timeMs: NOW,
      cost: 0.01,
      inputTokens: null,
      outputTokens: null,
      cachedTokens: null,
      cacheWriteTokens: null,
      cacheWrite1hTokens: null,
      model,
      provider: null,
      agent,
      modelId: model === null ? -2 : labels.idOfString(model),
      agentId: agent === null ? -2 : labels.idOfString(agent),
      providerId: -2,
      task: null,
      requestId: null,
      fingerprint: null,
      stormHash: -1,
      stormText: null,
      shapeable: true,
      ...fields,
    } as CostRecord;
  };

  it.each([
    ['model, agent, both counts', { model: 'gpt-4o', agent: 'a', inputTokens: 1200, outputTokens: 300 }],
    ['a task (no agent)', { model: 'gpt-4o', task: 'digest', inputTokens: 5, outputTokens: 1 }],
    ['no model, no one', { inputTokens: 7, outputTokens: null }],
    ['fractional and -0 counts', { model: 'm', agent: 'a', inputTokens: 12.5, outputTokens: -0 }],
    ['names longer than a name keeps', { model: 'm'.repeat(300), agent: 'é'.repeat(90), inputTokens: 1 }],
  ] as [string, Partial<CostRecord>][])('%s', (_name, fields) => {
    const r = record(fields);
    const hash = new ShapeHasher().hash(r, labels);
    expect(Number.isSafeInteger(hash) && hash >= 0).toBe(true);
    expect(shapeHashOfName(shapeName(r))).toBe(hash);
    // A helper thread's note names it the same.
    const notes = new ShapeNotes();
    expect(notes.nameOf(notes.note(r))).toBe(shapeName(r));
  });

  it("the agent is the shape's, whatever task the line names too", () => {
    const hasher = new ShapeHasher();
    const a = hasher.hash(record({ model: 'm', agent: 'a', task: 't1', inputTokens: 9 }), labels);
    expect(hasher.hash(record({ model: 'm', agent: 'a', task: 't2', inputTokens: 9 }), labels)).toBe(a);
    expect(hasher.hash(record({ model: 'm', task: 'a', inputTokens: 9 }), labels)).not.toBe(a);
    expect(hasher.hash(record({ model: 'm', agent: 'a', inputTokens: 9, outputTokens: 0 }), labels)).not.toBe(
      a,
    );
    expect(hasher.hash(record({ model: 'm', agent: 'a' }), labels)).toBe(-1);
  });
});
