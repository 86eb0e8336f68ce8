// Retry storms over a replay: the same request id (or fingerprint) billed `count` times within the
// storm window, anywhere in the replayed time. The check's StormTracker keeps the sightings of one
// window before "now"; a replay moves its "now" line by line, so it keeps a queue of the sightings
// still inside the window (oldest first) and a count per id hash, and forgets the rest: memory is
// bounded by the ids of one window, not of the whole log. Pure.

export interface ReplayStormFound {
  id: string;
  /** Sightings from the first one inside the window that made the storm, to the last one. */
  count: number;
  micros: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Sightings inside the window per id hash: an open-addressing table in one typed array, four
 * numbers a slot (hash, count, µ$, first time) so that a sighting touches one cache line (a Map of
 * objects, one per id, cost more than the whole parse of a line). Slots whose count fell to 0 stay
 * until the table is rebuilt, which drops them: amortised O(1) a sighting.
 */
class WindowCounts {
  /** [hash, count, µ$, first ms] per slot; hash -1: empty. */
  table = WindowCounts.empty(1024);
  private spare: Float64Array<ArrayBuffer> | null = null;
  private used = 0;
  private live = 0;

  private static empty(slots: number): Float64Array<ArrayBuffer> {
    const t = new Float64Array(slots * 4);
    for (let i = 0; i < t.length; i += 4) t[i] = -1;
    return t;
  }

  /** The index in `table` of `hash`'s slot, made when missing. */
  slot(hash: number): number {
    if (this.used * 2 >= this.table.length / 4) this.rebuild();
    const t = this.table;
    const mask = t.length / 4 - 1;
    let i = (hash ^ (hash / 4294967296)) & mask;
    for (;;) {
      const at = i * 4;
      const k = t[at] as number;
      if (k === hash) {
        if (t[at + 1] === 0) this.live++;
        return at;
      }
      if (k === -1) {
        t[at] = hash;
        t[at + 1] = 0;
        t[at + 2] = 0;
        this.used++;
        this.live++;
        return at;
      }
      i = (i + 1) & mask;
    }
  }

  /** The index of `hash`'s slot, or -1. */
  find(hash: number): number {
    const t = this.table;
    const mask = t.length / 4 - 1;
    let i = (hash ^ (hash / 4294967296)) & mask;
    for (;;) {
      const at = i * 4;
      const k = t[at] as number;
      if (k === hash) return at;
      if (k === -1) return -1;
      i = (i + 1) & mask;
    }
  }

  drop(at: number, micros: number): void {
    const t = this.table;
    const left = (t[at + 1] as number) - 1;
    t[at + 1] = left;
    t[at + 2] = (t[at + 2] as number) - micros;
    if (left === 0) this.live--;
  }

  private rebuild(): void {
    const old = this.table;
    let slots = 1024;
    while (slots < this.live * 3) slots *= 2;
    // The table of the same size before is used again: no new megabytes at every rebuild.
    const spare = this.spare;
    if (spare !== null && spare.length === slots * 4) {
      spare.fill(0);
      for (let i = 0; i < spare.length; i += 4) spare[i] = -1;
      this.table = spare;
    } else {
      this.table = WindowCounts.empty(slots);
    }
    this.spare = old;
    this.used = 0;
    this.live = 0;
    for (let i = 0; i < old.length; i += 4) {
      if ((old[i + 1] as number) <= 0 || old[i] === -1) continue;
      const at = this.slot(old[i] as number);
      this.table[at + 1] = old[i + 1] as number;
      this.table[at + 2] = old[i + 2] as number;
      this.table[at + 3] = old[i + 3] as number;
    }
  }
}

export class StormWatch {
  private readonly windowMs: number;
  private readonly inWindow = new WindowCounts();
  /** Sightings inside the window, oldest first: hash, time and µ$ (rings of a power-of-2 size). */
  private hashes = new Float64Array(1024);
  private times = new Float64Array(1024);
  private micros = new Float64Array(1024);
  /** Each sighting's slot in the table (found again when the table is rebuilt). */
  private slots = new Float64Array(1024);
  private head = 0;
  private size = 0;
  /** Storms by id hash. */
  private readonly found = new Map<number, ReplayStormFound>();

  constructor(
    readonly count: number,
    windowMs: number,
  ) {
    this.windowMs = windowMs;
  }

  /** A sighting of the id hashed `hash` at `timeMs` (the replay's clock is `nowMs`). */
  add(hash: number, timeMs: number, micros: number, nowMs: number, text: () => string): void {
    this.expire(nowMs);
    const storm = this.found.size === 0 ? undefined : this.found.get(hash);
    if (storm !== undefined && timeMs - storm.lastMs <= this.windowMs) {
      storm.count++;
      storm.micros += micros;
      if (timeMs > storm.lastMs) storm.lastMs = timeMs;
    }
    if (timeMs <= nowMs - this.windowMs) return;
    const w = this.inWindow;
    const before = w.table;
    const at = w.slot(hash);
    if (w.table !== before) this.remap();
    this.push(hash, timeMs, micros, at);
    const t = w.table;
    const count = (t[at + 1] as number) + 1;
    t[at + 1] = count;
    t[at + 2] = (t[at + 2] as number) + micros;
    if (count === 1 || timeMs < (t[at + 3] as number)) t[at + 3] = timeMs;
    if (storm === undefined && count >= this.count) {
      this.found.set(hash, {
        id: text(),
        count,
        micros: t[at + 2] as number,
        firstMs: t[at + 3] as number,
        lastMs: timeMs,
      });
    }
  }

  /** The table was rebuilt: each sighting's slot is where its hash is now. */
  private remap(): void {
    const mask = this.hashes.length - 1;
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) & mask;
      this.slots[k] = this.inWindow.find(this.hashes[k] as number);
    }
  }

  private push(hash: number, timeMs: number, micros: number, slot: number): void {
    if (this.size === this.hashes.length) {
      const cap = this.hashes.length;
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(cap * 2);
        for (let i = 0; i < this.size; i++) b[i] = a[(this.head + i) & (cap - 1)] as number;
        return b;
      };
      this.hashes = grow(this.hashes);
      this.times = grow(this.times);
      this.micros = grow(this.micros);
      this.slots = grow(this.slots);
      this.head = 0;
    }
    const at = (this.head + this.size) & (this.hashes.length - 1);
    this.hashes[at] = hash;
    this.times[at] = timeMs;
    this.micros[at] = micros;
    this.slots[at] = slot;
    this.size++;
  }

  private expire(nowMs: number): void {
    const from = nowMs - this.windowMs;
    const cap = this.hashes.length;
    // (Late sightings make the queue not quite sorted: one is let go when it reaches the front.)
    while (this.size > 0 && (this.times[this.head] as number) <= from) {
      const at = this.slots[this.head] as number;
      if (at >= 0 && (this.inWindow.table[at + 1] as number) > 0)
        this.inWindow.drop(at, this.micros[this.head] as number);
      this.head = (this.head + 1) & (cap - 1);
      this.size--;
    }
  }

  /** The storms found, the costliest first. */
  storms(): ReplayStormFound[] {
    return [...this.found.values()].sort((a, b) => b.micros - a.micros || a.firstMs - b.firstMs);
  }
}
