// Request ids for core/storms.ts: which ids name a request (not a placeholder such as "unknown"),
// and their 53-bit hash (from bytes on the fast path, from a string elsewhere: the same value).

/** Placeholders that name no request: lines carrying them are never grouped together. */
const PLACEHOLDERS = new Set(['', 'unknown', 'null', 'none', 'undefined', 'nil', 'n/a', 'na', '-']);
const LONGEST_PLACEHOLDER = 9;

/** Whether an id names a request (not missing, empty or a placeholder such as "unknown"). */
export function isRequestId(id: string | null): id is string {
  if (id === null) return false;
  return !(id.length <= LONGEST_PLACEHOLDER + 2 && PLACEHOLDERS.has(id.trim().toLowerCase()));
}

/** Whether an id given as ASCII bytes may be a placeholder (then its text decides). */
export function mayBePlaceholder(length: number): boolean {
  return length <= LONGEST_PLACEHOLDER + 2;
}

/** The 53-bit hash of an id's UTF-16 code units (ASCII bytes hash the same as their string). */
export function idHashOfBytes(b: Uint8Array, start: number, end: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ (end - start);
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) & 0x1fffff);
}

export function idHashOfString(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) & 0x1fffff);
}
