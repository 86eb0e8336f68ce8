// `status`: where spend stands, read-only. It reads lines appended since the last check (without
// saving anything), so it is current even between timer runs. Exit codes follow the monitoring
// plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
import { type Config, configPath, loadConfig } from '../config/index.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import { figuresNote } from '../core/money.js';
import { balanceWords } from '../core/balance.js';
import { MONITOR } from '../core/levels.js';
import type { CheckResult } from '../check/types.js';
import { CliError, UsageError } from '../errors.js';
import { ago, bytes, gauge, levelText, limitsText, printable, usd, useColor } from '../format.js';
import { pluginLine, pluginUnknownLine } from './render/plugin-line.js';
import {
  lastHourPerMinute,
  type StatusErrorJson,
  type StatusJson,
  type StatusWindowJson,
  scopeSignals,
} from './render/status-json.js';
import { sparkText } from '../core/sparkline.js';
import type { StatusView } from './status-watch.js';
import { statusReport } from './status-report.js';
import {
  fleetEmergencyText,
  fleetLostText,
  fleetSignals,
  type StatusFleetJson,
} from './render/fleet-json.js';
import type { WindowStatus } from '../core/levels.js';
import type { ReconcileEntry } from '../reconcile/view.js';

export interface StatusOptions {
  config?: string;
  json?: boolean;
  /** Redraw (on a terminal) or print again every `interval`, until SIGINT or SIGTERM. */
  watch?: boolean;
  interval?: string;
}

/** status --watch: every 5 s unless --interval says otherwise, never more often than every second. */
const WATCH_DEFAULT_MS = 5_000;
const WATCH_MIN_MS = 1_000;

/** What the bar, its marks and the level words of the windows above mean, said once under them. */
export function gaugeLegend(unicode: boolean): string[] {
  const [fill, empty] = unicode ? ['█', '░'] : ['#', '.'];
  return [
    `  gauge: ${fill} spent, ${empty} not yet, | a limit (warn, emergency, kill from the left; ` +
      'the highest at 4/5), > beyond',
    '  level: the highest limit reached: ok, WARN (alert), EMERGENCY (alert + flag), ' +
      'KILL (alert + flag + kill)',
    `  last hour: spend per minute, oldest on the left, the current minute last ` +
      `(${unicode ? '▁ none, █' : '_ none, @'} the busiest minute)`,
  ];
}

