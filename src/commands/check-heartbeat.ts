// `check-heartbeat`: who watches the watchdog. Run from a second timer or cron line (or by the app
// itself), it reads heartbeat.json and says whether the watchdog completed a check recently.
// Exit codes follow the monitoring-plugin convention: 0 fresh, 1 the last check failed, 2 stale or
// missing, 3 cannot tell. It alerts once when the heartbeat goes bad and once when it recovers.
// It never takes the check lock: a watchdog hung while holding it is exactly what it must report.
import { type Config, configPath, loadConfig } from '../config/index.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import {
  emptyHeartbeatAlertState,
  type HeartbeatAlertState,
  type HeartbeatFound,
  heartbeatAlertText,
  judgeHeartbeat,
  planHeartbeatAlert,
} from '../core/heartbeat.js';
import { MONITOR } from '../core/levels.js';
import { CliError, UsageError } from '../errors.js';
import { loadHeartbeatAlertState } from '../core/saved/heartbeat.js';
import { readHeartbeat } from '../effects/heartbeat.js';
import { heartbeatAlertFile, heartbeatFile } from '../effects/state-paths.js';
import { makeDirs, readJson, writeJsonAtomic } from '../effects/store.js';
import { Auditor } from '../effects/audit.js';
import { host } from '../effects/identity.js';
import { sendNotice } from '../effects/notice.js';
import { printable } from '../format.js';

export interface CheckHeartbeatOptions {
  config?: string;
  json?: boolean;
  maxAge?: string;
}

const WORD = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

function alertStatePath(config: Config): string {
  return heartbeatAlertFile(config.stateDir);
}

function found(config: Config): { found: HeartbeatFound; last: Record<string, unknown> | null } {
  const read = readHeartbeat(config.stateDir);
  if (read.kind === 'missing') return { found: { kind: 'missing' }, last: null };
  if (read.kind === 'corrupt')
    return {
      found: { kind: 'corrupt', reason: `${heartbeatFile(config.stateDir)}: ${read.reason}` },
      last: null,
    };
  const hb = read.heartbeat;
  const ok = hb.result?.ok === true;
  return {
    found: {
      kind: 'ok',
      timeMs: read.timeMs,
      ok,
      mode: typeof hb.mode === 'string' ? hb.mode : '?',
      pid: typeof hb.pid === 'number' ? hb.pid : null,
      error: typeof hb.result?.error === 'string' ? hb.result.error : null,
    },
    last: {
      at: hb.time,
      mode: hb.mode ?? null,
      pid: hb.pid ?? null,
      version: hb.version ?? null,
      ok,
      level: hb.result?.level ?? null,
      duration_ms: hb.duration_ms ?? null,
      ...(typeof hb.result?.error === 'string' ? { error: hb.result.error } : {}),
    },
  };
}

function unknown(message: string, json: boolean | undefined): number {
  for (const line of message.split('\n')) process.stderr.write(`cost-watchdog: ${line}\n`);
  process.stdout.write(
    json
      ? `${JSON.stringify({ status: 'UNKNOWN', state: 'unknown', error: message })}\n`
      : `HEARTBEAT UNKNOWN: ${message.split('\n')[0]}\n`,
  );
  return MONITOR.UNKNOWN;
}

export async function checkHeartbeatCommand(options: CheckHeartbeatOptions): Promise<number> {
  let maxAgeOption: number | null = null;
  if (options.maxAge !== undefined) {
    const parsed = parseDuration(options.maxAge);
    if (parsed === null)
      throw new UsageError(
        `--max-age: expected a duration like "90s", "5m" or "1h", got ${JSON.stringify(options.maxAge)}`,
      );
    if (parsed < 1000)
      throw new UsageError(`--max-age: expected at least "1s", got ${JSON.stringify(options.maxAge)}`);
    maxAgeOption = parsed;
  }
  let config: Config;
  try {
    config = loadConfig(configPath(options.config, process.env, process.cwd()));
  } catch (error) {
    if (error instanceof CliError) return unknown(error.message, options.json);
    throw error;
  }
  const maxAgeMs = maxAgeOption ?? config.heartbeat.maxAgeMs;
  const nowMs = Date.now();
  const { found: heartbeat, last } = found(config);
  const verdict = judgeHeartbeat(heartbeat, nowMs, maxAgeMs);

  // Alert on a change, remembered in the state folder (created if need be: a watchdog that never
  // ran has none yet, and that is one of the things to alert about).
  const read = readJson(alertStatePath(config));
  let previous: HeartbeatAlertState = emptyHeartbeatAlertState();
  if (read.kind === 'ok') previous = loadHeartbeatAlertState(read.value) ?? emptyHeartbeatAlertState();
  const plan = planHeartbeatAlert(previous, verdict, nowMs);
  let alert: Record<string, unknown> | null = null;
  let keep = plan.next;
  if (plan.alert !== null) {
    const text = heartbeatAlertText(
      plan.alert,
      verdict,
      host(),
      previous.down?.since_ms ?? null,
      nowMs,
      unitsOf(process.env.COST_WATCHDOG_UNITS),
    );
    const details = [
      `state folder ${config.stateDir}`,
      `config ${config.file}`,
      `checked at ${new Date(nowMs).toISOString()} by check-heartbeat (max age ${formatDuration(maxAgeMs)})`,
    ];
    const delivery = await sendNotice(
      config.slack,
      plan.alert === 'recovered' ? 'ok' : verdict.state === 'failing' ? 'warn' : 'emergency',
      text,
      details,
      config.alerts.channels,
    );
    if (delivery.kind === 'failed') {
      keep = plan.unsent;
      process.stderr.write(
        `cost-watchdog: could not send the heartbeat alert to Slack (${delivery.error}); it is ` +
          `tried again on the next check-heartbeat\n`,
      );
    }
    alert = {
      kind: plan.alert,
      delivery: delivery.kind,
      ...(delivery.kind === 'failed' ? { error: delivery.error } : {}),
    };
  }
  if (JSON.stringify(keep) !== JSON.stringify(previous)) {
    try {
      makeDirs(config.stateDir);
      writeJsonAtomic(alertStatePath(config), keep);
    } catch (error) {
      process.stderr.write(
        `cost-watchdog: note: cannot remember the heartbeat alert in ${alertStatePath(config)} (` +
          `${(error as Error).message}): the alert may repeat\n`,
      );
    }
  }
  if (alert !== null)
    new Auditor(config.stateDir, Date.now).record('heartbeat_alert', {
      state: verdict.state,
      ...alert,
      summary: verdict.summary,
    });

  const word = WORD[verdict.code] ?? 'UNKNOWN';
  if (options.json) {
    const json = {
      status: word,
      state: verdict.state,
      age_seconds: verdict.ageMs === null ? null : Math.round(verdict.ageMs / 1000),
      max_age_seconds: Math.round(maxAgeMs / 1000),
      summary: verdict.summary,
      last_check: last,
      alert,
      heartbeat_file: heartbeatFile(config.stateDir),
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(`HEARTBEAT ${word}: ${printable(verdict.summary)}\n`);
  }
  return verdict.code;
}

/** The unit names given by `systemd --name` units (COST_WATCHDOG_UNITS), if they are such names. */
function unitsOf(value: string | undefined): string {
  return value !== undefined && /^cost-watchdog(-[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$/.test(value)
    ? value
    : 'cost-watchdog';
}
