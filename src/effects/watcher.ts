// File events for `watch`, through chokidar: the folders that hold the cost log (so a rotation is
// seen: the log renamed, a new one created), the emergency flag and the app's state file. Only
// folders that exist are watched: chokidar, given a missing path, reports "ready" before it is
// (paulmillr/chokidar#950, #1110) and misses files created later inside it (seen here with 5.0).
// On each timed check the daemon compares the folders with what was watched (`foldersNow`): one
// that appeared, or was removed and made again, restarts the watcher.
import { statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config } from '../config/index.js';

export type WatchedFile = 'log' | 'flag' | 'state file';

export interface FileWatcher {
  /** Folders that should be watched but do not exist (yet). */
  readonly missing: readonly string[];
  /** The folders as they were when the watches were set (see foldersNow). */
  readonly folders: string;
  close(): Promise<void>;
}

export interface WatchPlan {
  folders: string[];
  /** How deep below a folder events matter: 0 its own files; undefined any depth (a `**` glob). */
  depth: number | undefined;
  classify(file: string): WatchedFile | null;
}

/** A rotated generation's name without its suffix (cost_log.jsonl.1 -> cost_log.jsonl). */
const ROTATION_SUFFIX = /(\.\d+|-\d{8,})(\.(gz|bz2|xz|zst|z|lz4|zip))?$/i;

/**
 * What to watch for a config, and which events matter: a plain log's folder (the log and its
 * rotated siblings), a glob's fixed folder as deep as the glob reaches (files that match, and
 * their rotated names), the flag's folder and the state file's.
 */
export function watchPlan(config: Config): WatchPlan {
  const plain = config.sources.filter((s) => !s.glob);
  const globs = config.sources.filter((s) => s.glob);
  let depth: number | undefined = 0;
  for (const spec of globs) {
    const rest = path.relative(spec.base, spec.pattern);
    const levels = rest.includes('**') ? undefined : rest.split('/').length - 1;
    depth = depth === undefined || levels === undefined ? undefined : Math.max(depth, levels);
  }
  const matchers = globs.map((spec) => picomatch(spec.pattern, { dot: false }));
  const folders = [
    ...new Set([
      ...plain.map((s) => path.dirname(s.pattern)),
      ...globs.map((s) => s.base),
      path.dirname(config.flagFile),
      ...(config.stateFile === null ? [] : [path.dirname(config.stateFile)]),
    ]),
  ];
  return {
    folders,
    depth,
    classify(file: string): WatchedFile | null {
      const abs = path.resolve(file);
      if (abs === config.flagFile) return 'flag';
      if (abs === config.stateFile) return 'state file';
      // A log, and its rotated siblings (cost_log.jsonl.1, cost_log.jsonl-20261125).
      for (const spec of plain)
        if (
          path.dirname(abs) === path.dirname(spec.pattern) &&
          path.basename(abs).startsWith(path.basename(spec.pattern))
        )
          return 'log';
      const unrotated = abs.replace(ROTATION_SUFFIX, '');
      for (const matches of matchers) if (matches(abs) || matches(unrotated)) return 'log';
      return null;
    },
  };
}

function isFolder(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export function missingFolders(plan: WatchPlan): string[] {
  return plan.folders.filter((dir) => !isFolder(dir));
}

/** Which folders exist, and which inode each is: changes when one appears or is made anew. */
export function foldersNow(plan: WatchPlan): string {
  return plan.folders
    .map((dir) => {
      try {
        const st = statSync(dir);
        return st.isDirectory() ? `${st.dev}:${st.ino}` : '-';
      } catch {
        return '-';
      }
    })
    .join(',');
}

/** chokidar's throttle of a file's `change` events (node_modules/chokidar/index.js, _throttle). */
const CHOKIDAR_THROTTLE_MS = 50;

/**
 * Watch the plan's folders that exist; call `onChange` for every event on a file that matters.
 * Resolves once the watches are in place, so an append made after it is seen.
 */
export async function watchFiles(
  plan: WatchPlan,
  onChange: (what: WatchedFile, file: string) => void,
  onError: (message: string) => void,
): Promise<FileWatcher> {
  const folders = foldersNow(plan);
  const missing = missingFolders(plan);
  const present = plan.folders.filter((dir) => !missing.includes(dir));
  if (present.length === 0) return { missing, folders, close: async () => undefined };
  const { watch } = await import('chokidar');
  const watcher = watch(present, {
    ignoreInitial: true,
    ...(plan.depth === undefined ? {} : { depth: plan.depth }),
    persistent: true,
    ignorePermissionErrors: true,
  });
  // chokidar drops a file's `change` events for 50 ms after one it emits (its throttle, with no
  // trailing event): an append in that time would wait for the next timed check. So every event
  // is said again once that time has passed after the last one (a check that finds nothing new
  // costs little).
  const trailing = new Map<string, NodeJS.Timeout>();
  watcher.on('all', (_event, file) => {
    const what = plan.classify(file);
    if (what === null) return;
    onChange(what, file);
    // From the last event said: what came after it within the throttle is said then.
    clearTimeout(trailing.get(file));
    const timer = setTimeout(() => {
      trailing.delete(file);
      onChange(what, file);
    }, CHOKIDAR_THROTTLE_MS + 10);
    timer.unref();
    trailing.set(file, timer);
  });
  watcher.on('error', (error) => onError((error as Error).message ?? String(error)));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    missing,
    folders,
    close: () => {
      for (const timer of trailing.values()) clearTimeout(timer);
      trailing.clear();
      return watcher.close();
    },
  };
}
