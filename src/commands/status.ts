// `status`: where spend stands, read-only. It reads lines appended since the last check (without
// saving anything), so it is current even between timer runs. Exit codes follow the monitoring
// plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
import { type Config, configPath, loadConfig } from '../config.js';
import { DayCalendar } from '../core/calendar.js';
import { formatDuration } from '../core/duration.js';
import { dollarsOf } from '../core/money.js';
import { heartbeatStale, highestLevel, MONITOR, statusCode } from '../core/levels.js';
import { round6 } from '../check/figures.js';
import { inspect } from '../check/inspect.js';
import type { CheckResult, Observation } from '../check/types.js';
import { CliError } from '../errors.js';
import { readFlag } from '../effects/flag.js';
import { readHeartbeat } from '../effects/heartbeat.js';
import { findTarget, type TargetFinding } from '../effects/target.js';
import { loadAlerts } from '../check/alert-state.js';
import { observe } from '../check/observe.js';
import { priceTableProblem, priceTableVersion } from '../price-table.js';
import { UNPRICED_RECENT_MS } from '../core/findings.js';
import type { Top } from '../core/attribution.js';
import { ago, bytes, gauge, levelText, limitsText, printable, usd, useColor } from '../format.js';

export interface StatusOptions {
  config?: string;
  json?: boolean;
}

const VERDICT = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

function topJson(top: Top): { name: string; spend_usd: number }[] {
  return top.map(([name, spend]) => ({ name, spend_usd: round6(spend) }));
}

function iso(ms: number | null): string | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

