import { describe, expect, it } from 'vitest';
import { fitRows, ttyFrame, watchFooter } from '../../src/commands/status-watch.js';

describe('fitRows: a view cut to the terminal height', () => {
  const view = ['plugin', '', 'a', 'b', 'c', 'd', 'footer'];
  const cases: { name: string; rows: number | undefined; want: string[] }[] = [
    { name: 'height unknown', rows: undefined, want: view },
    { name: 'height 0 (not known to the pty)', rows: 0, want: view },
    { name: 'it fits exactly', rows: 7, want: view },
    { name: 'room to spare', rows: 50, want: view },
    {
      name: 'cut: the first lines, how many are cut, the footer',
      rows: 5,
      want: ['plugin', '', 'a', '  ... 3 more line(s): a taller terminal shows them', 'footer'],
    },
    {
      name: 'one line short',
      rows: 6,
      want: ['plugin', '', 'a', 'b', '  ... 2 more line(s): a taller terminal shows them', 'footer'],
    },
    { name: 'a tiny terminal: the first lines only', rows: 2, want: ['plugin', ''] },
  ];
  it.each(cases)('$name', ({ rows, want }) => {
    const got = fitRows(view, rows);
    expect(got).toEqual(want);
    if (rows !== undefined && rows > 0) expect(got.length).toBeLessThanOrEqual(rows);
  });
});

describe('ttyFrame', () => {
  it('goes home, clears each line to its end and the rest of the screen, ends without a newline', () => {
    expect(ttyFrame(['one', 'two'])).toBe('\u001b[Hone\u001b[K\ntwo\u001b[K\u001b[J');
  });
});

describe('watchFooter', () => {
  const cases = [
    {
      ms: 5_000,
      at: Date.UTC(2026, 11, 2, 9, 3, 4, 567),
      want: 'every 5s, this view at 2026-12-02T09:03:04Z',
    },
    { ms: 90_000, at: Date.UTC(2026, 0, 1), want: 'every 1m30s, this view at 2026-01-01T00:00:00Z' },
  ];
  it.each(cases)('every $ms ms', ({ ms, at, want }) => {
    expect(watchFooter(ms, at)).toBe(`  watching         ${want}; Ctrl-C stops`);
  });
});
