// The compact storage behind retry storms: the named-id table (core/storms/named-table.ts) and
// the ids-seen-once table's packed sightings (core/storms/singles.ts). Table tests against a
// plain model (a Map of arrays, as the tracker kept them before), and through the tracker: the
// saved state is the same JSON whatever the ids hold.
import { describe, expect, it } from 'vitest';
import { idHashOfString, StormTracker } from '../../src/core/storms.js';
import { NamedTable } from '../../src/core/storms/named-table.js';
import { Singles } from '../../src/core/storms/singles.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const WINDOW = 15 * 60_000;
const settings = { count: 5, windowMs: WINDOW };
const FROM = NOW - 10_000_000; // the named-id tables' window start: every sighting is after it

/** Every id of the table with its sightings, as plain arrays. */
function dump(table: NamedTable): [string, number[], number[]][] {
  const out: [string, number[], number[]][] = [];
  for (let k = 0; k < table.size; k++) {
    const times: number[] = [];
    const costs: number[] = [];
    for (let j = 0; j < table.count(k); j++) {
      times.push(table.time(k, j));
      costs.push(table.cost(k, j));
    }
    out.push([table.id(k), times, costs]);
  }
  return out;
}

/** The model: sightings sorted by time, a later one after those at the same time. */
function modelInsert(entry: [string, number[], number[]], time: number, cost: number): void {
  let at = entry[1].length;
  while (at > 0 && (entry[1][at - 1] as number) > time) at--;
  entry[1].splice(at, 0, time);
  entry[2].splice(at, 0, cost);
}

/** A small deterministic generator (the same sequence each run). */
function numbers(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    return s / 4_294_967_296;
  };
}

