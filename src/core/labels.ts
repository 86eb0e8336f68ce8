// Model and agent names, registered once per line parser: each distinct name gets a small integer
// id and one string. A log line's name is found by its bytes (hash, then a full compare) without
// making a string, and spend per name is added up in arrays indexed by id (see attribution.ts).
// Grow-only, up to MAX_LABELS names; beyond that (or past MAX_LABEL_BYTES) a name has no id and
// is handled as a plain string, more slowly. Ids mean something only to the Labels that gave them
// (and to what was handed ids by its parser: one PriceBook, one Attribution per scan).

export const MAX_LABELS = 4096;
export const MAX_LABEL_BYTES = 64;
const TABLE_SIZE = 8192; // a power of two, twice MAX_LABELS: short probe runs

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h;
}

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

export class Labels {
  private readonly slotIds = new Int32Array(TABLE_SIZE).fill(-1);
  private readonly pool = new Uint8Array(MAX_LABELS * MAX_LABEL_BYTES);
  private readonly lengths = new Int32Array(MAX_LABELS);
  private readonly names: string[] = [];
  private readonly byName = new Map<string, number>();

  /** Whether a registered name has exactly these bytes (a cheap check for the name of the line before). */
  is(id: number, b: Uint8Array, start: number, end: number): boolean {
    return id >= 0 && this.sameBytes(id, b, start, end - start);
  }

  private sameBytes(id: number, b: Uint8Array, start: number, length: number): boolean {
    if (this.lengths[id] !== length) return false;
    const pool = this.pool;
    const base = id * MAX_LABEL_BYTES;
    for (let k = 0; k < length; k++) if (pool[base + k] !== b[start + k]) return false;
    return true;
  }

  private register(name: string, b: Uint8Array | null, start: number, end: number, slot: number): number {
    const id = this.names.length;
    if (id >= MAX_LABELS) return -1;
    this.names.push(name);
    this.byName.set(name, id);
    if (b !== null && slot >= 0) {
      this.pool.set(b.subarray(start, end), id * MAX_LABEL_BYTES);
      this.lengths[id] = end - start;
      this.slotIds[slot] = id;
    }
    return id;
  }

  /** The slot where these bytes are, or where they would go (-1: table full). */
  private probe(b: Uint8Array, start: number, end: number): number {
    const slotIds = this.slotIds;
    const length = end - start;
    let slot = hashBytes(b, start, end) & (TABLE_SIZE - 1);
    for (let n = 0; n < TABLE_SIZE; n++) {
      const id = slotIds[slot] as number;
      if (id < 0 || this.sameBytes(id, b, start, length)) return slot;
      slot = (slot + 1) & (TABLE_SIZE - 1);
    }
    return -1;
  }

  /**
   * The id of a plain-ASCII name given as bytes (no escapes, as the scanner found it), or -1 when
   * it is too long or there are too many names.
   */
  idOfBytes(b: Uint8Array, start: number, end: number): number {
    if (end - start > MAX_LABEL_BYTES) return -1;
    const slot = this.probe(b, start, end);
    if (slot < 0) return -1;
    const id = this.slotIds[slot] as number;
    if (id >= 0) return id;
    let name = '';
    for (let i = start; i < end; i++) name += String.fromCharCode(b[i] as number);
    const known = this.byName.get(name);
    if (known !== undefined) {
      // Registered from a string first (the JSON.parse path); now findable by its bytes too.
      this.pool.set(b.subarray(start, end), known * MAX_LABEL_BYTES);
      this.lengths[known] = end - start;
      this.slotIds[slot] = known;
      return known;
    }
    return this.register(name, b, start, end, slot);
  }

  /** The id of a name given as a string, or -1 (too long, or too many names). */
  idOfString(name: string): number {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    if (PLAIN.test(name) && name.length <= MAX_LABEL_BYTES) {
      const b = new Uint8Array(name.length);
      for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i);
      return this.idOfBytes(b, 0, b.length);
    }
    if (name.length > MAX_LABEL_BYTES * 4) return -1;
    return this.register(name, null, 0, 0, -1);
  }

  name(id: number): string {
    return this.names[id] as string;
  }
}
