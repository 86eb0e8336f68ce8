// Retry storms: which ids group, counting inside the window, and counts that stay exact across
// checks (named ids in the checkpoint, ids seen once in a base file plus a delta), in bulk mode
// (the helper thread), and when a helper's part is taken in.
import { describe, expect, it } from 'vitest';
import {
  baseExpired,
  idHashOfBytes,
  idHashOfString,
  isRequestId,
  sortByHash,
  StormTracker,
} from '../../src/core/storms.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const WINDOW = 15 * 60_000;
const settings = { count: 5, windowMs: WINDOW };

describe('which ids are grouped', () => {
  it.each([
    [null, false],
    ['', false],
    ['   ', false],
    ['unknown', false],
    [' Unknown ', false],
    ['null', false],
    ['None', false],
    ['undefined', false],
    ['n/a', false],
    ['-', false],
    ['r1', true],
    ['0', true],
    ['unknown-1234', true],
    ['req_8f2a', true],
  ])('%j -> %s', (id, groups) => {
    expect(isRequestId(id)).toBe(groups);
  });

  it('an ASCII id hashes the same from bytes and from its string', () => {
    for (const id of ['r1', 'batch-7/item-42', 'x'.repeat(300)]) {
      const bytes = new TextEncoder().encode(`"${id}"`);
      expect(idHashOfBytes(bytes, 1, bytes.length - 1)).toBe(idHashOfString(id));
    }
    expect(idHashOfString('r1')).not.toBe(idHashOfString('r2'));
    expect(Number.isSafeInteger(idHashOfString('anything'))).toBe(true);
  });
});

describe('counting sightings', () => {
  it.each([
    ['4 sightings: no storm', 4, 60_000, 0],
    ['5 sightings: a storm', 5, 60_000, 1],
    ['5 sightings but one left the window', 5, 200_000, 0],
  ])('%s', (_name, sightings, spacingMs, storms) => {
    const tracker = new StormTracker(settings, NOW);
    for (let k = 0; k < sightings; k++)
      tracker.addId('r1', NOW - 14 * 60_000 + k * spacingMs - (spacingMs > 60_000 ? 60_000 : 0), 0.5);
    expect(tracker.storms().length).toBe(storms);
  });

  it('names the id, the count, the spend and the span; most sightings first', () => {
    const tracker = new StormTracker(settings, NOW);
    for (let k = 0; k < 21; k++) tracker.addId('batch-A', NOW - 600_000 + k * 1000, 250_000); // µ$
    for (let k = 0; k < 6; k++) tracker.addId('batch-B', NOW - 500_000 + k * 1000, 1_000_000);
    tracker.addId('other', NOW - 1000, 9);
    const storms = tracker.storms();
    expect(storms.map((s) => [s.id, s.count, s.usd])).toEqual([
      ['batch-A', 21, 5.25],
      ['batch-B', 6, 6],
    ]);
    expect(storms[0]).toMatchObject({ firstMs: NOW - 600_000, lastMs: NOW - 600_000 + 20_000 });
  });

  it('lines older than the window are not kept at all', () => {
    const tracker = new StormTracker(settings, NOW);
    for (let k = 0; k < 10; k++) tracker.addId('old', NOW - WINDOW - 1 - k, 1);
    expect(tracker.storms()).toEqual([]);
    expect(tracker.singlesToSave()).toBeNull();
  });
});

/** One check: load what the last saved, add these sightings, save. */
function check(
  saved: { named: unknown; base: Float64Array | null; delta: number[] },
  nowMs: number,
  add: (t: StormTracker) => void,
  rewrite = false,
) {
  const tracker = StormTracker.fromState(saved.named, settings, nowMs, () => saved.base, saved.delta);
  add(tracker);
  const plan = tracker.singlesToSave(rewrite);
  const next = { named: tracker.toState(), base: saved.base, delta: saved.delta };
  if (plan !== null) {
    if (plan.base !== null) {
      next.base = plan.base;
      next.delta = [];
    } else next.delta = plan.delta;
  }
  return { tracker, saved: next };
}

describe('when the base file of ids seen once is rewritten', () => {
  it.each([
    ['no base file', null, NOW, false],
    ['written within the window', NOW - WINDOW, NOW, false],
    ['older than the window', NOW - WINDOW - 1, NOW, true],
  ] as [string, number | null, number, boolean][])('%s', (_name, written, now, expected) => {
    expect(baseExpired(written, now, WINDOW)).toBe(expected);
  });
});

