// The top-level keys: the files the watchdog reads and writes, the state folder, and the time zone
// of the calendar day. Paths resolve against the config file's folder.
import path from 'node:path';
import * as z from 'zod';
import { isValidTimeZone } from '../../core/calendar.js';
import { describe } from '../messages.js';
import { relativePath } from '../primitives.js';
import { currencyCode } from './cost.js';

export const DEFAULT_STATE_DIR = '.cost-watchdog';

/** Composed into the top schema by its shape (these keys sit at the top level, not in a section). */
export const topLevelSchema = z.strictObject({
  state_file: relativePath.optional(),
  flag_file: relativePath.default('state/cost_emergency.flag'),
  state_dir: relativePath.optional(),
  timezone: z
    .string({ error: 'expected an IANA time zone name like "UTC" or "Europe/Berlin"' })
    .refine(isValidTimeZone, {
      error: (issue) =>
        `unknown time zone ${describe(issue.input)}: expected an IANA name like "UTC" or "Europe/Berlin"`,
    })
    .default('UTC'),
  // The same as cost.limits_currency (either may be written; both, only if they agree).
  limits_currency: currencyCode.optional(),
});

export type RawTopLevel = z.output<typeof topLevelSchema>;

export interface TopLevelConfig {
  stateFile: string | null;
  flagFile: string;
  stateDir: string;
  /**
   * Where stateDir came from: the config, systemd's StateDirectory= ($STATE_DIRECTORY), or the default beside
   * the config.
   */
  stateDirFrom: 'config' | 'systemd' | 'default';
  timezone: RawTopLevel['timezone'];
}

/**
 * The state folder: the config's state_dir; else, under systemd with StateDirectory=, the folder
 * it made ($STATE_DIRECTORY, normally /var/lib/cost-watchdog); else .cost-watchdog beside the config.
 */
function stateDirOf(
  raw: RawTopLevel,
  abs: (p: string) => string,
  env: NodeJS.ProcessEnv,
): { dir: string; from: TopLevelConfig['stateDirFrom'] } {
  if (raw.state_dir !== undefined) return { dir: abs(raw.state_dir), from: 'config' };
  const fromSystemd = (env.STATE_DIRECTORY ?? '').split(':')[0] ?? '';
  if (fromSystemd !== '' && path.isAbsolute(fromSystemd)) return { dir: fromSystemd, from: 'systemd' };
  return { dir: abs(DEFAULT_STATE_DIR), from: 'default' };
}

export function resolveTopLevel(
  raw: RawTopLevel,
  abs: (p: string) => string,
  env: NodeJS.ProcessEnv,
): TopLevelConfig {
  const state = stateDirOf(raw, abs, env);
  return {
    stateFile: raw.state_file === undefined ? null : abs(raw.state_file),
    flagFile: abs(raw.flag_file),
    stateDir: state.dir,
    stateDirFrom: state.from,
    timezone: raw.timezone,
  };
}
