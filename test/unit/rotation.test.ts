import { describe, expect, it } from 'vitest';
import {
  ANCHOR_MAX,
  ANCHOR_MIN,
  anchorStart,
  classifyLog,
  fingerprintHolds,
  followVerdict,
  generationsKept,
  keptInsideTail,
  type LogChange,
  MAX_GENERATIONS,
  offsetInRewrite,
} from '../../src/core/rotation.js';
import { loadGenerations } from '../../src/effects/log-tail.js';

describe('classifyLog', () => {
  const cases: [
    string,
    { dev: number; ino: number } | null,
    { dev: number; ino: number },
    boolean,
    LogChange,
  ][] = [
    ['no checkpoint', null, { dev: 1, ino: 10 }, true, 'fresh'],
    ['same file, content intact', { dev: 1, ino: 10 }, { dev: 1, ino: 10 }, true, 'appended'],
    ['same file, content changed', { dev: 1, ino: 10 }, { dev: 1, ino: 10 }, false, 'truncated'],
    ['another inode', { dev: 1, ino: 10 }, { dev: 1, ino: 11 }, true, 'rotated'],
    ['another device', { dev: 1, ino: 10 }, { dev: 2, ino: 10 }, true, 'rotated'],
  ];
  it.each(cases)('%s', (_name, prior, now, matches, change) => {
    let asked = false;
    expect(
      classifyLog(prior, now, () => {
        asked = true;
        return matches;
      }),
    ).toBe(change);
    // the content is read only when the identity is the same
    expect(asked).toBe(prior !== null && prior.dev === now.dev && prior.ino === now.ino);
  });
});

describe('fingerprintHolds', () => {
  const b = (s: string) => new TextEncoder().encode(s);
  it.each([
    ['intact', 100, 80, 'head', 'head', 'tail', 'tail', true],
    ['shorter than the offset', 50, 80, 'head', 'head', 'tail', 'tail', false],
    ['start rewritten', 100, 80, 'head', 'HEAD', 'tail', 'tail', false],
    ['bytes before the offset rewritten', 100, 80, 'head', 'head', 'tail', 'tall', false],
    ['nothing read yet', 0, 0, '', '', '', '', true],
  ] as const)('%s', (_name, size, offset, h0, h1, t0, t1, holds) => {
    expect(fingerprintHolds(size, offset, b(h0), b(h1), b(t0), b(t1))).toBe(holds);
  });
});

const enc = (s: string) => new TextEncoder().encode(s);
/** Split `s` into chunks of `size` bytes (the reader's chunks, at any boundaries). */
const chunked = (s: string, size: number): Uint8Array[] => {
  const b = enc(s);
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
};

describe('anchorStart', () => {
  const line = (i: number) => `{"t":${1_769_472_000 + i},"request_id":"r${i}","cost":0.01}\n`;
  it.each([
    ['shorter than the minimum: all of it', 'a\nb\n', 0],
    ['nothing read', '', 0],
  ] as const)('%s', (_name, before, start) => {
    expect(anchorStart(enc(before))).toBe(start);
  });
  it('starts at a line start, at least ANCHOR_MIN bytes back', () => {
    const text = Array.from({ length: 40 }, (_, i) => line(i)).join('');
    const start = anchorStart(enc(text));
    expect(text.length - start).toBeGreaterThanOrEqual(ANCHOR_MIN);
    expect(text[start - 1]).toBe('\n');
    // the nearest such line start: one line later would be too short
    expect(text.length - start - line(0).length).toBeLessThan(ANCHOR_MIN + 2);
  });
  it('ends with the unfinished line, when there is one', () => {
    const text = `${Array.from({ length: 40 }, (_, i) => line(i)).join('')}{"t": 17`;
    const start = anchorStart(enc(text));
    expect(text.length - start).toBeGreaterThanOrEqual(ANCHOR_MIN);
    expect(text[start - 1]).toBe('\n');
  });
  it('one line longer than the whole buffer: from the start of the buffer', () => {
    expect(anchorStart(enc('x'.repeat(ANCHOR_MAX)))).toBe(0);
  });
});

