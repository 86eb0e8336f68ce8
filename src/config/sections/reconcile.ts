// `reconcile` (issue 16): a second witness. The providers' own usage APIs (OpenAI's organization
// usage, Anthropic's usage report) are read every `every`, priced with the same price table, and
// compared with the logs' spend for the same closed minutes (src/reconcile/). Opt-in: the only
// outside network the tool uses besides alert channels and Redis. Admin keys are never in this
// file: each comes from an environment variable or a file held like a key.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import { describe } from '../messages.js';
import { duration, offAsNull, relativePath } from '../primitives.js';

export const PROVIDER_TYPES = ['openai', 'anthropic'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const DEFAULT_BASE_URL: Record<ProviderType, string> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
};
export const DEFAULT_KEY_ENV: Record<ProviderType, string> = {
  openai: 'OPENAI_ADMIN_KEY',
  anthropic: 'ANTHROPIC_ADMIN_KEY',
};

const MIN_EVERY_MS = 10_000;
const MIN_WINDOW_MS = 2 * 60_000;
/** The attribution keeps spend per minute and model this far back at most (the longest rolling window). */
export const MAX_RECONCILE_WINDOW_MS = 6 * 3_600_000;

const bounded = (min: number, max: number, text: string) =>
  duration.refine(
    (value) => {
      const ms = parseDuration(value) as number;
      return ms >= min && ms <= max;
    },
    { error: (issue) => `expected ${text}, got ${describe(issue.input)}` },
  );

const ids = (what: string) =>
  z
    .array(z.string({ error: `expected ${what} ids (strings)` }).min(1), {
      error: `expected a list of ${what} ids, like [proj_abc]`,
    })
    .optional();

const envName = z.string({ error: 'expected the name of an environment variable' }).min(1);
const providerName = z.string({ error: 'expected a name' }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, {
  error: 'expected a short name of letters, digits, "_", "." or "-" (like "openai-prod")',
});
const baseUrl = z
  .string({ error: 'expected an http(s) URL like "https://api.openai.com"' })
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i, {
    error: (issue) => `expected an http(s) URL like "https://api.openai.com", got ${describe(issue.input)}`,
  })
  .refine((url) => !/\/v1\/?$/i.test(url), {
    error: 'expected the address without "/v1" (it is added to every path), like "https://api.openai.com"',
  });

const common = {
  name: providerName.optional(),
  admin_key_env: envName.optional(),
  admin_key_file: relativePath.optional(),
  base_url: baseUrl.optional(),
  api_key_ids: ids('API key'),
  models: ids('model'),
  timeout: bounded(1000, 60_000, 'a timeout of "1s" to "60s"').default('10s'),
};

const openaiProvider = z.strictObject({
  type: z.literal('openai'),
  ...common,
  project_ids: ids('project'),
});

const anthropicProvider = z.strictObject({
  type: z.literal('anthropic'),
  ...common,
  workspace_ids: ids('workspace'),
});

const providerSchema = z.discriminatedUnion('type', [openaiProvider, anthropicProvider], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'expected `type: openai` or `type: anthropic`' : undefined,
});

const LEVEL_ERROR = (issue: { input: unknown }) =>
  `expected one of warn, emergency, kill, got ${describe(issue.input)}`;

