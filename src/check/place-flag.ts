// The emergency flag as a check or `kill` places it: written unless it exists, and recorded.
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { FlagOutcome } from '../core/alert-text.js';
import { errnoWords } from '../core/flag.js';
import type { Auditor } from '../effects/audit.js';
import { createFlag, type FlagContent } from '../effects/flag.js';

/** Write the flag unless it exists; a failure is an outcome (the kill still happens). */
export function placeFlag(
  config: Config,
  content: FlagContent,
  dryRun: boolean,
  audit: Auditor | null,
): FlagOutcome {
  if (dryRun) return { kind: 'would-write', file: config.flagFile };
  try {
    const result = createFlag(config.flagFile, content);
    audit?.record(result === 'written' ? 'flag_written' : 'flag_exists', {
      file: config.flagFile,
      ...(result === 'written' ? { flag: content } : {}),
    });
    return { kind: result, file: config.flagFile };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? `its folder ${path.dirname(config.flagFile)} does not exist`
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? `permission denied in ${path.dirname(config.flagFile)}`
          : e.code === 'EROFS'
            ? 'read-only file system'
            : e.code === 'ENOSPC'
              ? 'no space left on the device'
              : e.code === 'ENOTDIR'
                ? `not a folder (ENOTDIR): ${path.dirname(config.flagFile)}, or a folder above it, is a file`
                : errnoWords(e.code, e.message);
    audit?.record('flag_failed', { file: config.flagFile, error: why, code: e.code ?? null });
    return { kind: 'failed', file: config.flagFile, error: why };
  }
}