function human(config: Config, json: StatusJson, result: CheckResult, nowMs: number, first: string): string {
  const color = useColor();
  const unicode = process.stdout.isTTY === true;
  const out: string[] = [];
  out.push(first);
  out.push('');
  const fleetRows = fleetWindowRows(config, json.fleet);
  const nameWidth = Math.max(7, ...[...result.windows, ...fleetRows].map((w) => w.name.length));
  const windowsJson = json.windows;
  const tops = (list: { name: string; spend_usd: number }[]): string =>
    list.map((t) => `${printable(t.name)} ${usd(t.spend_usd)}`).join(', ');
  for (const w of result.windows) {
    out.push(
      `  ${w.name.padEnd(nameWidth)} ${usd(w.spend).padStart(10)}  ${levelText(w.level, color, 9)} ` +
        `${gauge(w, 32, unicode)}  ${limitsText(w.limits)}`,
    );
    // (No window is named `balance`: the config keeps that name for the prepaid balance.)
    const view = windowsJson[w.name] as StatusWindowJson | undefined;
    const pad = ' '.repeat(nameWidth + 3);
    if (view !== undefined && view.top_models.length > 0)
      out.push(`  ${pad}top models: ${tops(view.top_models)}`);
    if (view !== undefined && view.top_agents.length > 0)
      out.push(`  ${pad}top agents: ${tops(view.top_agents)}`);
    if (view !== undefined && view.top_sources.length > 0)
      out.push(`  ${pad}top logs:   ${tops(view.top_sources)}`);
    if (view?.app_usd !== undefined)
      out.push(`  ${pad}the app says: ${view.app_usd === null ? 'nothing' : usd(view.app_usd)}`);
  }
  const balance = result.balance;
  if (balance !== null) {
    const w = balance.window;
    out.push(
      `  ${w.name.padEnd(nameWidth)} ${usd(w.spend).padStart(10)}  ${levelText(w.level, color, 9)} ` +
        `${gauge(w, 32, unicode)}  ${limitsText(w.limits)}`,
    );
    out.push(`  ${' '.repeat(nameWidth + 3)}${balanceWords(balance, true)}`);
  }
  // The fleet's windows as its Redis sums them (every host's spend, this one's included).
  if (json.fleet?.reachable === true)
    for (const w of fleetRows)
      out.push(
        `  ${w.name.padEnd(nameWidth)} ${usd(w.spend).padStart(10)}  ${levelText(w.level, color, 9)} ` +
          `${gauge(w, 32, unicode)}  ${limitsText(w.limits)}`,
      );
  out.push(
    sparkText(
      lastHourPerMinute(result, nowMs).map(([, micros]) => micros),
      unicode,
    ),
  );
  if (json.scopes.length > 0) {
    // Compact: each scope without `each`; under `each`, the values above ok (or flagged), the
    // top ones at ok and the rest counted (status --json lists the top 10 by spend).
    out.push('  scopes:');
    const perEach = new Map(json.scope_counts.map((c) => [c.name, c]));
    const shownAtOk = new Map<string, number>();
    for (const scope of json.scopes) {
      const each = perEach.get(scope.name);
      if (each !== undefined && scope.level === 'ok' && scope.flag?.active !== true) {
        const n = shownAtOk.get(scope.name) ?? 0;
        if (n >= 3) continue;
        shownAtOk.set(scope.name, n + 1);
      }
      const key = Object.entries(scope.key)
        .map(([f, v]) => ` ${f}=${printable(JSON.stringify(v))}`)
        .join('');
      const windows = Object.entries(scope.windows)
        .map(
          ([name, w]) =>
            `${name} ${usd(w.spend_usd)}` +
            `${limitsText(w.limits) === 'no limits' ? '' : ` (${limitsText(w.limits)})`}`,
        )
        .join(', ');
      const flag = scope.flag?.active === true ? `  flag SET (${printable(scope.flag.file)})` : '';
      out.push(`    ${scope.name}${key}  ${levelText(scope.level, color, 9)} ${windows}${flag}`);
    }
    for (const c of json.scope_counts) {
      const shown = json.scopes.filter(
        (x) => x.name === c.name && (x.level !== 'ok' || x.flag?.active === true),
      ).length;
      const rest = c.values - shown - (shownAtOk.get(c.name) ?? 0);
      if (rest > 0) out.push(`    ${c.name}: and ${rest} more ${c.each} value(s) at ok`);
    }
  }
  out.push(...gaugeLegend(unicode));
  out.push('');
  out.push(`  config           ${config.file}`);
  const note = figuresNote();
  if (note !== null)
    out.push(
      `  currency         ${note}; limits written in ${config.cost.limitsCurrency.code}; ` +
        '--json and metrics in USD',
    );
  const flag = json.emergency;
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
  const ks = flag.kill_switch;
  if (ks)
    out.push(
      `  kill switch      ON since ${ks.since} (${printable(ks.by)}): the target is killed if it ` +
        `runs, until clear-emergency`,
    );
  const acknowledged = Object.entries(flag.acknowledged);
  if (acknowledged.length > 0)
    out.push(
      `  acknowledged     ${acknowledged.map(([w, l]) => `${w} at ${l}`).join(', ')} (clear-emergen` +
        `cy --force)`,
    );
  if (json.fleet !== undefined) out.push(...fleetLines(json.fleet, color));
  if (json.reconcile !== undefined) out.push(...reconcileLines(json.reconcile, color));
  const pending = json.alerts.pending;
  if (pending > 0)
    out.push(`  unsent alerts    ${pending} (retried by the running watch, else on the next check)`);
  const target = json.target;
  const scopeTargets = config.scopes.filter((s) => s.target !== null).length;
  if (!target.configured)
    out.push(
      scopeTargets === 0
        ? '  target           not configured (nothing to kill)'
        : `  target           no main target (${scopeTargets} scope(s) with a target of their own)`,
    );
  else
    out.push(
      `  target           ${target.running ? `running (pid ${target.pids.join(', ')})` : 'not running'}`,
    );
  for (const note of target.notes ?? []) out.push(`                   ${printable(note)}`);
  const hb = json.heartbeat;
  const lastRun = json.last_run;
  if (hb.age_seconds === null)
    out.push('  last check       never (no heartbeat yet: run `cost-watchdog run`)');
  else {
    out.push(
      `  last check       ${lastRun?.at ?? '?'} (${ago(hb.age_seconds * 1000)}, ` +
        `${lastRun?.mode ?? '?'}${lastRun?.ok === false ? ', FAILED' : ''})` +
        `${hb.stale ? `  STALE: older than ${formatDuration(hb.max_age_seconds * 1000)}` : ''}`,
    );
  }
  const log = json.log;
  if (log.error !== null) out.push(`  log              UNREADABLE: ${log.error}`);
  else {
    const newest =
      result.totals.newest_ms > 0
        ? `, newest line ${ago(nowMs - result.totals.newest_ms)}`
        : ', no lines yet';
    const [only, ...others] = config.sources;
    if (others.length === 0 && only !== undefined && !only.glob)
      out.push(`  log              ${config.log} (${bytes(log.size_bytes ?? 0)}${newest})`);
    else {
      const written = config.sources.map((s) =>
        s.format === 'jsonl' ? s.written : `${s.written} (${s.format})`,
      );
      out.push(
        `  logs             ${json.sources.length} file(s) of ${written.join(', ')} ` +
          `(${bytes(log.size_bytes ?? 0)}${newest})`,
      );
      const bad = json.sources.filter((f) => f.malformed_lines > 0);
      for (const f of bad.slice(0, 5))
        out.push(`                   ${f.path}: ${f.malformed_lines} malformed of ${f.lines} line(s)`);
      if (bad.length > 5)
        out.push(`                   and ${bad.length - 5} more file(s) with malformed lines`);
    }
  }
  out.push(
    `  lines            ${result.totals.records} counted, ${result.newRecords} new since the last check` +
      (result.totals.skipped_lines > 0 ? `, ${result.totals.skipped_lines} skipped (not billed calls)` : ''),
  );
  if (result.totals.future_lines > 0)
    out.push(
      `  clock skew       ${result.totals.future_lines} line(s) dated over 5 minutes ahead, counted as now`,
    );
  if (result.totals.uncosted_lines > 0)
    out.push(
      `  no cost          ${result.totals.uncosted_lines} line(s) with tokens but no cost, counted ` +
        `from their tokens`,
    );
  const cost = json.cost;
  out.push(
    `  cost policy      ${config.cost.policy}` +
      (config.cost.policy === 'max' ? ' (the larger of the logged cost and the estimate from tokens)' : ''),
  );
  if (cost.zero_cost_lines > 0)
    out.push(
      `  cost 0 logged    ${cost.zero_cost_lines} line(s) with tokens logged cost 0; counted ` +
        `${usd(cost.zero_cost_counted_usd)} from their tokens`,
    );
  for (const u of cost.unpriced_models) {
    out.push(
      `  unpriced model   ${printable(u.model)}: ${u.lines} line(s), ${u.tokens} tokens, ` +
        `${usd(u.spend_usd)} counted` +
        (u.counted_at_unpriced_rate > 0
          ? ` (${u.counted_at_unpriced_rate} at ${usd(config.cost.unpricedPerMillion)}/M tokens)`
          : ' (at the logged cost)'),
    );
  }
  const storms = json.retry_storms;
  for (const s of (storms?.storms ?? []).slice(0, 10))
    out.push(
      `  retry storm      ${storms?.key} ${printable(JSON.stringify(s.id))}: ${s.count} times, ` +
        `${usd(s.spend_usd)}`,
    );
  if (storms !== null && storms.total > 10)
    out.push(`                   and ${storms.total - 10} more (status --json lists the worst 100)`);
  const shaped = json.shape_storms;
  for (const s of (shaped?.storms ?? []).slice(0, 10))
    out.push(`  shape storm      ${printable(s.text)}: ${s.count} times, ${usd(s.spend_usd)}, no ids`);
  if (shaped !== null && shaped.total > 10)
    out.push(`                   and ${shaped.total - 10} more shapes (status --json lists the worst 100)`);
  const app = json.app;
  if (app !== null) {
    const detail =
      app.status === 'ok'
        ? `updated ` +
          (app.updated_at === null
            ? 'at an unknown time'
            : `${app.updated_at} (${ago((app.age_seconds ?? 0) * 1000)})`) +
          `${app.emergency === null ? '' : `, emergency mode ${app.emergency ? 'on' : 'off'}`}`
        : app.status === 'missing'
          ? 'MISSING'
          : `UNREADABLE: ${printable(app.error ?? '')}`;
    out.push(`  app state        ${app.file}: ${detail}`);
  }
  for (const warning of json.warnings) out.push(`  WARNING          ${printable(warning.text)}`);
  out.push(`  malformed lines  ${result.totals.malformed}`);
  for (const s of result.totals.malformed_samples) {
    out.push(
      `                   ${printable(s.file)}:${s.line}: ${printable(s.reason)}: ` +
        `${printable(s.excerpt.slice(0, 60))}`,
    );
  }
  for (const note of json.notes) out.push(`  note             ${printable(note)}`);
  return `${out.join('\n')}\n`;
}

