// Calls already counted, by their dedupe key (FormatRecord.dedupeKey): Claude Code writes a
// message again when a session is resumed (into the new session's file) and sometimes twice in
// one file, and the API call is one. Pure and bounded: keys are kept as 53-bit hashes with their
// time, forgotten once older than the ledger's horizon (a duplicate older than that cannot move a
// window), and at most `capacity` of them (the first remembered are dropped first). Two keys
// sharing a hash (odds about n^2 / 2^54) would make the second a duplicate.
import { idHashOfString } from '../core/storms.js';

/** Keys kept at most: 100,000 calls (a heavy Claude Code user makes a few thousand a day), ~6 MB. */
export const DEDUPE_CAPACITY = 100_000;

/** The saved form, for the checkpoint: hashes and times side by side, in the order remembered. */
export interface DedupeState {
  hashes: number[];
  times: number[];
}

export class DedupeSet {
  /** hash -> time (epoch ms); a Map iterates in insertion order: the first remembered first. */
  private readonly keys = new Map<number, number>();

  constructor(
    readonly horizonMs: number,
    readonly capacity: number = DEDUPE_CAPACITY,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** Whether a call with this key was counted already. */
  has(key: string): boolean {
    return this.keys.has(idHashOfString(key));
  }

  /** Remember a counted call. */
  add(key: string, timeMs: number): void {
    const hash = idHashOfString(key);
    const known = this.keys.get(hash);
    if (known !== undefined) {
      if (timeMs > known) this.keys.set(hash, timeMs);
      return;
    }
    this.keys.set(hash, timeMs);
    if (this.keys.size > this.capacity) {
      const first = this.keys.keys().next();
      if (!first.done) this.keys.delete(first.value);
    }
  }

  /** Forget the calls dated before the horizon ends at `nowMs` (once a check, not per line). */
  forget(nowMs: number): void {
    const before = nowMs - this.horizonMs;
    for (const [hash, time] of this.keys) if (time < before) this.keys.delete(hash);
  }

  toState(): DedupeState {
    const hashes: number[] = [];
    const times: number[] = [];
    for (const [hash, time] of this.keys) {
      hashes.push(hash);
      times.push(time);
    }
    return { hashes, times };
  }

  /**
   * The set saved by toState(), or an empty one when the saved form is missing or does not fit
   * (then a duplicate may be counted once more: never a crash, never a wrong key kept).
   */
  static fromState(saved: unknown, horizonMs: number, capacity: number = DEDUPE_CAPACITY): DedupeSet {
    const set = new DedupeSet(horizonMs, capacity);
    const s = saved as Partial<DedupeState> | null | undefined;
    if (s === null || typeof s !== 'object' || !Array.isArray(s.hashes) || !Array.isArray(s.times))
      return set;
    const { hashes, times } = s;
    if (hashes.length !== times.length) return set;
    const start = Math.max(0, hashes.length - capacity);
    for (let k = start; k < hashes.length; k++) {
      const hash = hashes[k];
      const time = times[k];
      if (
        !Number.isSafeInteger(hash) ||
        (hash as number) < 0 ||
        typeof time !== 'number' ||
        !Number.isFinite(time)
      )
        return new DedupeSet(horizonMs, capacity);
      set.keys.set(hash as number, time);
    }
    return set;
  }
}
