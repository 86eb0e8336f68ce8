// The ids seen more than once, by name, in typed arrays instead of an object and two arrays per
// id: 100,000 ids seen three times each took about 270 bytes an id as objects (and as much again
// in garbage-collected heap given room to grow), about 80 here. Pure.
//
// - Ids are numbered 0, 1, 2, ... in the order they were first added (the order they are saved
//   and listed in), and found by their 53-bit hash in an open-addressing table of those numbers.
// - What is kept per id is in blocks of BLOCK ids that are never copied: a table that grows by
//   copying leaves the old copy to the garbage collector, which may not free it for tens of MB.
// - An id's text is kept as one byte per character in blocks of bytes when every character is
//   below U+0100 (nearly always), or as its string otherwise, so that it comes back exactly as it
//   was given (a lone surrogate too).
// - Up to INLINE sightings are kept in the id's block, oldest first, each one double: its time
//   (whole ms after the window's start) and cost (whole µ$) packed as cost * 2^32 + time, exactly
//   (as core/storms/singles.ts does). More, or one that does not pack, go to a run of (time, cost)
//   pairs in one pool of doubles, with room to grow: a run that is full moves to the pool's end
//   at twice its room, and a pool that is full is copied, without the runs left behind, into one
//   twice the size of what is live. Only ids seen more than INLINE times take pool room.

const BLOCK = 4096;
const SHIFT = 12; // BLOCK = 2 ** SHIFT
const INLINE = 3;
const TIME_SPAN = 4_294_967_296; // 2^32
const COST_SPAN = 2_097_152; // 2^21: TIME_SPAN * COST_SPAN = 2^53
const TEXT_BLOCK = 65_536;
/** Ids longer than this are kept as strings (a byte block holds at least 16 of them). */
const TEXT_MAX = 4096;

interface Block {
  hashes: Float64Array;
  /**
   * Where the id's text is: (text block * TEXT_BLOCK + offset) * TEXT_BLOCK + length; -1: a string in `wide`.
   */
  texts: Float64Array;
  counts: Int32Array;
  /** Where the id's run starts in the pool (pairs), or -1: its sightings are inline. */
  runs: Int32Array;
  rooms: Int32Array;
  /** INLINE packed sightings per id. */
  inline: Float64Array;
}

function newBlock(): Block {
  return {
    hashes: new Float64Array(BLOCK),
    texts: new Float64Array(BLOCK),
    counts: new Int32Array(BLOCK),
    runs: new Int32Array(BLOCK),
    rooms: new Int32Array(BLOCK),
    inline: new Float64Array(BLOCK * INLINE),
  };
}

export class NamedTable {
  /** How many ids are kept. */
  size = 0;
  /** Id number + 1 per slot (0: empty). */
  private slots = new Int32Array(64);
  private readonly blocks: Block[] = [];
  private readonly textBlocks: Uint8Array[] = [];
  private textTop = TEXT_BLOCK;
  private readonly wide = new Map<number, string>();
  /** Sightings of ids seen more than INLINE times: time, cost, time, cost, ... */
  private pool = new Float64Array(0);
  /** Pairs used in the pool, and pairs of it in live runs. */
  private top = 0;
  private live = 0;

  /** @param fromMs the window's start: every sighting kept is after it */
  constructor(private readonly fromMs: number) {}

  /** The number of the id with this hash, or -1. */
  find(hash: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = (hash ^ (hash / 2_097_152)) & mask;
    for (;;) {
      const taken = slots[slot] as number;
      if (taken === 0) return -1;
      const k = taken - 1;
      if ((this.blocks[k >>> SHIFT] as Block).hashes[k & (BLOCK - 1)] === hash) return k;
      slot = (slot + 1) & mask;
    }
  }

  /** Keep a new id (its hash not kept yet), with no sightings: its number. */
  create(hash: number, id: string): number {
    const k = this.size;
    if ((k & (BLOCK - 1)) === 0) this.blocks.push(newBlock());
    if ((k + 1) * 4 > this.slots.length * 3) this.growSlots();
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    block.hashes[i] = hash;
    block.counts[i] = 0;
    block.runs[i] = -1;
    block.rooms[i] = 0;
    this.putText(k, id);
    this.size = k + 1;
    this.place(k, hash);
    return k;
  }

  /** Replace the id's text and drop its sightings (a saved state naming one id twice). */
  reset(k: number, id: string): void {
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    this.wide.delete(k);
    this.putText(k, id);
    if ((block.runs[i] as number) >= 0) this.live -= block.rooms[i] as number;
    block.counts[i] = 0;
    block.runs[i] = -1;
    block.rooms[i] = 0;
  }

  id(k: number): string {
    const text = (this.blocks[k >>> SHIFT] as Block).texts[k & (BLOCK - 1)] as number;
    if (text < 0) return this.wide.get(k) as string;
    const length = text % TEXT_BLOCK;
    const where = (text - length) / TEXT_BLOCK;
    const offset = where % TEXT_BLOCK;
    const bytes = this.textBlocks[(where - offset) / TEXT_BLOCK] as Uint8Array;
    return String.fromCharCode.apply(null, bytes.subarray(offset, offset + length) as unknown as number[]);
  }