describe('the named-id table', () => {
  it('grows past many blocks and slot tables: each id found, numbered in the order first added', () => {
    const table = new NamedTable(FROM);
    for (let k = 0; k < 20_000; k++) {
      const id = `req-${k}`;
      expect(table.find(idHashOfString(id))).toBe(-1);
      const n = table.create(idHashOfString(id), id);
      expect(n).toBe(k);
      table.insert(n, NOW - k, k);
    }
    expect(table.size).toBe(20_000);
    for (const k of [0, 1, 4095, 4096, 4097, 12_345, 19_999]) {
      const n = table.find(idHashOfString(`req-${k}`));
      expect(n).toBe(k);
      expect([table.id(n), table.count(n), table.time(n, 0), table.cost(n, 0)]).toEqual([
        `req-${k}`,
        1,
        NOW - k,
        k,
      ]);
    }
    expect(table.find(idHashOfString('req-20000'))).toBe(-1);
  });

  it('sightings in and out of order, few or many per id, match the plain model exactly', () => {
    const table = new NamedTable(FROM);
    const model: [string, number[], number[]][] = [];
    const random = numbers(7);
    // Ids seen 1 to 40 times (some past the inline room, their runs moved and the pool compacted
    // many times), sightings interleaved across ids, times mostly rising with some going back.
    for (let step = 0; step < 30_000; step++) {
      const k = Math.floor(random() * random() * 2000);
      const id = `id-${k}`;
      let n = table.find(idHashOfString(id));
      if (n < 0) {
        n = table.create(idHashOfString(id), id);
        model.push([id, [], []]);
      }
      const time = NOW - 500_000 + step * 10 - (random() < 0.2 ? Math.floor(random() * 5000) : 0);
      const cost = Math.floor(random() * 3_000_000);
      table.insert(n, time, cost);
      modelInsert(model[n] as [string, number[], number[]], time, cost);
    }
    expect(dump(table)).toEqual(model);
    expect(Math.max(...model.map((e) => e[1].length))).toBeGreaterThan(40);
  });

  it('one id seen 100,000 times: every sighting kept, in order', () => {
    const table = new NamedTable(FROM);
    const n = table.create(1234, 'batch-7');
    for (let j = 0; j < 100_000; j++) table.insert(n, NOW - 100_000 + j, j % 977);
    table.insert(n, NOW - 100_000 - 1, 5); // older than all: goes first
    expect(table.count(n)).toBe(100_001);
    expect([table.time(n, 0), table.cost(n, 0)]).toEqual([NOW - 100_001, 5]);
    expect([table.time(n, 100_000), table.cost(n, 100_000)]).toEqual([NOW - 1, 99_999 % 977]);
    for (let j = 1; j < 100_001; j++) expect(table.time(n, j) > table.time(n, j - 1)).toBe(true);
  });

  it.each([
    ['ASCII', 'req-42'],
    ['Latin-1 (kept a byte a character)', 'ÿþ-café'],
    ['beyond Latin-1', 'snow☃man'],
    ['an emoji (a surrogate pair)', 'emoji😀'],
    ['a lone surrogate', 'lone\ud800x'],
    ['quotes, backslashes and control characters', 'q"b\\s\t\u0001\n'],
    ['empty', ''],
    ['long (kept as a string)', 'x'.repeat(5000)],
    ['long in bytes', 'é'.repeat(4096)],
  ])('an id comes back exactly as given: %s', (_name, id) => {
    const table = new NamedTable(FROM);
    for (let k = 0; k < 50; k++) table.create(idHashOfString(`pad-${k}`), `pad-${k}`);
    const n = table.create(idHashOfString(id), id);
    expect(table.id(n)).toBe(id);
    expect(table.id(n - 1)).toBe('pad-49');
    expect(table.find(idHashOfString(id))).toBe(n);
  });

  it.each([
    [
      'all pack',
      [
        [FROM + 30, 5],
        [FROM + 10, 7],
        [FROM + 20, 0],
      ],
    ],
    [
      'the first is dear ($2.097152 and more do not pack)',
      [
        [FROM + 30, 2_097_152],
        [FROM + 10, 7],
        [FROM + 20, 1],
      ],
    ],
    [
      'the third is dear',
      [
        [FROM + 30, 5],
        [FROM + 10, 7],
        [FROM + 20, 9_000_000_000],
      ],
    ],
    [
      'a time 49 days on',
      [
        [FROM + 30, 5],
        [FROM + 4_294_967_296, 7],
      ],
    ],
    [
      'a fraction of a µ$',
      [
        [FROM + 30, 0.25],
        [FROM + 10, 7],
      ],
    ],
    [
      'four: past the inline room',
      [
        [FROM + 4, 4],
        [FROM + 3, 3],
        [FROM + 2, 2],
        [FROM + 1, 1],
      ],
    ],
  ])('packed or not, sightings come back exact and in time order: %s', (_name, sightings) => {
    const table = new NamedTable(FROM);
    const n = table.create(99, 'r');
    for (const [t, c] of sightings as [number, number][]) table.insert(n, t, c);
    const got = dump(table)[0] as [string, number[], number[]];
    const want = [...(sightings as [number, number][])].sort((a, b) => a[0] - b[0]);
    expect([got[1], got[2]]).toEqual([want.map((x) => x[0]), want.map((x) => x[1])]);
  });

  it('reset: a saved state naming an id twice keeps the later entry, in the earlier place', () => {
    const state = [
      ['a', NOW - 100, 1, NOW - 90, 2, NOW - 80, 3, NOW - 70, 4],
      ['b', NOW - 50, 1],
      ['a', NOW - 10, 9],
      ['b', NOW - WINDOW - 1, 1], // nothing inside the window: the earlier 'b' stays
    ];
    const tracker = StormTracker.fromState(state, settings, NOW);
    expect(tracker.toState()).toEqual([
      ['a', NOW - 10, 9],
      ['b', NOW - 50, 1],
    ]);
  });
});

