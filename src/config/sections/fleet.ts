// `fleet`: one budget over many hosts, kept on Redis (src/fleet/). Every watchdog with the same
// `name` adds its spend to the fleet's windows and acts on the fleet's limits. The Redis URL is
// never in this file: it comes from an environment variable or a file held like a key.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import type { WindowSpec } from '../../core/levels.js';
import { describe } from '../messages.js';
import { duration, positiveDuration, relativePath } from '../primitives.js';
import { limitsSchema, type RawLimits } from './limits.js';

/** A fleet's and a host's name: they are parts of Redis keys, so plain characters only. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
export const DEFAULT_REDIS_URL_ENV = 'COST_WATCHDOG_REDIS_URL';

const boundedDuration = (min: number, max: number, text: string) =>
  duration.refine(
    (value) => {
      const ms = parseDuration(value) as number;
      return ms >= min && ms <= max;
    },
    { error: (issue) => `expected ${text}, got ${describe(issue.input)}` },
  );

export const fleetSchema = z
  .strictObject({
    name: z
      .string({ error: 'expected the fleet\'s name, like "support-bot" (the same on every host)' })
      .regex(NAME, {
        error: (issue) =>
          `expected a name of letters, digits, ".", "_" or "-" (at most 64, starting with a letter or ` +
          `digit), got ${describe(issue.input)}`,
      }),
    redis_url_env: z
      .string({ error: 'expected the name of an environment variable' })
      .min(1)
      .default(DEFAULT_REDIS_URL_ENV),
    redis_url_file: relativePath.optional(),
    host: z
      .string({ error: 'expected this host\'s name in the fleet, like "web-3"' })
      .regex(HOST, {
        error: (issue) =>
          `expected a host name of letters, digits, ".", "_" or "-", got ${describe(issue.input)}`,
      })
      .optional(),
    limits: limitsSchema,
    on_lost: z
      .enum(['local', 'emergency'], {
        error: (issue) =>
          `expected "local" (local limits only, alert "fleet view lost") or "emergency" (write the ` +
          `local flag while the fleet cannot be seen), got ${describe(issue.input)}`,
      })
      .default('local'),
    timeout: boundedDuration(50, 30_000, 'a duration between "50ms" and "30s"').default('1s'),
    silent_after: positiveDuration.default('5m'),
  })
  .optional();

export type OnLost = 'local' | 'emergency';

export interface FleetConfig {
  name: string;
  /** This host's name in the fleet (default: the hostname). */
  host: string;
  /** Where the Redis URL is: the variable first, then the file (held like a key). */
  urlEnv: string;
  urlFile: string | null;
  /** The fleet's windows, rolling shortest first, then `daily`: only those configured. */
  windows: WindowSpec[];
  onLost: OnLost;
  /** The longest the fleet may hold a check back (connect and exchange, in all). */
  timeoutMs: number;
  /** A host that has not pushed for this long is alerted as silent. */
  silentAfterMs: number;
}

/** The fleet's windows as configured (no implicit 15m / daily: only what the fleet limits). */
export function fleetWindows(raw: RawLimits): { windows: WindowSpec[]; problems: string[] } {
  const windows: WindowSpec[] = Object.entries(raw).map(([name, limits]) => ({
    name,
    seconds: name === 'daily' ? null : (parseDuration(name) as number) / 1000,
    limits: { warn: limits.warn, emergency: limits.emergency, kill: limits.kill },
  }));
  windows.sort((a, b) => (a.seconds ?? Infinity) - (b.seconds ?? Infinity));
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const window of windows) {
    if (window.seconds === null) continue;
    const other = seen.get(window.seconds);
    if (other !== undefined)
      problems.push(`fleet.limits.${window.name}: the same window as fleet.limits.${other}`);
    seen.set(window.seconds, window.name);
  }
  return { windows, problems };
}

export function resolveFleet(
  raw: z.output<typeof fleetSchema>,
  abs: (p: string) => string,
  hostname: () => string,
): { fleet: FleetConfig | null; problems: string[] } {
  if (raw === undefined) return { fleet: null, problems: [] };
  const { windows, problems } = fleetWindows(raw.limits);
  let host = raw.host ?? hostname();
  if (raw.host === undefined && !HOST.test(host)) {
    problems.push(
      `fleet.host: this machine's hostname ${describe(host)} cannot name a host in Redis keys: set ` +
        'fleet.host (letters, digits, ".", "_" or "-")',
    );
    host = 'invalid';
  }
  return {
    fleet: {
      name: raw.name,
      host,
      urlEnv: raw.redis_url_env,
      urlFile: raw.redis_url_file === undefined ? null : abs(raw.redis_url_file),
      windows,
      onLost: raw.on_lost,
      timeoutMs: parseDuration(raw.timeout) as number,
      silentAfterMs: parseDuration(raw.silent_after) as number,
    },
    problems,
  };
}
