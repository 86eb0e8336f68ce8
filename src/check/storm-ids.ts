// Retry-storm ids seen once, kept beside the checkpoint as raw bytes ([hash, time, cost] as
// doubles): tens of thousands of them would make the JSON checkpoint slow to read and write.
// The checkpoint names the file (a new name each time) and its length, so a file that does not
// belong to it is never used: the ids in it would be counted twice when the log is read again.
// Not fsynced: losing it after a crash loses at most one sighting per id.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as z from 'zod';
import type { Config } from '../config/index.js';
import { jsonNumber } from '../core/saved/parse.js';
import { baseExpired, type StormTracker } from '../core/storms.js';
import { FailureError } from '../errors.js';
import {
  SHAPE_IDS_PREFIX,
  isStormIdsFile,
  isStormIdsRef,
  newStormIdsName,
  stormIdsFile,
  stormIdsPattern,
} from '../effects/state-paths.js';
import { pruneStateFiles, writeFileAtomic } from '../effects/store.js';

/** What the checkpoint says of the ids seen once: the base file (or none) and the few since. */
export interface SinglesRef {
  file: string | null;
  count: number;
  written_ms: number;
  delta: number[];
}

/**
 * The checkpoint's reference to them: a file in the state folder (or none) and a count; anything
 * else, and the ids seen once start afresh (at most one sighting per id is lost).
 */
function refSchema(prefix: string | undefined) {
  return z
    .object({
      file: z
        .string()
        .refine((name) => isStormIdsRef(name, prefix), 'not a file of ids seen once in the state folder')
        .nullable(),
      count: jsonNumber,
      written_ms: jsonNumber,
      delta: z.array(z.unknown()).transform((d) => d.filter((n): n is number => typeof n === 'number')),
    })
    .nullable()
    .catch(null);
}
export const singlesRefSchema = refSchema(undefined);

/** The files of call shapes seen once (core/storms/shapes.ts) go by a prefix of their own. */
export const SHAPES = SHAPE_IDS_PREFIX;
/** The checkpoint's reference to the call shapes seen once: as singlesRefSchema. */
export const shapeSinglesRefSchema = refSchema(SHAPES)
  .optional()
  .transform((v) => v ?? null);

export function loadSingles(config: Config, ref: SinglesRef | null): Float64Array | null {
  if (ref === null || ref.file === null) return null;
  const data = new Float64Array(ref.count);
  let fd: number;
  try {
    fd = openSync(stormIdsFile(config.stateDir, ref.file), 'r');
  } catch {
    return null;
  }
  try {
    // Read straight into the doubles' memory: no second copy of a file of megabytes.
    const bytes = new Uint8Array(data.buffer);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n <= 0) return null;
      got += n;
    }
    if (fstatSync(fd).size !== bytes.length) return null;
    return data;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Write the ids seen once under a new name; the caller names it in the checkpoint. */
function saveSingles(config: Config, singles: Float64Array, prefix: string | undefined): string {
  const file = newStormIdsName(Date.now(), Math.random(), prefix);
  writeFileAtomic(
    stormIdsFile(config.stateDir, file),
    new Uint8Array(singles.buffer, singles.byteOffset, singles.byteLength),
    0o644,
    false,
  );
  return file;
}

/** Remove the files of ids seen once that the checkpoint no longer names. */
export function pruneSingles(config: Config, keep: string | null, prefix?: string): void {
  pruneStateFiles(config.stateDir, (name) => isStormIdsFile(name, prefix), keep);
}

/**
 * What the checkpoint about to be saved says of the ids seen once, writing a new base file when
 * the tracker asks for one. `before` is what the loaded checkpoint said (null after a rebuild).
 * Returns the reference and whether a new base was planned (then the old files are pruned).
 */
export function nextSinglesRef(
  config: Config,
  storms: StormTracker | null,
  before: SinglesRef | null,
  nowMs: number,
  prefix?: string,
): { ref: SinglesRef | null; newBase: boolean } {
  let singlesRef: SinglesRef | null = null;
  // The base file is rewritten once it is older than the window (mostly expired by then).
  const plan =
    storms?.singlesToSave(
      baseExpired(before?.file != null ? before.written_ms : null, nowMs, storms.settings.windowMs),
    ) ?? null;
  if (storms === null) singlesRef = null;
  else if (plan === null) singlesRef = before;
  else if (plan.base === null)
    singlesRef = {
      file: before?.file ?? null,
      count: before?.count ?? 0,
      written_ms: before?.written_ms ?? nowMs,
      delta: plan.delta,
    };
  else {
    try {
      singlesRef = {
        file: plan.base.length > 0 ? saveSingles(config, plan.base, prefix) : null,
        count: plan.base.length,
        written_ms: nowMs,
        delta: [],
      };
    } catch (error) {
      throw new FailureError(
        `cannot write ${stormIdsPattern(config.stateDir, prefix)}: ${(error as Error).message}`,
      );
    }
  }
  return { ref: singlesRef, newBase: plan?.base != null };
}