describe('offsetInRewrite', () => {
  const L = (i: number) => `{"t":${1_769_472_000 + i},"request_id":"r${i}","cost":0.01}\n`;
  const lines = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => L(from + i)).join('');
  // What was read: lines 0..30; the saved tail is its last whole lines, as stamp() saves it.
  const read = lines(0, 30);
  const tail = enc(read).subarray(anchorStart(enc(read)));
  const cases: [string, string, number | null][] = [
    // rotate_log: truncate, write back the last 20 lines; all of them were read
    ['kept lines all read', lines(10, 30), lines(10, 30).length],
    ['kept lines read, then appends', lines(10, 30) + lines(30, 35), lines(10, 30).length],
    // lines appended after our read and before the rewrite are kept in the suffix: unread
    ['kept suffix holds unread lines', lines(10, 33) + lines(33, 36), lines(10, 30).length],
    // the kept suffix starts inside the saved tail: the part of it that was kept
    ['kept suffix starts inside the tail', lines(28, 30) + lines(30, 32), lines(28, 30).length],
    ['kept only unread lines', lines(31, 40), null],
    ['emptied', '', null],
    ['another content altogether', 'garbage\n'.repeat(200), null],
    // one whole line is needed: the mere start of a line is not evidence
    ['only the start of a line matches', '{"t":1769472099,"cost":1}\n', null],
  ];
  it.each(cases)('%s', (_name, content, offset) => {
    for (const size of [1, 7, 100, 1 << 20])
      expect(offsetInRewrite(tail, chunked(content, size))).toBe(offset);
  });
  it('an unfinished line read is found with it, and the offset is after its bytes read', () => {
    const withPartial = `${read}{"t":1769472999,"req`;
    const t = enc(withPartial).subarray(anchorStart(enc(withPartial)));
    const rewritten = `${lines(20, 30)}{"t":1769472999,"request_id":"x"}\n${L(50)}`;
    expect(offsetInRewrite(t, chunked(rewritten, 13))).toBe(`${lines(20, 30)}{"t":1769472999,"req`.length);
  });
  it('chunks handed in one reused buffer (as the file reader does): the same answers', () => {
    function* reused(text: string, size: number): Generator<Uint8Array> {
      const all = enc(text);
      const buffer = new Uint8Array(size);
      for (let at = 0; at < all.length; at += size) {
        const part = all.subarray(at, at + size);
        buffer.set(part);
        yield buffer.subarray(0, part.length);
        buffer.fill(0x7b); // what a later read would leave there
      }
    }
    for (const [, content, offset] of cases)
      for (const size of [1, 7, 100, 4096]) expect(offsetInRewrite(tail, reused(content, size))).toBe(offset);
  });
  it('no tail saved: nothing to find', () => {
    expect(offsetInRewrite(new Uint8Array(0), [enc(read)])).toBe(null);
  });
});

describe('keptInsideTail', () => {
  it.each([
    ['a\nb\nc\n', 'b\nc\nd\n', 4],
    ['a\nb\nc\n', 'c\nd\n', 2],
    ['a\nb\nc', 'b\nc and more\n', 3],
    // the unfinished line alone is not a whole line
    ['a\nb\nc', 'c\n', null],
    ['a\nb\nc\n', 'x\n', null],
  ] as const)('%j kept from %j', (tail, start, kept) => {
    expect(keptInsideTail(enc(tail), enc(start))).toBe(kept);
  });
});

describe('followVerdict', () => {
  const H = 900_000;
  it.each([
    ['grew', { exists: true, intact: true, grew: true }, 0, 10 * H, 'follow'],
    ['quiet, within the horizon', { exists: true, intact: true, grew: false }, 0, H, 'follow'],
    ['quiet for longer than the horizon', { exists: true, intact: true, grew: false }, 0, H + 1, 'idle'],
    ['deleted or compressed', { exists: false, intact: false, grew: false }, 0, 1, 'gone'],
    ['shorter, or rewritten', { exists: true, intact: false, grew: false }, 0, 1, 'replaced'],
  ] as const)('%s', (_name, seen, grownMs, nowMs, verdict) => {
    expect(followVerdict(seen, grownMs, nowMs, H)).toBe(verdict);
  });
});

describe('generationsKept', () => {
  it.each([
    ['under the bound: all', [1, 2, 3], 8, [0, 1, 2]],
    ['over it: the most recently grown', [5, 1, 9, 3], 2, [0, 2]],
    ['ties: the later ones (rotated more recently)', [1, 1, 1], 2, [1, 2]],
  ] as const)('%s', (_name, grown, max, kept) => {
    expect([...generationsKept(grown, max)].sort()).toEqual(kept);
  });
  it('the default bound is MAX_GENERATIONS', () => {
    expect(generationsKept(Array.from({ length: 20 }, (_, i) => i)).size).toBe(MAX_GENERATIONS);
  });
});

describe("loadGenerations (the checkpoint's followed rotated files)", () => {
  const saved = {
    dev: 1,
    ino: 2,
    offset: 10,
    head: '',
    tail: '',
    name: 'cost_log.jsonl.1',
    line: 1,
    pending: '',
    overlong: false,
  };
  it.each([
    ['none (older checkpoints: null)', null, []],
    ['missing', undefined, []],
    ['one cursor, as saved before generations were followed: grown when saved', saved, [500]],
    [
      'a list, with its growth times',
      [
        { ...saved, grown_ms: 100 },
        { ...saved, ino: 3, grown_ms: 200 },
      ],
      [100, 200],
    ],
    ['damaged entries are dropped', [{ ...saved, offset: -1 }, 'x', { ...saved, grown_ms: 7 }], [7]],
  ] as const)('%s', (_name, value, grown) => {
    expect(loadGenerations(value, 500, 900).map((g) => g.grownMs)).toEqual(grown);
  });
});