function statusJson(
  config: Config,
  result: CheckResult,
  target: TargetFinding,
  seen: Observation,
  nowMs: number,
): { json: Record<string, unknown>; code: number } {
  const flag = readFlag(config.flagFile);
  const alerts = loadAlerts(config).state;
  const hb = readHeartbeat(config.stateDir);
  const ageMs = hb.kind === 'ok' ? Math.max(0, nowMs - hb.timeMs) : null;
  const ageSeconds = ageMs === null ? null : Math.round(ageMs / 1000);
  const stale = heartbeatStale(ageMs, config.heartbeat.maxAgeMs);
  const levels = result.windows.map((w) => w.level);
  // A retry storm at emergency is as critical as a window there (signals); a finding is a warning.
  const code = statusCode({
    levels: result.signals.map((w) => w.level),
    flagActive: flag.kind === 'present',
    flagUnknown: flag.kind === 'unknown',
    heartbeatAgeMs: ageMs,
    heartbeatMaxAgeMs: config.heartbeat.maxAgeMs,
    logUnreadable: result.logError !== null,
    warnings: seen.findings.length,
  });
  const app = seen.app;
  const today = new DayCalendar(config.timezone).dayOf(nowMs).key;
  const json = {
    status: VERDICT[code],
    level: highestLevel(levels),
    windows: Object.fromEntries(
      result.windows.map((w) => [
        w.name,
        {
          spend_usd: round6(w.spend),
          level: w.level,
          limits: { ...w.limits },
          ...(w.seconds === null ? { date: today, timezone: config.timezone } : { seconds: w.seconds }),
          top_models: topJson(result.attribution.top(w.seconds, 'model')),
          top_agents: topJson(result.attribution.top(w.seconds, 'agent')),
          ...(app !== null ? { app_usd: app.windows.find((f) => f.window === w.name)?.app ?? null } : {}),
        },
      ]),
    ),
    emergency: {
      ...(flag.kind === 'present' ? { ...(flag.content ?? {}), active: true } : { active: false }),
      file: config.flagFile,
      ...(flag.kind === 'present' && flag.problem
        ? {
            problem: `flag file ${flag.problem.startsWith('a symbolic link') ? 'is ' : 'is not JSON: '}${flag.problem}`,
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
  };
  return { json, code };
}

function human(config: Config, json: Record<string, unknown>, result: CheckResult, nowMs: number): string {
  const color = useColor();
  const unicode = process.stdout.isTTY === true;
  const out: string[] = [];
  out.push(`cost-watchdog status: ${json.status}   (config ${config.file})`);
  out.push('');
  const nameWidth = Math.max(6, ...result.windows.map((w) => w.name.length));
  const windowsJson = json.windows as Record<
    string,
    {
      top_models: { name: string; spend_usd: number }[];
      top_agents: { name: string; spend_usd: number }[];
      app_usd?: number | null;
    }
  >;
  const tops = (list: { name: string; spend_usd: number }[]): string =>
    list.map((t) => `${printable(t.name)} ${usd(t.spend_usd)}`).join(', ');
  for (const w of result.windows) {
    out.push(
      `  ${w.name.padEnd(nameWidth)} ${usd(w.spend).padStart(10)}  ${levelText(w.level, color, 9)} ${gauge(w, 32, unicode)}  ${limitsText(w.limits)}`,
    );
    const view = windowsJson[w.name];
    const pad = ' '.repeat(nameWidth + 3);
    if (view !== undefined && view.top_models.length > 0)
      out.push(`  ${pad}top models: ${tops(view.top_models)}`);
    if (view !== undefined && view.top_agents.length > 0)
      out.push(`  ${pad}top agents: ${tops(view.top_agents)}`);
    if (view?.app_usd !== undefined)
      out.push(`  ${pad}the app says: ${view.app_usd === null ? 'nothing' : usd(view.app_usd)}`);
  }
  out.push('');
  const flag = json.emergency as Record<string, unknown>;
  if (typeof flag.error === 'string') {
    out.push(`  emergency flag   UNKNOWN: ${printable(flag.error)}`);
  } else if (flag.active) {
    const why = typeof flag.reason === 'string' ? `: ${printable(flag.reason)}` : '';
    const when = typeof flag.triggered_at === 'string' ? ` since ${flag.triggered_at}` : '';
    const by = typeof flag.triggered_by === 'string' ? ` by ${flag.triggered_by}` : '';
    out.push(`  emergency flag   SET${when}${by}${why}  (${config.flagFile})`);
  } else {
    out.push(`  emergency flag   not set  (${config.flagFile})`);
  }
  const ks = (flag as { kill_switch?: { since: string; by: string } | null }).kill_switch;
  if (ks)
    out.push(
      `  kill switch      ON since ${ks.since} (${printable(ks.by)}): the target is killed if it runs, until clear-emergency`,
    );
  const acknowledged = Object.entries((flag as { acknowledged?: Record<string, string> }).acknowledged ?? {});
  if (acknowledged.length > 0)
    out.push(
      `  acknowledged     ${acknowledged.map(([w, l]) => `${w} at ${l}`).join(', ')} (clear-emergency --force)`,
    );
  const pending = (json.alerts as { pending: number }).pending;
  if (pending > 0)
    out.push(`  unsent alerts    ${pending} (retried by the running watch, else on the next check)`);
  const target = json.target as { configured: boolean; running: boolean; pids: number[]; notes?: string[] };
  if (!target.configured) out.push('  target           not configured (nothing to kill)');
  else
    out.push(
      `  target           ${target.running ? `running (pid ${target.pids.join(', ')})` : 'not running'}`,
    );
  for (const note of target.notes ?? []) out.push(`                   ${printable(note)}`);
  const hb = json.heartbeat as { age_seconds: number | null; stale: boolean; max_age_seconds: number };
  const lastRun = json.last_run as { at: string; mode: string; ok: boolean | null } | null;
  if (hb.age_seconds === null)
    out.push('  last check       never (no heartbeat yet: run `cost-watchdog run`)');
  else {
    out.push(
      `  last check       ${lastRun?.at ?? '?'} (${ago(hb.age_seconds * 1000)}, ${lastRun?.mode ?? '?'}${lastRun?.ok === false ? ', FAILED' : ''})${hb.stale ? `  STALE: older than ${formatDuration(hb.max_age_seconds * 1000)}` : ''}`,
    );
  }
  const log = json.log as { size_bytes: number | null; newest_line_at: string | null; error: string | null };
  if (log.error !== null) out.push(`  log              UNREADABLE: ${log.error}`);
  else {
    const newest =
      result.totals.newest_ms > 0
        ? `, newest line ${ago(nowMs - result.totals.newest_ms)}`
        : ', no lines yet';
    out.push(`  log              ${config.log} (${bytes(log.size_bytes ?? 0)}${newest})`);
  }
  out.push(
    `  lines            ${result.totals.records} counted, ${result.newRecords} new since the last check`,
  );
  if (result.totals.future_lines > 0)
    out.push(
      `  clock skew       ${result.totals.future_lines} line(s) dated over 5 minutes ahead, counted as now`,
    );
  if (result.totals.uncosted_lines > 0)
    out.push(
      `  no cost          ${result.totals.uncosted_lines} line(s) with tokens but no cost, counted from their tokens`,
    );
  const cost = json.cost as {
    unpriced_models: {
      model: string;
      lines: number;
      tokens: number;
      spend_usd: number;
      counted_at_unpriced_rate: number;
    }[];
    zero_cost_lines: number;
    zero_cost_counted_usd: number;
  };
  out.push(
    `  cost policy      ${config.cost.policy}${config.cost.policy === 'max' ? ' (the larger of the logged cost and the estimate from tokens)' : ''}`,
  );
  if (cost.zero_cost_lines > 0)
    out.push(
      `  cost 0 logged    ${cost.zero_cost_lines} line(s) with tokens logged cost 0; counted ${usd(cost.zero_cost_counted_usd)} from their tokens`,
    );
  for (const u of cost.unpriced_models) {
    out.push(
      `  unpriced model   ${printable(u.model)}: ${u.lines} line(s), ${u.tokens} tokens, ${usd(u.spend_usd)} counted${u.counted_at_unpriced_rate > 0 ? ` (${u.counted_at_unpriced_rate} at ${usd(config.cost.unpricedPerMillion)}/M tokens)` : ' (at the logged cost)'}`,
    );
  }
  const storms = json.retry_storms as {
    key: string;
    storms: { id: string; count: number; spend_usd: number }[];
    total: number;
  } | null;
  for (const s of (storms?.storms ?? []).slice(0, 10))
    out.push(
      `  retry storm      ${storms?.key} ${printable(JSON.stringify(s.id))}: ${s.count} times, ${usd(s.spend_usd)}`,
    );
  if (storms !== null && storms.total > 10)
    out.push(`                   and ${storms.total - 10} more (status --json lists the worst 100)`);
  const app = json.app as {
    file: string;
    status: string;
    error: string | null;
    updated_at: string | null;
    age_seconds: number | null;
    emergency: boolean | null;
  } | null;
  if (app !== null) {
    const detail =
      app.status === 'ok'
        ? `updated ${app.updated_at === null ? 'at an unknown time' : `${app.updated_at} (${ago((app.age_seconds ?? 0) * 1000)})`}${app.emergency === null ? '' : `, emergency mode ${app.emergency ? 'on' : 'off'}`}`
        : app.status === 'missing'
          ? 'MISSING'
          : `UNREADABLE: ${printable(app.error ?? '')}`;
    out.push(`  app state        ${app.file}: ${detail}`);
  }
  for (const warning of json.warnings as { text: string }[])
    out.push(`  WARNING          ${printable(warning.text)}`);
  out.push(`  malformed lines  ${result.totals.malformed}`);
  for (const s of result.totals.malformed_samples) {
    out.push(
      `                   ${printable(s.file)}:${s.line}: ${printable(s.reason)}: ${printable(s.excerpt.slice(0, 60))}`,
    );
  }
  for (const note of json.notes as string[]) out.push(`  note             ${printable(note)}`);
  return `${out.join('\n')}\n`;
}

export async function statusCommand(options: StatusOptions): Promise<number> {
  try {
    const config = loadConfig(configPath(options.config, process.env, process.cwd()));
    const nowMs = Date.now();
    const result = inspect(config, nowMs, false);
    const target = await findTarget(config);
    const seen = await observe(config, result, highestLevel(result.signals.map((w) => w.level)), target);
    const { json, code } = statusJson(config, result, target, seen, nowMs);
    process.stdout.write(
      options.json ? `${JSON.stringify(json, null, 2)}\n` : human(config, json, result, nowMs),
    );
    if (result.logError !== null) process.stderr.write(`cost-watchdog: ${result.logError}\n`);
    const flagError = (json.emergency as { error?: string }).error;
    if (flagError !== undefined) process.stderr.write(`cost-watchdog: ${flagError}\n`);
    return code;
  } catch (error) {
    // A monitoring check that cannot tell says UNKNOWN (3), never WARNING (1): a bad config, an
    // unreadable state folder, or a bug (whose trace is printed for the report).
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof CliError) {
      for (const line of message.split('\n')) process.stderr.write(`cost-watchdog: ${line}\n`);
    } else {
      process.stderr.write(
        `cost-watchdog: internal error (a bug; please report it with this trace):\n${error instanceof Error ? error.stack : message}\n`,
      );
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ status: 'UNKNOWN', error: message })}\n`);
    return MONITOR.UNKNOWN;
  }
}
