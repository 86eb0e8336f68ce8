// What to save of the ids seen once, for core/storms.ts: a few new ones in the checkpoint itself
// (the delta), or a whole new base file, [hash, time, cost] sorted by hash. Pure.
import type { NamedTable } from './named-table.js';
import type { Saved, Singles } from './singles.js';

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

/**
 * The delta when it is short (and `rewrite` is not asked), otherwise the new base: the saved base and
 * this check's ids seen once, inside the window, without those promoted to a named id.
 */
export function singlesSave(
  saved: Saved | null,
  singles: Singles | null,
  named: NamedTable,
  fromMs: number,
  rewrite: boolean,
): { base: Float64Array | null; delta: number[] } {
  const fresh: number[] = [];
  if (singles !== null) {
    for (let slot = 0; slot < singles.slots; slot++) {
      const hash = singles.hashAt(slot);
      if (hash >= 0 && singles.timeAt(slot) > fromMs) fresh.push(hash);
    }
  }
  const baseCount = saved?.count ?? 0;
  if (!rewrite && fresh.length <= Math.max(DELTA_MIN, baseCount / 4)) {
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
    if (savedKey < 0 || (savedKey !== Infinity && savedKey <= freshKey && named.find(savedKey) >= 0)) {
      i++; // promoted to a named id
      if (savedKey === freshKey) j++;
    } else if (savedKey <= freshKey) {
      if ((data[i * 3 + 1] as number) > fromMs) {
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