export const reconcileSchema = z
  .strictObject({
    every: bounded(MIN_EVERY_MS, 86_400_000, 'a duration of "10s" to "24h"').default('5m'),
    window: bounded(MIN_WINDOW_MS, MAX_RECONCILE_WINDOW_MS, 'a duration of "2m" to "6h"').default('15m'),
    providers: z
      .array(providerSchema, { error: 'expected a list of providers, like [{ type: openai }]' })
      .min(1, { error: 'expected at least one provider, like `- { type: openai }`' }),
    tolerance: z
      .strictObject({
        usd: z
          .number({ error: 'expected a number (USD)' })
          .min(0, { error: 'expected a number >= 0 (USD)' })
          .default(1),
        ratio: z
          .number({ error: 'expected a share like 0.1 (10 %)' })
          .min(0, { error: 'expected a share from 0 to 1, like 0.1' })
          .max(1, { error: 'expected a share from 0 to 1, like 0.1' })
          .default(0.1),
      })
      .default({ usd: 1, ratio: 0.1 }),
    unlogged_level: z.enum(['warn', 'emergency', 'kill'], { error: LEVEL_ERROR }).default('emergency'),
    /** The daily cross-check of the price table against the providers' cost endpoints. */
    daily_check: z.preprocess(
      offAsNull,
      z
        .strictObject({
          ratio: z
            .number({ error: 'expected a share like 0.1 (10 %)' })
            .gt(0, { error: 'expected a share above 0, like 0.1' })
            .default(0.1),
          min_usd: z
            .number({ error: 'expected a number (USD)' })
            .min(0, { error: 'expected a number >= 0 (USD)' })
            .default(1),
          after: z
            .string({ error: 'expected a time of day like "02:00" (UTC)' })
            .regex(/^([01]\d|2[0-3]):[0-5]\d$/, {
              error: 'expected a time of day like "02:00" (24-hour HH:MM, UTC)',
            })
            .default('02:00'),
        })
        .nullable()
        .default({ ratio: 0.1, min_usd: 1, after: '02:00' }),
    ),
  })
  .nullable()
  .default(null);

export interface ProviderConfig {
  type: ProviderType;
  /** Its name in status, alerts, metrics and the state file (default: the type; openai-2, ...). */
  name: string;
  keyEnv: string;
  keyFile: string | null;
  /** Without /v1 and without a trailing slash. */
  baseUrl: string;
  /** OpenAI's project_ids or Anthropic's workspace_ids: the usage asked for is restricted to them. */
  scopeIds: string[];
  apiKeyIds: string[];
  models: string[];
  timeoutMs: number;
}

export interface ReconcileConfig {
  everyMs: number;
  windowMs: number;
  providers: ProviderConfig[];
  tolerance: { usd: number; ratio: number };
  unloggedLevel: 'warn' | 'emergency' | 'kill';
  /** null: off. `afterMs`: yesterday is checked from this long after midnight UTC. */
  dailyCheck: { ratio: number; minUsd: number; afterMs: number } | null;
}

export function resolveReconcile(
  raw: z.output<typeof reconcileSchema>,
  abs: (p: string) => string,
): { reconcile: ReconcileConfig | null; problems: string[] } {
  if (raw === null) return { reconcile: null, problems: [] };
  const problems: string[] = [];
  const providers: ProviderConfig[] = [];
  const seen = new Map<string, number>();
  raw.providers.forEach((p, i) => {
    const n = (seen.get(p.type) ?? 0) + 1;
    seen.set(p.type, n);
    const name = p.name ?? (n === 1 ? p.type : `${p.type}-${n}`);
    if (providers.some((x) => x.name === name))
      problems.push(
        `reconcile.providers[${i}].name: "${name}" is used twice: give each provider its own name`,
      );
    providers.push({
      type: p.type,
      name,
      keyEnv: p.admin_key_env ?? (n === 1 ? DEFAULT_KEY_ENV[p.type] : `${DEFAULT_KEY_ENV[p.type]}_${n}`),
      keyFile: p.admin_key_file === undefined ? null : abs(p.admin_key_file),
      baseUrl: (p.base_url ?? DEFAULT_BASE_URL[p.type]).replace(/\/+$/, ''),
      scopeIds: (p.type === 'openai' ? p.project_ids : p.workspace_ids) ?? [],
      apiKeyIds: p.api_key_ids ?? [],
      models: p.models ?? [],
      timeoutMs: parseDuration(p.timeout) as number,
    });
  });
  return {
    reconcile: {
      everyMs: parseDuration(raw.every) as number,
      windowMs: parseDuration(raw.window) as number,
      providers,
      tolerance: { usd: raw.tolerance.usd, ratio: raw.tolerance.ratio },
      unloggedLevel: raw.unlogged_level,
      dailyCheck:
        raw.daily_check === null
          ? null
          : {
              ratio: raw.daily_check.ratio,
              minUsd: raw.daily_check.min_usd,
              afterMs:
                (Number(raw.daily_check.after.slice(0, 2)) * 60 + Number(raw.daily_check.after.slice(3))) *
                60_000,
            },
    },
    problems,
  };
}
