// The JSON of `status --json`: its one typed shape (DESIGN.md's `status --json` is the contract),
// built here from what `status` read, and imported as types by the tests that parse it.
import { type Shape, shapeOfName, shapeWords } from '../../core/storms/shapes.js';
import type { Config } from '../../config/index.js';
import type { Top } from '../../core/attribution.js';
import { BALANCE_WINDOW, type BalanceStatus } from '../../core/balance.js';
import { DayCalendar } from '../../core/calendar.js';
import type { AlertState } from '../../core/decide.js';
import { type FindingKind, UNPRICED_RECENT_MS } from '../../core/findings/index.js';
import { heartbeatStale, highestLevel, type Level, type Limits, statusCode } from '../../core/levels.js';
import { dollarsOf, usd } from '../../core/money.js';
import type { SourceReport } from '../../sources/read.js';
import type { MalformedSample } from '../../core/scan.js';
import type { FlagRead } from '../../effects/flag.js';
import type { HeartbeatRead } from '../../effects/heartbeat.js';
import type { TargetFinding } from '../../effects/target.js';
import { round6 } from '../../check/figures.js';
import type { CheckResult, Observation } from '../../check/types.js';
import { priceTableProblem, priceTableVersion } from '../../price-table.js';
import { fleetLostText, fleetSignals, type StatusFleetJson } from './fleet-json.js';
import type { ReconcileEntry } from '../../reconcile/view.js';
import { VERDICT, type Verdict } from './plugin-line.js';

export type { Verdict };

export interface SpenderJson {
  name: string;
  spend_usd: number;
}

export interface StatusWindowJson {
  spend_usd: number;
  level: Level;
  limits: Limits;
  /** The calendar day's window: its date and zone. */
  date?: string;
  timezone?: string;
  /** A rolling window: its length. */
  seconds?: number;
  top_models: SpenderJson[];
  top_agents: SpenderJson[];
  /** By file of the sources (relative to the config's folder); empty for a config of one log. */
  top_sources: SpenderJson[];
  /** With state_file set: the app's own figure (null when it has none). */
  app_usd?: number | null;
}

export interface StatusEmergencyJson {
  active: boolean;
  file: string;
  /** The flag is in force but could not be read as the watchdog writes it. */
  problem?: string;
  /** Not known to be in force or absent: why. */
  error?: string;
  kill_switch: { since: string; by: string } | null;
  acknowledged: Record<string, Level>;
  /** The flag file's own content (reason, triggered_at, triggered_by, level, ...), when present. */
  [key: string]: unknown;
}

/** The prepaid balance (limits.balance): `windows.balance`. Amounts in USD. */
export interface StatusBalanceJson {
  spend_usd: number;
  level: Level;
  /** In USD, for the balance as it stands (shares of usd + top-ups; amounts moved up by the top-ups). */
  limits: Limits;
  /** The balance less the spend (negative once overspent). */
  left_usd: number;
  /** When it runs out at the burn rate of the last 15 minutes; null when not burning or already out. */
  runs_out_at: string | null;
  since: string;
  /** limits.balance.usd plus the top-ups counted. */
  balance_usd: number;
  top_ups_usd: number;
  burn_usd_per_hour: number;
  /** The log's first line, when it is after `since` (spend before it is not known); else null. */
  log_starts_at: string | null;
}

/** One scope instance: its key under `each` (`{agent: "research"}`; `{}` without each). */
export interface StatusScopeJson {
  name: string;
  key: Record<string, string>;
  level: Level;
  windows: Record<string, Omit<StatusWindowJson, 'top_models' | 'top_agents' | 'top_sources' | 'app_usd'>>;
  /** The scope's own flag file for this instance (absent: it uses the main flag). */
  flag?: { file: string; active: boolean };
}

/** An `each` scope: how many values it counts, and how many are not listed in `scopes`. */
export interface StatusScopeCountJson {
  name: string;
  each: string;
  values: number;
  more: number;
  /** More values than are kept by name: the rest are counted together as "(other)". */
  overflowed: boolean;
}

