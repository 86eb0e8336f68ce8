// The fast path's first half: one flat JSON object of printable ASCII scanned by position, each
// value that names a field noted in per-slot scratch (where it is, and of what kind) without
// building an object. LineParser (record.ts) makes the record from the scratch.
import type { FieldTable } from './fields.js';
import { TimeParser } from './timestamp.js';

export const KIND_NUMBER = 1;
export const KIND_STRING = 2;
export const KIND_ESCAPED = 3; // a string with backslash escapes
export const KIND_OTHER = 4; // true / false
export const KIND_NULL = 5;
export const KIND_TIME = 6; // a time string already read: the value is in FlatScan.times

/** JSON whitespace, less the newline: the newline ends the line. */
function isWs(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 13;
}

const WORD_MASK = [0, 0xff, 0xffff, 0xffffff];

// Byte classes inside a JSON string: 0 plain, 1 quote, 2 backslash, 3 hand the line to JSON.parse
// (control characters, which JSON forbids raw, and bytes >= 0x80, which need UTF-8 decoding).
// The newline after every line is class 3, so inner loops stop there without a bounds check.
const STRING_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) STRING_CLASS[c] = c === 34 ? 1 : c === 92 ? 2 : c < 32 || c > 126 ? 3 : 0;
const DIGIT = new Uint8Array(256);
for (let c = 48; c <= 57; c++) DIGIT[c] = 1;

/**
 * The scratch space of one line, reused for every line (one per thread's scan, never re-entered).
 * A slot holds a value for the current line only when its generation is the current one, so
 * nothing needs clearing between lines.
 */
export class FlatScan {
  readonly time = new TimeParser();
  protected readonly times: Float64Array;
  protected readonly kinds: Uint8Array;
  protected readonly starts: Int32Array;
  protected readonly ends: Int32Array;
  protected readonly gens: Int32Array;
  protected generation = 0;
  /** The fields the current line has a key for (bit = FIELDS index): absent ones are not looked for. */
  protected fieldsSeen = 0;
  /** The slots the current line has a value other than null for (see FieldTable.slotBit). */
  protected slotsSeen = 0;

  constructor(readonly table: FieldTable) {
    const size = Math.max(64, table.slots.length);
    this.times = new Float64Array(size);
    this.kinds = new Uint8Array(size);
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    this.gens = new Int32Array(size);
  }

