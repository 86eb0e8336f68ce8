// `limits`: windows (rolling, named by their duration, or `daily`) -> warn / emergency / kill in USD.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import type { Limits, WindowSpec } from '../../core/levels.js';
import { describe } from '../messages.js';
import { MAX_ROLLING_SECONDS } from '../primitives.js';
import { balanceSchema } from './balance.js';

// A limit of 0 would hold at $0 spent (every check at that level, a flag and a kill with nothing
// spent), and one below a micro-dollar rounds to 0 (money is counted in whole µ$): refused.
const limitUsd = z
  .number({ error: 'expected a number (USD)' })
  .min(0.000001, {
    error: (issue) =>
      `expected a limit of at least 0.000001 (one micro-dollar), got ${describe(issue.input)}: a ` +
      `limit of 0 is reached with nothing spent; leave the key out for no limit at that level`,
  })
  .max(1e9, {
    error: (issue) => `expected a limit of at most 1000000000 (USD), got ${describe(issue.input)}`,
  });

/** One window's limits: at least one level, in order. */
export const windowLimitsSchema = z
  .strictObject(
    { warn: limitUsd.optional(), emergency: limitUsd.optional(), kill: limitUsd.optional() },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a mapping like `{ warn: 3, emergency: 5, kill: 8 }`'
          : undefined,
    },
  )
  .superRefine((limits, ctx) => {
    const set = (['warn', 'emergency', 'kill'] as const).filter((name) => limits[name] !== undefined);
    if (set.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'set at least one of warn, emergency, kill' });
      return;
    }
    for (let i = 1; i < set.length; i++) {
      const lower = set[i - 1] as keyof Limits;
      const higher = set[i] as keyof Limits;
      if ((limits[lower] as number) > (limits[higher] as number)) {
        ctx.addIssue({
          code: 'custom',
          message:
            `${lower} (${limits[lower]}) is above ${higher} (${limits[higher]}): expected warn <= ` +
            `emergency <= kill`,
        });
      }
    }
  });

/** Why a window name is refused, or null when it names a window. */
function windowNameProblem(name: string, top = false): string | null {
  if (name === 'daily') return null;
  if (name === 'balance')
    return (
      'a prepaid balance (`balance`) is a window of the top-level `limits` only, not of a scope ' +
      'or the fleet'
    );
  const ms = parseDuration(name);
  if (ms === null)
    return (
      `unknown window ${describe(name)}: expected "daily",${top ? ' "balance",' : ''} or a rolling ` +
      `window named by its duration, like "15m" or "1h"`
    );
  if (ms % 1000 !== 0 || ms < 1000 || ms > MAX_ROLLING_SECONDS * 1000)
    return (
      `rolling window ${describe(name)}: expected whole seconds from 1s to 24h (use "daily" for ` +
      `the calendar day)`
    );
  return null;
}

const windowName = z.string().superRefine((name, ctx) => {
  const problem = windowNameProblem(name);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

export const limitsSchema = z
  .record(windowName, windowLimitsSchema, {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected a mapping of windows to limits, like `15m: { warn: 3, emergency: 5, kill: 8 }`'
        : undefined,
  })
  .refine((limits) => Object.keys(limits).length > 0, {
    error: 'expected at least one window, like `15m: { warn: 3, emergency: 5, kill: 8 }`',
  });

export type RawLimits = z.output<typeof limitsSchema>;

/**
 * The top-level `limits`: the windows, and `balance` (a prepaid balance, sections/balance.ts),
 * which only the top level has.
 */
export const topLimitsSchema = z
  .object(
    { balance: balanceSchema.optional() },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a mapping of windows to limits, like `15m: { warn: 3, emergency: 5, kill: 8 }`'
          : undefined,
    },
  )
  .catchall(windowLimitsSchema)
  .superRefine((limits, ctx) => {
    const names = Object.keys(limits);
    if (names.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'expected at least one window, like `15m: { warn: 3, emergency: 5, kill: 8 }`',
      });
    for (const name of names) {
      if (name === 'balance') continue;
      const problem = windowNameProblem(name, true);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
    }
  });

export type RawTopLimits = z.output<typeof topLimitsSchema>;

/** The windows of the top-level limits, without the balance. */
export function windowsOf(raw: RawTopLimits): RawLimits {
  const { balance: _balance, ...windows } = raw;
  return windows as RawLimits;
}

/**
 * Rolling windows shortest first, then `daily`; the contract's 15m and daily always among them
 * (reported with or without limits). Two names for one span (15m and 900s) are a problem.
 */
export function resolveWindows(raw: RawLimits): { windows: WindowSpec[]; problems: string[] } {
  const windows: WindowSpec[] = Object.entries(raw).map(([name, limits]) => ({
    name,
    seconds: name === 'daily' ? null : (parseDuration(name) as number) / 1000,
    limits: { warn: limits.warn, emergency: limits.emergency, kill: limits.kill },
  }));
  if (!windows.some((w) => w.seconds === 900)) windows.push({ name: '15m', seconds: 900, limits: {} });
  if (!windows.some((w) => w.seconds === null)) windows.push({ name: 'daily', seconds: null, limits: {} });
  windows.sort((a, b) => (a.seconds ?? Infinity) - (b.seconds ?? Infinity));
  const seen = new Map<number, string>();
  const problems: string[] = [];
  for (const window of windows) {
    if (window.seconds === null) continue;
    const other = seen.get(window.seconds);
    if (other !== undefined) problems.push(`limits.${window.name}: the same window as limits.${other}`);
    seen.set(window.seconds, window.name);
  }
  return { windows, problems };
}
