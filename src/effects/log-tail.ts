// Read what the cost log gained since the last check, whatever rotation did to it in between.
//
// The checkpoint names the file by device + inode and holds the byte offset read up to, plus a
// fingerprint: the first 64 bytes read, and the last whole lines read (the tail, 512 bytes to
// 8 KiB, see core/rotation.ts). Then:
// - same inode, fingerprint intact: read from the offset (the usual case: only the new bytes);
// - same inode, file shorter or fingerprint changed: rewritten in place. When the tail is found
//   in the new content, the rewrite kept what was read (rotate_log: truncate, then write back the
//   last lines): read on after it. Otherwise it was truncated (copytruncate): the copy beside it
//   that starts with the same bytes holds what was appended before the truncation: read its rest
//   from the offset, then the log from 0;
// - another inode: renamed away (logrotate `create`, Python's RotatingFileHandler). The old file is
//   found by its inode among the files beside the log: read its rest, then the new log from 0. An
//   app that keeps its old file handle goes on writing to it: each rotated generation is followed
//   while it grows, until it has been quiet for longer than the longest window (8 at most).
// Every byte is read once: nothing lost, nothing counted twice.
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatDuration } from '../core/duration.js';
import { finish } from '../core/lines.js';
import {
  classifyLog,
  type FileId,
  followVerdict,
  generationsKept,
  offsetInRewrite,
} from '../core/rotation.js';
import {
  chunksOf,
  type Entry,
  entriesBeside,
  type FileCursor,
  findByInode,
  fingerprintMatches,
  linesBefore,
  newCursor,
  readRange,
  readRest,
  readWhole,
  sameFile,
  type SinkFor,
  stamp,
  withFile,
} from './log-files.js';

export { type FileCursor, loadCursor, loadGenerations, type SavedCursor, saveCursor } from './log-files.js';

/** On a rebuild, rotated files modified this recently are read too (today's spend may be there). */
const REBUILD_SIBLINGS_MS = 48 * 3_600_000;

export interface TailState {
  current: FileCursor | null;
  /** Rotated-away files still followed (the app may still write to them), oldest first. */
  previous: FileCursor[];
}

export interface TailResult {
  state: TailState;
  /** What happened to the log, in words for the run summary, status and the audit log. */
  notes: string[];
  bytesRead: number;
  /** Why the log itself could not be read (the caller fails the check), or null. */
  error: string | null;
  log: { size: number; mtimeMs: number } | null;
  /** The followed rotated files changed (one started or stopped being followed): save the state. */
  followChanged: boolean;
}

export interface TailOptions {
  /** When `prior` was saved. */
  lastSavedMs?: number | null;
  /** The ledger's horizon (the longest window): a rotated file quiet for longer is let go. */
  horizonMs?: number;
  /**
   * The names in a folder, for a first read's search of rotated files beside the log: many logs
   * in one folder read for the first time list it once (see sources/read.ts).
   */
  listDir?: (dir: string) => string[];
}

/** Let a rotated generation go: its unfinished last line, if any, is now known to be cut short. */
function letGo(cursor: FileCursor, sinkFor: SinkFor): void {
  finish(cursor.asm, sinkFor(cursor.name));
}

/**
 * Take what each followed rotated generation gained; let go (with a note) of those that are gone,
 * replaced, or quiet for longer than the horizon.
 */
