// The Prometheus exposition of one check (text format 0.0.4), built with prom-client on a
// Registry of its own made for each render: nothing global, no default process metrics (a `run`
// lives a second; node_exporter and systemd already watch the process). Figures in, text out.
import type { Counter as CounterType, Gauge as GaugeType, Registry as RegistryType } from 'prom-client';
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Registry from 'prom-client/lib/registry.js';
import { type Level, type Limits, levelRank } from '../core/levels.js';
import type { Counters } from './counters.js';

/** The Content-Type of the text format, for /metrics. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

export interface WindowFigure {
  name: string;
  spendUsd: number;
  level: Level;
}

export interface MetricsFigures {
  version: string;
  /** The config's windows, as this check found them, with their limits. */
  windows: (WindowFigure & { limits: Limits })[];
  /** With limits.balance (its window is among `windows`, named `balance`): the balance and what is left. */
  balance?: { balanceUsd: number; leftUsd: number; runsOutAtMs: number | null } | null;
  /** The emergency flag is in force (written by this check, or there already). */
  emergencyActive: boolean;
  lastCheck: { atMs: number; durationMs: number; ok: boolean };
  counters: Counters;
  /** Null when no scope is configured. */
  scopes: {
    limits: { scope: string; window: string; limits: Limits }[];
    /** The instances `status` lists; `key` is `agent=research`, "" for a scope without each. */
    instances: { scope: string; key: string; windows: WindowFigure[] }[];
  } | null;
  /** Null when no fleet is configured; `windows` is empty when its Redis could not be read. */
  fleet: {
    reachable: boolean;
    windows: WindowFigure[];
    limits: { window: string; limits: Limits }[];
  } | null;
  /** Null without `reconcile`: per provider, its last good read against the logs. */
  reconcile:
    | {
        provider: string;
        type: string;
        /** Null before the first good read. */
        lastMinuteMs: number | null;
        providerUsd: number;
        loggedUsd: number;
        unloggedUsd: number;
        lagSeconds: number | null;
        level: Level;
        /** The last read succeeded. */
        up: boolean;
      }[]
    | null;
}

const LIMIT_LEVELS = ['warn', 'emergency', 'kill'] as const;

