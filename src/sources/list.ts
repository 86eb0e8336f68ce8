// Which files the configured sources are now: each plain path as it is, each glob expanded under
// its fixed folder. A plain path that is missing is left to the reader (it may have been rotated
// away, and its rest is still read); a glob whose fixed folder is missing makes the check blind; a
// glob that matches nothing is said (a WARNING in status, one alert).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config, SourceSpec } from '../config/index.js';

/** Names a glob never takes as a log of its own: rotated generations and compressed copies. */
const ROTATED = /(\.\d+|-\d{8,})$|\.(gz|bz2|xz|zst|z|lz4|zip)$/i;

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** The path relative to the config's folder: the `source` attribution field. */
  source: string;
  spec: SourceSpec;
  /** Its stat when listed (null: a plain path not there now, or not statable). */
  stat: { dev: number; ino: number; size: number; mtimeMs: number } | null;
}

export interface Listing {
  files: SourceFile[];
  /** Why the check is blind: a glob's folder missing or unreadable. */
  blind: string[];
  /** Globs (as written) that match no file now. */
  empty: string[];
}

function statOf(file: string): SourceFile['stat'] {
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined) return null;
    return st.isFile() ? { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

export function sourceName(config: Config, file: string): string {
  // A file below the config's folder (every glob match there): the rest of its path, without
  // path.relative (which, 5,000 times per check, was 10-40 ms of a run: BENCH_ONLY=sources).
  const dir = path.dirname(config.file);
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  // Only a normal path: no empty, `.` or `..` part (`//`, `/./`, `/../`, a trailing `/`).
  if (file.startsWith(prefix) && !/[\\/]\.{0,2}([\\/]|$)/.test(file)) return file.slice(prefix.length);
  return path.relative(dir, file) || path.basename(file);
}

function folderProblem(dir: string): string | null {
  try {
    return statSync(dir).isDirectory() ? null : 'not a folder';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? 'no such folder'
      : code === 'EACCES'
        ? 'permission denied'
        : (error as Error).message;
  }
}

/** The files of the sources now, in a stable order (a file matched twice is read once, the first time). */
export function listSources(config: Config): Listing {
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  // The same file reached by two paths (a symlink, a pattern that overlaps) is read once.
  const seenIds = new Set<string>();
  const blind: string[] = [];
  const empty: string[] = [];
  for (const spec of config.sources) {
    if (!spec.glob) {
      if (seen.has(spec.pattern)) continue;
      seen.add(spec.pattern);
      files.push({
        path: spec.pattern,
        source: sourceName(config, spec.pattern),
        spec,
        stat: statOf(spec.pattern),
      });
      continue;
    }
    const problem = folderProblem(spec.base);
    if (problem !== null) {
      blind.push(`cannot read the folder ${spec.base} of the log glob ${spec.written}: ${problem}`);
      continue;
    }
    const blindBefore = blind.length;
    const matched = walk(spec, blind);
    matched.sort();
    let count = 0;
    for (const file of matched) {
      if (ROTATED.test(path.basename(file)) || seen.has(file)) continue;
      const stat = statOf(file);
      if (stat === null) continue; // gone between the listing and now, or not a regular file
      const id = `${stat.dev}:${stat.ino}`;
      if (seenIds.has(id)) continue;
      seenIds.add(id);
      seen.add(file);
      count++;
      files.push({ path: file, source: sourceName(config, file), spec, stat });
    }
    // (A folder that could not be read is said already: "matches no file" would be a guess.)
    if (count === 0 && blind.length === blindBefore) empty.push(spec.written);
  }
  return { files, blind, empty };
}

/** A glob's matcher and how deep it reaches below its fixed folder (null: any depth). */
function globShape(spec: SourceSpec): { matches: (relative: string) => boolean; depth: number | null } {
  const rest = path.relative(spec.base, spec.pattern);
  const matches = picomatch(rest, { dot: false });
  return { matches, depth: rest.includes('**') ? null : rest.split('/').length - 1 };
}

/**
 * The files under a glob's fixed folder that match it, each once (a folder reached again through
 * a symlink is not walked twice). A folder that cannot be read is named in `blind`: files in it
 * would go uncounted in silence.
 */
function walk(spec: SourceSpec, blind: string[]): string[] {
  const { matches, depth } = globShape(spec);
  const out: string[] = [];
  const seenDirs = new Set<string>();
  const stack: [dir: string, relative: string, level: number][] = [[spec.base, '', 0]];
  while (stack.length > 0) {
    const [dir, relative, level] = stack.pop()!;
    let id: string;
    let entries: import('node:fs').Dirent[];
    try {
      const st = statSync(dir);
      id = `${st.dev}:${st.ino}`;
      if (seenDirs.has(id)) continue;
      seenDirs.add(id);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      blind.push(`cannot read the folder ${dir} (of the log glob ${spec.written}): ${reason(error)}`);
      continue;
    }
    for (const entry of entries) {
      const name = entry.name;
      const rel = relative === '' ? name : `${relative}/${name}`;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const st = statSync(join(dir, name));
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // a dangling link
        }
      }
      if (isDir) {
        if (depth === null || level < depth) stack.push([join(dir, name), rel, level + 1]);
      } else if (isFile && (depth === null || level === depth) && matches(rel)) {
        out.push(join(dir, name));
      }
    }
  }
  return out;
}

/** A folder's entry: the folder is absolute and normalized already (path.join would normalize again). */
function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'no such folder'
    : code === 'EACCES'
      ? 'permission denied'
      : (error as Error).message;
}
