// A helper thread's part of the log, for core/storms.ts: the helper groups its own sightings by one
// sort at the end (bulk mode), and the main thread takes in the ids it saw once (absorb). Pure.
import type { NamedTable } from './named-table.js';
import { type Bulk, EMPTY, GONE, type Singles, sortByHash } from './singles.js';

/**
 * Mark in `data` (a helper's ids seen once, [hash, time, cost] sorted by hash) those known here too:
 * a named id takes the sighting; an id seen once here too is kept by name from now on (`textOf(k)`
 * names the k-th). A marked entry's hash is stored as -hash - 1.
 */
export function absorbSingles(
  data: Float64Array,
  named: NamedTable,
  ours: Singles | null,
  textOf: (k: number) => string,
): void {
  for (let k = 0; k * 3 < data.length; k++) {
    const hash = data[k * 3] as number;
    const time = data[k * 3 + 1] as number;
    const cost = data[k * 3 + 2] as number;
    const known = named.find(hash);
    if (known >= 0) {
      named.insert(known, time, cost);
      data[k * 3] = -hash - 1;
      continue;
    }
    if (ours === null) continue;
    const slot = ours.slotOf(hash);
    if (ours.keyAt(slot) === EMPTY || ours.keyAt(slot) === GONE) continue;
    const entry = named.create(hash, textOf(k));
    named.insert(entry, ours.timeAt(slot), ours.costAt(slot));
    named.insert(entry, time, cost);
    ours.remove(slot);
    data[k * 3] = -hash - 1;
  }
}

/**
 * Group the sightings noted in bulk mode: ids seen more than once go to `named` (`nameOf` gives the
 * name from the `ref` of one sighting), the others are returned as a base sorted by hash, with refs.
 */
export function groupBulk(
  bulk: Bulk,
  named: NamedTable,
  nameOf: (ref: number, hash: number) => string,
): { singles: Float64Array; refs: Float64Array } {
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
      const known = named.find(hash);
      const entry = known >= 0 ? known : named.create(hash, nameOf(ref, hash));
      for (let j = k; j < end; j++)
        named.insert(
          entry,
          bulk.times[order[j] as number] as number,
          bulk.costs[order[j] as number] as number,
        );
    }
    k = end;
  }
  return { singles: singles.subarray(0, m * 3), refs: refs.subarray(0, m) };
}
