// Retry storms: the same request id (or fingerprint) billed again and again. A batch re-run 21
// times by a task queue pays for every call each time; each re-run logs the same ids. Every
// sighting inside the storm window is kept (time and cost), across checks, so that a storm is
// counted exactly whichever checks its lines fall in. Pure.
//
// A busy app logs tens of thousands of ids in 15 minutes, nearly all of them once. Those are kept
// by a 53-bit hash of the id in typed arrays (no string per line, saved as raw bytes); an id is
// kept by name only from its second sighting on. Two different ids share a hash with odds of about
// n^2 / 2^54 (under one in a billion for 100,000 ids in the window), and even then they only add
// up towards a storm, never hide one. Both kinds are kept in typed arrays, not an object per id
// (storms/singles.ts, storms/named-table.ts): 100,000 ids seen three times each take about 16 MB.

import { dollarsOf } from './money.js';
import { NamedTable } from './storms/named-table.js';
import { type Bulk, EMPTY, GONE, growBulk, Saved, Singles, sortByHash } from './storms/singles.js';

export { sortByHash } from './storms/singles.js';

export interface StormSettings {
  /** Sightings of one id within the window that make a storm. */
  count: number;
  windowMs: number;
  /** At most this many ids followed at once (default MAX_TRACKED_IDS). */
  maxIds?: number;
}

export interface Storm {
  id: string;
  count: number;
  /** USD (the sightings' costs are whole µ$: see core/money.ts). */
  usd: number;
  firstMs: number;
  lastMs: number;
}

/** At most this many ids are followed at once; beyond it new ids are not (and status says so). */
export const MAX_TRACKED_IDS = 1_000_000;
const ID_MAX = 200;

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

/**
 * Should the base file of ids seen once be rewritten now? Once it is older than the window, the
 * sightings in it have mostly left the window: rewriting drops them. Null: there is no base file.
 */
export function baseExpired(writtenMs: number | null, nowMs: number, windowMs: number): boolean {
  return writtenMs !== null && nowMs - writtenMs > windowMs;
}

/**
 * Ids seen once since the base file was written are kept in the checkpoint up to this many (or a quarter of
 * the base).
 */
const DELTA_MIN = 4096;

/** Saved form of the named ids: [id, time, cost, time, cost, ...] per id. */
export type StormState = (string | number)[][];

export class StormTracker {
  private readonly named: NamedTable;
  /** Ids seen once in this check. */
  private singles: Singles | null = null;
  /** Ids seen once in earlier checks (loaded when first needed). */
  private saved: Saved | null = null;
  private savedLoaded = false;
  /** Ids seen once changed (added or promoted): they must be saved again. */
  singlesChanged = false;
  /** The ids seen once held as the base are not those of a saved file (a helper thread's). */
  private baseDirty = false;
  private bulk: Bulk | null = null;
  /** New ids were not followed because MAX_TRACKED_IDS were already. */
  overflow = false;
  private readonly fromMs: number;

  /**
   * @param loadSingles the ids seen once, as saved by `singlesToSave` ([hash, time, cost] per id),
   *   read only when a line first needs them (a check with nothing new never reads them)
   */
  constructor(
    readonly settings: StormSettings,
    readonly nowMs: number,
    private readonly loadSingles: () => Float64Array | null = () => null,
    delta: readonly number[] = [],
  ) {
    this.fromMs = nowMs - settings.windowMs;
    this.named = new NamedTable(this.fromMs);
    // The ids seen once since the base file was last written: few, kept in the checkpoint itself.
    for (let k = 0; k + 2 < delta.length; k += 3) {
      const hash = delta[k] as number;
      const time = delta[k + 1] as number;
      const cost = delta[k + 2] as number;
      if (!(hash >= 0) || !(time > this.fromMs) || !(cost >= 0)) continue;
      const singles = (this.singles ??= new Singles(0, this.fromMs));
      const slot = singles.slotOf(hash);
      if (singles.keyAt(slot) === EMPTY) singles.put(slot, hash, time, cost);
    }
  }

  /** The earliest line time worth reading an id for (lines at or before it are outside the window). */
  get sinceMs(): number {
    return this.fromMs;
  }