/** The fleet's windows named `fleet 15m`, in the fleet's order (spend NaN: it cannot be seen). */
function fleetWindowRows(config: Config, fleet: StatusFleetJson | undefined | null): WindowStatus[] {
  if (config.fleet === null || fleet === undefined || fleet === null) return [];
  return config.fleet.windows.map((w) => {
    const seen = fleet.windows[w.name];
    return {
      ...w,
      name: `fleet ${w.name}`,
      spend: seen?.spend_usd ?? Number.NaN,
      level: seen?.level ?? 'ok',
    };
  });
}

const MANY_HOSTS = 20;

/** The fleet's lines among status's facts: who and where, its emergency, each host. */
function fleetLines(fleet: StatusFleetJson, color: boolean): string[] {
  const out: string[] = [];
  const pad = ' '.repeat(19);
  if (!fleet.reachable)
    out.push(
      `  fleet            ${fleet.name} (host ${fleet.host}): fleet view lost: ` +
        `${printable(fleet.error ?? '?')} (Redis at ${fleet.redis}); this host's own limits still apply`,
    );
  else
    out.push(
      `  fleet            ${fleet.name} (host ${fleet.host}, ${fleet.hosts.length} host(s)), Redis at ` +
        fleet.redis,
    );
  if (fleet.refused !== undefined)
    out.push(
      `  fleet refused    this host's pushes since ${fleet.refused.since}: ` +
        `${printable(fleet.refused.reason)}; the fleet does not count its spend until that is fixed`,
    );
  const e = fleet.emergency;
  if (e.active)
    out.push(
      `  fleet emergency  ${levelText(e.level ?? 'emergency', color)} ${fleetEmergencyText(e)}` +
        (e.remembered
          ? ' (remembered by this host: honoured while Redis cannot be asked)'
          : ' (every host sets its flag at its next check; clear-emergency --fleet ends it)'),
    );
  else if (fleet.reachable) out.push('  fleet emergency  none');
  const width = Math.max(0, ...fleet.hosts.slice(0, MANY_HOSTS).map((h) => h.host.length));
  fleet.hosts.slice(0, MANY_HOSTS).forEach((h, i) => {
    const parts = Object.entries(h.spend_usd)
      .map(([w, v]) => `${w} ${usd(v)}`)
      .join(', ');
    out.push(
      `${i === 0 ? '  fleet hosts      ' : pad}${h.host.padEnd(width)}  ${parts}  pushed ` +
        `${ago(h.last_push_age_seconds * 1000)}` +
        (h.host === fleet.host ? ' (this host)' : '') +
        (h.refused ? '  REFUSED: other fleet settings, not counted' : '') +
        (h.silent && !h.refused ? '  SILENT: its watchdog may be down' : ''),
    );
  });
  if (fleet.hosts.length > MANY_HOSTS)
    out.push(`${pad}and ${fleet.hosts.length - MANY_HOSTS} more host(s) (status --json lists them all)`);
  if (fleet.reachable && fleet.hosts.length === 0) out.push('  fleet hosts      none has pushed yet');
  return out;
}

