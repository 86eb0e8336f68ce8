// The cost log's files one at a time: bytes from a cursor's offset into lines, the fingerprint of
// what was read (the first bytes, and the last whole lines: see core/rotation.ts), the files beside
// the log, and cursors as the checkpoint saves them. log-tail.ts decides which file is read from where.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type AssemblerState,
  feed,
  finish,
  type LineSink,
  newAssembler,
  SCAN_PADDING,
} from '../core/lines.js';
import { ANCHOR_MAX, anchorStart, fingerprintHolds } from '../core/rotation.js';

const CHUNK = 1024 * 1024;
const FINGERPRINT = 64;
const TAIL_FIRST = 2048;
const COMPRESSED = /\.(gz|bz2|xz|zst|z|lz4|zip)$/i;

export interface FileCursor {
  dev: number;
  ino: number;
  /** Bytes read so far (complete lines and the unfinished one). */
  offset: number;
  /** base64 of the first bytes read, and of the last whole lines before `offset` (see core/rotation.ts). */
  head: string;
  tail: string;
  /** The file's name when last seen, for reports. */
  name: string;
  asm: AssemblerState;
  /** A rotated generation: when it last grew (or was rotated away). */
  grownMs?: number;
}

export type SinkFor = (fileName: string) => LineSink;

let buffer: Uint8Array | undefined;
/**
 * What the buffer holds after readRange: bytes [from, to) of the file it read for `cursor`, so
 * that stamp() right after it takes the fingerprint from memory, not from the file again (a first
 * read of thousands of small logs: two reads less per log). Null when it holds nothing usable.
 */
let lastChunk: { fd: number; cursor: FileCursor; from: number; to: number } | null = null;

/** Feed bytes [from, to) of an open file; returns how many were read (less at EOF). */
export function readRange(fd: number, cursor: FileCursor, to: number, sink: LineSink): number {
  // A plain Uint8Array (not a Buffer) keeps the scanner's array reads monomorphic; the newlines
  // after the data keep them in bounds (see SCAN_PADDING).
  buffer ??= new Uint8Array(CHUNK + SCAN_PADDING);
  let pos = cursor.offset;
  lastChunk = null;
  const claimFrom = sink.claimFrom ?? -1;
  while (pos < to) {
    if (
      pos === claimFrom &&
      sink.claim !== undefined &&
      cursor.asm.pending.length === 0 &&
      !cursor.asm.overlong
    ) {
      const taken = sink.claim(fd, pos, cursor.asm.lineNo);
      if (taken !== null && taken.end > pos && taken.end <= to) {
        cursor.asm.lineNo += taken.lines;
        pos = taken.end;
        lastChunk = null;
        continue;
      }
    }
    const n = readSync(
      fd,
      buffer,
      0,
      claimFrom > pos ? Math.min(CHUNK, to - pos, claimFrom - pos) : Math.min(CHUNK, to - pos),
      pos,
    );
    if (n <= 0) break;
    buffer.fill(10, n, n + SCAN_PADDING);
    feed(cursor.asm, buffer.subarray(0, n + SCAN_PADDING), sink, pos === 0, n);
    lastChunk = { fd, cursor, from: pos, to: pos + n };
    pos += n;
    sink.poll?.();
  }
  const read = pos - cursor.offset;
  cursor.offset = pos;
  return read;
}

function preadFile(fd: number, from: number, length: number): Buffer {
  const out = Buffer.alloc(Math.max(0, length));
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, from + got);
    if (n <= 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/**
 * The file's bytes [0, size) in chunks, read as they are asked for, into one buffer used again for
 * each chunk (a chunk is good until the next is asked for): a search through a large rewritten
 * log allocates nothing per chunk.
 */
export function* chunksOf(fd: number, size: number): Generator<Uint8Array> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, size)));
  for (let at = 0; at < size; ) {
    let got = 0;
    const want = Math.min(buffer.length, size - at);
    while (got < want) {
      const n = readSync(fd, buffer, got, want - got, at + got);
      if (n <= 0) break;
      got += n;
    }
    if (got === 0) return;
    yield buffer.subarray(0, got);
    at += got;
  }
}

/** Newlines in bytes [0, end): the complete lines before a place in the file. */
export function linesBefore(fd: number, end: number): number {
  let count = 0;
  for (const chunk of chunksOf(fd, end))
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
  return count;
}

/** Refresh the fingerprint after reading. */
export function stamp(fd: number, cursor: FileCursor): void {
  const held = lastChunk;
  lastChunk = null;
  // Bytes [from, from + length) of the file: from the chunk just read when it holds them.
  const pread = (fd: number, from: number, length: number): Buffer =>
    held !== null &&
    buffer !== undefined &&
    held.fd === fd &&
    held.cursor === cursor &&
    held.to === cursor.offset &&
    from >= held.from &&
    from + length <= held.to
      ? Buffer.from(buffer.subarray(from - held.from, from - held.from + length))
      : preadFile(fd, from, length);
  cursor.head = pread(fd, 0, Math.min(FINGERPRINT, cursor.offset)).toString('base64');
  // The tail starts at a line start at least ANCHOR_MIN bytes before the offset: in the last
  // 2 KiB unless a line is longer; then up to ANCHOR_MAX are read, which finds the same start.
  // (Thousands of small logs are stamped on a first read: 2 KiB each, not 8.)
  const tailOf = (want: number): Buffer | null => {
    const length = Math.min(want, cursor.offset);
    const before = pread(fd, cursor.offset - length, length);
    const start = anchorStart(before);
    return start > 0 || length === cursor.offset || length >= ANCHOR_MAX ? before.subarray(start) : null;
  };
  cursor.tail = (tailOf(TAIL_FIRST) ?? tailOf(ANCHOR_MAX)!).toString('base64');
}

