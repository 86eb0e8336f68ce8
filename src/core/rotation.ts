// What happened to the cost log between two checks, from its identity (device + inode) and
// whether the bytes already read are still where they were (the fingerprint).

export type LogChange =
  /** No checkpoint: read from the start (and recent rotated files). */
  | 'fresh'
  /** Same file, same content: read from the offset. */
  | 'appended'
  /** Same file, content changed (copytruncate, or rewritten): find the copy, then read from 0. */
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
export function fingerprintHolds(size: number, offset: number, savedHead: Uint8Array, headNow: Uint8Array, savedTail: Uint8Array, tailNow: Uint8Array): boolean {
  if (size < offset) return false;
  return sameBytes(savedHead, headNow) && sameBytes(savedTail, tailNow);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
