// Read what every file of the sources gained since the checkpoint, each with its own place and
// the rotation rules of effects/log-tail.ts, into one scanner (the spend is summed). A file that
// starts to match is read from its start; one that no longer matches is finished (its rest read,
// wherever it was renamed to) and dropped; one renamed to another matching name keeps its place.
// A file that cannot be read is named, and the others are read and keep their places.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Config, SourceSpec } from '../config/index.js';
import { copyTail, type FileState } from '../check/places.js';
import type { LineSink } from '../core/lines.js';
import type { SpendScanner } from '../core/scan.js';
import { readNewLines, type TailState } from '../effects/log-tail.js';
import { type Listing, type SourceFile, sourceName } from './list.js';

/** A file quiet for this long before the last save, and unchanged since, is passed by unopened. */
const QUIET_MS = 1000;

export interface SourceReport {
  /** Relative to the config's folder. */
  path: string;
  format: string;
  size_bytes: number;
  lines: number;
  malformed_lines: number;
  skipped_lines: number;
}

export interface SourcesRead {
  files: Map<string, FileState>;
  notes: string[];
  /** Files that could not be read: the check is blind to them. */
  errors: string[];
  bytesRead: number;
  /** Something to save besides the bytes: a file dropped, renamed, or followed differently. */
  changed: boolean;
  /** The newest modification time among the files (0: none), and their total size. */
  newestMtimeMs: number;
  totalSize: number;
  reports: SourceReport[];
}

export interface ReadHooks {
  /** The sink for lines of a file of this source (its format, its field names). */
  sinkFor(spec: SourceSpec, file: SourceFile | null, name: string): LineSink;
  /** Started before a file is read from its start (the two-thread read of a large log). */
  whole?(file: SourceFile): { stop(): void } | null;
}

export interface ReadOptions {
  nowMs: number;
  savedAtMs: number | null;
  horizonMs: number;
}

/** One plain path: the contract's one log, named as before. */
export function isSingleLog(config: Config): boolean {
  const [only, ...more] = config.sources;
  return more.length === 0 && only !== undefined && !only.glob;
}

function idOf(state: FileState): string | null {
  const c = state.quick ?? state.tail.current;
  return c === null ? null : `${c.dev}:${c.ino}`;
}

function samePlace(
  state: FileState,
  tail: TailState,
  log: { size: number; mtimeMs: number } | null,
): boolean {
  const a = state.tail.current;
  const b = tail.current;
  return (
    a !== null &&
    b !== null &&
    log !== null &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.offset === b.offset &&
    a.head === b.head &&
    a.tail === b.tail &&
    a.name === b.name &&
    a.asm.lineNo === b.asm.lineNo &&
    a.asm.pending.length === b.asm.pending.length &&
    state.tail.previous.length === 0 &&
    tail.previous.length === 0 &&
    log.size === state.size &&
    log.mtimeMs === state.mtimeMs
  );
}

function unchanged(file: SourceFile, state: FileState, savedAtMs: number | null): boolean {
  const st = file.stat;
  if (st === null || savedAtMs === null) return false;
  // A place of a base file says what this needs without being made (check/places.ts).
  const q = state.quick;
  const c = q ?? state.tail.current;
  const previous = q?.previous ?? state.tail.previous.length;
  return (
    c !== null &&
    previous === 0 &&
    st.dev === c.dev &&
    st.ino === c.ino &&
    st.size === state.size &&
    st.size === c.offset &&
    st.mtimeMs === state.mtimeMs &&
    state.mtimeMs < savedAtMs - QUIET_MS
  );
}

