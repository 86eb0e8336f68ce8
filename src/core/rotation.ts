// What happened to the cost log between two checks, from its identity (device + inode) and
// whether the bytes already read are still where they were (the fingerprint); where the old
// offset falls in a log rewritten in place; and how long a rotated generation is followed.

export type LogChange =
  /** No checkpoint: read from the start (and recent rotated files). */
  | 'fresh'
  /** Same file, same content: read from the offset. */
  | 'appended'
  /** Same file, content changed (copytruncate, or rewritten): find what was read, or the copy. */
  | 'truncated'
  /** Another file under the name (renamed away and recreated): finish the old one, then read from 0. */
  | 'rotated';

export interface FileId {
  dev: number;
  ino: number;
}

/** `contentMatches` is asked only when the identity is the same (it reads the file). */
export function classifyLog(prior: FileId | null, now: FileId, contentMatches: () => boolean): LogChange {
  if (prior === null) return 'fresh';
  if (prior.dev !== now.dev || prior.ino !== now.ino) return 'rotated';
  return contentMatches() ? 'appended' : 'truncated';
}

/** The fingerprint holds when the file still reaches the offset and the saved bytes are unchanged. */
export function fingerprintHolds(
  size: number,
  offset: number,
  savedHead: Uint8Array,
  headNow: Uint8Array,
  savedTail: Uint8Array,
  tailNow: Uint8Array,
): boolean {
  if (size < offset) return false;
  return sameBytes(savedHead, headNow) && sameBytes(savedTail, tailNow);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The saved bytes before the offset (the "tail"): at least ANCHOR_MIN bytes, starting at a line
 * start, so that they hold a few whole lines (a time and a request id each: unique in practice,
 * where 64 bytes of one line could repeat), at most ANCHOR_MAX.
 */
export const ANCHOR_MIN = 512;
export const ANCHOR_MAX = 8192;
const NEWLINE = 10;

/** Where the tail starts in `before`, the last (up to ANCHOR_MAX) bytes read, which end at the offset. */
export function anchorStart(before: Uint8Array): number {
  if (before.length <= ANCHOR_MIN) return 0;
  const nl = before.lastIndexOf(NEWLINE, before.length - ANCHOR_MIN - 1);
  return nl < 0 ? 0 : nl + 1;
}

/** The first index of `needle` in `hay` (both non-empty), or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/**
 * The log was rewritten in place (same inode; rotate_log: truncate, then write back its last lines,
 * then the app appends). The new content is some suffix of the old content (which may hold bytes
 * not read yet) followed by new bytes. Where does the old offset fall in it? At the end of the
 * first place holding the saved tail; or, when the kept suffix starts inside the tail, at the
 * end of the longest part of the tail, from a line start and holding a whole line at least, that
 * the new content begins with. Null when the rewrite kept nothing that was read (or it was not a
 * rewrite): the caller then reads from the start, which is exact when only unread bytes were kept.
 * `chunks` are the new content from byte 0, in order (any sizes).
 */
export function offsetInRewrite(tail: Uint8Array, chunks: Iterable<Uint8Array>): number | null {
  if (tail.length === 0) return null;
  // The last tail.length - 1 bytes before the chunk, for a match across a chunk boundary. The
  // chunks themselves are searched where they are (a reader may hand the same buffer each time):
  // nothing the size of the log is ever copied.
  let carry = new Uint8Array(0);
  let chunkAt = 0;
  const start = new Uint8Array(tail.length);
  let startLength = 0;
  for (const chunk of chunks) {
    if (startLength < start.length) {
      const take = Math.min(start.length - startLength, chunk.length);
      start.set(chunk.subarray(0, take), startLength);
      startLength += take;
    }
    if (carry.length > 0) {
      const joined = new Uint8Array(carry.length + Math.min(tail.length - 1, chunk.length));
      joined.set(carry, 0);
      joined.set(chunk.subarray(0, joined.length - carry.length), carry.length);
      const across = indexOfBytes(joined, tail);
      if (across >= 0) return chunkAt - carry.length + across + tail.length;
    }
    const at = indexOfBytes(chunk, tail);
    if (at >= 0) return chunkAt + at + tail.length;
    const keep = Math.min(tail.length - 1, carry.length + chunk.length);
    const next = new Uint8Array(keep);
    const fromChunk = Math.min(keep, chunk.length);
    next.set(carry.subarray(carry.length - (keep - fromChunk)), 0);
    next.set(chunk.subarray(chunk.length - fromChunk), keep - fromChunk);
    carry = next;
    chunkAt += chunk.length;
  }
  return keptInsideTail(tail, start.subarray(0, startLength));
}

/**
 * How many bytes of the tail the new content begins with, from a line start of the tail, a whole line at
 * least; or null.
 */
export function keptInsideTail(tail: Uint8Array, start: Uint8Array): number | null {
  const lastNewline = tail.lastIndexOf(NEWLINE);
  for (let i = tail.indexOf(NEWLINE); i >= 0 && i < lastNewline; i = tail.indexOf(NEWLINE, i + 1)) {
    const from = i + 1;
    const length = tail.length - from;
    if (start.length >= length && sameBytes(tail.subarray(from), start.subarray(0, length))) return length;
  }
  return null;
}

/** At most this many rotated generations are followed at once (the newest). */
export const MAX_GENERATIONS = 8;

export type FollowVerdict =
  /** Still followed: it grew, or has been quiet for less than the horizon. */
  | 'follow'
  /** Deleted or compressed away. */
  | 'gone'
  /** Shorter than what was read, or the bytes read changed: not the file we followed. */
  | 'replaced'
  /** Has not grown for longer than the horizon: lines written to it now would be too late to matter. */
  | 'idle';

/** Is a rotated generation still followed? `grownMs` is when it last grew (or was rotated). */
export function followVerdict(
  seen: { exists: boolean; intact: boolean; grew: boolean },
  grownMs: number,
  nowMs: number,
  horizonMs: number,
): FollowVerdict {
  if (!seen.exists) return 'gone';
  if (!seen.intact) return 'replaced';
  if (seen.grew) return 'follow';
  return nowMs - grownMs > horizonMs ? 'idle' : 'follow';
}

/** Which generations to keep following (indexes, newest growth first) when there are too many. */
export function generationsKept(grownMs: readonly number[], max = MAX_GENERATIONS): Set<number> {
  const order = grownMs.map((ms, i) => [ms, i] as const).sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  return new Set(order.slice(0, max).map(([, i]) => i));
}