/** Where spend stands now, read once: the text view (or the JSON) of `status`. */
async function statusView(config: Config, asJson: boolean, compact: boolean): Promise<StatusView> {
  try {
    const nowMs = Date.now();
    const { json, code, result, fleet, flag } = await statusReport(config, nowMs);
    let stdout: string;
    if (asJson) stdout = `${compact ? JSON.stringify(json) : JSON.stringify(json, null, 2)}\n`;
    else {
      const fleetLost = fleet === null ? null : fleetLostText(fleet);
      const first = pluginLine({
        code,
        windows: result.balance === null ? result.windows : [...result.windows, result.balance.window],
        ...(fleet === null
          ? {}
          : {
              fleetWindows: fleetWindowRows(config, fleet).map((w) => ({
                ...w,
                name: w.name.slice('fleet '.length),
              })),
            }),
        signals: [
          ...result.signals,
          ...scopeSignals(json.scopes).map((x) => ({
            name: 'scope',
            seconds: null,
            limits: {},
            spend: 0,
            level: x.level,
            detail: x.detail,
          })),
          ...(fleet === null ? [] : fleetSignals(fleet)),
        ],
        flagActive: flag.kind === 'present',
        flagReason: typeof json.emergency.reason === 'string' ? json.emergency.reason : null,
        flagUnknown: json.emergency.error ?? null,
        heartbeatAgeMs: json.heartbeat.age_seconds === null ? null : json.heartbeat.age_seconds * 1000,
        heartbeatMaxAgeMs: config.heartbeat.maxAgeMs,
        heartbeatStale: json.heartbeat.stale,
        logError: result.logError,
        warnings: [...(fleetLost === null ? [] : [fleetLost]), ...json.warnings.map((w) => w.text)],
      });
      stdout = human(config, json, result, nowMs, first);
    }
    let stderr = '';
    if (result.logError !== null) stderr += `cost-watchdog: ${result.logError}\n`;
    const flagError = json.emergency.error;
    if (flagError !== undefined) stderr += `cost-watchdog: ${flagError}\n`;
    return { code, stdout, stderr };
  } catch (error) {
    return unknownView(error, asJson);
  }
}

