// The configuration: one zod schema for every key in DESIGN.md, YAML loading, defaults, and paths
// resolved against the config file's folder. Errors come back as one line per problem that names
// the key path and what was expected: `limits.15m.warn: expected a number, got "lots"`.
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { isValidTimeZone } from './core/calendar.js';
import { parseDuration } from './core/duration.js';
import type { Limits, WindowSpec } from './core/levels.js';
import { FIELDS, type FieldName } from './core/fields.js';
import { DEFAULT_MAX_LINE_USD } from './core/scan.js';
import { unsafeFile, unsafeFolder } from './core/strict.js';
import { webhookSource } from './effects/slack.js';
import { ConfigError } from './errors.js';

export const DEFAULT_CONFIG_FILE = 'watchdog.yaml';
export const CONFIG_ENV = 'COST_WATCHDOG_CONFIG';
/** Rolling windows are kept to the second; longer spans are what `daily` is for. */
export const MAX_ROLLING_SECONDS = 86_400;
/** `watch` checks on this schedule too, because windows move with time even when nothing is logged. */
export const DEFAULT_SCHEDULE = '*/15 * * * * *';
export const DEFAULT_STATE_DIR = '.cost-watchdog';

const duration = z
  .string({ error: 'expected a duration like "30s", "15m" or "1h"' })
  .refine((text) => parseDuration(text) !== null, {
    error: (issue) => `expected a duration like "30s", "15m" or "1h", got ${describe(issue.input)}`,
    // Not a duration: the checks of its size that follow would only repeat it.
    abort: true,
  });

/**
 * USD the log may gain during the grace period (after the kill decision) before SIGKILL comes at
 * once: 15 s of a $0.40/min app, 0.24 s of a $25/min runaway.
 */
export const DEFAULT_GRACE_SPEND_USD = 0.1;

/** Tokens of a model with no price and no logged cost count at this (USD per million). */
export const DEFAULT_UNPRICED_PER_MILLION = 75;

/** `off` (or false) for a check that is on by default. */
function offAsNull(value: unknown): unknown {
  return value === false || value === 'off' ? null : value;
}

const positiveDuration = duration.refine((text) => (parseDuration(text) ?? Infinity) >= 1000, {
  error: (issue) => `expected at least "1s", got ${describe(issue.input)}`,
});

const perMillion = z
  .number({ error: 'expected USD per million tokens' })
  .min(0, { error: (issue) => `expected USD per million tokens >= 0, got ${describe(issue.input)}` })
  .max(1_000_000, { error: 'expected USD per million tokens (at most 1000000)' });

const usd = z
  .number({ error: 'expected a number (USD)' })
  .min(0, { error: (issue) => `expected a number >= 0 (USD), got ${describe(issue.input)}` });

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

const limitsSchema = z
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

const windowName = z.string().superRefine((name, ctx) => {
  if (name === 'daily') return;
  const ms = parseDuration(name);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message:
        `unknown window ${describe(name)}: expected "daily" or a rolling window named by its ` +
        `duration, like "15m" or "1h"`,
    });
  } else if (ms % 1000 !== 0 || ms < 1000 || ms > MAX_ROLLING_SECONDS * 1000) {
    ctx.addIssue({
      code: 'custom',
      message:
        `rolling window ${describe(name)}: expected whole seconds from 1s to 24h (use "daily" for ` +
        `the calendar day)`,
    });
  }
});

const relativePath = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path, got ""' });

const fieldNames = z.union(
  [
    z.string().min(1),
    z.array(z.string().min(1)).min(1, { error: 'expected a key name or a list of key names, got []' }),
  ],
  {
    error: (issue) => `expected a key name or a list of key names, got ${describe(issue.input)}`,
  },
);

