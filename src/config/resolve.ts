// Parsed YAML -> Config: validated against the schema, defaults filled in, paths made absolute
// against the config file's folder, durations in ms. The checks that span sections (a figure for a
// window that is not configured) are here; each section's own resolving is beside its schema.
import { hostname } from 'node:os';
import path from 'node:path';
import type { WindowSpec } from '../core/levels.js';
import { ConfigError } from '../errors.js';
import { problemsOf } from './messages.js';
import { configSchema, type RawConfig } from './schema.js';
import {
  type AlertsConfig,
  resolveAlerts,
  resolveSilenceAfterMs,
  resolveSlack,
  type SlackConfig,
} from './sections/alerts.js';
import { type AppStateConfig, resolveAppState } from './sections/app-state.js';
import { type CostConfig, resolveCost } from './sections/cost.js';
import { type FieldsConfig, resolveFields } from './sections/fields.js';
import { type FleetConfig, resolveFleet } from './sections/fleet.js';
import { type HeartbeatConfig, resolveHeartbeat } from './sections/heartbeat.js';
import { type BalanceSpec, resolveBalance, toUsd } from './sections/balance.js';
import { resolveWindows, windowsOf } from './sections/limits.js';
import {
  type BurnRateConfig,
  type RetryStormConfig,
  resolveBurnRate,
  resolveRetryStorm,
  resolveShapeStorm,
  type ShapeStormConfig,
} from './sections/storms.js';
import { type ReconcileConfig, resolveReconcile } from './sections/reconcile.js';
import { resolveScopes, type ScopeConfig } from './sections/scopes.js';
import { expandHome, resolveSources, type SourceSpec } from './sections/sources.js';
import { type HttpConfig, type MetricsConfig, resolveHttp, resolveMetrics } from './sections/surfaces.js';
import { resolveTarget, type TargetConfig } from './sections/target.js';
import { resolveTopLevel, type TopLevelConfig } from './sections/top-level.js';
import { resolveWatch, type WatchConfig } from './sections/watch.js';

export interface Config extends TopLevelConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Where the cost lines come from: each a file or a glob, in a format (sections/sources.ts). */
  sources: SourceSpec[];
  /** The first source's path or glob (for messages; a one-log config's log). */
  log: string;
  /** Rolling windows shortest first, then `daily`. */
  windows: WindowSpec[];
  /** `limits.balance`: a prepaid balance (null: none). Its amounts are USD. */
  balance: BalanceSpec | null;
  target: TargetConfig | null;
  alerts: AlertsConfig;
  cost: CostConfig;
  /** How the app's state file is read and compared (used when stateFile is set). */
  appState: AppStateConfig;
  retryStorm: RetryStormConfig | null;
  /** Re-runs without ids: the same call shape billed again and again (null: off). */
  shapeStorm: ShapeStormConfig | null;
  burnRate: BurnRateConfig | null;
  /** Alert when the target runs but the log has not grown for this long; null: off. */
  silenceAfterMs: number | null;
  slack: SlackConfig;
  heartbeat: HeartbeatConfig;
  /** `watch`: the cron schedule of its timed checks (besides one on every change). */
  watch: WatchConfig;
  fields: FieldsConfig;
  /** Scoped budgets (per agent, model, provider, task, source), in the config's order. */
  scopes: ScopeConfig[];
  /** One budget over many hosts, on Redis (src/fleet/); null when not configured. */
  fleet: FleetConfig | null;
  /** The node_exporter textfile (src/metrics/). */
  metrics: MetricsConfig;
  /** `watch`'s HTTP server: /metrics, the dashboard, /status.json (src/http/). */
  http: HttpConfig;
  /** The providers' usage APIs, compared with the logs (src/reconcile/); null when not configured. */
  reconcile: ReconcileConfig | null;
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
  'scopes',
  'fleet',
  'metrics',
  'http',
  'storms',
  'reconcile',
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
  const result = configSchema.safeParse(raw, { reportInput: true, jitless: true });
  if (!result.success) throw new ConfigError(file, problemsOf(result.error, configSchema));
  return fromRaw(result.data, file, env);
}

