// Calls already counted, by their dedupe key (FormatRecord.dedupeKey), with what they were
// counted for. Claude Code writes one API response several times: once per content block while
// it streams (the same message.id and requestId; output_tokens growing to the final count), and
// again into a resumed session's file. The call is one, counted once at its largest snapshot: a
// later copy that shows more tokens counts only what it adds (ccusage keeps the largest copy too:
// https://github.com/ccusage/ccusage/issues/901).
//
// Pure and bounded: keys are kept as 53-bit hashes with their time, forgotten once older than the
// ledger's horizon (a duplicate older than that cannot move a window), and at most `capacity` of
// them (the first remembered are dropped first). Two keys sharing a hash (odds about n^2 / 2^54)
// would make the second a copy of the first.
import { idHashOfString } from '../core/storms.js';

/** Keys kept at most: 50,000 calls (a heavy Claude Code user makes a few thousand a day), ~6 MB. */
export const DEDUPE_CAPACITY = 50_000;

/**
 * What a call was counted for: input tokens apart from the cache, output, cache reads, 5-minute
 * and 1-hour cache writes, and the logged cost in USD (-1: none logged).
 */
export type Counted = readonly [number, number, number, number, number, number];
export const USAGE_FIELDS = 6;

/** The saved form, for the checkpoint: per key its hash, time and Counted, in the order remembered. */
export interface DedupeState {
  hashes: number[];
  times: number[];
  /** USAGE_FIELDS numbers per key. */
  usage: number[];
}

interface Entry {
  time: number;
  usage: Counted;
}

export class DedupeSet {
  /** hash -> entry; a Map iterates in insertion order: the first remembered first. */
  private readonly keys = new Map<number, Entry>();

  constructor(
    readonly horizonMs: number,
    readonly capacity: number = DEDUPE_CAPACITY,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** What the call with this key was counted for, or undefined when it was not counted yet. */
  get(key: string): Counted | undefined {
    return this.keys.get(idHashOfString(key))?.usage;
  }

  /** Remember what a call was counted for (in all, across its copies). */
  set(key: string, timeMs: number, usage: Counted): void {
    const hash = idHashOfString(key);
    const known = this.keys.get(hash);
    if (known !== undefined) {
      known.usage = usage;
      if (timeMs > known.time) known.time = timeMs;
      return;
    }
    this.keys.set(hash, { time: timeMs, usage });
    if (this.keys.size > this.capacity) {
      const first = this.keys.keys().next();
      if (!first.done) this.keys.delete(first.value);
    }
  }

  /** Forget the calls dated before the horizon that ends at `nowMs` (once a check, not per line). */
  forget(nowMs: number): void {
    const before = nowMs - this.horizonMs;
    for (const [hash, entry] of this.keys) if (entry.time < before) this.keys.delete(hash);
  }

  toState(): DedupeState {
    const hashes: number[] = [];
    const times: number[] = [];
    const usage: number[] = [];
    for (const [hash, entry] of this.keys) {
      hashes.push(hash);
      times.push(entry.time);
      usage.push(...entry.usage);
    }
    return { hashes, times, usage };
  }

  /**
   * The set saved by toState(), or an empty one when the saved form is missing or does not fit
   * (then a copy may be counted once more: never a crash, never a wrong entry kept).
   */
  static fromState(saved: unknown, horizonMs: number, capacity: number = DEDUPE_CAPACITY): DedupeSet {
    const empty = new DedupeSet(horizonMs, capacity);
    const s = saved as Partial<DedupeState> | null | undefined;
    if (s === null || typeof s !== 'object') return empty;
    const { hashes, times, usage } = s;
    if (!Array.isArray(hashes) || !Array.isArray(times) || !Array.isArray(usage)) return empty;
    if (hashes.length !== times.length || usage.length !== hashes.length * USAGE_FIELDS) return empty;
    const set = new DedupeSet(horizonMs, capacity);
    for (let k = Math.max(0, hashes.length - capacity); k < hashes.length; k++) {
      const hash = hashes[k];
      const time = times[k];
      const counted = usage.slice(k * USAGE_FIELDS, (k + 1) * USAGE_FIELDS);
      const fits =
        Number.isSafeInteger(hash) &&
        (hash as number) >= 0 &&
        typeof time === 'number' &&
        Number.isFinite(time) &&
        counted.every(
          (v, i) => typeof v === 'number' && Number.isFinite(v) && (v >= 0 || (i === 5 && v === -1)),
        );
      if (!fits) return empty;
      set.keys.set(hash as number, { time: time as number, usage: counted as unknown as Counted });
    }
    return set;
  }
}
