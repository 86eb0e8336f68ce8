// `target`: which process is the app (PID file and/or an exact name or a command-line pattern), and
// how it is stopped: a stop command, SIGTERM, then SIGKILL after the grace period.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import { describe } from '../messages.js';
import { duration, offAsNull, positiveDuration, relativePath, usd } from '../primitives.js';

/**
 * USD the log may gain during the grace period (after the kill decision) before SIGKILL comes at
 * once: 15 s of a $0.40/min app, 0.24 s of a $25/min runaway.
 */
export const DEFAULT_GRACE_SPEND_USD = 0.1;

const regularExpression = z
  .string({ error: 'expected a regular expression over the full command line' })
  .refine(
    (pattern) => {
      try {
        new RegExp(pattern);
        return true;
      } catch {
        return false;
      }
    },
    { error: (issue) => `not a valid regular expression: ${describe(issue.input)}` },
  );

export const targetSchema = z
  .strictObject({
    pid_file: relativePath.optional(),
    process_name: z.string({ error: 'expected the exact process name' }).min(1).optional(),
    cmdline: regularExpression.optional(),
    grace: duration.default('10s'),
    grace_spend: z.preprocess(offAsNull, usd.nullable().default(DEFAULT_GRACE_SPEND_USD)),
    stop_command: z.string({ error: 'expected a shell command' }).min(1).optional(),
    stop_timeout: positiveDuration.default('30s'),
  })
  .refine((target) => !(target.process_name !== undefined && target.cmdline !== undefined), {
    error: 'set process_name (an exact name) or cmdline (a pattern), not both',
  })
  .refine(
    (target) =>
      target.pid_file !== undefined || target.process_name !== undefined || target.cmdline !== undefined,
    {
      error:
        'set pid_file and/or one of process_name, cmdline (or leave target out: then nothing can ' +
        'be killed)',
    },
  )
  .optional();

export type RawTarget = z.output<typeof targetSchema>;

export interface TargetConfig {
  pidFile: string | null;
  processName: string | null;
  cmdline: string | null;
  graceMs: number;
  /** SIGKILL at once when the log gains more than this during the grace period; null: off. */
  graceSpendUsd: NonNullable<RawTarget>['grace_spend'];
  stopCommand: string | null;
  stopTimeoutMs: number;
}

/** null: no target (nothing can be killed). */
export function resolveTarget(raw: RawTarget, abs: (p: string) => string): TargetConfig | null {
  if (raw === undefined) return null;
  return {
    pidFile: raw.pid_file === undefined ? null : abs(raw.pid_file),
    processName: raw.process_name ?? null,
    cmdline: raw.cmdline ?? null,
    graceMs: parseDuration(raw.grace) as number,
    graceSpendUsd: raw.grace_spend,
    stopCommand: raw.stop_command ?? null,
    stopTimeoutMs: parseDuration(raw.stop_timeout) as number,
  };
}
