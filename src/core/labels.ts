// Model and agent names, registered once per process: each distinct name gets a small integer id
// and one string. A log line's name is found by its bytes (hash, then a full compare) without
// making a string, and spend per name is added up in arrays indexed by id (see attribution.ts).
// Grow-only, up to MAX_LABELS names; beyond that (or past MAX_LABEL_BYTES) a name has no id and
// is handled as a plain string, more slowly.

export const MAX_LABELS = 4096;
export const MAX_LABEL_BYTES = 64;
const TABLE_SIZE = 8192; // a power of two, twice MAX_LABELS: short probe runs

const slotIds = new Int32Array(TABLE_SIZE).fill(-1);
const pool = new Uint8Array(MAX_LABELS * MAX_LABEL_BYTES);
const lengths = new Int32Array(MAX_LABELS);
const names: string[] = [];
const byName = new Map<string, number>();

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h;
}

/** Whether a registered name has exactly these bytes (a cheap check for the name of the line before). */
export function labelIs(id: number, b: Uint8Array, start: number, end: number): boolean {
  return id >= 0 && sameBytes(id, b, start, end - start);
}

function sameBytes(id: number, b: Uint8Array, start: number, length: number): boolean {
  if (lengths[id] !== length) return false;
  const base = id * MAX_LABEL_BYTES;
  for (let k = 0; k < length; k++) if (pool[base + k] !== b[start + k]) return false;
  return true;
}

function register(name: string, b: Uint8Array | null, start: number, end: number, slot: number): number {
  const id = names.length;
  if (id >= MAX_LABELS) return -1;
  names.push(name);
  byName.set(name, id);
  if (b !== null && slot >= 0) {
    pool.set(b.subarray(start, end), id * MAX_LABEL_BYTES);
    lengths[id] = end - start;
    slotIds[slot] = id;
  }
  return id;
}

/** The slot where these bytes are, or where they would go (-1: table full). */
function probe(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let slot = hashBytes(b, start, end) & (TABLE_SIZE - 1);
  for (let n = 0; n < TABLE_SIZE; n++) {
    const id = slotIds[slot] as number;
    if (id < 0 || sameBytes(id, b, start, length)) return slot;
    slot = (slot + 1) & (TABLE_SIZE - 1);
  }
  return -1;
}

/**
 * The id of a plain-ASCII name given as bytes (no escapes, as the scanner found it), or -1 when
 * it is too long or there are too many names.
 */
export function labelIdOfBytes(b: Uint8Array, start: number, end: number): number {
  if (end - start > MAX_LABEL_BYTES) return -1;
  const slot = probe(b, start, end);
  if (slot < 0) return -1;
  const id = slotIds[slot] as number;
  if (id >= 0) return id;
  let name = '';
  for (let i = start; i < end; i++) name += String.fromCharCode(b[i] as number);
  const known = byName.get(name);
  if (known !== undefined) {
    // Registered from a string first (the JSON.parse path); now findable by its bytes too.
    pool.set(b.subarray(start, end), known * MAX_LABEL_BYTES);
    lengths[known] = end - start;
    slotIds[slot] = known;
    return known;
  }
  return register(name, b, start, end, slot);
}

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** The id of a name given as a string, or -1 (too long, or too many names). */
export function labelIdOfString(name: string): number {
  const known = byName.get(name);
  if (known !== undefined) return known;
  if (PLAIN.test(name) && name.length <= MAX_LABEL_BYTES) {
    const b = new Uint8Array(name.length);
    for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i);
    return labelIdOfBytes(b, 0, b.length);
  }
  if (name.length > MAX_LABEL_BYTES * 4) return -1;
  return register(name, null, 0, 0, -1);
}

export function labelName(id: number): string {
  return names[id] as string;
}
