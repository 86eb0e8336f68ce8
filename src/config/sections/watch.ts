// `watch`: the cron schedule of its timed checks (besides one on every change of the log).
import * as z from 'zod';
import { describe } from '../messages.js';

/** `watch` checks on this schedule too, because windows move with time even when nothing is logged. */
export const DEFAULT_SCHEDULE = '*/15 * * * * *';

export const watchSchema = z
  .strictObject({
    schedule: z
      .string({ error: 'expected a cron expression like "*/15 * * * * *" (seconds first, optional)' })
      .refine((text) => /^\S+(\s+\S+){4,5}$/.test(text.trim()), {
        error: (issue) =>
          `expected a cron expression of 5 or 6 fields like "*/15 * * * * *" (every 15 seconds), ` +
          `got ${describe(issue.input)}`,
      })
      .default(DEFAULT_SCHEDULE),
  })
  .default({ schedule: DEFAULT_SCHEDULE });

export interface WatchConfig {
  /** Fields separated by one space. */
  schedule: string;
}

export function resolveWatch(raw: z.output<typeof watchSchema>): WatchConfig {
  return { schedule: raw.schedule.trim().replace(/\s+/g, ' ') };
}