/** Does the open file still hold, at the same places, the bytes we read before? */
export function fingerprintMatches(fd: number, size: number, cursor: FileCursor): boolean {
  const head = Buffer.from(cursor.head, 'base64');
  const tail = Buffer.from(cursor.tail, 'base64');
  if (size < cursor.offset) return false;
  return fingerprintHolds(
    size,
    cursor.offset,
    head,
    preadFile(fd, 0, head.length),
    tail,
    preadFile(fd, cursor.offset - tail.length, tail.length),
  );
}

export function newCursor(dev: number, ino: number, name: string): FileCursor {
  return { dev, ino, offset: 0, head: '', tail: '', name, asm: newAssembler() };
}

export interface Entry {
  file: string;
  name: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Regular files in the log's folder (not following links), optionally only rotated siblings. */
export function entriesBeside(
  logPath: string,
  siblingsOnly: boolean,
  listDir: (dir: string) => string[] = readdirSync,
): Entry[] {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  let names: string[];
  try {
    names = listDir(dir);
  } catch {
    return [];
  }
  const out: Entry[] = [];
  for (const name of names.slice(0, 10_000)) {
    if (name === base) continue;
    if (siblingsOnly && !(name.startsWith(`${base}.`) || name.startsWith(`${base}-`))) continue;
    if (siblingsOnly && COMPRESSED.test(name)) continue;
    const file = path.join(dir, name);
    try {
      const st = statSync(file);
      if (st.isFile()) out.push({ file, name, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // vanished or unreadable: not ours
    }
  }
  return out;
}

export function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** `use(fd)` on the file opened for reading, or `otherwise` when it cannot be opened. */
export function withFile<T>(file: string, otherwise: T, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return otherwise;
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

export function findByInode(logPath: string, cursor: FileCursor): Entry | null {
  return entriesBeside(logPath, false).find((e) => sameFile(e, cursor)) ?? null;
}

function whyNot(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES'
    ? 'permission denied'
    : code === 'ENOENT'
      ? 'it vanished'
      : (error as Error).message;
}

/**
 * Read the rest of a file we were following, from `cursor.offset`, and refresh its fingerprint;
 * returns the bytes read, or null. A rotated file that cannot be read (permissions, vanished) is a
 * note, not a failure: the watchdog goes on with the log itself, as it does when a rotated file
 * was deleted.
 */
export function readRest(entry: Entry, cursor: FileCursor, sinkFor: SinkFor, notes: string[]): number | null {
  try {
    const fd = openSync(entry.file, 'r');
    try {
      cursor.name = entry.name;
      const read = readRange(fd, cursor, fstatSync(fd).size, sinkFor(entry.name));
      stamp(fd, cursor);
      return read;
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    notes.push(
      `cannot read rotated log ${entry.name} (${whyNot(error)}): its lines after byte ` +
        `${cursor.offset} are lost to the watchdog`,
    );
    return null;
  }
}

/** Read whole files we never followed (rotated generations), oldest first; returns their cursors. */
export function readWhole(
  files: readonly Entry[],
  sinkFor: SinkFor,
  notes: string[],
): { bytes: number; cursors: FileCursor[] } {
  let bytes = 0;
  const cursors: FileCursor[] = [];
  for (const file of files) {
    const cursor = newCursor(file.dev, file.ino, file.name);
    const read = readRest(file, cursor, sinkFor, notes);
    bytes += read ?? 0;
    if (read === null) finish(cursor.asm, sinkFor(file.name));
    else cursors.push({ ...cursor, grownMs: file.mtimeMs });
  }
  return { bytes, cursors };
}
// The checkpoint stores cursors as JSON: the assembler's bytes in base64.
export type SavedCursor = Omit<FileCursor, 'asm' | 'grownMs'> & {
  line: number;
  pending: string;
  overlong: boolean;
  grown_ms?: number;
};

export function saveCursor(cursor: FileCursor): SavedCursor {
  return {
    dev: cursor.dev,
    ino: cursor.ino,
    offset: cursor.offset,
    head: cursor.head,
    tail: cursor.tail,
    name: cursor.name,
    line: cursor.asm.lineNo,
    pending: Buffer.from(cursor.asm.pending).toString('base64'),
    overlong: cursor.asm.overlong,
    ...(cursor.grownMs !== undefined ? { grown_ms: cursor.grownMs } : {}),
  };
}

export function loadCursor(value: unknown): FileCursor | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Partial<SavedCursor>;
  const ints = [v.dev, v.ino, v.offset, v.line];
  if (!ints.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) return null;
  if (
    typeof v.head !== 'string' ||
    typeof v.tail !== 'string' ||
    typeof v.pending !== 'string' ||
    typeof v.name !== 'string'
  )
    return null;
  return {
    dev: v.dev as number,
    ino: v.ino as number,
    offset: v.offset as number,
    head: v.head,
    tail: v.tail,
    name: v.name,
    asm: {
      pending: new Uint8Array(Buffer.from(v.pending, 'base64')),
      lineNo: v.line as number,
      overlong: v.overlong === true,
    },
    ...(typeof v.grown_ms === 'number' && Number.isFinite(v.grown_ms) ? { grownMs: v.grown_ms } : {}),
  };
}

/**
 * The followed rotated files as saved: a list (or, from before generations were followed, one
 * cursor or null). One without a growth time counts as grown when the checkpoint was saved.
 */
export function loadGenerations(value: unknown, savedAtMs: number | null, nowMs: number): FileCursor[] {
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  const out: FileCursor[] = [];
  for (const item of list) {
    const cursor = loadCursor(item);
    if (cursor !== null) out.push({ ...cursor, grownMs: cursor.grownMs ?? savedAtMs ?? nowMs });
  }
  return out;
}