  private loadSaved(): Saved | null {
    if (!this.savedLoaded) {
      this.savedLoaded = true;
      // Our own file, named by the checkpoint with its exact length (see check/storm-ids.ts).
      const data = this.loadSingles();
      this.saved = data !== null && data.length % 3 === 0 && data.length > 0 ? new Saved(data) : null;
    }
    return this.saved;
  }

  /**
   * A sighting of the id with this hash; `text` gives its name (asked only from its second
   * sighting on). Lines at or before the window's start are not kept.
   */
  add(hash: number, timeMs: number, cost: number, text: () => string, ref = 0): void {
    if (timeMs <= this.fromMs) return;
    const bulk = this.bulk;
    if (bulk !== null) {
      if (bulk.n === bulk.hashes.length) this.bulk = growBulk(bulk);
      const b = this.bulk as Bulk;
      b.hashes[b.n] = hash;
      b.times[b.n] = timeMs;
      b.costs[b.n] = cost;
      b.refs[b.n] = ref;
      b.n++;
      return;
    }
    const known = this.named.find(hash);
    if (known >= 0) {
      this.named.insert(known, timeMs, cost);
      return;
    }
    this.singlesChanged = true;
    const saved = this.loadSaved();
    const at = saved === null ? -1 : saved.find(hash);
    let earlierTime = -Infinity;
    let earlierCost = 0;
    if (at >= 0) {
      const data = (saved as Saved).data;
      earlierTime = data[at * 3 + 1] as number;
      earlierCost = data[at * 3 + 2] as number;
      data[at * 3] = -hash - 1;
    } else {
      const singles = (this.singles ??= new Singles(0, this.fromMs));
      const slot = singles.slotOf(hash);
      if (singles.keyAt(slot) === EMPTY) {
        if (
          singles.size + this.named.size + (saved?.count ?? 0) >=
          (this.settings.maxIds ?? MAX_TRACKED_IDS)
        ) {
          this.overflow = true;
          return;
        }
        singles.put(slot, hash, timeMs, cost);
        return;
      }
      earlierTime = singles.timeAt(slot);
      earlierCost = singles.costAt(slot);
      singles.remove(slot);
    }
    // Seen before: from now on it is kept by name.
    const k = this.named.create(hash, text());
    if (earlierTime > this.fromMs) this.named.insert(k, earlierTime, earlierCost);
    this.named.insert(k, timeMs, cost);
  }

  /**
   * Take in what a helper thread found reading another part of the log at the same time: its ids
   * seen more than once (by name), and its ids seen once, sorted by hash as singlesToSave gives
   * them, with `textOf(k)` naming the k-th of those (asked only when one turns out to be seen here
   * too). Called once, before anything was loaded from a saved file (a fresh read of the log).
   */
  absorb(named: StormState, singles: Float64Array, textOf: (k: number) => string): void {
    for (const entry of named) {
      const id = entry[0] as string;
      for (let k = 1; k + 1 < entry.length; k += 2)
        this.addId(id, entry[k] as number, entry[k + 1] as number);
    }
    if (this.savedLoaded && this.saved !== null) {
      // Not expected (absorb comes with a fresh read); correct, only slower.
      for (let k = 0; k * 3 < singles.length; k++)
        this.add(singles[k * 3] as number, singles[k * 3 + 1] as number, singles[k * 3 + 2] as number, () =>
          textOf(k),
        );
      return;
    }
    const data = singles; // the helper's own copy: marked in place
    const ours = this.singles;
    if (this.named.size > 0 || (ours !== null && ours.size > 0)) {
      // An id seen once there and also here: from now on it is kept by name.
      for (let k = 0; k * 3 < data.length; k++) {
        const hash = data[k * 3] as number;
        const time = data[k * 3 + 1] as number;
        const cost = data[k * 3 + 2] as number;
        const known = this.named.find(hash);
        if (known >= 0) {
          this.named.insert(known, time, cost);
          data[k * 3] = -hash - 1;
          continue;
        }
        if (ours === null) continue;
        const slot = ours.slotOf(hash);
        if (ours.keyAt(slot) === EMPTY || ours.keyAt(slot) === GONE) continue;
        const entry = this.named.create(hash, textOf(k));
        this.named.insert(entry, ours.timeAt(slot), ours.costAt(slot));
        this.named.insert(entry, time, cost);
        ours.remove(slot);
        data[k * 3] = -hash - 1;
      }
    }
    this.saved = data.length > 0 ? new Saved(data) : null;
    this.savedLoaded = true;
    this.singlesChanged = true;
    this.baseDirty = true;
  }

