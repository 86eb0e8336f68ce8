// What the watchdog saw of the emergency flag, and what follows from it. Pure: the effects say
// what a stat() returned; this file decides whether the flag is in force and whether the check
// failed. Only a flag confirmed to exist is in force: an error other than "not found" means the
// watchdog cannot tell (and cannot write one either), which is a failed check, never "in force".

export type FlagSeen =
  | { kind: 'absent' }
  | { kind: 'present' }
  /**
   * stat() failed with something other than ENOENT: `code` is the errno name, `detail` the system's message.
   */
  | { kind: 'unknown'; code: string | null; detail: string };

const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a folder',
  ENOENT: 'no such file or folder',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ENXIO: 'no such device or address',
  ESTALE: 'stale file handle (NFS)',
};

/** An errno in words with its name: "permission denied (EACCES)"; the system's text when unknown. */
export function errnoWords(code: string | null | undefined, fallback: string): string {
  if (code === null || code === undefined) return fallback;
  const words = ERRNO_WORDS[code];
  return words === undefined ? fallback : `${words} (${code})`;
}

/** Why the flag's state is not known, in one line naming the file, the errno and the fix. */
export function flagUnknownReason(file: string, folder: string, code: string | null, detail: string): string {
  const hint =
    code === 'ENOTDIR'
      ? `: ${folder}, or a folder above it, is a file (fix: make ${folder} a folder the app and the ` +
        `watchdog can use)`
      : code === 'EACCES' || code === 'EPERM'
        ? `: the watchdog's user cannot look into ${folder} (fix: give it search permission on ` +
          `${folder}, e.g. chmod g+x or o+x, or run the watchdog as the app's user)`
        : '';
  return `cannot tell whether the emergency flag ${file} exists: ${errnoWords(code, detail)}${hint}`;
}

export type FlagOutcomeKind = 'none' | 'written' | 'exists' | 'would-write' | 'failed' | 'unknown';

/**
 * Did the flag fail the check (exit 1)? A flag that could not be written does; so does a flag
 * whose existence cannot be told, unless the check wrote it after all (then it is confirmed).
 */
export function flagCheckFailed(seen: FlagSeen, outcome: FlagOutcomeKind): boolean {
  if (outcome === 'failed' || outcome === 'unknown') return true;
  return seen.kind === 'unknown' && outcome !== 'written' && outcome !== 'exists';
}

/** In force for the app and for decisions: only a flag confirmed to exist. */
export function flagInForce(seen: FlagSeen): boolean {
  return seen.kind === 'present';
}