const schema = z.strictObject({
  log: relativePath,
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
  limits: z
    .record(windowName, limitsSchema, {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a mapping of windows to limits, like `15m: { warn: 3, emergency: 5, kill: 8 }`'
          : undefined,
    })
    .refine((limits) => Object.keys(limits).length > 0, {
      error: 'expected at least one window, like `15m: { warn: 3, emergency: 5, kill: 8 }`',
    }),
  target: z
    .strictObject({
      pid_file: relativePath.optional(),
      process_name: z.string({ error: 'expected the exact process name' }).min(1).optional(),
      cmdline: z
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
        )
        .optional(),
      grace: duration.default('10s'),
      grace_spend: z.preprocess(offAsNull, usd.nullable().default(DEFAULT_GRACE_SPEND_USD)),
      stop_command: z.string({ error: 'expected a shell command' }).min(1).optional(),
      stop_timeout: duration
        .refine((text) => (parseDuration(text) as number) >= 1000, {
          error: (issue) => `expected at least "1s", got ${describe(issue.input)}`,
        })
        .default('30s'),
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
    .optional(),
  cost: z
    .strictObject({
      policy: z
        .enum(['reported', 'estimated', 'max'], {
          error: (issue) => `expected one of reported, estimated, max, got ${describe(issue.input)}`,
        })
        .default('max'),
      prices: z
        .record(
          z.string().min(1, { error: 'expected a model name' }),
          z.strictObject(
            { input: perMillion, output: perMillion, cached: perMillion.optional() },
            {
              error: (issue) =>
                issue.code === 'invalid_type'
                  ? 'expected USD per million tokens, like `{ input: 3, output: 15, cached: 0.3 }`'
                  : undefined,
            },
          ),
          {
            error: (issue) =>
              issue.code === 'invalid_type'
                ? 'expected a mapping of model names to prices, like `my-model: { input: 3, output: 15 }`'
                : undefined,
          },
        )
        .optional(),
      unpriced_per_million_tokens: perMillion.default(DEFAULT_UNPRICED_PER_MILLION),
      // Above it a line is malformed, never summed (1e308 would make the sums Infinity). At most
      // $1e9 so that a line's micro-dollars stay an exact integer.
      max_line_usd: z
        .number({ error: 'expected USD (the most one log line can cost)' })
        .gt(0, { error: (issue) => `expected USD > 0, got ${describe(issue.input)}` })
        .max(1e9, { error: 'expected USD (at most 1000000000)' })
        .default(DEFAULT_MAX_LINE_USD),
    })
    .default({
      policy: 'max',
      unpriced_per_million_tokens: DEFAULT_UNPRICED_PER_MILLION,
      max_line_usd: DEFAULT_MAX_LINE_USD,
    }),
  app_state: z
    .strictObject({
      windows: z
        .record(z.string(), z.string({ error: 'expected the name of a key in the state file' }).min(1), {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? 'expected a mapping of windows to state-file keys, like `15m: cost_15min`'
              : undefined,
        })
        .optional(),
      updated_at: z
        .string({ error: 'expected the name of a key in the state file' })
        .min(1)
        .default('updated_at'),
      emergency: z.string({ error: 'expected the name of a key in the state file' }).min(1).optional(),
      tolerance_usd: usd.default(0.5),
      tolerance_percent: z
        .number({ error: 'expected a percentage' })
        .min(0, { error: 'expected a percentage >= 0' })
        .max(1000, { error: 'expected a percentage <= 1000' })
        .default(10),
      stale_after: positiveDuration.default('5m'),
    })
    .default({ updated_at: 'updated_at', tolerance_usd: 0.5, tolerance_percent: 10, stale_after: '5m' }),
  retry_storm: z.preprocess(
    offAsNull,
    z
      .strictObject(
        {
          key: z
            .enum(['request_id', 'fingerprint'], {
              error: (issue) => `expected request_id or fingerprint, got ${describe(issue.input)}`,
            })
            .default('request_id'),
          count: z
            .int({ error: 'expected a whole number of sightings, 2 or more' })
            .min(2, { error: 'expected a whole number of sightings, 2 or more' })
            .max(1_000_000)
            .default(5),
          window: positiveDuration
            .refine((text) => (parseDuration(text) as number) <= MAX_ROLLING_SECONDS * 1000, {
              error: 'expected at most "24h"',
            })
            .default('15m'),
          level: z
            .enum(['warn', 'emergency', 'kill'], {
              error: (issue) => `expected one of warn, emergency, kill, got ${describe(issue.input)}`,
            })
            .default('emergency'),
        },
        {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? 'expected a mapping like `{ count: 5, window: 15m, level: emergency }`, or off'
              : undefined,
        },
      )
      .nullable()
      .default({ key: 'request_id', count: 5, window: '15m', level: 'emergency' }),
  ),
  burn_rate: z.preprocess(
    offAsNull,
    z
      .strictObject(
        {
          factor: z
            .number({ error: 'expected a number above 1' })
            .gt(1, { error: 'expected a number above 1' })
            .default(10),
          short: positiveDuration.default('5m'),
          long: positiveDuration
            .refine((text) => (parseDuration(text) as number) <= MAX_ROLLING_SECONDS * 1000, {
              error: 'expected at most "24h"',
            })
            .default('1h'),
        },
        {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? 'expected a mapping like `{ factor: 10, short: 5m, long: 1h }`, or off'
              : undefined,
        },
      )
      .nullable()
      .default({ factor: 10, short: '5m', long: '1h' }),
  ),
  silence: z
    .strictObject({ after: z.preprocess(offAsNull, positiveDuration.nullable().default(null)) })
    .default({ after: null }),
  slack: z
    .strictObject({
      webhook_url_env: z
        .string({ error: 'expected the name of an environment variable' })
        .min(1)
        .default('SLACK_WEBHOOK_URL'),
      webhook_url_file: relativePath.optional(),
    })
    .default({ webhook_url_env: 'SLACK_WEBHOOK_URL' }),
  alerts: z
    .strictObject({
      reminder: duration
        .refine((text) => (parseDuration(text) as number) >= 1000, {
          error: (issue) => `expected at least "1s", got ${describe(issue.input)}`,
        })
        .default('1h'),
    })
    .default({ reminder: '1h' }),
  heartbeat: z
    .strictObject({
      // 0s would call every heartbeat stale: check-heartbeat would alert forever.
      max_age: duration
        .refine((text) => (parseDuration(text) as number) >= 1000, {
          error: (issue) => `expected at least "1s", got ${describe(issue.input)}`,
        })
        .default('5m'),
      ping_url: z
        .string({ error: 'expected an http(s) URL' })
        .refine((url) => /^https?:\/\/\S+$/i.test(url), {
          error: (issue) => `expected an http(s) URL, got ${describe(issue.input)}`,
        })
        .optional(),
    })
    .default({ max_age: '5m' }),
  watch: z
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
    .default({ schedule: DEFAULT_SCHEDULE }),
  fields: z
    .partialRecord(z.enum(FIELDS), fieldNames, {
      error: (issue) => (issue.code === 'invalid_type' ? 'expected a mapping of field names' : undefined),
    })
    .optional(),
});

type RawConfig = z.output<typeof schema>;

/** The schema itself: test/unit/config-reference.test.ts holds docs/configuration.md to it. */
export const configSchema: z.ZodType = schema;

export interface Config {
  /** Absolute path of the config file. */
  file: string;
  log: string;
  stateFile: string | null;
  flagFile: string;
  stateDir: string;
  /**
   * Where stateDir came from: the config, systemd's StateDirectory= ($STATE_DIRECTORY), or the default beside
   * the config.
   */
  stateDirFrom: 'config' | 'systemd' | 'default';
  timezone: string;
  /** Rolling windows shortest first, then `daily`. */
  windows: WindowSpec[];
  target: {
    pidFile: string | null;
    processName: string | null;
    cmdline: string | null;
    graceMs: number;
    /** SIGKILL at once when the log gains more than this during the grace period; null: off. */
    graceSpendUsd: number | null;
    stopCommand: string | null;
    stopTimeoutMs: number;
  } | null;
  /** How often an emergency still in force is announced again. */
  alerts: { reminderMs: number };
  cost: {
    policy: 'reported' | 'estimated' | 'max';
    /** Per model (exact name), USD per million input / output / cached-input tokens. */
    prices: Record<string, { input: number; output: number; cached: number | null }>;
    unpricedPerMillion: number;
    /** cost.max_line_usd: a line above it (logged or estimated) is malformed. */
    maxLineUsd: number;
  };
  /** How the app's state file is read and compared (used when stateFile is set). */
  appState: {
    /** Window name -> the state file's key for the app's own figure. */
    windows: Record<string, string>;
    updatedAt: string;
    /** The keys tried for the app's emergency mode, in order. */
    emergency: string[];
    toleranceUsd: number;
    tolerancePercent: number;
    staleAfterMs: number;
  };
  retryStorm: {
    key: 'request_id' | 'fingerprint';
    count: number;
    windowMs: number;
    level: 'warn' | 'emergency' | 'kill';
  } | null;
  burnRate: { factor: number; shortMs: number; longMs: number } | null;
  /** Alert when the target runs but the log has not grown for this long; null: off. */
  silenceAfterMs: number | null;
  slack: { webhookUrlEnv: string; webhookUrlFile: string | null };
  heartbeat: { maxAgeMs: number; pingUrl: string | null };
  /** `watch`: the cron schedule of its timed checks (besides one on every change). */
  watch: { schedule: string };
  fields: Partial<Record<FieldName, string[]>>;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function keyPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** The keys a strict object at `parts` allows, found by walking the schema itself. */
function allowedKeys(parts: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  const unwrap = (n: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    let current = n;
    for (let guard = 0; current !== undefined && guard < 10; guard++) {
      const def = current._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      if (
        (def.type === 'optional' ||
          def.type === 'default' ||
          def.type === 'prefault' ||
          def.type === 'nullable') &&
        def.innerType
      )
        current = def.innerType;
      else if (def.type === 'pipe' && def.in) current = def.in;
      else break;
    }
    return current;
  };
  for (const part of parts) {
    node = unwrap(node);
    if (node === undefined) return [];
    const def = node._zod.def as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      valueType?: z.core.$ZodType;
      keyType?: z.core.$ZodType;
    };
    if (def.type === 'object' && def.shape) node = def.shape[String(part)];
    else if (def.type === 'record') node = def.valueType;
    else return [];
  }
  node = unwrap(node);
  const def = node?._zod.def as
    | { type: string; shape?: Record<string, unknown>; keyType?: z.core.$ZodType }
    | undefined;
  if (def?.type === 'object' && def.shape) return Object.keys(def.shape);
  const keyDef =
    def?.type === 'record'
      ? (def.keyType?._zod.def as { type: string; entries?: Record<string, string> })
      : undefined;
  return keyDef?.type === 'enum' && keyDef.entries ? Object.values(keyDef.entries) : [];
}

function problemsOf(error: z.ZodError): string[] {
  const problems: string[] = [];
  for (const issue of error.issues) {
    const where = keyPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeys(issue.path);
        for (const key of issue.keys) {
          const at = keyPath([...issue.path, key]);
          if (at === 'slack.webhook_url') {
            problems.push(
              `${at}: not allowed in the config file; put the URL in an environment variable ` +
                `(slack.webhook_url_env, default SLACK_WEBHOOK_URL) or a file only the watchdog can ` +
                `read (slack.webhook_url_file)`,
            );
          } else {
            problems.push(
              `${at}: unknown key${allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : ''}`,
            );
          }
        }
        break;
      }
      case 'invalid_key':
        // A record key that failed its own check: the inner messages say why.
        for (const inner of issue.issues) problems.push(`${where}: ${inner.message}`);
        break;
      case 'invalid_type': {
        const expected = issue.message.startsWith('Invalid input')
          ? `expected ${article(String(issue.expected))}`
          : issue.message;
        problems.push(
          issue.input === undefined
            ? `${where}: required (${expected})`
            : `${where}: ${expected}, got ${describe(issue.input)}`,
        );
        break;
      }
      default:
        problems.push(
          `${where}: ` +
            (issue.message.startsWith('Invalid') || issue.message.startsWith('Too')
              ? `${issue.message.toLowerCase()}, got ${describe(issue.input)}`
              : issue.message),
        );
    }
  }
  return problems;
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Sections that may be left empty (`target:` with every line under it commented out): not set. */
const OPTIONAL_SECTIONS = [
  'state_file',
  'target',
  'cost',
  'slack',
  'alerts',
  'heartbeat',
  'watch',
  'fields',
  'app_state',
  'silence',
];