function gauge(registry: RegistryType, name: string, help: string, labelNames: string[] = []): GaugeType {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function counter(registry: RegistryType, name: string, help: string, labelNames: string[] = []): CounterType {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function setLimits(g: GaugeType, labels: Record<string, string>, limits: Limits): void {
  for (const level of LIMIT_LEVELS) {
    const usd = limits[level];
    if (usd !== undefined) g.set({ ...labels, level }, usd);
  }
}

const LEVEL_HELP = '(0 ok, 1 warn, 2 emergency, 3 kill)';

/** The exposition text of these figures. */
export async function renderMetrics(f: MetricsFigures): Promise<string> {
  const r = new Registry();
  const spend = gauge(r, 'cost_watchdog_spend_usd', 'Spend in the window, USD, recomputed from the log', [
    'window',
  ]);
  const limit = gauge(r, 'cost_watchdog_limit_usd', 'A limit of the window, USD, as configured', [
    'window',
    'level',
  ]);
  const level = gauge(r, 'cost_watchdog_level', `Level the window's spend has reached ${LEVEL_HELP}`, [
    'window',
  ]);
  for (const w of f.windows) {
    spend.set({ window: w.name }, w.spendUsd);
    setLimits(limit, { window: w.name }, w.limits);
    level.set({ window: w.name }, levelRank(w.level));
  }
  if (f.balance != null) {
    gauge(r, 'cost_watchdog_balance_usd', 'The prepaid balance (limits.balance.usd plus top-ups), USD').set(
      f.balance.balanceUsd,
    );
    gauge(
      r,
      'cost_watchdog_balance_left_usd',
      'What is left of the prepaid balance, USD (negative once overspent)',
    ).set(f.balance.leftUsd);
    // Only while it is burning: no metric at all, not a time of 0 (a gauge without labels that is
    // declared is given one), when it is not.
    if (f.balance.runsOutAtMs !== null)
      gauge(
        r,
        'cost_watchdog_balance_runs_out_timestamp_seconds',
        'When the prepaid balance runs out at the burn rate of the last 15 minutes, seconds since ' +
          'the Unix epoch',
      ).set(f.balance.runsOutAtMs / 1000);
  }
  gauge(r, 'cost_watchdog_emergency_active', '1 while the emergency flag file is in force, else 0').set(
    f.emergencyActive ? 1 : 0,
  );
  const lines = counter(
    r,
    'cost_watchdog_lines_total',
    'Log lines read: record (counted), malformed (not counted), future (records dated ahead, counted as now)',
    ['kind'],
  );
  lines.inc({ kind: 'record' }, f.counters.lines.record);
  lines.inc({ kind: 'malformed' }, f.counters.lines.malformed);
  lines.inc({ kind: 'future' }, f.counters.lines.future);
  counter(r, 'cost_watchdog_kills_total', 'Kills by checks that signalled or stopped a target').inc(
    f.counters.kills,
  );
  const alerts = counter(
    r,
    'cost_watchdog_alerts_total',
    'Alerts per channel: sent, failed (an attempt that did not get through), dropped (given up)',
    ['channel', 'result'],
  );
  for (const a of f.counters.alerts) alerts.inc({ channel: a.channel, result: a.result }, a.n);
  const checks = counter(r, 'cost_watchdog_checks_total', 'Checks completed, by result (ok or failed)', [
    'result',
  ]);
  checks.inc({ result: 'ok' }, f.counters.checks.ok);
  checks.inc({ result: 'failed' }, f.counters.checks.failed);
  gauge(
    r,
    'cost_watchdog_last_check_timestamp_seconds',
    'When the last check completed, seconds since the Unix epoch',
  ).set(f.lastCheck.atMs / 1000);
  gauge(r, 'cost_watchdog_check_duration_seconds', 'How long the last check took, seconds').set(
    f.lastCheck.durationMs / 1000,
  );
  gauge(
    r,
    'cost_watchdog_last_check_success',
    '1 when the last check read the log and did all it had to (flag, kill, state), else 0',
  ).set(f.lastCheck.ok ? 1 : 0);
  gauge(r, 'cost_watchdog_build_info', 'The version of cost-watchdog that wrote these metrics (always 1)', [
    'version',
  ]).set({ version: f.version }, 1);
  if (f.scopes !== null) {
    const scopeSpend = gauge(
      r,
      'cost_watchdog_scope_spend_usd',
      'Spend of a scoped budget in the window, USD (the instances status lists)',
      ['scope', 'key', 'window'],
    );
    const scopeLevel = gauge(
      r,
      'cost_watchdog_scope_level',
      `Level a scoped budget's spend has reached in the window ${LEVEL_HELP}`,
      ['scope', 'key', 'window'],
    );
    const scopeLimit = gauge(r, 'cost_watchdog_scope_limit_usd', 'A limit of a scope, USD, as configured', [
      'scope',
      'window',
      'level',
    ]);
    for (const s of f.scopes.limits) setLimits(scopeLimit, { scope: s.scope, window: s.window }, s.limits);
    for (const i of f.scopes.instances)
      for (const w of i.windows) {
        const labels = { scope: i.scope, key: i.key, window: w.name };
        scopeSpend.set(labels, w.spendUsd);
        scopeLevel.set(labels, levelRank(w.level));
      }
  }
  if (f.fleet !== null) {
    gauge(
      r,
      'cost_watchdog_fleet_reachable',
      "1 when the last check could read the fleet's Redis, else 0",
    ).set(f.fleet.reachable ? 1 : 0);
    const fleetLimit = gauge(r, 'cost_watchdog_fleet_limit_usd', 'A limit of the fleet, USD, as configured', [
      'window',
      'level',
    ]);
    for (const l of f.fleet.limits) setLimits(fleetLimit, { window: l.window }, l.limits);
    if (f.fleet.reachable) {
      const fleetSpend = gauge(
        r,
        'cost_watchdog_fleet_spend_usd',
        "The fleet's spend in the window, USD, summed over its hosts in Redis",
        ['window'],
      );
      const fleetLevel = gauge(
        r,
        'cost_watchdog_fleet_level',
        `Level the fleet's spend has reached ${LEVEL_HELP}`,
        ['window'],
      );
      for (const w of f.fleet.windows) {
        fleetSpend.set({ window: w.name }, w.spendUsd);
        fleetLevel.set({ window: w.name }, levelRank(w.level));
      }
    }
  }
  if (f.reconcile !== null) {
    const labels = ['provider', 'type'];
    const up = gauge(
      r,
      'cost_watchdog_reconcile_up',
      "1 when the provider's last usage read succeeded, else 0",
      labels,
    );
    const provider = gauge(
      r,
      'cost_watchdog_reconcile_provider_usd',
      "The provider's usage over the reconcile window, priced with the price table, USD",
      labels,
    );
    const logged = gauge(
      r,
      'cost_watchdog_reconcile_logged_usd',
      "The logs' spend over the same minutes, USD",
      labels,
    );
    const unlogged = gauge(
      r,
      'cost_watchdog_reconcile_unlogged_usd',
      'Provider spend the logs do not show over the window, USD',
      labels,
    );
    const lag = gauge(
      r,
      'cost_watchdog_reconcile_lag_seconds',
      'Seconds from the end of the last reconciled minute to the check',
      labels,
    );
    const last = gauge(
      r,
      'cost_watchdog_reconcile_last_minute_timestamp_seconds',
      'The start of the last reconciled minute, seconds since the Unix epoch',
      labels,
    );
    const level = gauge(
      r,
      'cost_watchdog_reconcile_level',
      `Level unlogged spend has reached ${LEVEL_HELP}`,
      labels,
    );
    for (const p of f.reconcile) {
      const l = { provider: p.provider, type: p.type };
      up.set(l, p.up ? 1 : 0);
      level.set(l, levelRank(p.level));
      if (p.lastMinuteMs === null) continue;
      provider.set(l, p.providerUsd);
      logged.set(l, p.loggedUsd);
      unlogged.set(l, p.unloggedUsd);
      if (p.lagSeconds !== null) lag.set(l, p.lagSeconds);
      last.set(l, p.lastMinuteMs / 1000);
    }
  }
  return r.metrics();
}