  count(k: number): number {
    return (this.blocks[k >>> SHIFT] as Block).counts[k & (BLOCK - 1)] as number;
  }

  /** The time of the id's j-th sighting, oldest first. */
  time(k: number, j: number): number {
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    const run = block.runs[i] as number;
    if (run < 0) return this.fromMs + ((block.inline[i * INLINE + j] as number) % TIME_SPAN);
    return this.pool[(run + j) * 2] as number;
  }

  cost(k: number, j: number): number {
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    const run = block.runs[i] as number;
    if (run < 0) return Math.floor((block.inline[i * INLINE + j] as number) / TIME_SPAN);
    return this.pool[(run + j) * 2 + 1] as number;
  }

  /**
   * Add a sighting, in time order (after those at the same time): lines mostly come in order, so the walk
   * back is short.
   */
  insert(k: number, timeMs: number, cost: number): void {
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    const count = block.counts[i] as number;
    if ((block.runs[i] as number) < 0) {
      const time = timeMs - this.fromMs;
      if (count < INLINE && time >>> 0 === time && (cost & (COST_SPAN - 1)) === cost) {
        const inline = block.inline;
        const base = i * INLINE;
        let at = count;
        while (at > 0 && (inline[base + at - 1] as number) % TIME_SPAN > time) at--;
        for (let j = count; j > at; j--) inline[base + j] = inline[base + j - 1] as number;
        inline[base + at] = cost * TIME_SPAN + time;
        block.counts[i] = count + 1;
        return;
      }
      this.toRun(block, i, Math.max(INLINE * 3, count * 2));
    } else if (count === block.rooms[i]) this.toRun(block, i, count * 2);
    const pool = this.pool;
    const base = (block.runs[i] as number) * 2;
    let at = count;
    while (at > 0 && (pool[base + (at - 1) * 2] as number) > timeMs) at--;
    if (at < count) pool.copyWithin(base + (at + 1) * 2, base + at * 2, base + count * 2);
    pool[base + at * 2] = timeMs;
    pool[base + at * 2 + 1] = cost;
    block.counts[i] = count + 1;
  }

  private place(k: number, hash: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = (hash ^ (hash / 2_097_152)) & mask;
    while ((slots[slot] as number) !== 0) slot = (slot + 1) & mask;
    slots[slot] = k + 1;
  }

  private growSlots(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let k = 0; k < this.size; k++)
      this.place(k, (this.blocks[k >>> SHIFT] as Block).hashes[k & (BLOCK - 1)] as number);
  }

  private putText(k: number, id: string): void {
    const block = this.blocks[k >>> SHIFT] as Block;
    const i = k & (BLOCK - 1);
    let narrow = id.length <= TEXT_MAX;
    for (let c = 0; c < id.length && narrow; c++) narrow = id.charCodeAt(c) < 256;
    if (!narrow) {
      block.texts[i] = -1;
      this.wide.set(k, id);
      return;
    }
    if (this.textTop + id.length > TEXT_BLOCK) {
      this.textBlocks.push(new Uint8Array(TEXT_BLOCK));
      this.textTop = 0;
    }
    const number = this.textBlocks.length - 1;
    const bytes = this.textBlocks[number] as Uint8Array;
    const offset = this.textTop;
    for (let c = 0; c < id.length; c++) bytes[offset + c] = id.charCodeAt(c);
    this.textTop = offset + id.length;
    block.texts[i] = (number * TEXT_BLOCK + offset) * TEXT_BLOCK + id.length;
  }

  /** Move the id's sightings to a run of `room` pairs at the pool's end. */
  private toRun(block: Block, i: number, room: number): void {
    if ((this.top + room) * 2 > this.pool.length) this.compact(room);
    const start = this.top;
    const count = block.counts[i] as number;
    const run = block.runs[i] as number;
    if (run < 0) {
      for (let j = 0; j < count; j++) {
        const packed = block.inline[i * INLINE + j] as number;
        this.pool[(start + j) * 2] = this.fromMs + (packed % TIME_SPAN);
        this.pool[(start + j) * 2 + 1] = Math.floor(packed / TIME_SPAN);
      }
    } else {
      this.pool.copyWithin(start * 2, run * 2, (run + count) * 2);
      this.live -= block.rooms[i] as number;
    }
    block.runs[i] = start;
    block.rooms[i] = room;
    this.top = start + room;
    this.live += room;
  }

  /** A new pool, twice what is live and `room` more, holding only the live runs (in id order). */
  private compact(room: number): void {
    const old = this.pool;
    const pool = new Float64Array(Math.max(1024, (this.live + room) * 2) * 2);
    let top = 0;
    for (let k = 0; k < this.size; k++) {
      const block = this.blocks[k >>> SHIFT] as Block;
      const i = k & (BLOCK - 1);
      const run = block.runs[i] as number;
      if (run < 0) continue;
      pool.set(old.subarray(run * 2, (run + (block.counts[i] as number)) * 2), top * 2);
      block.runs[i] = top;
      top += block.rooms[i] as number;
    }
    this.pool = pool;
    this.top = top;
  }
}