describe('exact across checks', () => {
  it('one sighting per check for five checks is a storm (first sightings kept as a delta)', () => {
    let saved = { named: [] as unknown, base: null as Float64Array | null, delta: [] as number[] };
    let last: StormTracker | null = null;
    for (let k = 0; k < 5; k++) {
      const at = NOW + k * 60_000;
      const r = check(saved, at, (t) => t.addId('r-42', at - 1000, 0.1));
      saved = r.saved;
      last = r.tracker;
    }
    expect(last?.storms().map((s) => [s.id, s.count])).toEqual([['r-42', 5]]);
  });

  it('thousands of ids seen once go to a base file; a later sighting of one of them counts', () => {
    let saved = { named: [] as unknown, base: null as Float64Array | null, delta: [] as number[] };
    saved = check(saved, NOW, (t) => {
      for (let k = 0; k < 10_000; k++) t.addId(`id-${k}`, NOW - 5000, 0.01);
    }).saved;
    expect(saved.base?.length).toBe(30_000);
    expect(saved.delta).toEqual([]);
    // Four more sightings of id-777 over four checks: 5 in all.
    let last: StormTracker | null = null;
    for (let k = 1; k <= 4; k++) {
      const at = NOW + k * 1000;
      const r = check(saved, at, (t) => t.addId('id-777', at - 10, 0.01));
      saved = r.saved;
      last = r.tracker;
    }
    expect(last?.storms().map((s) => [s.id, s.count])).toEqual([['id-777', 5]]);
    // Few new ids: the base file is not rewritten.
    expect(saved.base?.length).toBe(30_000);
  });

  it('the base file drops what left the window when it is rewritten', () => {
    let saved = { named: [] as unknown, base: null as Float64Array | null, delta: [] as number[] };
    saved = check(saved, NOW, (t) => {
      for (let k = 0; k < 5000; k++) t.addId(`id-${k}`, NOW - 1000, 0.01);
    }).saved;
    const later = NOW + WINDOW;
    saved = check(saved, later, (t) => t.addId('new', later - 1, 1), true).saved;
    expect(saved.base?.length).toBe(3);
  });

  it('more ids than can be followed: the rest are not, and it says so', () => {
    const tracker = new StormTracker({ ...settings, maxIds: 100 }, NOW);
    for (let k = 0; k < 100; k++) tracker.addId(`id-${k}`, NOW - 10, 1);
    expect(tracker.overflow).toBe(false);
    for (let k = 0; k < 5; k++) tracker.addId('late-storm', NOW - 10, 1);
    expect(tracker.overflow).toBe(true);
    // Ids already followed still count.
    for (let k = 0; k < 4; k++) tracker.addId('id-7', NOW - 5, 1);
    expect(tracker.storms().map((s) => [s.id, s.count])).toEqual([['id-7', 5]]);
  });
});

describe('bulk mode and a helper part taken in', () => {
  it('sortByHash orders any hashes', () => {
    const hashes = new Float64Array(5000);
    for (let k = 0; k < hashes.length; k++) hashes[k] = idHashOfString(`k${(k * 7919) % 5000}`);
    hashes[10] = hashes[20] as number; // a duplicate
    const order = sortByHash(hashes, hashes.length);
    for (let k = 1; k < order.length; k++)
      expect(hashes[order[k] as number] as number).toBeGreaterThanOrEqual(
        hashes[order[k - 1] as number] as number,
      );
    expect(new Set(order).size).toBe(5000);
  });

  it('bulk mode finds the same storms as sighting by sighting', () => {
    const ids = Array.from({ length: 3000 }, (_, k) => `req-${k % 1000}-${k < 2000 ? 'a' : 'b'}`);
    for (let k = 0; k < 6; k++) ids.push('storm-1');
    const plain = new StormTracker(settings, NOW);
    const bulk = new StormTracker(settings, NOW);
    bulk.startBulk(100);
    ids.forEach((id, k) => {
      plain.addId(id, NOW - 1000 - k, 0.5);
      bulk.add(idHashOfString(id), NOW - 1000 - k, 0.5, () => id, 0);
    });
    const names = new Map(ids.map((id) => [idHashOfString(id), id]));
    bulk.finishBulk((_ref, hash) => names.get(hash) ?? '?');
    expect(bulk.storms()).toEqual(plain.storms());
    expect(bulk.toState().sort()).toEqual(plain.toState().sort());
  });

  it('a helper part: an id seen once on each side becomes one named id with both sightings', () => {
    const helper = new StormTracker(settings, NOW);
    helper.startBulk();
    const ids = ['x1', 'x2', 'both', 'x3'];
    for (const [k, id] of ids.entries())
      helper.add(idHashOfString(id), NOW - 100 - k, 1_000_000, () => id, k + 1);
    for (let k = 0; k < 3; k++)
      helper.add(idHashOfString('thrice'), NOW - 50 - k, 1_000_000, () => 'thrice', 9);
    const part = helper.finishBulk((ref) => (ref === 9 ? 'thrice' : '?'));
    const main = new StormTracker(settings, NOW);
    main.addId('both', NOW - 5000, 2_000_000);
    main.addId('thrice', NOW - 4000, 2_000_000);
    main.addId('thrice', NOW - 3000, 2_000_000);
    main.absorb(helper.toState(), part.singles, (k) => (part.refs[k] === 3 ? 'both' : `ref-${part.refs[k]}`));
    const named = Object.fromEntries(main.toState().map((e) => [e[0], (e.length - 1) / 2]));
    expect(named).toEqual({ both: 2, thrice: 5 });
    expect(main.storms().map((s) => [s.id, s.count, s.usd])).toEqual([['thrice', 5, 7]]);
    // The helper's ids seen once are kept (and saved) as the base.
    const plan = main.singlesToSave();
    expect(plan?.base?.length).toBe(3 * 3);
  });
});