/** Validate parsed YAML and resolve it against the config's folder. */
export function resolveConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = {}): Config {
  if (raw === null || raw === undefined)
    throw new ConfigError(file, [
      'the file is empty: expected a mapping with at least `log:` and `limits:` (see `cost-watchdog init`)',
    ]);
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const copy = { ...(raw as Record<string, unknown>) };
    for (const key of OPTIONAL_SECTIONS) if (copy[key] === null) delete copy[key];
    raw = copy;
  }
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(file, problemsOf(result.error));
  return fromRaw(result.data, file, env);
}

/**
 * The state folder: the config's state_dir; else, under systemd with StateDirectory=, the folder
 * it made ($STATE_DIRECTORY, normally /var/lib/cost-watchdog); else .cost-watchdog beside the config.
 */
function stateDirOf(
  raw: RawConfig,
  abs: (p: string) => string,
  env: NodeJS.ProcessEnv,
): { dir: string; from: Config['stateDirFrom'] } {
  if (raw.state_dir !== undefined) return { dir: abs(raw.state_dir), from: 'config' };
  const fromSystemd = (env.STATE_DIRECTORY ?? '').split(':')[0] ?? '';
  if (fromSystemd !== '' && path.isAbsolute(fromSystemd)) return { dir: fromSystemd, from: 'systemd' };
  return { dir: abs(DEFAULT_STATE_DIR), from: 'default' };
}