function fromRaw(raw: RawConfig, file: string, env: NodeJS.ProcessEnv): Config {
  const dir = path.dirname(file);
  const abs = (p: string): string => path.resolve(dir, expandHome(p, env));
  const { cost, problems: costProblems } = costOf(raw);
  const rate = cost.limitsCurrency.rate;
  const { windows, problems: windowProblems } = resolveWindows(windowsOf(raw.limits));
  if (rate !== 1) for (const window of windows) window.limits = limitsToUsd(window.limits, rate);
  const { appState, problems: appStateProblems } = resolveAppState(raw.app_state, windows);
  const { burnRate, problems: burnRateProblems } = resolveBurnRate(raw.burn_rate);
  const fields = resolveFields(raw.fields);
  const { sources, problems: sourceProblems } = resolveSources(raw, fields, dir, env);
  const { scopes, problems: scopeProblems } = resolveScopes(raw.scopes, abs, dir, env);
  const { fleet, problems: fleetProblems } = resolveFleet(raw.fleet, abs, hostname);
  if (rate !== 1) {
    for (const scope of scopes) for (const w of scope.windows) w.limits = limitsToUsd(w.limits, rate);
    for (const w of fleet?.windows ?? []) w.limits = limitsToUsd(w.limits, rate);
  }
  const { alerts, problems: alertProblems } = resolveAlerts(raw.alerts, abs);
  const { http, problems: httpProblems } = resolveHttp(raw.http);
  const { reconcile, problems: reconcileProblems } = resolveReconcile(raw.reconcile, abs);
  const problems = [
    ...costProblems,
    ...sourceProblems,
    ...windowProblems,
    ...appStateProblems,
    ...burnRateProblems,
    ...scopeProblems,
    ...fleetProblems,
    ...alertProblems,
    ...httpProblems,
    ...reconcileProblems,
  ];
  if (problems.length > 0) throw new ConfigError(file, problems);
  return {
    file,
    sources,
    log: sources[0]!.pattern,
    ...resolveTopLevel(raw, abs, env),
    windows,
    balance: resolveBalance(raw.limits.balance, rate),
    target: resolveTarget(raw.target, abs),
    alerts,
    cost,
    appState,
    retryStorm: resolveRetryStorm(raw.retry_storm),
    shapeStorm: resolveShapeStorm(raw.storms, resolveRetryStorm(raw.retry_storm)),
    burnRate,
    silenceAfterMs: resolveSilenceAfterMs(raw.silence),
    slack: resolveSlack(raw.slack, abs),
    heartbeat: resolveHeartbeat(raw.heartbeat),
    watch: resolveWatch(raw.watch),
    fields,
    scopes,
    fleet,
    metrics: resolveMetrics(raw.metrics, abs),
    http,
    reconcile,
  };
}

/**
 * Keys whose schema is in place but that no check acts on yet (issue 17, under way): refused, so
 * that a config never believes it is protected by them.
 */
/** `cost`, with the top-level `limits_currency` (the same key as cost.limits_currency). */
function costOf(raw: RawConfig): { cost: CostConfig; problems: string[] } {
  const top = raw.limits_currency;
  const inCost = raw.cost.limits_currency;
  if (top !== undefined && inCost !== undefined && top !== inCost)
    return {
      cost: resolveCost(raw.cost),
      problems: [
        `limits_currency: ${top}, but cost.limits_currency: ${inCost}: write the limits' currency once`,
      ],
    };
  if (top !== undefined && top !== 'USD' && raw.cost.currency_rates?.[top] === undefined)
    return {
      cost: resolveCost(raw.cost),
      problems: [`limits_currency: ${top} has no rate: add it to cost.currency_rates (USD per unit)`],
    };
  return { cost: resolveCost({ ...raw.cost, limits_currency: inCost ?? top }), problems: [] };
}

/** Limits written in the limits' currency, in USD (each rounded to the micro-dollar). */
function limitsToUsd(limits: WindowSpec['limits'], rate: number): WindowSpec['limits'] {
  const to = (v: number | undefined): number | undefined => (v === undefined ? undefined : toUsd(v, rate));
  return { warn: to(limits.warn), emergency: to(limits.emergency), kill: to(limits.kill) };
}

/** The longest rolling window in seconds (the ledger keeps spend this far back). */
export function horizonSeconds(config: Config): number {
  let longest = 900; // always keep the contract's 15 minutes, even if unset
  for (const window of config.windows)
    if (window.seconds !== null && window.seconds > longest) longest = window.seconds;
  // Burn-rate windows and the retry-storm window are rolling sums too.
  if (config.burnRate !== null) longest = Math.max(longest, Math.ceil(config.burnRate.longMs / 1000));
  if (config.retryStorm !== null) longest = Math.max(longest, Math.ceil(config.retryStorm.windowMs / 1000));
  // The fleet's rolling windows are pushed to Redis from this ledger's seconds.
  for (const window of config.fleet?.windows ?? [])
    if (window.seconds !== null && window.seconds > longest) longest = window.seconds;
  if (config.shapeStorm !== null) longest = Math.max(longest, Math.ceil(config.shapeStorm.windowMs / 1000));
  // Reconciling compares the logs' spend per minute and model over its window, with a minute's
  // slack on either side (src/reconcile/compare.ts).
  if (config.reconcile !== null)
    longest = Math.max(longest, Math.ceil(config.reconcile.windowMs / 1000) + 180);
  return longest;
}