export interface StatusJson {
  status: Verdict;
  level: Level;
  /** The windows by name, and `balance` (StatusBalanceJson) with limits.balance. */
  windows: Record<string, StatusWindowJson | StatusBalanceJson>;
  emergency: StatusEmergencyJson;
  alerts: { pending: number; windows: Record<string, { level: Level; since: string }> };
  target: { configured: boolean; running: boolean; pids: number[]; notes?: string[] };
  heartbeat: { age_seconds: number | null; max_age_seconds: number; stale: boolean; problem?: string };
  last_run: { at: string; age_seconds: number | null; mode: string; ok: boolean | null } | null;
  malformed_lines: number;
  malformed_samples: MalformedSample[];
  /** Each file of the sources (path relative to the config's folder). */
  sources: SourceReport[];
  cost: {
    policy: Config['cost']['policy'];
    price_table: { package: string; version: string | null; error: string | null };
    unpriced_per_million_tokens: number;
    unpriced_models: {
      model: string;
      lines: number;
      tokens: number;
      spend_usd: number;
      counted_at_unpriced_rate: number;
      last_at: string | null;
    }[];
    zero_cost_lines: number;
    zero_cost_counted_usd: number;
  };
  retry_storms: {
    key: string;
    count: number;
    window_seconds: number;
    level: Level;
    storms: {
      id: string;
      count: number;
      spend_usd: number;
      first_at: string | null;
      last_at: string | null;
    }[];
    total: number;
    ids_not_followed: boolean;
  } | null;
  /**
   * Re-runs without ids (docs/cost-truth.md#re-runs-without-ids): call shapes of lines that carry no
   * request id nor fingerprint, billed `count` times in the window. Null when off.
   */
  shape_storms: {
    count: number;
    window_seconds: number;
    level: Level;
    storms: {
      shape: Shape;
      /** The shape in words, as alerts say it. */
      text: string;
      count: number;
      spend_usd: number;
      first_at: string | null;
      last_at: string | null;
    }[];
    total: number;
    shapes_not_followed: boolean;
  } | null;
  burn_rate: {
    factor: number;
    short: { seconds: number; spend_usd: number };
    long: { seconds: number; spend_usd: number };
    burning: boolean;
    daily_limit_reached_at: string | null;
  } | null;
  app: {
    file: string;
    status: 'ok' | 'missing' | 'unreadable';
    error: string | null;
    updated_at: string | null;
    age_seconds: number | null;
    emergency: boolean | null;
    windows: Record<string, { key: string; app_usd: number | null; watchdog_usd: number | null }>;
  } | null;
  warnings: { kind: FindingKind; key: string; text: string }[];
  future_lines: number;
  uncosted_lines: number;
  /** Lines of a format that are not a billed call (user turns, summaries, spans without usage). */
  skipped_lines: number;
  lines_counted: number;
  log: {
    path: string;
    size_bytes: number | null;
    newest_line_at: string | null;
    unread_since_last_run: number;
    error: string | null;
  };
  notes: string[];
  checked_at: string;
  /** Spend per minute over the last hour (the sparkline of `status`): from the minute that starts
   * at `from`, 60 minutes in dollars, oldest first, the last one the minute of checked_at so far. */
  spend_per_minute: { from: string; minutes: number[] };
  /** Scoped budgets: each scope without each; for each, the values above ok and the top by spend. */
  scopes: StatusScopeJson[];
  scope_counts: StatusScopeCountJson[];
  /** With `fleet:` configured: the fleet's windows, emergency and hosts, as its Redis says. */
  fleet?: StatusFleetJson;
  /**
   * With `reconcile:` configured: per provider, its priced usage against the logs' spend over the
   * window of closed minutes its last good read covered (src/reconcile/view.ts).
   */
  reconcile?: Record<string, ReconcileEntry>;
}

/** The minutes of the sparkline: the last hour, up to the minute of `nowMs`. */
export const SPARK_MINUTES = 60;

/** Ledger.perMinute over the last SPARK_MINUTES minutes, [minute start ms, µ$][]. */
export function lastHourPerMinute(result: CheckResult, nowMs: number): [number, number][] {
  return result.ledger.perMinute(nowMs - (SPARK_MINUTES - 1) * 60_000, nowMs);
}

function spendPerMinuteJson(result: CheckResult, nowMs: number): StatusJson['spend_per_minute'] {
  const minutes = lastHourPerMinute(result, nowMs);
  const from = minutes[0]?.[0] ?? Math.floor(nowMs / 60_000) * 60_000;
  return { from: new Date(from).toISOString(), minutes: minutes.map(([, micros]) => dollarsOf(micros)) };
}

/** What `status` prints with --json when it cannot tell (exit 3). */
export interface StatusErrorJson {
  status: 'UNKNOWN';
  error: string;
}

