// The places of the log files of the sources, in the checkpoint. A config of a few files keeps
// them all in checkpoint.json. With many (a Claude Code user has thousands of session files,
// about 1 KB of place each), they go to a base file beside it, written under a new name each time
// and never rewritten, and the checkpoint keeps only the places that changed since (the delta)
// and the files gone since; a new base is written when the delta grows past a quarter of it. So a
// check that reads one file of 5,000 writes a few KB, not 5 MB, and `watch`, which wrote the base
// itself, does not read it again (it keeps the base it wrote, by its name, in memory).
import { readFileSync } from 'node:fs';
import type { Config, LogFormat } from '../config/index.js';
import {
  type FileCursor,
  loadCursor,
  loadGenerations,
  saveCursor,
  type TailState,
} from '../effects/log-tail.js';
import { isPlacesFile, newPlacesName, placesFile } from '../effects/state-paths.js';
import { pruneStateFiles, writeFileAtomic } from '../effects/store.js';

/** Where one file of the sources was read to, and what was read from it. */
export interface FileState {
  tail: TailState;
  /**
   * What passing by an unchanged file needs of its place, without making the place itself (a
   * place of a base file is made only when its file is read: see LazyPlace).
   */
  quick?: { dev: number; ino: number; offset: number; previous: number };
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
      const places = readBase(placesFile(config.stateDir, ref.file), savedAtMs, nowMs);
      if (typeof places === 'string') return `the checkpoint's file of places ${ref.file} is ${places}`;
      if (places.size !== ref.count) return `the checkpoint's file of places ${ref.file} is damaged`;
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
  writeBase(placesFile(config.stateDir, name), places);
  const ref = { file: name, count: places.size };
  memo = { dir: config.stateDir, ref, places: new Map(places) };
  return { part: { files_base: ref, files: [], files_gone: [] }, newBase: name };
}

/** Remove the files of places the checkpoint no longer names. */
export function prunePlaces(config: Config, keep: string | null): void {
  pruneStateFiles(config.stateDir, isPlacesFile, keep);
}

// A base file: a first line with the index (what passing by an unchanged file needs, for every
// file), then one line per place, in the index's order. Reading it parses the index only; a
// file's place is parsed when that file is read (most checks read a few of thousands), and a
// place never parsed is written into the next base as the bytes it was read as.
const BASE_VERSION = 1;
const WRITE_BATCH = 1024 * 1024;

type IndexRow = [
  path: string,
  format: string,
  dev: number,
  ino: number,
  offset: number,
  previous: number,
  lines: number,
  malformed: number,
  skipped: number,
  size: number,
  mtimeMs: number,
];

/** A place of a base file that cannot be read back (inspect.ts reads everything again). */
export class PlaceDamaged extends Error {
  constructor(length: number) {
    super(`a place in the checkpoint's file of places is damaged (${length} bytes)`);
  }
}

/** Forget the base held in memory (it is damaged). */
export function forgetPlaces(): void {
  memo = null;
}

/** A place of a base file, made from its line on first use. */
class LazyPlace implements FileState {
  readonly format: LogFormat;
  readonly lines: number;
  readonly malformed: number;
  readonly skipped: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly quick: { dev: number; ino: number; offset: number; previous: number };
  private made: TailState | null = null;

  constructor(
    row: IndexRow,
    /** The place's line, as read. */
    readonly raw: Uint8Array,
    private readonly savedAtMs: number | null,
    private readonly nowMs: number,
  ) {
    this.format = row[1] as LogFormat;
    this.quick = { dev: row[2], ino: row[3], offset: row[4], previous: row[5] };
    this.lines = row[6];
    this.malformed = row[7];
    this.skipped = row[8];
    this.size = row[9];
    this.mtimeMs = row[10];
  }

  get parsed(): boolean {
    return this.made !== null;
  }

  get tail(): TailState {
    if (this.made === null) {
      let saved: Record<string, unknown> | null = null;
      try {
        saved = JSON.parse(
          Buffer.from(this.raw.buffer, this.raw.byteOffset, this.raw.length).toString('utf8'),
        );
      } catch {
        saved = null;
      }
      const current = saved === null ? null : loadCursor(saved.current);
      // A place that cannot be read back: everything is read again (the check starts over).
      if (current === null) throw new PlaceDamaged(this.raw.length);
      this.made = {
        current,
        previous: saved === null ? [] : loadGenerations(saved.previous, this.savedAtMs, this.nowMs),
      };
    }
    return this.made;
  }
}

function isRow(row: unknown): row is IndexRow {
  if (!Array.isArray(row) || row.length !== 11) return false;
  if (typeof row[0] !== 'string' || row[0] === '' || typeof row[1] !== 'string') return false;
  for (let k = 2; k < 11; k++) if (typeof row[k] !== 'number' || !Number.isFinite(row[k])) return false;
  return true;
}

function readBase(file: string, savedAtMs: number | null, nowMs: number): Places | string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  const first = bytes.indexOf(10);
  if (first < 0) return 'corrupt';
  let header: { version?: unknown; index?: unknown };
  try {
    header = JSON.parse(bytes.subarray(0, first).toString('utf8'));
  } catch {
    return 'corrupt';
  }
  if (header === null || header.version !== BASE_VERSION || !Array.isArray(header.index)) return 'corrupt';
  const places: Places = new Map();
  let at = first + 1;
  for (const row of header.index) {
    const end = bytes.indexOf(10, at);
    if (!isRow(row) || end < 0) return 'corrupt';
    const raw = bytes.subarray(at, end);
    // The line must be this file's place: its path is its first field (see saveState).
    const head = `{"path":${JSON.stringify(row[0])},`;
    if (raw.length < head.length || raw.toString('utf8', 0, head.length) !== head) return 'corrupt';
    places.set(row[0], new LazyPlace(row, raw, savedAtMs, nowMs));
    at = end + 1;
  }
  return places;
}

function indexRow(file: string, state: FileState): IndexRow {
  const q = state.quick;
  const c = state.tail.current;
  return [
    file,
    state.format,
    q?.dev ?? c?.dev ?? 0,
    q?.ino ?? c?.ino ?? 0,
    q?.offset ?? c?.offset ?? 0,
    q?.previous ?? state.tail.previous.length,
    state.lines,
    state.malformed,
    state.skipped,
    state.size,
    state.mtimeMs,
  ];
}

function writeBase(file: string, places: ReadonlyMap<string, FileState>): void {
  const index: IndexRow[] = [];
  for (const [path, state] of places) index.push(indexRow(path, state));
  // Not synced to disk itself (the checkpoint that names it is): after a crash that lost it, the
  // checkpoint's check of it fails and the logs are read again, exactly.
  writeFileAtomic(
    file,
    (write) => {
      // In writes of about 1 MiB: one write per place would be thousands of system calls.
      let parts: Uint8Array[] = [];
      let size = 0;
      const add = (bytes: Uint8Array): void => {
        parts.push(bytes);
        size += bytes.length;
        if (size >= WRITE_BATCH) {
          write(Buffer.concat(parts, size));
          parts = [];
          size = 0;
        }
      };
      add(Buffer.from(`${JSON.stringify({ version: BASE_VERSION, index })}\n`));
      const newline = Buffer.from('\n');
      for (const [path, state] of places) {
        if (state instanceof LazyPlace && !state.parsed) add(state.raw);
        else add(Buffer.from(JSON.stringify(saveState(path, state))));
        add(newline);
      }
      if (size > 0) write(Buffer.concat(parts, size));
    },
    0o644,
    false,
  );
}