  /**
   * Bulk mode, for a helper thread reading part of a log afresh: sightings are only noted, and
   * grouped by one sort at the end (finishBulk), instead of a lookup per line.
   */
  startBulk(capacity = 4096): void {
    // Zeroed memory is taken from the system only where it is written: a generous capacity
    // (every line of the part) costs nothing until used, and saves growing by copies.
    this.bulk = growBulk(null, Math.max(16, Math.floor(capacity)));
  }

  /**
   * Group the sightings noted in bulk mode: ids seen more than once are kept by name (`nameOf`
   * gives it from the `ref` of one sighting), the others as a sorted base with their refs.
   */
  finishBulk(nameOf: (ref: number, hash: number) => string): { singles: Float64Array; refs: Float64Array } {
    const bulk = this.bulk;
    this.bulk = null;
    if (bulk === null || bulk.n === 0) return { singles: new Float64Array(0), refs: new Float64Array(0) };
    const order = sortByHash(bulk.hashes, bulk.n);
    const singles = new Float64Array(bulk.n * 3);
    const refs = new Float64Array(bulk.n);
    let m = 0;
    for (let k = 0; k < bulk.n; ) {
      const first = order[k] as number;
      const hash = bulk.hashes[first] as number;
      let end = k + 1;
      while (end < bulk.n && bulk.hashes[order[end] as number] === hash) end++;
      if (end - k === 1) {
        singles[m * 3] = hash;
        singles[m * 3 + 1] = bulk.times[first] as number;
        singles[m * 3 + 2] = bulk.costs[first] as number;
        refs[m] = bulk.refs[first] as number;
        m++;
      } else {
        let ref = 0;
        for (let j = k; j < end && ref === 0; j++) ref = bulk.refs[order[j] as number] as number;
        const known = this.named.find(hash);
        const entry = known >= 0 ? known : this.named.create(hash, nameOf(ref, hash));
        for (let j = k; j < end; j++)
          this.named.insert(
            entry,
            bulk.times[order[j] as number] as number,
            bulk.costs[order[j] as number] as number,
          );
      }
      k = end;
    }
    const base = singles.subarray(0, m * 3);
    this.saved = m > 0 ? new Saved(base) : null;
    this.savedLoaded = true;
    this.singlesChanged = true;
    this.baseDirty = true;
    return { singles: base, refs: refs.subarray(0, m) };
  }

  /** Add by name (lines read with JSON.parse, and tests). */
  addId(id: string, timeMs: number, cost: number): void {
    this.add(idHashOfString(id), timeMs, cost, () => id);
  }

  /** Ids seen `count` times or more inside the window, most sightings first. */
  storms(): Storm[] {
    const out: Storm[] = [];
    const named = this.named;
    for (let k = 0; k < named.size; k++) {
      const sightings = named.count(k);
      if (sightings < this.settings.count) continue;
      let first = -1;
      let count = 0;
      let usd = 0;
      for (let j = 0; j < sightings; j++) {
        const t = named.time(k, j);
        if (t <= this.fromMs) continue;
        if (first < 0) first = t;
        count++;
        usd += named.cost(k, j);
      }
      if (count < this.settings.count) continue;
      const id = named.id(k);
      out.push({
        id: id.length > ID_MAX ? `${id.slice(0, ID_MAX)}…` : id,
        count,
        usd: dollarsOf(usd),
        firstMs: first,
        lastMs: named.time(k, sightings - 1),
      });
    }
    return out.sort((a, b) => b.count - a.count || b.usd - a.usd || (a.id < b.id ? -1 : 1));
  }

  /** The ids seen more than once, by name, with their sightings inside the window. */
  toState(): StormState {
    const out: StormState = [];
    for (let k = 0; k < this.named.size; k++) {
      const entry = stateEntry(this.named, k, this.fromMs);
      if (entry !== null) out.push(entry);
    }
    return out;
  }

  /**
   * toState() as JSON text in UTF-8, handed to `write` a chunk at a time as it is made (the chunk's
   * memory is reused once `write` returns): the same bytes as JSON.stringify(toState()), without
   * the whole array, its string or its bytes at once (for 100,000 ids, about 20 MB of arrays and
   * 8 MB of string on top of the tracker itself).
   */
  writeStateJson(write: (bytes: Uint8Array) => void): void {
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
    for (let k = 0; k < this.named.size; k++) {
      const entry = stateEntry(this.named, k, this.fromMs);
      if (entry === null) continue;
      put(first ? JSON.stringify(entry) : `,${JSON.stringify(entry)}`);
      first = false;
    }
    put(']');
    write(chunk.subarray(0, length));
  }

