// The saved form of the named ids, for core/storms.ts: [id, time, cost, time, cost, ...] per id,
// written as JSON a chunk at a time, and read back (sightings that left the window dropped). Pure.
import { idHashOfString } from './ids.js';
import type { NamedTable } from './named-table.js';

/** Saved form of the named ids: [id, time, cost, time, cost, ...] per id. */
export type StormState = (string | number)[][];

const utf8 = new TextEncoder();
const STATE_CHUNK = 256 * 1024; // 1 MB cost 1 MB more peak RSS for 100,000 ids, and no time

/**
 * One id's saved form, [id, time, cost, time, cost, ...] of its sightings after `fromMs`; null when none is.
 */
export function stateEntry(named: NamedTable, k: number, fromMs: number): (string | number)[] | null {
  const count = named.count(k);
  let inside = 0;
  for (let j = 0; j < count; j++) if (named.time(k, j) > fromMs) inside++;
  if (inside === 0) return null;
  const entry = new Array<string | number>(1 + inside * 2);
  entry[0] = named.id(k);
  let at = 1;
  for (let j = 0; j < count; j++) {
    const t = named.time(k, j);
    if (t <= fromMs) continue;
    entry[at++] = t;
    entry[at++] = Math.round(named.cost(k, j) * 1e9) / 1e9;
  }
  return entry;
}

/** The JSON text of the named ids' saved form, handed to `write` a chunk at a time (see writeStateJson). */
export function writeStateJson(named: NamedTable, fromMs: number, write: (bytes: Uint8Array) => void): void {
  const chunk = new Uint8Array(STATE_CHUNK);
  let length = 0;
  const put = (text: string): void => {
    // A character is at most 3 bytes of UTF-8.
    if (length + text.length * 3 > chunk.length) {
      if (length > 0) write(chunk.subarray(0, length));
      length = 0;
      if (text.length * 3 > chunk.length) {
        write(utf8.encode(text));
        return;
      }
    }
    length += utf8.encodeInto(text, chunk.subarray(length)).written;
  };
  put('[');
  let first = true;
  for (let k = 0; k < named.size; k++) {
    const entry = stateEntry(named, k, fromMs);
    if (entry === null) continue;
    put(first ? JSON.stringify(entry) : `,${JSON.stringify(entry)}`);
    first = false;
  }
  put(']');
  write(chunk.subarray(0, length));
}

/** Saved state into `named`; sightings at or before `fromMs` (or malformed entries) are dropped. */
export function readState(
  state: unknown,
  named: NamedTable,
  fromMs: number,
  hashOf: (name: string) => number = idHashOfString,
): void {
  if (!Array.isArray(state)) return;
  for (const entry of state) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
    const id = entry[0];
    let k = -1;
    for (let j = 1; j + 1 < entry.length; j += 2) {
      const t = entry[j];
      const c = entry[j + 1];
      if (
        !(
          typeof t === 'number' &&
          typeof c === 'number' &&
          Number.isFinite(t) &&
          Number.isFinite(c) &&
          c >= 0 &&
          t > fromMs
        )
      )
        continue;
      if (k < 0) {
        // An id named twice (not written so, but read as it is): the later entry, in the earlier's place.
        const hash = hashOf(id);
        k = named.find(hash);
        if (k >= 0) named.reset(k, id);
        else k = named.create(hash, id);
      }
      named.insert(k, t, c);
    }
  }
}