  /**
   * Scan one flat JSON object of printable ASCII starting at b[start], reading no further than
   * `limit`, filling the scratch slots. Returns the index just past the object and its trailing
   * blanks (where the caller expects the newline, or the end of the line), or -1 to hand the line
   * to JSON.parse: nesting, any byte >= 0x80, a control character, anything odd. It accepts only
   * text that is valid JSON. The newline is class 3 and not whitespace, so no loop crosses it; an
   * inner loop may run past `limit` only when the line is cut short mid-token, and the `>= limit`
   * checks then defer it.
   */
  protected scan(b: Uint8Array, start: number, limit: number): number {
    const table = this.table;
    const time = this.time;
    const { times, kinds, starts, ends, gens } = this;
    const gen = ++this.generation;
    let fieldsSeen = 0;
    let slotsSeen = 0;
    let i = start;
    while (isWs(b[i])) i++;
    if (b[i] !== 123) return -1; // '{'
    i++;
    while (isWs(b[i])) i++;
    if (b[i] === 125) {
      i++;
    } else {
      const { firstStart, candSlot, candLength, candWord, candOffset, nameBytes } = table;
      for (;;) {
        // key: plain ASCII, no escapes. A key we read is matched in place against the names that
        // start with its first byte; any other key is skipped with the class table.
        if (i >= limit || b[i] !== 34) return -1;
        i++;
        let slot = -1;
        // | 0: past the end a byte reads as undefined, and an undefined index makes every later
        // lookup slow.
        const c0 = (b[i] as number) | 0;
        const kEnd = firstStart[c0 + 1] as number;
        let k = firstStart[c0] as number;
        if (k < kEnd) {
          const word =
            c0 | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
          for (; k < kEnd; k++) {
            const length = candLength[k] as number;
            if (b[i + length] !== 34) continue;
            if (length < 4 ? (word & (WORD_MASK[length] as number)) !== candWord[k] : word !== candWord[k])
              continue;
            let j = 4;
            const offset = candOffset[k] as number;
            while (j < length && b[i + j] === nameBytes[offset + j]) j++;
            if (j >= length) {
              slot = candSlot[k] as number;
              i += length;
              break;
            }
          }
        }
        if (slot < 0) while (STRING_CLASS[(b[i] as number) | 0] === 0) i++;
        if (i >= limit || b[i] !== 34) return -1;
        i++;
        while (isWs(b[i])) i++;
        if (b[i] !== 58) return -1; // ':'
        i++;
        while (isWs(b[i])) i++;
        // value
        const valueStart = i;
        let kind: number;
        let c = (b[i] as number) | 0;
        let timeEnd: number;
        if (
          c === 34 &&
          slot >= 0 &&
          table.isTime[slot] === 1 &&
          (timeEnd = time.isoAt(b, i + 1, limit)) > 0 &&
          b[timeEnd] === 34
        ) {
          // An ISO time, read in place: only digits and T, Z, +, -, :, . so a plain JSON string.
          kind = KIND_TIME;
          times[slot] = time.out[0] as number;
          i = timeEnd + 1;
        } else if (c === 34) {
          kind = KIND_STRING;
          i++;
          for (;;) {
            while (STRING_CLASS[(b[i] as number) | 0] === 0) i++;
            if (i >= limit) return -1;
            const cls = STRING_CLASS[(b[i] as number) | 0];
            if (cls === 1) break;
            if (cls === 3) return -1;
            // backslash
            kind = KIND_ESCAPED;
            const e = b[i + 1];
            if (e === 117) {
              // \uXXXX
              if (i + 6 > limit) return -1;
              for (let h = 2; h < 6; h++) {
                const x = b[i + h] as number;
                if (!((x >= 48 && x <= 57) || (x >= 65 && x <= 70) || (x >= 97 && x <= 102))) return -1;
              }
              i += 6;
            } else if (
              e === 34 ||
              e === 92 ||
              e === 47 ||
              e === 98 ||
              e === 102 ||
              e === 110 ||
              e === 114 ||
              e === 116
            ) {
              i += 2;
            } else {
              return -1;
            }
          }
          i++;
        } else if (c === 45 || DIGIT[c] === 1) {
          kind = KIND_NUMBER;
          // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
          if (c === 45) c = (b[++i] as number) | 0;
          if (c === 48) i++;
          else if (DIGIT[c] === 1) while (DIGIT[(b[++i] as number) | 0] === 1);
          else return -1;
          if (b[i] === 46) {
            const fracStart = ++i;
            while (DIGIT[(b[i] as number) | 0] === 1) i++;
            if (i === fracStart) return -1;
          }
          c = (b[i] as number) | 0;
          if (c === 101 || c === 69) {
            c = (b[++i] as number) | 0;
            if (c === 43 || c === 45) i++;
            const expStart = i;
            while (DIGIT[(b[i] as number) | 0] === 1) i++;
            if (i === expStart) return -1;
          }
        } else if (c === 116 && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101) {
          kind = KIND_OTHER; // true
          i += 4;
        } else if (c === 102 && b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101) {
          kind = KIND_OTHER; // false
          i += 5;
        } else if (c === 110 && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108) {
          kind = KIND_NULL;
          i += 4;
        } else {
          return -1; // nested object or array, or not JSON: JSON.parse decides
        }
        if (i >= limit) return -1;
        if (slot >= 0) {
          // A repeated key keeps its last value, as JSON.parse does.
          gens[slot] = gen;
          fieldsSeen |= table.fieldBit[slot] as number;
          const bits = table.slotBit;
          if (bits !== null)
            slotsSeen =
              kind === KIND_NULL ? slotsSeen & ~(bits[slot] as number) : slotsSeen | (bits[slot] as number);
          kinds[slot] = kind;
          starts[slot] = valueStart;
          ends[slot] = i;
        }
        while (isWs(b[i])) i++;
        if (i >= limit) return -1;
        const sep = b[i++];
        if (sep === 125) break; // '}'
        if (sep !== 44) return -1; // ','
        while (isWs(b[i])) i++;
      }
    }
    while (i < limit && isWs(b[i])) i++;
    this.fieldsSeen = fieldsSeen;
    this.slotsSeen = slotsSeen;
    return i <= limit ? i : -1;
  }

  /** The slot of a field's first name with a value other than null on this line, or -1. */
  protected firstSlot(field: number): number {
    if ((this.fieldsSeen & (1 << field)) === 0) return -1;
    const fieldSlots = this.table.fieldSlots;
    if (fieldSlots !== null) {
      const present = this.slotsSeen & (fieldSlots[field] as number);
      return present === 0 ? -1 : 31 - Math.clz32(present & -present);
    }
    const slots = this.table.slotsByField[field] as number[];
    const { gens, kinds } = this;
    const generation = this.generation;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as number;
      if (gens[slot] === generation && kinds[slot] !== KIND_NULL) return slot;
    }
    return -1;
  }
}
