// Read what the cost log gained since the last check, whatever rotation did to it in between.
//
// The checkpoint names the file by device + inode and holds the byte offset read up to, plus a
// fingerprint: the first and the last 64 bytes read. Then:
// - same inode, fingerprint intact: read from the offset (the usual case: only the new bytes);
// - same inode, file shorter or fingerprint changed: truncated in place (copytruncate). The copy
//   beside it that starts with the same bytes holds what was appended before the truncation: read
//   its rest from the offset, then the log from 0;
// - another inode: renamed away (logrotate `create`, Python's RotatingFileHandler). The old file is
//   found by its inode among the files beside the log: read its rest, then the new log from 0. If
//   its last line is still unfinished, keep following it until it is (the app may still hold it).
// Every byte is read once: nothing lost, nothing counted twice.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { type AssemblerState, feed, finish, type LineSink, newAssembler, SCAN_PADDING } from '../core/lines.js';
import { classifyLog, fingerprintHolds } from '../core/rotation.js';

const CHUNK = 1024 * 1024;
const FINGERPRINT = 64;
const COMPRESSED = /\.(gz|bz2|xz|zst|z|lz4|zip)$/i;
/** On a rebuild, rotated files modified this recently are read too (today's spend may be there). */
const REBUILD_SIBLINGS_MS = 48 * 3_600_000;

export interface FileCursor {
  dev: number;
  ino: number;
  /** Bytes read so far (complete lines and the unfinished one). */
  offset: number;
  /** base64 of the first bytes read, and of the last bytes before `offset`. */
  head: string;
  tail: string;
  /** The file's name when last seen, for reports. */
  name: string;
  asm: AssemblerState;
}

export interface TailState {
  current: FileCursor | null;
  /** A rotated-away file whose last line was unfinished when it was rotated. */
  previous: FileCursor | null;
}

export interface TailResult {
  state: TailState;
  /** What happened to the log, in words for the run summary, status and the audit log. */
  notes: string[];
  bytesRead: number;
  /** Why the log itself could not be read (the caller fails the check), or null. */
  error: string | null;
  log: { size: number; mtimeMs: number } | null;
}

type SinkFor = (fileName: string) => LineSink;

let buffer: Uint8Array | undefined;

/** Feed bytes [from, to) of an open file; returns how many were read (less at EOF). */
function readRange(fd: number, cursor: FileCursor, to: number, sink: LineSink): number {
  // A plain Uint8Array (not a Buffer) keeps the scanner's array reads monomorphic; the newlines
  // after the data keep them in bounds (see SCAN_PADDING).
  buffer ??= new Uint8Array(CHUNK + SCAN_PADDING);
  let pos = cursor.offset;
  const claimFrom = sink.claimFrom ?? -1;
  while (pos < to) {
    if (pos === claimFrom && sink.claim !== undefined && cursor.asm.pending.length === 0 && !cursor.asm.overlong) {
      const taken = sink.claim(fd, pos, cursor.asm.lineNo);
      if (taken !== null && taken.end > pos && taken.end <= to) {
        cursor.asm.lineNo += taken.lines;
        pos = taken.end;
        continue;
      }
    }
    const n = readSync(fd, buffer, 0, claimFrom > pos ? Math.min(CHUNK, to - pos, claimFrom - pos) : Math.min(CHUNK, to - pos), pos);
    if (n <= 0) break;
    buffer.fill(10, n, n + SCAN_PADDING);
    feed(cursor.asm, buffer.subarray(0, n + SCAN_PADDING), sink, pos === 0, n);
    pos += n;
    sink.poll?.();
  }
  const read = pos - cursor.offset;
  cursor.offset = pos;
  return read;
}

