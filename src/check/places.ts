// The places of the log files of the sources, in the checkpoint. A config of a few files keeps
// them all in checkpoint.json. With many (a Claude Code user has thousands of session files,
// about 1 KB of place each), they go to a base file beside it, written under a new name each time
// and never rewritten, and the checkpoint keeps only the places that changed since (the delta)
// and the files gone since; a new base is written when the delta grows past a quarter of it. So a
// check that reads one file of 5,000 writes a few KB, not 5 MB, and `watch`, which wrote the base
// itself, does not read it again (it keeps the base it wrote, by its name, in memory).
import { readdirSync, unlinkSync } from 'node:fs';
import type { Config, LogFormat } from '../config/index.js';
import {
  type FileCursor,
  loadCursor,
  loadGenerations,
  saveCursor,
  type TailState,
} from '../effects/log-tail.js';
import { isPlacesFile, newPlacesName, placesFile } from '../effects/state-paths.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';

/** Where one file of the sources was read to, and what was read from it. */
export interface FileState {
  tail: TailState;
  format: LogFormat;
  /** Lines read from it (records, malformed and skipped). */
  lines: number;
  malformed: number;
  skipped: number;
  /** Its size and modification time when last read (to pass by a file that did not change). */
  size: number;
  mtimeMs: number;
}

export type Places = Map<string, FileState>;

/** Fewer places than this stay in checkpoint.json itself. */
export const INLINE_PLACES = 256;

export interface PlacesRef {
  file: string;
  count: number;
}

/** The base the checkpoint named when loaded (its name and its places): the delta is taken against it. */
export interface PlacesBase {
  dir: string;
  ref: PlacesRef;
  places: ReadonlyMap<string, FileState>;
}

// The last base written or read by this process, by name: `watch` checks again and again.
let memo: PlacesBase | null = null;

export function saveState(file: string, state: FileState): Record<string, unknown> {
  return {
    path: file,
    format: state.format,
    current: state.tail.current === null ? null : saveCursor(state.tail.current),
    previous: state.tail.previous.map(saveCursor),
    lines: state.lines,
    malformed: state.malformed,
    skipped: state.skipped,
    size: state.size,
    mtime_ms: state.mtimeMs,
  };
}

/**
 * A copy of a place to read on from: reading moves a cursor in place, and the place it was copied
 * from (the base's, kept in memory) must stay as saved.
 */
export function copyTail(tail: TailState): TailState {
  const copy = (c: FileCursor): FileCursor | null => loadCursor(saveCursor(c));
  return {
    current: tail.current === null ? null : copy(tail.current),
    previous: tail.previous.map(copy).filter((c): c is FileCursor => c !== null),
  };
}

/** Saved places -> places; null when the list itself is damaged (then everything is read again). */
export function loadStates(
  value: unknown,
  savedAtMs: number | null,
  nowMs: number,
  into: Places,
): Places | null {
  if (!Array.isArray(value)) return null;
  // By hand, not zod: thousands of files are normal, and this is read on every check.
  const countOf = (n: unknown): number => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0);
  const numberOr = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) ? n : -1);
  for (const item of value) {
    if (item === null || typeof item !== 'object') return null;
    const f = item as Record<string, unknown>;
    if (typeof f.path !== 'string' || f.path === '' || typeof f.format !== 'string') return null;
    if (f.current === null || f.current === undefined) continue;
    const current = loadCursor(f.current);
    if (current === null) return null;
    into.set(f.path, {
      tail: { current, previous: loadGenerations(f.previous, savedAtMs, nowMs) },
      format: f.format as LogFormat,
      lines: countOf(f.lines),
      malformed: countOf(f.malformed),
      skipped: countOf(f.skipped),
      size: numberOr(f.size),
      mtimeMs: numberOr(f.mtime_ms),
    });
  }
  return into;
}

function isRef(value: unknown): value is PlacesRef {
  const v = value as Partial<PlacesRef> | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.file === 'string' &&
    isPlacesFile(v.file) &&
    typeof v.count === 'number'
  );
}

/**
 * The places a checkpoint names: its base (when it has one) with the delta over it. A string says
 * why they cannot be had (the checkpoint is then rebuilt from the logs).
 */
export function loadPlaces(
  config: Config,
  cp: Record<string, unknown>,
  savedAtMs: number | null,
  nowMs: number,
): { places: Places; base: PlacesBase | null } | string {
  let base: PlacesBase | null = null;
  if (cp.files_base !== undefined && cp.files_base !== null) {
    if (!isRef(cp.files_base)) return 'checkpoint damaged (files_base)';
    const ref = cp.files_base;
    if (memo !== null && memo.dir === config.stateDir && memo.ref.file === ref.file) base = memo;
    else {
      const read = readJson(placesFile(config.stateDir, ref.file));
      if (read.kind !== 'ok') return `the checkpoint's file of places ${ref.file} is ${read.kind}`;
      const places = loadStates(read.value, savedAtMs, nowMs, new Map());
      if (places === null || places.size !== ref.count)
        return `the checkpoint's file of places ${ref.file} is damaged`;
      base = { dir: config.stateDir, ref, places };
      memo = base;
    }
  }
  const places: Places = new Map(base?.places ?? []);
  if (cp.files_gone !== undefined) {
    if (!Array.isArray(cp.files_gone)) return 'checkpoint damaged (files_gone)';
    for (const gone of cp.files_gone) if (typeof gone === 'string') places.delete(gone);
  }
  if (loadStates(cp.files, savedAtMs, nowMs, places) === null) return 'checkpoint damaged (files)';
  return { places, base };
}

/**
 * The checkpoint's part about places: everything inline (few files), or a base (written now when
 * there is none, or the delta grew past a quarter of it) and the delta over it.
 */
export function placesToSave(
  config: Config,
  places: ReadonlyMap<string, FileState>,
  base: PlacesBase | null,
  nowMs: number,
): { part: Record<string, unknown>; newBase: string | null } {
  if (base === null && places.size < INLINE_PLACES)
    return { part: { files: [...places].map(([file, state]) => saveState(file, state)) }, newBase: null };
  // Kept unchanged, a place is the very object of the base (a file read gets a new one).
  const delta: [string, FileState][] = [];
  const gone: string[] = [];
  if (base !== null) {
    for (const [file, state] of places) if (base.places.get(file) !== state) delta.push([file, state]);
    for (const file of base.places.keys()) if (!places.has(file)) gone.push(file);
  }
  if (base !== null && (delta.length + gone.length) * 4 <= base.ref.count)
    return {
      part: {
        files_base: base.ref,
        files: delta.map(([file, state]) => saveState(file, state)),
        files_gone: gone,
      },
      newBase: null,
    };
  const name = newPlacesName(nowMs, Math.random());
  writeJsonAtomic(
    placesFile(config.stateDir, name),
    [...places].map(([file, state]) => saveState(file, state)),
  );
  const ref = { file: name, count: places.size };
  memo = { dir: config.stateDir, ref, places: new Map(places) };
  return { part: { files_base: ref, files: [], files_gone: [] }, newBase: name };
}

/** Remove the files of places the checkpoint no longer names. */
export function prunePlaces(config: Config, keep: string | null): void {
  let names: string[];
  try {
    names = readdirSync(config.stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (isPlacesFile(name) && name !== keep) {
      try {
        unlinkSync(placesFile(config.stateDir, name));
      } catch {
        // gone already: harmless
      }
    }
  }
}
