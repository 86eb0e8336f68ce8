import { describe, expect, it } from 'vitest';
import { classifyLog, fingerprintHolds, type LogChange } from '../../src/core/rotation.js';

describe('classifyLog', () => {
  const cases: [string, { dev: number; ino: number } | null, { dev: number; ino: number }, boolean, LogChange][] = [
    ['no checkpoint', null, { dev: 1, ino: 10 }, true, 'fresh'],
    ['same file, content intact', { dev: 1, ino: 10 }, { dev: 1, ino: 10 }, true, 'appended'],
    ['same file, content changed', { dev: 1, ino: 10 }, { dev: 1, ino: 10 }, false, 'truncated'],
    ['another inode', { dev: 1, ino: 10 }, { dev: 1, ino: 11 }, true, 'rotated'],
    ['another device', { dev: 1, ino: 10 }, { dev: 2, ino: 10 }, true, 'rotated'],
  ];
  it.each(cases)('%s', (_name, prior, now, matches, change) => {
    let asked = false;
    expect(classifyLog(prior, now, () => ((asked = true), matches))).toBe(change);
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