function pread(fd: number, from: number, length: number): Buffer {
  const out = Buffer.alloc(Math.max(0, length));
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, from + got);
    if (n <= 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/** Refresh the fingerprint after reading. */
function stamp(fd: number, cursor: FileCursor): void {
  cursor.head = pread(fd, 0, Math.min(FINGERPRINT, cursor.offset)).toString('base64');
  const tailLength = Math.min(FINGERPRINT, cursor.offset);
  cursor.tail = pread(fd, cursor.offset - tailLength, tailLength).toString('base64');
}

/** Does the open file still hold, at the same places, the bytes we read before? */
function fingerprintMatches(fd: number, size: number, cursor: FileCursor): boolean {
  const head = Buffer.from(cursor.head, 'base64');
  const tail = Buffer.from(cursor.tail, 'base64');
  if (size < cursor.offset) return false;
  return fingerprintHolds(size, cursor.offset, head, pread(fd, 0, head.length), tail, pread(fd, cursor.offset - tail.length, tail.length));
}

function newCursor(dev: number, ino: number, name: string): FileCursor {
  return { dev, ino, offset: 0, head: '', tail: '', name, asm: newAssembler() };
}

interface Entry {
  file: string;
  name: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Regular files in the log's folder (not following links), optionally only rotated siblings. */
function entriesBeside(logPath: string, siblingsOnly: boolean): Entry[] {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  let names: string[];
  try {
    names = readdirSync(dir);
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

function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** `use(fd)` on the file opened for reading, or `otherwise` when it cannot be opened. */
function withFile<T>(file: string, otherwise: T, use: (fd: number) => T): T {
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

/** Does the file begin with these bytes? (A copy of a file we read.) */
function startsWith(file: string, head: Uint8Array): boolean {
  return head.length > 0 && withFile(file, false, (fd) => pread(fd, 0, head.length).equals(head));
}

function findByInode(logPath: string, cursor: FileCursor): Entry | null {
  return entriesBeside(logPath, false).find((e) => sameFile(e, cursor)) ?? null;
}

/**
 * Read the rest of a file we were following, from `cursor.offset`; returns the bytes read, or null. A
 * rotated file that cannot be read (permissions, vanished) is a note, not a failure: the watchdog
 * goes on with the log itself, as it does when a rotated file was deleted.
 */
function readRest(entry: Entry, cursor: FileCursor, sinkFor: SinkFor, notes: string[]): number | null {
  try {
    const fd = openSync(entry.file, 'r');
    try {
      cursor.name = entry.name;
      return readRange(fd, cursor, fstatSync(fd).size, sinkFor(entry.name));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' ? 'permission denied' : code === 'ENOENT' ? 'it vanished' : (error as Error).message;
    notes.push(`cannot read rotated log ${entry.name} (${why}): its lines after byte ${cursor.offset} are lost to the watchdog`);
    return null;
  }
}

/** Read whole files we never followed (rotated generations), oldest first; the last line too. */
function readWhole(files: readonly Entry[], sinkFor: SinkFor, notes: string[]): number {
  let bytes = 0;
  for (const file of files) {
    const cursor = newCursor(file.dev, file.ino, file.name);
    bytes += readRest(file, cursor, sinkFor, notes) ?? 0;
    finish(cursor.asm, sinkFor(file.name));
  }
  return bytes;
}

/**
 * Read every new complete line of the log into `sinkFor(name)`. `prior` is null on a first run or
 * after a lost checkpoint: then the log is read from the start, along with rotated files beside it
 * modified in the last 48 hours. `lastSavedMs` is when `prior` was saved.
 */
export function readNewLines(logPath: string, prior: TailState | null, sinkFor: SinkFor, nowMs: number, lastSavedMs: number | null = null): TailResult {
  const notes: string[] = [];
  let bytesRead = 0;
  const logName = path.basename(logPath);
  let current = prior?.current ?? null;
  let previous = prior?.previous ?? null;

  // 1. A rotated file whose last line was unfinished: take what it gained, or give up on it.
  if (previous !== null) {
    const entry = findByInode(logPath, previous);
    let grew = 0;
    if (entry !== null && entry.size > previous.offset) {
      grew = readRest(entry, previous, sinkFor, notes) ?? 0;
      bytesRead += grew;
    }
    if (previous.asm.pending.length > 0 || previous.asm.overlong) {
      if (grew === 0) {
        finish(previous.asm, sinkFor(previous.name));
        previous = null;
      }
    } else {
      previous = null;
    }
  }

  let fd: number;
  try {
    // O_NONBLOCK: a log that is a named pipe must not block the check until a writer comes (it is
    // refused below as not a regular file). On a regular file the flag changes nothing.
    fd = openSync(logPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    // The log is gone or unreadable. If it was renamed away, still read what it gained.
    if (current !== null) {
      const entry = findByInode(logPath, current);
      if (entry !== null && entry.size > current.offset) {
        const read = readRest(entry, current, sinkFor, notes);
        if (read !== null) {
          bytesRead += read;
          notes.push(`${logName} was rotated to ${entry.name}: read its last lines`);
        }
      }
    }
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    return { state: { current, previous }, notes, bytesRead, error: `cannot read the cost log ${logPath}: ${why}`, log: null };
  }

  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      return { state: { current, previous }, notes, bytesRead, error: `cannot read the cost log ${logPath}: not a regular file`, log: null };
    }
    const change = classifyLog(current, st, () => fingerprintMatches(fd, st.size, current!));
    if (change === 'fresh' || current === null) {
      // First run, or the checkpoint was lost: rebuild from the log and its recent rotated files.
      const siblings = entriesBeside(logPath, true)
        .filter((e) => !sameFile(e, st) && e.mtimeMs >= nowMs - REBUILD_SIBLINGS_MS)
        .sort((a, b) => a.mtimeMs - b.mtimeMs);
      bytesRead += readWhole(siblings, sinkFor, notes);
      if (siblings.length > 0) notes.push(`also read ${siblings.length} rotated file(s) from the last 48h: ${siblings.map((s) => s.name).join(', ')}`);
      current = newCursor(st.dev, st.ino, logName);
    } else if (change === 'truncated') {
      // Truncated in place. A copy that starts with what we read holds the lines appended
      // between our last check and the truncation.
      const copy = entriesBeside(logPath, true)
        .filter((e) => e.size >= current!.offset && !sameFile(e, st))
        .sort((a, b) => b.mtimeMs - a.mtimeMs)
        .find((e) => withFile(e.file, false, (cfd) => fingerprintMatches(cfd, e.size, current!)));
      if (copy !== undefined) {
        const rest = { ...current, asm: { ...current.asm } };
        const read = readRest(copy, rest, sinkFor, notes);
        finish(rest.asm, sinkFor(copy.name));
        if (read !== null) {
          bytesRead += read;
          notes.push(`${logName} was truncated in place (copytruncate); read the rest of its copy ${copy.name}`);
        }
      } else {
        notes.push(
          `${logName} was truncated or replaced (its start no longer matches what was read) and no copy of it was found: reading it again from the start; lines appended to the old content after the last check are lost to the watchdog`,
        );
      }
      current = newCursor(st.dev, st.ino, logName);
    } else if (change === 'rotated') {
      // Renamed away: finish the old file, then start on the new one.
      const old = findByInode(logPath, current);
      if (old === null) {
        notes.push(`${logName} was rotated and the old file is gone (deleted or compressed): lines appended to it after the last check are lost to the watchdog`);
      } else {
        const read = readRest(old, current, sinkFor, notes);
        if (read !== null) {
          bytesRead += read;
          notes.push(`${logName} was rotated to ${old.name}: read its last lines`);
        }
        if (current.asm.pending.length > 0 || current.asm.overlong) {
          if (previous !== null) finish(previous.asm, sinkFor(previous.name));
          previous = current;
        }
        // Rotated more than once since the last check: a rotated file written since then that is
        // neither the old log nor the new one, nor a copy of the old one, is a whole generation
        // created after the last check, never seen. (Older generations were finished before the
        // old log became the log, so before the last check.) Read it, oldest first.
        const head = Buffer.from(current.head, 'base64');
        const between = entriesBeside(logPath, true)
          .filter(
            (e) =>
              lastSavedMs !== null &&
              e.mtimeMs > lastSavedMs &&
              !sameFile(e, old) &&
              !sameFile(e, st) &&
              !startsWith(e.file, head),
          )
          .sort((a, b) => a.mtimeMs - b.mtimeMs);
        bytesRead += readWhole(between, sinkFor, notes);
        if (between.length > 0) notes.push(`${logName} was rotated more than once since the last check: also read ${between.map((e) => e.name).join(', ')}`);
      }
      current = newCursor(st.dev, st.ino, logName);
    }

    bytesRead += readRange(fd, current, st.size, sinkFor(logName));
    current.name = logName;
    stamp(fd, current);
    return { state: { current, previous }, notes, bytesRead, error: null, log: { size: st.size, mtimeMs: st.mtimeMs } };
  } finally {
    closeSync(fd);
  }
}

// The checkpoint stores cursors as JSON: the assembler's bytes in base64.
export type SavedCursor = Omit<FileCursor, 'asm'> & { line: number; pending: string; overlong: boolean };

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
  };
}

export function loadCursor(value: unknown): FileCursor | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Partial<SavedCursor>;
  const ints = [v.dev, v.ino, v.offset, v.line];
  if (!ints.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) return null;
  if (typeof v.head !== 'string' || typeof v.tail !== 'string' || typeof v.pending !== 'string' || typeof v.name !== 'string') return null;
  return {
    dev: v.dev as number,
    ino: v.ino as number,
    offset: v.offset as number,
    head: v.head,
    tail: v.tail,
    name: v.name,
    asm: { pending: new Uint8Array(Buffer.from(v.pending, 'base64')), lineNo: v.line as number, overlong: v.overlong === true },
  };
}