export function readSources(
  config: Config,
  listing: Listing,
  prior: ReadonlyMap<string, FileState>,
  scanner: SpendScanner,
  hooks: ReadHooks,
  options: ReadOptions,
): SourcesRead {
  const files = new Map<string, FileState>();
  const single = isSingleLog(config);
  const notes: string[] = [];
  const errors = [...listing.blind];
  let bytesRead = 0;
  let changed = false;
  let newestMtimeMs = 0;
  let totalSize = 0;
  const reports: SourceReport[] = [];
  // A folder of many logs read for the first time is listed once for all of them.
  const names = new Map<string, string[]>();
  const listDir = (dir: string): string[] => {
    let held = names.get(dir);
    if (held === undefined) {
      held = readdirSync(dir);
      names.set(dir, held);
    }
    return held;
  };
  const listed = new Set(listing.files.map((f) => f.path));
  // Files no longer listed, by inode: one of them may be a listed file's old name.
  const gone = new Map<string, [string, FileState]>();
  for (const [file, state] of prior) {
    if (listed.has(file)) continue;
    const id = idOf(state);
    if (id !== null) gone.set(id, [file, state]);
  }

  const readOne = (
    file: string,
    source: string,
    spec: SourceSpec,
    listedFile: SourceFile | null,
    state: FileState | undefined,
  ): { state: FileState | null; error: string | null } => {
    scanner.source = single ? '' : source;
    const lines = scanner.lines;
    const malformed = scanner.foundCount;
    const skipped = scanner.totals.skipped_lines;
    const helper = state === undefined && listedFile !== null ? (hooks.whole?.(listedFile) ?? null) : null;
    let read: ReturnType<typeof readNewLines>;
    // Malformed lines are named by file: with several, by its path from the config's folder.
    const shown = (name: string): string => (single ? name : path.join(path.dirname(source), name));
    try {
      read = readNewLines(
        file,
        state === undefined ? null : copyTail(state.tail),
        (name) => hooks.sinkFor(spec, listedFile, shown(name)),
        options.nowMs,
        {
          lastSavedMs: options.savedAtMs,
          horizonMs: options.horizonMs,
          listDir,
        },
      );
    } finally {
      helper?.stop();
    }
    bytesRead += read.bytesRead;
    notes.push(...read.notes);
    if (read.notes.length > 0 || read.followChanged) changed = true;
    // Nothing read and nothing changed: the very same place (a base of places keeps it unsaved).
    if (
      state !== undefined &&
      read.error === null &&
      read.bytesRead === 0 &&
      read.notes.length === 0 &&
      !read.followChanged &&
      scanner.foundCount === malformed &&
      samePlace(state, read.state, read.log)
    )
      return { state, error: null };
    const next: FileState | null =
      read.state.current === null
        ? null
        : {
            tail: read.state,
            format: spec.format,
            lines: (state?.lines ?? 0) + scanner.lines - lines,
            malformed: (state?.malformed ?? 0) + scanner.foundCount - malformed,
            skipped: (state?.skipped ?? 0) + scanner.totals.skipped_lines - skipped,
            size: read.log?.size ?? state?.size ?? -1,
            mtimeMs: read.log?.mtimeMs ?? state?.mtimeMs ?? -1,
          };
    return { state: next, error: read.error };
  };

  for (const file of listing.files) {
    let state = prior.get(file.path);
    if (state === undefined && file.stat !== null) {
      const renamed = gone.get(`${file.stat.dev}:${file.stat.ino}`);
      if (renamed !== undefined) {
        gone.delete(`${file.stat.dev}:${file.stat.ino}`);
        state = renamed[1];
        changed = true;
        notes.push(
          `${sourceName(config, renamed[0])} was renamed to ${file.source}: read on from where it was`,
        );
      }
    }
    let kept: FileState | null;
    if (state !== undefined && unchanged(file, state, options.savedAtMs)) {
      kept = state;
    } else {
      const done = readOne(file.path, file.source, file.spec, file, state);
      kept = done.state ?? state ?? null;
      if (done.error !== null) errors.push(done.error);
    }
    if (kept !== null) {
      files.set(file.path, kept);
      if (kept.mtimeMs > newestMtimeMs) newestMtimeMs = kept.mtimeMs;
      totalSize += Math.max(0, kept.size);
    }
    reports.push({
      path: file.source,
      format: file.spec.format,
      size_bytes: Math.max(0, kept?.size ?? file.stat?.size ?? 0),
      lines: kept?.lines ?? 0,
      malformed_lines: kept?.malformed ?? 0,
      skipped_lines: kept?.skipped ?? 0,
    });
  }

  // No longer matched (deleted, or renamed out of the glob): read its rest, then let it go.
  for (const [file, state] of gone.values()) {
    const spec = config.sources.find((s) => s.glob && s.format === state.format) ?? config.sources[0]!;
    const source = sourceName(config, file);
    const before = bytesRead;
    const done = readOne(file, source, spec, null, state);
    changed = true;
    notes.push(
      done.error === null || bytesRead > before
        ? `${source} no longer matches ${spec.written}: its last lines read, and it is dropped`
        : `${source} is gone (deleted, or moved out of its folder): dropped; lines written to it ` +
            'since the last check are lost to the watchdog',
    );
  }
  return { files, notes, errors, bytesRead, changed, newestMtimeMs, totalSize, reports };
}
