// Which files `replay` reads, and in which format: the files named on the command line (paths or
// globs, relative to the working folder; rotated generations like cost_log.jsonl.1 included), or
// without any, the config's sources and the rotated generations beside each of their files. A
// file takes the format and field names of the config's source whose path or glob matches it,
// else those of the config's first source. Compressed generations (.gz, ...) are not read: said.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config, SourceSpec } from '../config/index.js';
import { listSources, sourceName } from '../sources/list.js';

const COMPRESSED = /\.(gz|bz2|xz|zst|z|lz4|zip)$/i;
const GENERATION = /^(\.\d+|-\d{8,})$/;
const WILDCARD = /[*?[\]{}]/;

export interface ReplayFile {
  path: string;
  /** Relative to the config's folder (the `source` attribution field, and how it is named). */
  source: string;
  spec: SourceSpec;
  size: number;
}

export interface ReplayListing {
  files: ReplayFile[];
  /** Why a named log cannot be read (exit 1). */
  errors: string[];
  notes: string[];
}

function specFor(config: Config, file: string): SourceSpec {
  for (const spec of config.sources) {
    if (spec.glob ? picomatch.isMatch(file, spec.pattern, { dot: false }) : spec.pattern === file)
      return spec;
  }
  return config.sources[0] as SourceSpec;
}

/** Files under a glob's fixed folder that match it (any depth for `**`). */
function expand(pattern: string, errors: string[], written: string): string[] {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (WILDCARD.test(part)) break;
    fixed.push(part);
  }
  const base = fixed.join('/') || '/';
  const matches = picomatch(pattern, { dot: false });
  const deep = pattern.includes('**');
  const depth = parts.length - fixed.length - 1;
  const out: string[] = [];
  const walk = (dir: string, level: number): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      errors.push(`cannot read the folder ${dir} (of ${written}): ${(error as Error).message}`);
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const st = statSync(full);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir && (deep || level < depth)) walk(full, level + 1);
      else if (isFile && matches(full)) out.push(full);
    }
  };
  walk(base, 0);
  return out.sort();
}

/** Rotated generations beside `file` (name.1, name-20261123), uncompressed. */
function generations(file: string, names: Map<string, string[]>): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let held = names.get(dir);
  if (held === undefined) {
    try {
      held = readdirSync(dir);
    } catch {
      held = [];
    }
    names.set(dir, held);
  }
  return held
    .filter((n) => n.startsWith(base) && GENERATION.test(n.slice(base.length)))
    .map((n) => path.join(dir, n));
}

export function replayFiles(config: Config, args: readonly string[], cwd: string): ReplayListing {
  const errors: string[] = [];
  const notes: string[] = [];
  const chosen = new Map<string, SourceSpec>();
  const add = (file: string, spec: SourceSpec): void => {
    if (chosen.has(file)) return;
    if (COMPRESSED.test(file)) {
      notes.push(`${sourceName(config, file)} is compressed: not read (decompress it to replay it)`);
      return;
    }
    chosen.set(file, spec);
  };
  if (args.length > 0) {
    for (const arg of args) {
      const abs = path.resolve(cwd, arg);
      if (WILDCARD.test(arg)) {
        const found = expand(abs, errors, arg);
        if (found.length === 0) errors.push(`${arg} matches no file`);
        for (const file of found) add(file, specFor(config, file));
      } else {
        add(abs, specFor(config, abs));
      }
    }
  } else {
    const listing = listSources(config);
    errors.push(...listing.blind);
    for (const glob of listing.empty) notes.push(`${glob} matches no file`);
    const names = new Map<string, string[]>();
    for (const file of listing.files) {
      add(file.path, file.spec);
      for (const old of generations(file.path, names)) add(old, file.spec);
    }
  }
  const files: ReplayFile[] = [];
  for (const [file, spec] of chosen) {
    let size = 0;
    try {
      const st = statSync(file);
      if (!st.isFile()) {
        errors.push(`cannot read ${file}: not a file`);
        continue;
      }
      size = st.size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      errors.push(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
      continue;
    }
    files.push({ path: file, source: sourceName(config, file), spec, size });
  }
  return { files, errors, notes };
}
