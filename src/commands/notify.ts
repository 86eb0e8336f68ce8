// `notify`: an alert about the watchdog itself, for systemd's OnFailure= (the unit that failed is
// named) or a cron line (`cost-watchdog run || cost-watchdog notify --message "..."`). It must work
// when the watchdog cannot: with a config that does not load (the reason the unit failed may be
// that config), it still sends through the default $SLACK_WEBHOOK_URL and says why.
// A unit that keeps failing is announced again at most every alerts.reminder, unless a good check
// came in between (then it is a new failure).
import { type Config, configPath, loadConfig } from '../config/index.js';
import { formatDuration } from '../core/duration.js';
import { notifyDue } from '../core/heartbeat.js';
import { CliError, EXIT, FailureError, UsageError } from '../errors.js';
import { readHeartbeat } from '../effects/heartbeat.js';
import { notifyFile } from '../effects/state-paths.js';
import { loadNotifyState, type NotifyState } from '../core/saved/heartbeat.js';
import { makeDirs, readJson, writeJsonAtomic } from '../effects/store.js';
import { Auditor } from '../effects/audit.js';
import { host } from '../effects/identity.js';
import { sendNotice } from '../effects/notice.js';

export interface NotifyOptions {
  config?: string;
  json?: boolean;
  unit?: string;
  message?: string;
  test?: boolean;
}

const DEFAULT_SLACK: Config['slack'] = { webhookUrlEnv: 'SLACK_WEBHOOK_URL', webhookUrlFile: null };

function statePath(config: Config): string {
  return notifyFile(config.stateDir);
}

function loadState(config: Config): NotifyState {
  const read = readJson(statePath(config));
  return loadNotifyState(read.kind === 'ok' ? read.value : null);
}

export async function notifyCommand(options: NotifyOptions): Promise<number> {
  if (options.test === true) {
    if (options.unit !== undefined || options.message !== undefined)
      throw new UsageError(
        'notify: --test sends a test message of its own: give it without --unit / --message',
      );
    return (await import('./notify-test.js')).notifyTest(options);
  }
  const unit = options.unit?.trim();
  const message = options.message?.trim();
  if ((unit === undefined || unit === '') && (message === undefined || message === '')) {
    throw new UsageError('notify: give --unit <name> (the systemd unit that failed) and/or --message <text>');
  }
  const nowMs = Date.now();
  const file = configPath(options.config, process.env, process.cwd());
  let config: Config | null = null;
  let configProblem: string | null = null;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    configProblem = error.message;
  }

  const key = unit !== undefined && unit !== '' ? `unit:${unit}` : `message:${message}`;
  const details: string[] = [];
  if (message !== undefined && message !== '' && unit !== undefined && unit !== '') details.push(message);
  if (unit !== undefined && unit !== '')
    details.push(`see \`journalctl -u ${unit} -n 50\` and \`systemctl status ${unit}\``);
  let state: NotifyState | null = null;
  if (config !== null) {
    const hb = readHeartbeat(config.stateDir);
    if (hb.kind === 'ok') {
      details.push(
        `last completed check ${formatDuration(Math.max(0, nowMs - hb.timeMs))} ago (` +
          `${hb.heartbeat.mode}` +
          (hb.heartbeat.result?.ok === false
            ? `, failed: ${hb.heartbeat.result.error ?? 'no reason recorded'}`
            : ', ok') +
          `)`,
      );
    } else {
      details.push(
        hb.kind === 'missing'
          ? 'no check has ever completed here (no heartbeat)'
          : `heartbeat unreadable: ${hb.reason}`,
      );
    }
    state = loadState(config);
    const last = state.sent[key];
    const reminderMs = config.alerts.reminderMs;
    const lastGood = hb.kind === 'ok' && hb.heartbeat.result?.ok === true ? hb.timeMs : null;
    if (!notifyDue(last, nowMs, reminderMs, lastGood)) {
      const note =
        `already announced ${formatDuration(nowMs - (last ?? nowMs))} ago; announced again after ` +
        `${formatDuration(reminderMs)} (alerts.reminder) while it keeps failing`;
      process.stderr.write(`cost-watchdog: ${unit ?? message} failed on ${host()}: ${note}\n`);
      if (options.json)
        process.stdout.write(`${JSON.stringify({ sent: false, delivery: 'held back', reason: note })}\n`);
      return EXIT.OK;
    }
  } else {
    details.push(
      `and the config could not be loaded, so this alert went to $${DEFAULT_SLACK.webhookUrlEnv}: ` +
        `${(configProblem ?? '').split('\n')[0]}`,
    );
  }
  details.push(`host ${host()} at ${new Date(nowMs).toISOString()} (cost-watchdog notify)`);

  const headline =
    unit !== undefined && unit !== ''
      ? `WATCHDOG UNIT FAILED: ${unit} failed on ${host()}: spend may be going unwatched`
      : `WATCHDOG: ${message} (on ${host()})`;
  const delivery = await sendNotice(
    config?.slack ?? DEFAULT_SLACK,
    'emergency',
    headline,
    details,
    config?.alerts.channels ?? [],
  );
  if (config !== null && state !== null) {
    try {
      makeDirs(config.stateDir);
      if (delivery.kind !== 'failed') {
        state.sent[key] = nowMs;
        writeJsonAtomic(statePath(config), state);
      }
      new Auditor(config.stateDir, Date.now).record('notify', {
        unit: unit ?? null,
        message: message ?? null,
        delivery: delivery.kind,
        ...(delivery.kind === 'failed' ? { error: delivery.error } : {}),
      });
    } catch (error) {
      process.stderr.write(
        `cost-watchdog: note: cannot record the notice in ${config.stateDir} (${(error as Error).message})\n`,
      );
    }
  }
  if (options.json)
    process.stdout.write(
      JSON.stringify({
        sent: delivery.kind === 'sent',
        delivery: delivery.kind,
        ...(delivery.kind === 'failed' ? { error: delivery.error } : {}),
      }) + `\n`,
    );
  if (delivery.kind === 'failed')
    throw new FailureError(
      `could not send the notice to Slack: ${delivery.error} (it is on stderr, and so in the journal)`,
    );
  if (configProblem !== null) process.stderr.write(`cost-watchdog: note: ${configProblem.split('\n')[0]}\n`);
  return EXIT.OK;
}