/**
 * A monitoring check that cannot tell says UNKNOWN (3), never WARNING (1): a bad config, an
 * unreadable state folder, or a bug (whose trace is printed for the report).
 */
function unknownView(error: unknown, asJson: boolean): StatusView {
  const message = error instanceof Error ? error.message : String(error);
  const stderr =
    error instanceof CliError
      ? message
          .split('\n')
          .map((line) => `cost-watchdog: ${line}\n`)
          .join('')
      : `cost-watchdog: internal error (a bug; please report it with this trace):\n` +
        `${error instanceof Error ? error.stack : message}\n`;
  const json: StatusErrorJson = { status: 'UNKNOWN', error: message };
  // The plugin line still comes first: a monitoring system shows stdout, not stderr.
  const stdout = asJson ? `${JSON.stringify(json)}\n` : `${pluginUnknownLine(message)}\n`;
  return { code: MONITOR.UNKNOWN, stdout, stderr };
}

export async function statusCommand(options: StatusOptions): Promise<number> {
  // Bad usage is said before anything is read (64, not the UNKNOWN of a check that cannot tell).
  const intervalMs = watchInterval(options);
  const asJson = options.json === true;
  let config: Config;
  try {
    config = loadConfig(configPath(options.config, process.env, process.cwd()));
  } catch (error) {
    const view = unknownView(error, asJson);
    process.stderr.write(view.stderr);
    process.stdout.write(view.stdout);
    return view.code;
  }
  if (intervalMs !== null) {
    const { watchStatus } = await import('./status-watch.js');
    return watchStatus(() => statusView(config, asJson, true), {
      intervalMs,
      json: asJson,
      tty: process.stdout.isTTY === true,
    });
  }
  const view = await statusView(config, asJson, false);
  process.stdout.write(view.stdout);
  process.stderr.write(view.stderr);
  return view.code;
}