describe('the tracker over the compact table', () => {
  it('promotion, expiry and the saved state: the same as the plain model, ids of every kind', () => {
    const ids = [
      'plain',
      'é-accent',
      'snow☃man',
      'quote"back\\slash',
      'tab\there',
      'ctrl\u0001',
      'emoji😀',
      'y'.repeat(300),
      'ÿ',
      'lone\udc00',
    ];
    const tracker = new StormTracker(settings, NOW);
    const model = new Map<string, [string, number[], number[]]>();
    const first = new Map<string, [number, number]>();
    const random = numbers(11);
    for (let step = 0; step < 400; step++) {
      const id = ids[Math.floor(random() * ids.length)] as string;
      // Some sightings are at or before the window's start: never kept.
      const time = NOW - WINDOW - 20_000 + Math.floor(random() * (WINDOW + 20_000));
      const cost = Math.floor(random() * 5_000_000);
      tracker.addId(id, time, cost);
      if (time <= NOW - WINDOW) continue;
      const entry = model.get(id);
      if (entry !== undefined) modelInsert(entry, time, cost);
      else if (!first.has(id)) first.set(id, [time, cost]);
      else {
        // Its second sighting: named from now on, with the first.
        const e: [string, number[], number[]] = [id, [], []];
        modelInsert(e, ...(first.get(id) as [number, number]));
        modelInsert(e, time, cost);
        model.set(id, e);
      }
    }
    const expected = [...model.values()].map(([id, times, costs]) => [
      id,
      ...times.flatMap((t, j) => [t, Math.round((costs[j] as number) * 1e9) / 1e9]),
    ]);
    expect(tracker.toState()).toEqual(expected);
    // The text written a chunk at a time is JSON.stringify of the state, byte for byte.
    const chunks = tracker.stateJson();
    expect(Buffer.concat(chunks).toString('utf8')).toBe(JSON.stringify(expected));
    // Loaded later, sightings that left the window are dropped; the rest kept as they were.
    const later = NOW + 300_000;
    const reloaded = StormTracker.fromState(JSON.parse(JSON.stringify(expected)), settings, later);
    const inside = expected
      .map((e) => {
        const kept: (string | number)[] = [e[0] as string];
        for (let j = 1; j < e.length; j += 2)
          if ((e[j] as number) > later - WINDOW) kept.push(e[j] as number, e[j + 1] as number);
        return kept;
      })
      .filter((e) => e.length > 1);
    expect(reloaded.toState()).toEqual(inside);
    const storms = inside
      .filter((e) => (e.length - 1) / 2 >= 5)
      .map((e) => [
        (e[0] as string).length > 200 ? `${(e[0] as string).slice(0, 200)}…` : e[0],
        (e.length - 1) / 2,
      ]);
    expect(storms.length).toBeGreaterThan(3);
    expect(
      reloaded
        .storms()
        .map((s) => [s.id, s.count])
        .sort(),
    ).toEqual(storms.sort());
  });
});

describe('the saved state written a chunk at a time', () => {
  it('an id longer than a chunk holds, among short ones: the same bytes as JSON.stringify', () => {
    const tracker = new StormTracker(settings, NOW);
    const ids = ['a', 'z'.repeat(300_000), 'é☃'.repeat(50_000), 'b'];
    for (let k = 0; k < 2000; k++) ids.push(`short-${k}`);
    for (const id of ids) for (let j = 0; j < 2; j++) tracker.addId(id, NOW - 1000 + j, 1 + j);
    const state = tracker.toState();
    expect(state.length).toBe(ids.length);
    const chunks = tracker.stateJson();
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.concat(chunks).equals(Buffer.from(JSON.stringify(state), 'utf8'))).toBe(true);
  });
});

describe('ids seen once: time and cost packed into one double', () => {
  const fromMs = NOW - WINDOW;
  it.each([
    ['an ordinary line', fromMs + 1, 1234],
    ['the last packable cost ($2.097151)', fromMs + 5, 2_097_151],
    ['a dear line ($2.097152): kept aside', fromMs + 5, 2_097_152],
    ['a line costing $5,000,000: kept aside', fromMs + 5, 5_000_000_000_000],
    ['the last packable time (49 days on)', fromMs + 4_294_967_295, 7],
    ['a time further on: kept aside', fromMs + 4_294_967_296, 7],
    ['free', fromMs + 100, 0],
    ['a fraction of a µ$ (not from a log, but loaded): kept aside', fromMs + 100, 0.5],
  ])('%s: exact', (_name, time, cost) => {
    const singles = new Singles(0, fromMs);
    // Enough ids that the table grows (and moves every slot) after this one is in.
    singles.put(singles.slotOf(42), 42, time, cost);
    for (let k = 0; k < 5000; k++) singles.put(singles.slotOf(1000 + k), 1000 + k, fromMs + k + 1, k);
    const slot = singles.slotOf(42);
    expect([singles.hashAt(slot), singles.timeAt(slot), singles.costAt(slot)]).toEqual([42, time, cost]);
    const other = singles.slotOf(1000 + 4321);
    expect([singles.timeAt(other), singles.costAt(other)]).toEqual([fromMs + 4322, 4321]);
  });

  it('a dear first sighting, then a second: the named id has both, exactly', () => {
    const tracker = new StormTracker(settings, NOW);
    tracker.addId('dear', NOW - 1000, 9_000_000_000);
    tracker.addId('cheap', NOW - 900, 3);
    tracker.addId('dear', NOW - 500, 1);
    expect(tracker.toState()).toEqual([['dear', NOW - 1000, 9_000_000_000, NOW - 500, 1]]);
    expect(tracker.singlesToSave(true)?.base).toEqual(
      new Float64Array([idHashOfString('cheap'), NOW - 900, 3]),
    );
  });
});