function followGenerations(
  logPath: string,
  generations: readonly FileCursor[],
  sinkFor: SinkFor,
  notes: string[],
  nowMs: number,
  horizonMs: number,
): { bytes: number; kept: FileCursor[] } {
  if (generations.length === 0) return { bytes: 0, kept: [] };
  let beside: Entry[] | null = null;
  // Under the name it had at the last check, or else (renamed again) among the files beside the log.
  const locate = (gen: FileCursor): Entry | null => {
    const file = path.join(path.dirname(logPath), gen.name);
    try {
      const st = statSync(file);
      if (st.isFile() && sameFile(st, gen))
        return { file, name: gen.name, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      // renamed or gone: look further
    }
    beside ??= entriesBeside(logPath, false);
    return beside.find((e) => sameFile(e, gen)) ?? null;
  };
  const horizon = formatDuration(horizonMs);
  let bytes = 0;
  const kept: FileCursor[] = [];
  for (const gen of generations) {
    const entry = locate(gen);
    const look =
      entry === null
        ? 'gone'
        : withFile(entry.file, 'unreadable', (fd) =>
            fingerprintMatches(fd, fstatSync(fd).size, gen) ? 'intact' : 'changed',
          );
    if (look === 'unreadable') {
      notes.push(
        `cannot read rotated log ${entry!.name} (permission denied or it vanished): no longer ` +
          `following it; its lines after byte ${gen.offset} are lost to the watchdog`,
      );
      letGo(gen, sinkFor);
      continue;
    }
    const intact = look === 'intact';
    let grew = false;
    if (entry !== null && intact && entry.size > gen.offset) {
      const read = readRest(entry, gen, sinkFor, notes);
      if (read === null) {
        letGo(gen, sinkFor);
        continue;
      }
      bytes += read;
      grew = read > 0;
    }
    const verdict = followVerdict(
      { exists: entry !== null, intact, grew },
      gen.grownMs ?? nowMs,
      nowMs,
      horizonMs,
    );
    if (verdict === 'follow') {
      kept.push(grew ? { ...gen, grownMs: nowMs } : gen);
      continue;
    }
    letGo(gen, sinkFor);
    if (verdict === 'gone')
      notes.push(
        `no longer following rotated log ${gen.name}: it was deleted or compressed; lines written ` +
          `to it after the last check, if any, are not counted`,
      );
    else if (verdict === 'replaced')
      notes.push(
        `no longer following rotated log ${entry?.name ?? gen.name}: it is shorter than what was ` +
          `read, or what was read changed`,
      );
    else
      notes.push(
        `no longer following rotated log ${gen.name}: it has not grown for over ${horizon} (the ` +
          `ledger's horizon: its longest window)`,
      );
  }
  return { bytes, kept };
}

/** Add newly rotated generations; beyond MAX_GENERATIONS the longest quiet ones are let go, said so. */
function adopt(
  generations: FileCursor[],
  added: readonly FileCursor[],
  sinkFor: SinkFor,
  notes: string[],
  nowMs: number,
  horizonMs: number,
): FileCursor[] {
  const all = [...generations];
  for (const gen of added) {
    // Rotated long ago (found on a rebuild): read whole, nothing more will come.
    if (nowMs - (gen.grownMs ?? nowMs) > horizonMs) letGo(gen, sinkFor);
    else all.push(gen);
  }
  const keep = generationsKept(all.map((g) => g.grownMs ?? nowMs));
  const out: FileCursor[] = [];
  for (const [i, gen] of all.entries()) {
    if (keep.has(i)) {
      out.push(gen);
      continue;
    }
    letGo(gen, sinkFor);
    notes.push(
      `no longer following rotated log ${gen.name}: more than ${keep.size} rotated files are ` +
        `followed, and it was the longest quiet`,
    );
  }
  return out;
}

/** How long a rewrite that seems to have kept nothing read is given to finish (truncate, then write back). */
const SETTLE_MS = 50;
/**
 * Looks at an unchanged size before deciding it kept nothing (500 ms: a writer descheduled on a
 * loaded machine stalls that long), and at most this many in all (2 s).
 */
const SETTLE_STILL = 10;
const SETTLE_MAX = 40;

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The open file `fd` (`id`, named `name`) no longer holds what was read where it was read: it was
 * rewritten in place. Where what was read now ends, when the rewrite kept it (rotate_log); else the
 * rest of a copy beside it (copytruncate) and the file from 0. Null when the file is empty and
 * `mayWait`: a rewrite may be under way, decided at the next check (there is nothing to read).
 */
function resumeRewritten(
  fd: number,
  cursor: FileCursor,
  id: FileId,
  name: string,
  logPath: string,
  skip: readonly FileId[],
  sinkFor: SinkFor,
  notes: string[],
  mayWait: boolean,
): { cursor: FileCursor; bytes: number } | null {
  const tail = Buffer.from(cursor.tail, 'base64');
  let size = fstatSync(fd).size;
  const locate = (): number | null => (size === 0 ? null : offsetInRewrite(tail, chunksOf(fd, size)));
  const relocated = (at: number) => {
    // What was read is still there, ending at `at`; what follows it (kept unread lines, appends) is new.
    notes.push(
      `${name} was rewritten in place keeping lines already counted: reading on after them (from ` +
        `byte ${at}, was ${cursor.offset})`,
    );
    return {
      cursor: {
        ...cursor,
        dev: id.dev,
        ino: id.ino,
        name,
        offset: at,
        asm: { ...cursor.asm, lineNo: linesBefore(fd, at) },
      },
      bytes: 0,
    };
  };
  const at = locate();
  if (at !== null) return relocated(at);
  // Truncated in place. A copy that starts with what we read holds the lines appended between
  // our last check and the truncation.
  const copy = entriesBeside(logPath, true)
    .filter((e) => e.size >= cursor.offset && !sameFile(e, id) && !skip.some((p) => sameFile(p, e)))
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .find((e) => withFile(e.file, false, (cfd) => fingerprintMatches(cfd, e.size, cursor)));
  if (copy !== undefined) {
    const rest = { ...cursor, asm: { ...cursor.asm } };
    const read = readRest(copy, rest, sinkFor, notes);
    finish(rest.asm, sinkFor(copy.name));
    if (read !== null)
      notes.push(`${name} was truncated in place (copytruncate); read the rest of its copy ${copy.name}`);
    return { cursor: newCursor(id.dev, id.ino, name), bytes: read ?? 0 };
  }
  if (size === 0 && mayWait) return null;
  // A rewrite caught half-written may not hold what was read yet: give it a moment, and look again
  // each time it grows, until it has stood still for a while.
  for (let still = 0, waited = 0; still < SETTLE_STILL && waited < SETTLE_MAX; waited++) {
    pause(SETTLE_MS);
    const later = fstatSync(fd).size;
    if (later === size) {
      still++;
      continue;
    }
    still = 0;
    size = later;
    const found = locate();
    if (found !== null) return relocated(found);
  }
  notes.push(
    `${name} was truncated or rewritten: the lines last read are not in it and no copy of it was ` +
      `found: reading it again from the start; lines appended to the old content after the last ` +
      `check are lost to the watchdog`,
  );
  return { cursor: newCursor(id.dev, id.ino, name), bytes: 0 };
}

/**
 * Read every new complete line of the log into `sinkFor(name)`. `prior` is null on a first run or
 * after a lost checkpoint: then the log is read from the start, along with rotated files beside it
 * modified in the last 48 hours.
 */
export function readNewLines(
  logPath: string,
  prior: TailState | null,
  sinkFor: SinkFor,
  nowMs: number,
  options: TailOptions = {},
): TailResult {
  const lastSavedMs = options.lastSavedMs ?? null;
  const horizonMs = options.horizonMs ?? 900_000;
  const notes: string[] = [];
  let bytesRead = 0;
  const logName = path.basename(logPath);
  let current = prior?.current ?? null;
  const before = prior?.previous ?? [];

  // 1. Rotated files still followed: take what they gained, or let them go.
  const followed = followGenerations(logPath, before, sinkFor, notes, nowMs, horizonMs);
  bytesRead += followed.bytes;
  let previous = followed.kept;
  const result = (rest: Omit<TailResult, 'state' | 'notes' | 'bytesRead' | 'followChanged'>): TailResult => ({
    state: { current, previous },
    notes,
    bytesRead,
    followChanged:
      previous.length !== before.length ||
      previous.some((p, i) => !sameFile(p, before[i]!) || p.grownMs !== before[i]!.grownMs),
    ...rest,
  });

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
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    return result({ error: `cannot read the cost log ${logPath}: ${why}`, log: null });
  }

  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      return result({ error: `cannot read the cost log ${logPath}: not a regular file`, log: null });
    }
    const change = classifyLog(current, st, () => fingerprintMatches(fd, st.size, current!));
    if (change === 'fresh' || current === null) {
      // First run, or the checkpoint was lost: rebuild from the log and its recent rotated files.
      const siblings = entriesBeside(logPath, true, options.listDir)
        .filter((e) => !sameFile(e, st) && e.mtimeMs >= nowMs - REBUILD_SIBLINGS_MS)
        .sort((a, b) => a.mtimeMs - b.mtimeMs);
      const whole = readWhole(siblings, sinkFor, notes);
      bytesRead += whole.bytes;
      previous = adopt(previous, whole.cursors, sinkFor, notes, nowMs, horizonMs);
      if (siblings.length > 0)
        notes.push(
          `also read ${siblings.length} rotated file(s) from the last 48h: ` +
            `${siblings.map((s) => s.name).join(', ')}`,
        );
      current = newCursor(st.dev, st.ino, logName);
    } else if (change === 'truncated') {
      const resumed = resumeRewritten(fd, current, st, logName, logPath, previous, sinkFor, notes, true);
      if (resumed === null) return result({ error: null, log: { size: st.size, mtimeMs: st.mtimeMs } });
      bytesRead += resumed.bytes;
      current = resumed.cursor;
    } else if (change === 'rotated') {
      // Renamed away: finish the old file, then start on the new one.
      const old = findByInode(logPath, current);
      if (old === null) {
        notes.push(
          `${logName} was rotated and the old file is gone (deleted or compressed): lines appended ` +
            `to it after the last check are lost to the watchdog`,
        );
        letGo(current, sinkFor);
      } else {
        const asRead = { ...current };
        // Renamed after a rewrite in place (copytruncate, rotate_log): go on from where what was read is now.
        const changed = withFile(old.file, null, (ofd) =>
          fingerprintMatches(ofd, fstatSync(ofd).size, current!)
            ? null
            : resumeRewritten(
                ofd,
                current!,
                old,
                old.name,
                logPath,
                [...previous, st],
                sinkFor,
                notes,
                false,
              ),
        );
        if (changed !== null) {
          bytesRead += changed.bytes;
          current = changed.cursor;
        }
        const read = readRest(old, current, sinkFor, notes);
        if (read !== null) {
          bytesRead += read;
          notes.push(`${logName} was rotated to ${old.name}: read its last lines`);
        }
        // Rotated more than once since the last check: a rotated file written since then that is
        // neither the old log nor the new one, nor a copy of the old one (it holds what was read,
        // where it was read), nor one followed, is a whole generation created after the last
        // check, never seen. (Older generations were finished before the old log became the log,
        // so before the last check.) Read it, oldest first.
        const between = entriesBeside(logPath, true)
          .filter(
            (e) =>
              lastSavedMs !== null &&
              e.mtimeMs > lastSavedMs &&
              !sameFile(e, old) &&
              !sameFile(e, st) &&
              !previous.some((p) => sameFile(p, e)) &&
              !withFile(e.file, false, (cfd) => fingerprintMatches(cfd, e.size, asRead)),
          )
          .sort((a, b) => a.mtimeMs - b.mtimeMs);
        const whole = readWhole(between, sinkFor, notes);
        bytesRead += whole.bytes;
        if (between.length > 0)
          notes.push(
            `${logName} was rotated more than once since the last check: also read ` +
              `${between.map((e) => e.name).join(', ')}`,
          );
        // The app may still hold the old file open and write to it: follow it (and the ones between).
        const added = read === null ? [] : [{ ...current, grownMs: nowMs }];
        if (read === null) letGo(current, sinkFor);
        previous = adopt(
          previous,
          [...added, ...whole.cursors.map((c) => ({ ...c, grownMs: nowMs }))],
          sinkFor,
          notes,
          nowMs,
          horizonMs,
        );
      }
      current = newCursor(st.dev, st.ino, logName);
    }

    bytesRead += readRange(fd, current, st.size, sinkFor(logName));
    current.name = logName;
    stamp(fd, current);
    return result({ error: null, log: { size: st.size, mtimeMs: st.mtimeMs } });
  } finally {
    closeSync(fd);
  }
}
