// The emergency flag: its existence tells the app to stop spending. Written once per emergency
// (the first trigger is the record) and never removed here: only `clear-emergency` removes it.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { type FlagSeen, flagUnknownReason } from '../core/flag.js';
import { fsyncDir, readJson } from './store.js';

/**
 * What is at the flag's path. `present` only when stat() (which follows a symlink, as the app's
 * own exists() check does) succeeds: a dangling symlink is no flag. Any other error than "not
 * found" (its folder is a file: ENOTDIR; the folder cannot be searched: EACCES) is `unknown`:
 * never taken for a flag in force (core/flag.ts decides what follows).
 */
export type FlagRead =
  | { kind: 'absent' }
  | { kind: 'present'; content: Record<string, unknown> | null; problem?: string }
  | { kind: 'unknown'; code: string | null; detail: string; reason: string };

export function readFlag(flagFile: string): FlagRead {
  try {
    statSync(flagFile);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { kind: 'absent' };
    const code = e.code ?? null;
    return {
      kind: 'unknown',
      code,
      detail: e.message,
      reason: flagUnknownReason(flagFile, path.dirname(flagFile), code, e.message),
    };
  }
  // It exists, so it is in force whatever it holds: the app only checks that it exists. A link
  // (to a file that exists) is in force too, but what it points at is not ours to read or quote.
  try {
    if (lstatSync(flagFile).isSymbolicLink())
      return {
        kind: 'present',
        content: null,
        problem: 'a symbolic link to another file (in force: the app follows it; not read)',
      };
  } catch {
    return { kind: 'absent' }; // removed between the two looks
  }
  const read = readJson(flagFile);
  if (read.kind === 'missing') return { kind: 'absent' }; // removed between the two looks
  if (read.kind === 'corrupt') return { kind: 'present', content: null, problem: read.reason };
  const value = read.value;
  return {
    kind: 'present',
    content:
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : null,
  };
}

/** What a FlagRead says for core's decisions. */
export function flagSeen(read: FlagRead): FlagSeen {
  return read.kind === 'unknown'
    ? { kind: 'unknown', code: read.code, detail: read.detail }
    : { kind: read.kind };
}

export interface FlagContent {
  reason: string;
  window: string | null;
  spend_usd: number | null;
  limit_usd: number | null;
  triggered_at: string;
  triggered_by: 'run' | 'watch' | 'kill';
  host: string;
  /** The level that wrote it: `kill` means a kill switch is on until clear-emergency. */
  level: string;
  /** A scoped budget wrote it: the scope's name, and its value under `each` (`{agent: "research"}`). */
  scope?: string;
  key?: Record<string, string>;
}

/**
 * Create the flag with its whole content at once, unless it exists: the content goes to a
 * temporary file (exclusive create, unpredictable name, never through a symlink, fsync) that is
 * then hard-linked to the flag's name. link() fails when the name exists (a symlink planted there
 * included), so an existing flag is never overwritten, not even by a race. Where hard links are
 * not supported, rename() is the fallback. Throws the system error; 'exists' when already there.
 * The flag's folder is the app's: it is not created here (a missing folder is a failure).
 */
export function createFlag(flagFile: string, content: FlagContent): 'written' | 'exists' {
  const dir = path.dirname(flagFile);
  const temp = path.join(dir, `.${path.basename(flagFile)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    try {
      const data = Buffer.from(`${JSON.stringify(content, null, 2)}\n`);
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, flagFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // Something is there. A dangling symlink is not a flag: the app, following it, sees
        // nothing. (Planted by the app's user, it would switch the flag off for good.)
        try {
          statSync(flagFile);
        } catch {
          throw new Error('a symlink that points nowhere is in its place (remove it)');
        }
        return 'exists';
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
      renameSync(temp, flagFile);
    }
    fsyncDir(dir);
    return 'written';
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // renamed, or already gone
    }
  }
}

/** Remove the flag; false when it was not there. */
export function removeFlag(flagFile: string): boolean {
  try {
    unlinkSync(flagFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  fsyncDir(path.dirname(flagFile));
  return true;
}