/** --watch's period in ms (null without --watch); --interval alone or out of bounds is bad usage. */
function watchInterval(options: StatusOptions): number | null {
  if (options.interval !== undefined && options.watch !== true)
    throw new UsageError('--interval: only with --watch (status --watch --interval 10s)');
  if (options.watch !== true) return null;
  if (options.interval === undefined) return WATCH_DEFAULT_MS;
  const ms = parseDuration(options.interval);
  if (ms === null)
    throw new UsageError(
      `--interval: expected a duration like "5s", "30s" or "1m", got ${JSON.stringify(options.interval)}`,
    );
  if (ms < WATCH_MIN_MS)
    throw new UsageError(`--interval: expected at least "1s", got ${JSON.stringify(options.interval)}`);
  return ms;
}

/** One line per provider of `reconcile`: its usage against the logs over its window, or why not. */
function reconcileLines(entries: Record<string, ReconcileEntry>, color: boolean): string[] {
  const out: string[] = [];
  for (const [name, e] of Object.entries(entries)) {
    const head = `  reconcile        ${name}: `;
    if (e.last_minute === null) {
      out.push(
        `${head}not read yet` +
          (e.error !== null ? `: ${printable(e.error)}` : ' (the next run or watch reads it)'),
      );
      continue;
    }
    const minute = `${e.last_minute.slice(11, 16)} UTC`;
    const lag = e.lag_seconds === null ? '' : `, ${formatDuration(e.lag_seconds * 1000)} ago`;
    out.push(
      `${head}provider ${usd(e.provider_usd)}, logs ${usd(e.logged_usd)}, unlogged ` +
        `${usd(e.unlogged_usd)} over ${formatDuration(e.window_seconds * 1000)} to ${minute}${lag}` +
        `${e.level !== 'ok' ? ` ${levelText(e.level, color, 0).trim()}` : ''}` +
        `${e.stale ? ' (stale: the last good read is too old to judge by)' : ''}`,
    );
    if (e.unlogged_usd > 0 && e.unlogged_models.length > 0)
      out.push(
        `                   unlogged: ${e.unlogged_models
          .slice(0, 3)
          .map((m) => `${printable(m.names.join('/'))} ${usd(m.provider_usd - m.logged_usd)}`)
          .join(', ')}${e.unlogged_minutes !== '' ? ` in ${e.unlogged_minutes}` : ''}` +
          `${
            e.unlogged_keys.length > 0
              ? ` (${e.unlogged_keys
                  .map((k) => printable(k.key))
                  .slice(0, 3)
                  .join(', ')})`
              : ''
          }`,
      );
    if (e.error !== null)
      out.push(
        `                   last read failed: ${printable(e.error)}` +
          (e.next_read_at === null ? '' : `; next read ${e.next_read_at.slice(11, 16)} UTC`),
      );
  }
  return out;
}