  /** writeStateJson's chunks, kept. */
  stateJson(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    this.writeStateJson((bytes) => chunks.push(bytes.slice()));
    return chunks;
  }

  /**
   * What to save of the ids seen once: null when nothing changed them; otherwise the few seen
   * since the base file was written (`delta`, for the checkpoint), and a new base file only when
   * that would be long (`base`: all of them inside the window, [hash, time, cost] sorted by hash),
   * or when `rewriteBase` (the base is older than the window: it is mostly expired).
   */
  singlesToSave(rewriteBase = false): { base: Float64Array | null; delta: number[] } | null {
    if (!this.singlesChanged) return null;
    const saved = this.loadSaved();
    const singles = this.singles;
    const fresh: number[] = [];
    if (singles !== null) {
      for (let slot = 0; slot < singles.slots; slot++) {
        const hash = singles.hashAt(slot);
        if (hash >= 0 && singles.timeAt(slot) > this.fromMs) fresh.push(hash);
      }
    }
    const baseCount = saved?.count ?? 0;
    if (!rewriteBase && !this.baseDirty && fresh.length <= Math.max(DELTA_MIN, baseCount / 4)) {
      const delta: number[] = [];
      for (const hash of fresh) {
        const slot = (singles as Singles).slotOf(hash);
        delta.push(hash, (singles as Singles).timeAt(slot), (singles as Singles).costAt(slot));
      }
      return { base: null, delta };
    }
    const data = saved?.data ?? new Float64Array(0);
    const sorted = Float64Array.from(fresh).sort();
    const out = new Float64Array(data.length + sorted.length * 3);
    let n = 0;
    let i = 0;
    let j = 0;
    while (i < baseCount || j < sorted.length) {
      const savedKey = i < baseCount ? (data[i * 3] as number) : Infinity;
      const freshKey = j < sorted.length ? (sorted[j] as number) : Infinity;
      if (savedKey < 0 || (savedKey !== Infinity && savedKey <= freshKey && this.named.find(savedKey) >= 0)) {
        i++; // promoted to a named id
        if (savedKey === freshKey) j++;
      } else if (savedKey <= freshKey) {
        if ((data[i * 3 + 1] as number) > this.fromMs) {
          out[n++] = savedKey;
          out[n++] = data[i * 3 + 1] as number;
          out[n++] = data[i * 3 + 2] as number;
        }
        i++;
        if (savedKey === freshKey) j++; // never write a hash twice
      } else {
        const slot = (singles as Singles).slotOf(freshKey);
        out[n++] = freshKey;
        out[n++] = (singles as Singles).timeAt(slot);
        out[n++] = (singles as Singles).costAt(slot);
        j++;
      }
    }
    return { base: out.subarray(0, n), delta: [] };
  }

  /** From saved state; sightings that left the window (or malformed entries) are dropped. */
  static fromState(
    state: unknown,
    settings: StormSettings,
    nowMs: number,
    loadSingles: () => Float64Array | null = () => null,
    delta: readonly number[] = [],
  ): StormTracker {
    const tracker = new StormTracker(settings, nowMs, loadSingles, delta);
    if (!Array.isArray(state)) return tracker;
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
            t > tracker.fromMs
          )
        )
          continue;
        if (k < 0) {
          // An id named twice (not written so, but read as it is): the later entry, in the earlier's place.
          const hash = idHashOfString(id);
          k = tracker.named.find(hash);
          if (k >= 0) tracker.named.reset(k, id);
          else k = tracker.named.create(hash, id);
        }
        tracker.named.insert(k, t, c);
      }
    }
    return tracker;
  }
}

const utf8 = new TextEncoder();
const STATE_CHUNK = 256 * 1024; // 1 MB cost 1 MB more peak RSS for 100,000 ids, and no time

/**
 * One id's saved form, [id, time, cost, time, cost, ...] of its sightings after `fromMs`; null when none is.
 */
function stateEntry(named: NamedTable, k: number, fromMs: number): (string | number)[] | null {
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