/** What `status` read, beside the check's figures. */
export interface StatusInput {
  config: Config;
  result: CheckResult;
  target: TargetFinding;
  seen: Observation;
  nowMs: number;
  flag: FlagRead;
  alerts: AlertState;
  heartbeat: HeartbeatRead;
  /** Per listed scope instance with a flag file of its own: that file and whether it is there. */
  scopeFlag?: (name: string, value: string | null) => { file: string; active: boolean } | null;
  /** With a fleet: what its Redis said (fleet-json.ts statusFleetJson). */
  fleet?: StatusFleetJson | null;
}

/** The scope instances `status` shows, and the counts of each `each` scope. */
export function scopesJson(input: Pick<StatusInput, 'config' | 'result' | 'nowMs' | 'scopeFlag'>): {
  scopes: StatusScopeJson[];
  counts: StatusScopeCountJson[];
} {
  const { config, result, nowMs } = input;
  const today = new DayCalendar(config.timezone).dayOf(nowMs).key;
  const scopes: StatusScopeJson[] = [];
  const counts: StatusScopeCountJson[] = [];
  for (const scope of config.scopes) {
    // Those above ok first, then by spend (their largest window).
    const most = (s: (typeof result.scopes)[number]) => Math.max(0, ...s.windows.map((w) => w.spend));
    const above = (s: (typeof result.scopes)[number]) => (s.windows.some((w) => w.level !== 'ok') ? 1 : 0);
    const listed = result.scopes
      .filter((s) => s.name === scope.name)
      .sort((a, b) => above(b) - above(a) || most(b) - most(a));
    if (scope.each !== null) {
      const values = result.scopeValues[scope.name] ?? 0;
      counts.push({
        name: scope.name,
        each: scope.each,
        values,
        more: Math.max(0, values - listed.length),
        overflowed: result.scopesOverflowed.includes(scope.name),
      });
    }
    for (const s of listed) {
      const flag = input.scopeFlag?.(s.name, s.value) ?? null;
      scopes.push({
        name: s.name,
        key: s.key,
        level: highestLevel(s.windows.map((w) => w.level)),
        windows: Object.fromEntries(
          s.windows.map((w) => [
            w.name,
            {
              spend_usd: round6(w.spend),
              level: w.level,
              limits: { ...w.limits },
              ...(w.seconds === null ? { date: today, timezone: config.timezone } : { seconds: w.seconds }),
            },
          ]),
        ),
        ...(flag !== null ? { flag } : {}),
      });
    }
  }
  return { scopes, counts };
}

/** A scope instance as a signal for the verdict and the plugin line (its highest window). */
export function scopeSignals(scopes: readonly StatusScopeJson[]): { level: Level; detail: string }[] {
  const out: { level: Level; detail: string }[] = [];
  for (const s of scopes) {
    const key = Object.entries(s.key)
      .map(([f, v]) => ` ${f}=${JSON.stringify(v)}`)
      .join('');
    const flagged = s.flag?.active === true;
    if (s.level === 'ok' && !flagged) continue;
    const worst = Object.entries(s.windows).find(([, w]) => w.level === s.level);
    const limit = worst?.[1].limits[s.level as 'warn' | 'emergency' | 'kill'];
    out.push({
      level: flagged && s.level !== 'kill' ? 'emergency' : s.level,
      detail:
        `scope ${s.name}${key}: ` +
        (worst === undefined || s.level === 'ok'
          ? 'its flag is set'
          : `${worst[0]} ${usd(worst[1].spend_usd)} >= ${s.level}` +
            `${limit === undefined ? '' : ` ${usd(limit)}`}`),
    });
  }
  return out;
}

function topJson(top: Top): SpenderJson[] {
  return top.map(([name, spend]) => ({ name, spend_usd: round6(spend) }));
}

function iso(ms: number | null): string | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export function balanceJson(b: BalanceStatus): StatusBalanceJson {
  return {
    spend_usd: round6(b.window.spend),
    level: b.window.level,
    limits: { ...b.window.limits },
    left_usd: round6(b.leftUsd),
    runs_out_at: iso(b.runsOutAtMs),
    since: new Date(b.sinceMs).toISOString(),
    balance_usd: round6(b.balanceUsd),
    top_ups_usd: round6(b.topUpsUsd),
    burn_usd_per_hour: round6(b.burnUsdPerHour),
    log_starts_at: iso(b.logStartsMs),
  };
}

