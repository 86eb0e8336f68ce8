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
import { singlesSave } from './storms/base.js';
import { absorbSingles, groupBulk } from './storms/helper.js';
import { idHashOfString } from './storms/ids.js';
import { NamedTable } from './storms/named-table.js';
import { type Bulk, EMPTY, growBulk, Saved, Singles } from './storms/singles.js';
import { readState, type StormState, stateEntry, writeStateJson } from './storms/state.js';

export { baseExpired } from './storms/base.js';
export { idHashOfBytes, idHashOfString, isRequestId, mayBePlaceholder } from './storms/ids.js';
export { sortByHash } from './storms/singles.js';
export type { StormState } from './storms/state.js';

export interface StormSettings {
  /** Sightings of one id within the window that make a storm. */
  count: number;
  windowMs: number;
  /** At most this many ids followed at once (default MAX_TRACKED_IDS). */
  maxIds?: number;
  /**
   * The hash of a name (default idHashOfString): what a name saved by toState, or taken in by
   * absorb, is found under. The call shapes' tracker hashes its names its own way (storms/shapes.ts).
   */
  hashOf?: (name: string) => number;
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
    const hashOf = this.settings.hashOf ?? idHashOfString;
    // Hashed once per name (a shape's name is parsed to hash it), not once per sighting.
    for (const entry of named) this.absorbNamed(hashOf(entry[0] as string), entry);
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
      absorbSingles(data, this.named, ours, textOf);
    }
    this.saved = data.length > 0 ? new Saved(data) : null;
    this.savedLoaded = true;
    this.singlesChanged = true;
    this.baseDirty = true;
  }

  /**
   * One id a helper saw more than once, [id, time, cost, ...]: what add() would leave for each of
   * its sightings, but kept by name at once (not as an id seen once first, then promoted).
   */
  private absorbNamed(hash: number, entry: (string | number)[]): void {
    const named = this.named;
    let k = named.find(hash);
    if (k < 0) {
      let inside = false;
      for (let j = 1; j + 1 < entry.length && !inside; j += 2) inside = (entry[j] as number) > this.fromMs;
      if (!inside) return;
      // Seen once here too (this check, or a saved base): that sighting is the id's as well.
      let earlierTime = -Infinity;
      let earlierCost = 0;
      const saved = this.loadSaved();
      const at = saved === null ? -1 : saved.find(hash);
      const singles = this.singles;
      const slot = at < 0 && singles !== null ? singles.slotOf(hash) : -1;
      if (at >= 0) {
        const data = (saved as Saved).data;
        earlierTime = data[at * 3 + 1] as number;
        earlierCost = data[at * 3 + 2] as number;
        data[at * 3] = -hash - 1;
      } else if (slot >= 0 && (singles as Singles).keyAt(slot) !== EMPTY) {
        earlierTime = (singles as Singles).timeAt(slot);
        earlierCost = (singles as Singles).costAt(slot);
        (singles as Singles).remove(slot);
      } else if (
        (singles?.size ?? 0) + named.size + (saved?.count ?? 0) >=
        (this.settings.maxIds ?? MAX_TRACKED_IDS)
      ) {
        // add() would not have followed it either.
        this.overflow = true;
        return;
      }
      this.singlesChanged = true;
      k = named.create(hash, entry[0] as string);
      if (earlierTime > this.fromMs) named.insert(k, earlierTime, earlierCost);
    }
    for (let j = 1; j + 1 < entry.length; j += 2) {
      const time = entry[j] as number;
      if (time > this.fromMs) named.insert(k, time, entry[j + 1] as number);
    }
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
    const { singles: base, refs } = groupBulk(bulk, this.named, nameOf);
    this.saved = base.length > 0 ? new Saved(base) : null;
    this.savedLoaded = true;
    this.singlesChanged = true;
    this.baseDirty = true;
    return { singles: base, refs };
  }

  /** Add by name (lines read with JSON.parse, and tests). */
  addId(id: string, timeMs: number, cost: number): void {
    this.add((this.settings.hashOf ?? idHashOfString)(id), timeMs, cost, () => id);
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
    writeStateJson(this.named, this.fromMs, write);
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
    return singlesSave(
      this.loadSaved(),
      this.singles,
      this.named,
      this.fromMs,
      rewriteBase || this.baseDirty,
    );
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
    readState(state, tracker.named, tracker.fromMs, settings.hashOf ?? idHashOfString);
    return tracker;
  }
}
