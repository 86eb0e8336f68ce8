// The ids seen once, for core/storms.ts: this check's in an open-addressing table, earlier
// checks' as a sorted base searched in place, and the sightings noted in bulk by a helper thread,
// grouped by a radix sort. Pure.

export const EMPTY = 0; // keys are stored as hash + 1, so that a new table needs no filling
export const GONE = -1; // promoted to a named id: the slot stays taken so probes run past it

/** Doubles per slot: key, and time and cost packed into one (see pack). */
const STRIDE = 2;
const TIME_SPAN = 4_294_967_296; // 2^32 ms (49 days) after the window's start
const COST_SPAN = 2_097_152; // 2^21 µ$ ($2.09): TIME_SPAN * COST_SPAN = 2^53, exact in a double
/** A sighting that does not pack (a dear line, or a time far from the window): kept in `wide`. */
const WIDE = -1;

/**
 * Ids seen once: open addressing on one typed array, keyed by hash + 1, each slot two doubles:
 * the key, and the sighting's time (whole ms after `fromMs`) and cost (whole µ$) packed as
 * cost * 2^32 + time, exactly. The rare sighting that does not pack is kept in a map. Sixteen
 * bytes an id, not 24 (not 32 with where the id is in the log, which only bulk mode needs).
 */
export class Singles {
  d: Float64Array;
  size = 0;
  private mask: number;
  private wide: Map<number, [number, number]> | null = null;

  constructor(
    capacity: number,
    private readonly fromMs: number,
  ) {
    let n = 256;
    while (n < capacity * 2) n *= 2;
    this.d = new Float64Array(n * STRIDE);
    this.mask = n - 1;
  }

  get slots(): number {
    return this.mask + 1;
  }

  /** The slot of `hash`, or of the empty slot where it would go. */
  slotOf(hash: number): number {
    const stored = hash + 1;
    const d = this.d;
    let slot = (hash ^ (hash / 2_097_152)) & this.mask;
    for (;;) {
      const key = d[slot * STRIDE] as number;
      if (key === stored || key === EMPTY) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  keyAt(slot: number): number {
    return this.d[slot * STRIDE] as number;
  }

  /** The hash kept in a slot, or a negative number when the slot holds none. */
  hashAt(slot: number): number {
    return (this.d[slot * STRIDE] as number) - 1;
  }

  timeAt(slot: number): number {
    const packed = this.d[slot * STRIDE + 1] as number;
    if (packed === WIDE) return (this.wide!.get(this.hashAt(slot)) as [number, number])[0];
    return this.fromMs + (packed % TIME_SPAN);
  }

  costAt(slot: number): number {
    const packed = this.d[slot * STRIDE + 1] as number;
    if (packed === WIDE) return (this.wide!.get(this.hashAt(slot)) as [number, number])[1];
    return Math.floor(packed / TIME_SPAN);
  }

  remove(slot: number): void {
    if (this.d[slot * STRIDE + 1] === WIDE) this.wide?.delete(this.hashAt(slot));
    this.d[slot * STRIDE] = GONE;
  }

  put(slot: number, hash: number, timeMs: number, cost: number): void {
    const at = slot * STRIDE;
    const time = timeMs - this.fromMs;
    this.d[at] = hash + 1;
    if (time >>> 0 === time && (cost & (COST_SPAN - 1)) === cost) this.d[at + 1] = cost * TIME_SPAN + time;
    else {
      this.d[at + 1] = WIDE;
      (this.wide ??= new Map()).set(hash, [timeMs, cost]);
    }
    this.size++;
    // Three quarters full, then twice the slots: each id takes 21 to 43 bytes. (Half full, then
    // four times: 32 to 128 bytes, 16 MB for 300,000 ids seen once.)
    if (this.size * 4 > (this.mask + 1) * 3) this.grow();
  }

  private grow(): void {
    const old = this.d;
    const n = (this.mask + 1) * 2;
    this.d = new Float64Array(n * STRIDE);
    this.mask = n - 1;
    let size = 0;
    for (let at = 0; at < old.length; at += STRIDE) {
      const hash = (old[at] as number) - 1;
      if (hash < 0) continue;
      const slot = this.slotOf(hash);
      this.d[slot * STRIDE] = hash + 1;
      this.d[slot * STRIDE + 1] = old[at + 1] as number;
      size++;
    }
    this.size = size;
  }
}

/**
 * The order of hashes[0, n) from smallest to largest: an LSD radix sort over the 53-bit hash in
 * five passes (a comparison sort of 100,000 ids takes ten times as long).
 */
export function sortByHash(hashes: Float64Array, n: number): Uint32Array {
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const h = hashes[k] as number;
    const high = Math.floor(h / 2_097_152);
    hi[k] = high | 0;
    lo[k] = (h - high * 2_097_152) | 0;
  }
  const a = new Uint32Array(n);
  const b = new Uint32Array(n);
  for (let k = 0; k < n; k++) a[k] = k;
  const counts = new Int32Array(2049);
  // lo: bits 0-10, 11-20; hi: bits 0-10, 11-21, 22-31. Each pass moves a into b or back.
  radixPass(a, b, lo, 0, 2047, counts, n);
  radixPass(b, a, lo, 11, 1023, counts, n);
  radixPass(a, b, hi, 0, 2047, counts, n);
  radixPass(b, a, hi, 11, 2047, counts, n);
  radixPass(a, b, hi, 22, 1023, counts, n);
  return b;
}

/** One stable counting-sort pass of `from` into `to` by the digit (digits >>> shift) & mask. */
function radixPass(
  from: Uint32Array,
  to: Uint32Array,
  digits: Int32Array,
  shift: number,
  mask: number,
  counts: Int32Array,
  n: number,
): void {
  counts.fill(0);
  for (let k = 0; k < n; k++) {
    const d = (((digits[k] as number) >>> shift) & mask) + 1;
    counts[d] = (counts[d] as number) + 1;
  }
  for (let d = 1; d <= mask + 1; d++) counts[d] = (counts[d] as number) + (counts[d - 1] as number);
  for (let k = 0; k < n; k++) {
    const index = from[k] as number;
    const d = ((digits[index] as number) >>> shift) & mask;
    const at = counts[d] as number;
    to[at] = index;
    counts[d] = at + 1;
  }
}

export interface Bulk {
  hashes: Float64Array;
  times: Float64Array;
  costs: Float64Array;
  refs: Float64Array;
  n: number;
}

export function growBulk(bulk: Bulk | null, capacity = 4096): Bulk {
  const size = bulk === null ? capacity : bulk.hashes.length * 2;
  const next: Bulk = {
    hashes: new Float64Array(size),
    times: new Float64Array(size),
    costs: new Float64Array(size),
    refs: new Float64Array(size),
    n: bulk?.n ?? 0,
  };
  if (bulk !== null) {
    next.hashes.set(bulk.hashes);
    next.times.set(bulk.times);
    next.costs.set(bulk.costs);
    next.refs.set(bulk.refs);
  }
  return next;
}

/** The saved ids seen once, sorted by hash ([hash, time, cost] per id), searched in place. */
export class Saved {
  constructor(readonly data: Float64Array) {}

  get count(): number {
    return this.data.length / 3;
  }

  /** The index of `hash`, or -1. */
  find(hash: number): number {
    let lo = 0;
    let hi = this.count - 1;
    const data = this.data;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = data[mid * 3] as number;
      if (key === hash) return mid;
      // A promoted entry keeps its place: its hash is stored negated (-hash - 1), still sortable.
      const sortKey = key < 0 ? -key - 1 : key;
      if (sortKey === hash) return -1;
      if (sortKey < hash) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