/** The JSON and the exit code (the monitoring-plugin convention: see core/levels.ts statusCode). */
export function statusJson(input: StatusInput): { json: StatusJson; code: number } {
  const { config, result, target, seen, nowMs, flag, alerts, heartbeat: hb } = input;
  const ageMs = hb.kind === 'ok' ? Math.max(0, nowMs - hb.timeMs) : null;
  const ageSeconds = ageMs === null ? null : Math.round(ageMs / 1000);
  const stale = heartbeatStale(ageMs, config.heartbeat.maxAgeMs);
  const levels = [...result.windows, ...(result.balance === null ? [] : [result.balance.window])].map(
    (w) => w.level,
  );
  const scoped = scopesJson(input);
  // A retry storm at emergency is as critical as a window there (signals); a finding is a warning.
  // A scope at emergency or kill (or with its own flag set) is critical too, at warn a warning.
  // The fleet emergency is critical (every host holds its flag for it), a fleet at warn a warning,
  // and a fleet that cannot be seen a warning too: this host's own limits still work.
  const fleet = input.fleet ?? null;
  const code = statusCode({
    levels: [
      ...result.signals.map((w) => w.level),
      ...scopeSignals(scoped.scopes).map((s) => s.level),
      ...(fleet === null ? [] : fleetSignals(fleet).map((s) => s.level)),
    ],
    fleetLost: fleet !== null && fleetLostText(fleet) !== null,
    flagActive: flag.kind === 'present',
    flagUnknown: flag.kind === 'unknown',
    heartbeatAgeMs: ageMs,
    heartbeatMaxAgeMs: config.heartbeat.maxAgeMs,
    logUnreadable: result.logError !== null,
    warnings: seen.findings.length,
  });
  const app = seen.app;
  const today = new DayCalendar(config.timezone).dayOf(nowMs).key;
  const json: StatusJson = {
    status: VERDICT[code] as Verdict,
    level: highestLevel(levels),
    windows: Object.fromEntries([
      ...result.windows.map((w): [string, StatusWindowJson] => [
        w.name,
        {
          spend_usd: round6(w.spend),
          level: w.level,
          limits: { ...w.limits },
          ...(w.seconds === null ? { date: today, timezone: config.timezone } : { seconds: w.seconds }),
          top_models: topJson(result.attribution.top(w.seconds, 'model')),
          top_agents: topJson(result.attribution.top(w.seconds, 'agent')),
          top_sources: topJson(result.attribution.top(w.seconds, 'source')),
          ...(app !== null ? { app_usd: app.windows.find((f) => f.window === w.name)?.app ?? null } : {}),
        },
      ]),
      ...(result.balance === null ? [] : [[BALANCE_WINDOW, balanceJson(result.balance)] as const]),
    ]),
    emergency: {
      ...(flag.kind === 'present' ? { ...(flag.content ?? {}), active: true } : { active: false }),
      file: config.flagFile,
      ...(flag.kind === 'present' && flag.problem
        ? {
            problem: `flag file ${
              flag.problem.startsWith('a symbolic link') ? 'is ' : 'is not JSON: '
            }${flag.problem}`,
          }
        : {}),
      // Not in force, and not known to be absent either: why, in one line (exit 2 or 3).
      ...(flag.kind === 'unknown' ? { error: flag.reason } : {}),
      kill_switch:
        alerts.kill_switch === null
          ? null
          : { since: new Date(alerts.kill_switch.since_ms).toISOString(), by: alerts.kill_switch.by },
      acknowledged: alerts.acknowledged,
    },
    alerts: {
      pending: alerts.pending.length,
      windows: Object.fromEntries(
        Object.entries(alerts.windows).map(([name, m]) => [
          name,
          { level: m.level, since: new Date(m.since_ms).toISOString() },
        ]),
      ),
    },
    target: {
      configured: target.configured,
      running: target.running,
      pids: target.pids,
      ...(target.notes.length > 0 ? { notes: target.notes } : {}),
    },
    heartbeat: {
      age_seconds: ageSeconds,
      max_age_seconds: Math.round(config.heartbeat.maxAgeMs / 1000),
      stale,
      ...(hb.kind === 'corrupt' ? { problem: hb.reason } : {}),
    },
    last_run:
      hb.kind === 'ok'
        ? {
            at: hb.heartbeat.time,
            age_seconds: ageSeconds,
            mode: hb.heartbeat.mode,
            ok: hb.heartbeat.result?.ok ?? null,
          }
        : null,
    malformed_lines: result.totals.malformed,
    sources: result.sources,
    malformed_samples: result.totals.malformed_samples,
    cost: {
      policy: config.cost.policy,
      price_table: {
        package: '@pydantic/genai-prices',
        version: priceTableVersion(),
        error: priceTableProblem(),
      },
      unpriced_per_million_tokens: config.cost.unpricedPerMillion,
      unpriced_models: Object.entries(result.totals.unpriced)
        .filter(([, u]) => nowMs - u.last_ms <= UNPRICED_RECENT_MS)
        .map(([model, u]) => ({
          model,
          lines: u.lines,
          tokens: u.tokens,
          spend_usd: dollarsOf(u.micros),
          counted_at_unpriced_rate: u.at_rate,
          last_at: iso(u.last_ms),
        })),
      zero_cost_lines: result.totals.zero_cost_lines,
      zero_cost_counted_usd: dollarsOf(result.totals.zero_cost_micros),
    },
    retry_storms:
      config.retryStorm === null
        ? null
        : {
            key: config.retryStorm.key,
            count: config.retryStorm.count,
            window_seconds: Math.round(config.retryStorm.windowMs / 1000),
            level: config.retryStorm.level,
            // The worst hundred by name (a batch re-run is thousands at once), and how many in all.
            storms: result.storms.slice(0, 100).map((s) => ({
              id: s.id,
              count: s.count,
              spend_usd: round6(s.usd),
              first_at: iso(s.firstMs),
              last_at: iso(s.lastMs),
            })),
            total: result.storms.length,
            ids_not_followed: result.stormOverflow,
          },
    shape_storms:
      config.shapeStorm === null
        ? null
        : {
            count: config.shapeStorm.count,
            window_seconds: Math.round(config.shapeStorm.windowMs / 1000),
            level: config.shapeStorm.level,
            storms: result.shapeStorms.slice(0, 100).map((s) => {
              const shape = shapeOfName(s.id);
              return {
                shape,
                text: shapeWords(shape),
                count: s.count,
                spend_usd: round6(s.usd),
                first_at: iso(s.firstMs),
                last_at: iso(s.lastMs),
              };
            }),
            total: result.shapeStorms.length,
            shapes_not_followed: result.shapeOverflow,
          },
    burn_rate:
      config.burnRate === null || result.burn === null
        ? null
        : {
            factor: config.burnRate.factor,
            short: {
              seconds: Math.round(config.burnRate.shortMs / 1000),
              spend_usd: round6(result.burn.shortUsd),
            },
            long: {
              seconds: Math.round(config.burnRate.longMs / 1000),
              spend_usd: round6(result.burn.longUsd),
            },
            burning: seen.burnReachMs !== null,
            daily_limit_reached_at: iso(seen.burnReachMs),
          },
    app:
      app === null
        ? null
        : {
            file: app.file,
            status: app.status,
            error: app.error,
            updated_at: iso(app.updatedAtMs),
            age_seconds: app.updatedAtMs === null ? null : Math.round((nowMs - app.updatedAtMs) / 1000),
            emergency: app.emergency,
            windows: Object.fromEntries(
              app.windows.map((f) => [
                f.window,
                { key: f.key, app_usd: f.app, watchdog_usd: f.watchdog === null ? null : round6(f.watchdog) },
              ]),
            ),
          },
    warnings: seen.findings.map((f) => ({ kind: f.kind, key: f.key, text: f.text })),
    future_lines: result.totals.future_lines,
    uncosted_lines: result.totals.uncosted_lines,
    skipped_lines: result.totals.skipped_lines,
    lines_counted: result.totals.records,
    log: {
      path: config.log,
      size_bytes: result.log?.size ?? null,
      newest_line_at: result.totals.newest_ms > 0 ? new Date(result.totals.newest_ms).toISOString() : null,
      unread_since_last_run: result.newRecords + result.newMalformed,
      error: result.logError,
    },
    notes: [...(result.rebuilt?.startsWith('checkpoint') ? [result.rebuilt] : []), ...result.notes],
    checked_at: new Date(nowMs).toISOString(),
    spend_per_minute: spendPerMinuteJson(result, nowMs),
    scopes: scoped.scopes,
    scope_counts: scoped.counts,
    ...(fleet === null ? {} : { fleet }),
    ...(result.reconcile === null ? {} : { reconcile: result.reconcile.entries }),
  };
  return { json, code };
}