function fromRaw(raw: RawConfig, file: string, env: NodeJS.ProcessEnv): Config {
  const dir = path.dirname(file);
  const abs = (p: string): string => path.resolve(dir, p);
  const windows: WindowSpec[] = Object.entries(raw.limits).map(([name, limits]) => ({
    name,
    seconds: name === 'daily' ? null : (parseDuration(name) as number) / 1000,
    limits: { warn: limits.warn, emergency: limits.emergency, kill: limits.kill },
  }));
  // The contract's two windows are always reported, with or without limits.
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
  // The app's own figure per window: the Cost Control tracker's names unless the config says.
  const appWindows: Record<string, string> = {};
  if (raw.app_state.windows !== undefined) {
    for (const [name, key] of Object.entries(raw.app_state.windows)) {
      if (!windows.some((w) => w.name === name))
        problems.push(
          `app_state.windows.${name}: not a configured window (expected one of: ` +
            `${windows.map((w) => w.name).join(', ')})`,
        );
      else appWindows[name] = key;
    }
  } else {
    const defaults: Record<number, string> = { 300: 'cost_5min', 900: 'cost_15min', 3600: 'cost_1hour' };
    for (const window of windows) {
      const key = window.seconds === null ? 'cost_daily' : defaults[window.seconds];
      if (key !== undefined) appWindows[window.name] = key;
    }
  }
  const burn = raw.burn_rate;
  if (
    burn !== null &&
    typeof burn === 'object' &&
    (parseDuration(burn.short) as number) >= (parseDuration(burn.long) as number)
  ) {
    problems.push(`burn_rate.short: ${burn.short} is not shorter than burn_rate.long (${burn.long})`);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  const fields: Partial<Record<FieldName, string[]>> = {};
  for (const [field, names] of Object.entries(raw.fields ?? {})) {
    if (names !== undefined) fields[field as FieldName] = typeof names === 'string' ? [names] : [...names];
  }
  const target = raw.target;
  const state = stateDirOf(raw, abs, env);
  return {
    file,
    log: abs(raw.log),
    stateFile: raw.state_file === undefined ? null : abs(raw.state_file),
    flagFile: abs(raw.flag_file),
    stateDir: state.dir,
    stateDirFrom: state.from,
    timezone: raw.timezone,
    windows,
    target:
      target === undefined
        ? null
        : {
            pidFile: target.pid_file === undefined ? null : abs(target.pid_file),
            processName: target.process_name ?? null,
            cmdline: target.cmdline ?? null,
            graceMs: parseDuration(target.grace) as number,
            graceSpendUsd: target.grace_spend,
            stopCommand: target.stop_command ?? null,
            stopTimeoutMs: parseDuration(target.stop_timeout) as number,
          },
    alerts: { reminderMs: parseDuration(raw.alerts.reminder) as number },
    cost: {
      policy: raw.cost.policy,
      prices: Object.fromEntries(
        Object.entries(raw.cost.prices ?? {}).map(([model, p]) => [
          model,
          { input: p.input, output: p.output, cached: p.cached ?? null },
        ]),
      ),
      unpricedPerMillion: raw.cost.unpriced_per_million_tokens,
      maxLineUsd: raw.cost.max_line_usd,
    },
    appState: {
      windows: appWindows,
      updatedAt: raw.app_state.updated_at,
      emergency:
        raw.app_state.emergency === undefined ? ['emergency_mode', 'emergency'] : [raw.app_state.emergency],
      toleranceUsd: raw.app_state.tolerance_usd,
      tolerancePercent: raw.app_state.tolerance_percent,
      staleAfterMs: parseDuration(raw.app_state.stale_after) as number,
    },
    retryStorm:
      raw.retry_storm !== null && typeof raw.retry_storm === 'object'
        ? {
            key: raw.retry_storm.key,
            count: raw.retry_storm.count,
            windowMs: parseDuration(raw.retry_storm.window) as number,
            level: raw.retry_storm.level,
          }
        : null,
    burnRate:
      raw.burn_rate !== null && typeof raw.burn_rate === 'object'
        ? {
            factor: raw.burn_rate.factor,
            shortMs: parseDuration(raw.burn_rate.short) as number,
            longMs: parseDuration(raw.burn_rate.long) as number,
          }
        : null,
    silenceAfterMs:
      typeof raw.silence.after === 'string' ? (parseDuration(raw.silence.after) as number) : null,
    slack: {
      webhookUrlEnv: raw.slack.webhook_url_env,
      webhookUrlFile: raw.slack.webhook_url_file === undefined ? null : abs(raw.slack.webhook_url_file),
    },
    heartbeat: {
      maxAgeMs: parseDuration(raw.heartbeat.max_age) as number,
      pingUrl: raw.heartbeat.ping_url ?? null,
    },
    watch: { schedule: raw.watch.schedule.trim().replace(/\s+/g, ' ') },
    fields,
  };
}

/** Which config file to use: `-c`, then $COST_WATCHDOG_CONFIG, then ./watchdog.yaml. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen =
    option ??
    (env[CONFIG_ENV] !== undefined && env[CONFIG_ENV] !== '' ? env[CONFIG_ENV] : DEFAULT_CONFIG_FILE);
  return path.resolve(cwd, chosen);
}

/** Read, parse and validate a config file. Every failure is a ConfigError (exit 78). */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      checkSafe(file, fstatSync(fd));
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(file, [
        `no such file (write a starter one with \`cost-watchdog init -c ${file}\`, or point -c / ` +
          `${CONFIG_ENV} at yours)`,
      ]);
    if (code === 'EISDIR') throw new ConfigError(file, ['is a folder, expected a YAML file']);
    throw new ConfigError(file, [`cannot read: ${(error as Error).message}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        const message = (error.message.split('\n')[0] ?? error.message).replace(
          / at line \d+, column \d+:?$/,
          '',
        );
        return pos
          ? `line ${pos.line}, column ${pos.col}: not valid YAML: ${message}`
          : `not valid YAML: ${message}`;
      }),
    );
  }
  const config = resolveConfig(doc.toJS(), file, env);
  // A secret file is checked whenever the config names it (also while the environment variable
  // is set, which takes precedence): held like a key, it must be usable when it is needed.
  const webhookFile = config.slack.webhookUrlFile;
  if (webhookFile !== null) {
    const source = webhookSource(
      { slack: { webhookUrlEnv: config.slack.webhookUrlEnv, webhookUrlFile: webhookFile } },
      {},
    );
    if (source.kind === 'broken')
      throw new ConfigError(file, [`slack.webhook_url_file: ${webhookFile} ${source.problem}`]);
  }
  return config;
}

/** Refuse a config file that someone other than root or us could have written (exit 78). */
function checkSafe(file: string, st: { mode: number; uid: number; isDirectory(): boolean }): void {
  if (st.isDirectory()) throw new ConfigError(file, ['is a folder, expected a YAML file']);
  const euid = process.geteuid?.();
  if (euid === undefined) return; // no POSIX owners (Windows)
  const problem = unsafeFile({ mode: st.mode, uid: st.uid, isDirectory: false }, euid, file);
  if (problem !== null) throw new ConfigError(file, [`refusing a config file ${problem}`]);
  const folder = path.dirname(file);
  try {
    const dirStat = statSync(folder);
    const folderProblem = unsafeFolder({ mode: dirStat.mode, uid: dirStat.uid, isDirectory: true }, folder);
    if (folderProblem !== null) throw new ConfigError(file, [`refusing a config file that ${folderProblem}`]);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
  }
}

/** The longest rolling window in seconds (the ledger keeps spend this far back). */
export function horizonSeconds(config: Config): number {
  let longest = 900; // always keep the contract's 15 minutes, even if unset
  for (const window of config.windows)
    if (window.seconds !== null && window.seconds > longest) longest = window.seconds;
  // Burn-rate windows and the retry-storm window are rolling sums too.
  if (config.burnRate !== null) longest = Math.max(longest, Math.ceil(config.burnRate.longMs / 1000));
  if (config.retryStorm !== null) longest = Math.max(longest, Math.ceil(config.retryStorm.windowMs / 1000));
  return longest;
}
