import { describe, expect, it } from 'vitest';
import {
  type AssemblerState,
  feed,
  finish,
  type LineSink,
  MAX_LINE_BYTES,
  newAssembler,
} from '../../src/core/lines.js';

interface Seen {
  lines: [number, string][];
  bad: [number, string][];
}

function collector(): LineSink & Seen {
  const seen: Seen = { lines: [], bad: [] };
  return {
    ...seen,
    line(bytes, start, end, lineNo) {
      seen.lines.push([lineNo, new TextDecoder().decode(bytes.subarray(start, end))]);
    },
    malformed(lineNo, reason) {
      seen.bad.push([lineNo, reason]);
    },
    get lines() {
      return seen.lines;
    },
    get bad() {
      return seen.bad;
    },
  };
}

const enc = (s: string) => new TextEncoder().encode(s);

function feedAll(chunks: Uint8Array[], state: AssemblerState = newAssembler()) {
  const sink = collector();
  for (const [i, c] of chunks.entries()) feed(state, c, sink, i === 0);
  return { sink, state };
}

describe('line assembly', () => {
  it('holds an unfinished last line until its newline arrives', () => {
    const { sink, state } = feedAll([enc('{"a":1}\n{"b":')]);
    expect(sink.lines).toEqual([[1, '{"a":1}']]);
    expect(new TextDecoder().decode(state.pending)).toBe('{"b":');
    feed(state, enc('2}\n'), sink);
    expect(sink.lines).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":2}'],
    ]);
    expect(state.pending.length).toBe(0);
  });

  it('gives the same lines whatever the chunk boundaries, multi-byte characters included', () => {
    const text = '{"m":"é模型"}\n\n{"x":1}\r\n   \n{"y":"ü"}\n{"tail":';
    const bytes = enc(text);
    const whole = feedAll([bytes]).sink.lines;
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const second of [cut, Math.min(bytes.length, cut + 3)]) {
        const got = feedAll([bytes.subarray(0, cut), bytes.subarray(cut, second), bytes.subarray(second)])
          .sink.lines;
        expect(got).toEqual(whole);
      }
    }
    // blank and whitespace-only lines are skipped but still counted
    expect(whole.map(([n]) => n)).toEqual([1, 3, 5]);
  });

  it('hands every line on as bytes, invalid UTF-8 included (the parser judges it)', () => {
    const bad = new Uint8Array([...enc('{"a":1}\n'), 0xff, 0xfe, ...enc('\n{"b":2}\n')]);
    const { sink } = feedAll([bad]);
    expect(sink.lines.map(([n]) => n)).toEqual([1, 2, 3]);
    expect(sink.bad).toEqual([]);
  });

  it('drops a byte order mark at the start of the file only', () => {
    const { sink } = feedAll([new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"a":1}\n')])]);
    expect(sink.lines).toEqual([[1, '{"a":1}']]);
  });

  it('skips a line over 1 MiB without holding it, whether it arrives whole or in pieces', () => {
    const big = 'x'.repeat(MAX_LINE_BYTES + 10);
    const whole = feedAll([enc(`{"a":1}\n${big}\n{"b":2}\n`)]).sink;
    expect(whole.lines).toEqual([
      [1, '{"a":1}'],
      [3, '{"b":2}'],
    ]);
    expect(whole.bad.map(([n, r]) => [n, r.startsWith('line longer than 1 MiB')])).toEqual([[2, true]]);

    const state = newAssembler();
    const sink = collector();
    feed(state, enc('{"a":1}\n'), sink, true);
    for (let i = 0; i < 5; i++) feed(state, enc('y'.repeat(300_000)), sink);
    expect(state.overlong).toBe(true);
    expect(state.pending.length).toBeLessThanOrEqual(240); // only the start is kept, for the report
    feed(state, enc('yyy\n{"b":2}\n'), sink);
    expect(sink.lines).toEqual([
      [1, '{"a":1}'],
      [3, '{"b":2}'],
    ]);
    expect(sink.bad).toEqual([[2, 'line longer than 1 MiB']]);
  });

  it('finish() reports a fragment left at the end of a rotated file', () => {
    const { sink, state } = feedAll([enc('{"a":1}\n{"b":')]);
    finish(state, sink);
    expect(sink.bad).toEqual([[2, 'unfinished last line of a rotated log (no newline)']]);
    finish(state, sink); // nothing more to report
    expect(sink.bad.length).toBe(1);
  });
});
