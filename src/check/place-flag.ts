// The emergency flag as a check or `kill` places it: written unless it exists, and recorded.
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { FlagOutcome } from '../core/alert-text.js';
import { type Decision, limitFor } from '../core/decide.js';
import { errnoWords } from '../core/flag.js';
import { usd } from '../core/money.js';
import type { Auditor } from '../effects/audit.js';
import { createFlag, type FlagContent } from '../effects/flag.js';
import { host } from '../effects/identity.js';
import { round6 } from './figures.js';

/**
 * What a flag written on a decision says: why (the window that crossed, its spend and limit),
 * when, by what, on which host. `label` starts the reason (a scope's name and value).
 */
export function flagContentOf(
  decision: Pick<Decision, 'level' | 'trigger'>,
  by: FlagContent['triggered_by'],
  nowMs: number,
  label: string | null = null,
): FlagContent {
  const trigger = decision.trigger;
  const limit = trigger === null ? null : limitFor(trigger, decision.level);
  const why =
    trigger === null
      ? `spend at ${decision.level}`
      : (trigger.detail ??
        `${trigger.name} spend ${usd(trigger.spend)} crossed the ${decision.level} limit` +
          `${limit === null ? '' : ` ${usd(limit)}`}`);
  return {
    reason: label === null ? why : `${label}: ${why}`,
    window: trigger?.name ?? null,
    spend_usd: trigger === null ? null : round6(trigger.spend),
    limit_usd: limit,
    triggered_at: new Date(nowMs).toISOString(),
    triggered_by: by,
    host: host(),
    level: decision.level,
  };
}

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
