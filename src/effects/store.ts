// Files the watchdog owns in its state folder: JSON written atomically, JSON read back without
// trusting it, and the lock that keeps two checks from acting at once.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { jsonNumber, parseSaved } from '../core/saved/parse.js';
import { FailureError } from '../errors.js';
import { isAlive, procStat } from './proc.js';
import { lockFile } from './state-paths.js';

/**
 * mkdir -p that tries each missing folder once. Not mkdirSync({ recursive: true }): on Node 20
 * it spins forever when a parent exists but cannot hold children (a dangling symlink, a path under
 * /proc), and a watchdog that hangs is a watchdog that is silent. Throws the system error.
 */
export function makeDirs(dir: string, mode = 0o755): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      if (!statSync(at).isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a folder, ${at}`), { code: 'ENOTDIR' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(at);
      const parent = path.dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export function ensureDir(dir: string): void {
  try {
    makeDirs(dir);
  } catch (error) {
    throw new FailureError(`cannot create state folder ${dir}: ${(error as Error).message}`);
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a folder; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write `text` to `file` atomically: a temporary file beside it (exclusive create, unpredictable
 * name, never through a symlink), fsync, rename over the target, fsync the folder. A reader sees
 * the old content or the new, never half; a crash leaves at worst a stray temporary file.
 * Throws the system error (the caller words it for the operator).
 */
export function writeFileAtomic(
  file: string,
  text: string | Uint8Array | ByteSource,
  mode = 0o644,
  durable = true,
): void {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  try {
    const write = (data: Uint8Array): void => {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written);
    };
    if (typeof text === 'function') text(write);
    else write(typeof text === 'string' ? Buffer.from(text) : text);
    if (durable) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw error;
  }
  if (durable) fsyncDir(dir);
}

/** Bytes made a part at a time: each handed to `write` as it is made (see writeFileAtomic). */
export type ByteSource = (write: (bytes: Uint8Array) => void) => void;

/**
 * `raw`: more keys of the object whose values are JSON text already (UTF-8), written after the
 * others as they are made: a large part is never one string, nor one buffer, beside the rest.
 */
export function writeJsonAtomic(file: string, value: unknown, raw: Record<string, ByteSource> = {}): void {
  const names = Object.keys(raw);
  if (names.length === 0) {
    writeFileAtomic(file, `${JSON.stringify(value)}\n`);
    return;
  }
  const head = JSON.stringify(value);
  if (!head.endsWith('}')) throw new Error('writeJsonAtomic: raw parts need an object');
  writeFileAtomic(file, (write) => {
    write(Buffer.from(head.slice(0, -1)));
    let comma = head !== '{}';
    for (const name of names) {
      write(Buffer.from(`${comma ? ',' : ''}${JSON.stringify(name)}:`));
      (raw[name] as ByteSource)(write);
      comma = true;
    }
    write(Buffer.from('}\n'));
  });
}

export type JsonRead =
  | { kind: 'ok'; value: unknown }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string };

/**
 * Read a JSON file of ours; a missing or corrupt one is an answer, not an exception. Never through
 * a symlink, and only a regular file: the state folder may be writable by the app's user, and a
 * link planted in place of a file of ours would have a root watchdog read (and, through the
 * parser's message, quote) any file; a FIFO would hang the check for good. Either is "corrupt":
 * ignored, and replaced by the next atomic write (which renames over the name, not into the link).
 */
export function readJson(file: string): JsonRead {
  let text: string;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP')
      return {
        kind: 'corrupt',
        reason: 'a symbolic link, not a file the watchdog wrote (ignored; replaced on the next write)',
      };
    return { kind: 'corrupt', reason: (error as Error).message };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      return { kind: 'corrupt', reason: 'not a regular file (ignored; replaced on the next write)' };
    // Files of ours are made by renaming a fresh temporary file: one with another name is planted.
    if (st.nlink > 1)
      return {
        kind: 'corrupt',
        reason:
          `a file with ${st.nlink} names (a hard link planted there?): not read (ignored; replaced ` +
          `on the next write)`,
      };
    text = readFileSync(fd, 'utf8');
  } catch (error) {
    return { kind: 'corrupt', reason: (error as Error).message };
  } finally {
    closeSync(fd);
  }
  try {
    return { kind: 'ok', value: JSON.parse(text) };
  } catch (error) {
    // V8 quotes the start of the text in its message: keep only where it went wrong.
    return {
      kind: 'corrupt',
      reason:
        `not JSON (` +
        `${(error as Error).message.replace(/,? ".*"(\.\.\.)? is not valid JSON$/s, ' (not valid JSON)')}` +
        `)`,
    };
  }
}

interface LockOwner {
  pid: number;
  start: number | null;
  host: string;
  since: string;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function holderAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot tell: a shared folder on another host
  if (!isAlive(owner.pid)) return false;
  const stat = procStat(owner.pid);
  // Same pid, other start time: the pid was reused by an unrelated process.
  return !(stat !== null && owner.start !== null && stat.startTicks !== owner.start);
}

/** Without a pid and a host, the lock is one being written (or a crash mid-write). */
const lockOwnerSchema = z.looseObject({ pid: jsonNumber, host: z.string() });

function readOwner(file: string): LockOwner | null {
  const read = readJson(file);
  if (read.kind !== 'ok') return null;
  const parsed = parseSaved(lockOwnerSchema, read.value);
  return parsed.ok ? (parsed.value as unknown as LockOwner) : null;
}

function ageMs(file: string): number {
  try {
    return Date.now() - lstatSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export interface Lock {
  release(): void;
}

/**
 * Take `<dir>/lock`, waiting up to `waitMs` for another check to finish. A lock left by a process
 * that died (or whose pid now belongs to another process) is broken, under a second short-lived
 * lock so that two waiters cannot both break it and then remove each other's fresh lock.
 */
export function acquireLock(dir: string, waitMs: number): Lock {
  const file = lockFile(dir);
  const breaker = `${file}.break`;
  const me: LockOwner = {
    pid: process.pid,
    start: procStat(process.pid)?.startTicks ?? null,
    host: hostname(),
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      );
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return {
        release() {
          const owner = readOwner(file);
          if (owner?.pid === me.pid && owner.start === me.start) {
            try {
              unlinkSync(file);
            } catch {
              // already gone
            }
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FailureError(`cannot create lock ${file}: ${(error as Error).message}`);
      }
    }
    const owner = readOwner(file);
    // A lock with no readable owner is one being written right now, or a crash mid-write.
    const stale = owner === null ? ageMs(file) > 5000 : !holderAlive(owner);
    if (stale) {
      breakStaleLock(file, breaker, owner);
      continue;
    }
    if (Date.now() >= deadline) {
      const who =
        owner === null ? 'another process' : `pid ${owner.pid} on ${owner.host} since ${owner.since}`;
      throw new FailureError(
        `another cost-watchdog check holds the lock ${file} (${who}); gave up after ` +
          `${Math.round(waitMs / 1000)}s`,
      );
    }
    sleep(50);
  }
}

function breakStaleLock(file: string, breaker: string, seen: LockOwner | null): void {
  let fd: number;
  try {
    fd = openSync(
      breaker,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch {
    if (ageMs(breaker) > 5000) {
      try {
        unlinkSync(breaker);
      } catch {
        // someone else did
      }
    } else {
      sleep(20);
    }
    return;
  }
  closeSync(fd);
  try {
    const now = readOwner(file);
    const same =
      seen === null
        ? now === null
        : now !== null && now.pid === seen.pid && now.start === seen.start && now.since === seen.since;
    if (same) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  } finally {
    unlinkSync(breaker);
  }
}

/** Remove the files of the state folder that `ours` claims, except `keep` (a file still named). */
export function pruneStateFiles(
  stateDir: string,
  ours: (name: string) => boolean,
  keep: string | null,
): void {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!ours(name) || name === keep) continue;
    try {
      unlinkSync(path.join(stateDir, name));
    } catch {
      // gone already, or not ours to remove: harmless
    }
  }
}
