// `systemd`: print (or write, with --dir) the systemd units for this install: the node binary and
// the script that are running now, the config's absolute path, and the folders the config says the
// watchdog writes (the flag's folder), so that the hardened units can write nothing else.
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { type Config, configPath, loadConfig } from '../config/index.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import { instanceNameProblem, onCalendarFor, systemdUnits, unitPrefix } from '../core/units.js';
import { LOCK_WAIT_MS } from '../check/run-check.js';
import { ConfigError, EXIT, FailureError, UsageError } from '../errors.js';
import { makeDirs } from '../effects/store.js';
import { SEND_BUDGET_MS } from '../effects/slack.js';
import { PING_TIMEOUT_MS } from '../effects/ping.js';
import { packageFile } from '../install.js';

export interface SystemdOptions {
  config?: string;
  json?: boolean;
  user?: boolean;
  interval?: string;
  dir?: string;
  exec?: string;
  name?: string;
}

/** Beyond the bounded parts of a check: reading a large log, listing processes, writing state. */
const CHECK_MARGIN_MS = 60_000;
/** How long the last check of a kill waits for the processes to be gone. */
const VERIFY_MS = 5_000;

function execOf(option: string | undefined): string[] {
  if (option !== undefined) {
    const words = option
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0 || !path.isAbsolute(words[0] as string))
      throw new UsageError(
        `--exec: expected an absolute path to the cost-watchdog command, got ${JSON.stringify(option)}`,
      );
    return words;
  }
  const script = packageFile('bin/cost-watchdog.js');
  if (script === null)
    throw new FailureError(
      'cannot find bin/cost-watchdog.js in this install; give the command with --exec /path/to/cost-watchdog',
    );
  return [process.execPath, script];
}

export async function systemdCommand(options: SystemdOptions): Promise<number> {
  const user = options.user === true;
  const intervalMs = options.interval === undefined ? 60_000 : parseDuration(options.interval);
  if (intervalMs === null || onCalendarFor(intervalMs) === null) {
    throw new UsageError(
      `--interval: expected a duration that divides a minute, an hour or a day evenly (10s, 30s, ` +
        `1m, 5m, 1h), got ${JSON.stringify(options.interval)}`,
    );
  }
  const instance = options.name ?? null;
  const problem = instance === null ? null : instanceNameProblem(instance);
  if (problem !== null) throw new UsageError(`--name: ${problem}`);
  // Two watchdogs on one host (--name) share no unit, state folder or environment file.
  const prefix = unitPrefix(instance);
  const stateFolder = user ? path.join(homedir(), '.local/state', prefix) : `/var/lib/${prefix}`;
  const file = configPath(options.config, process.env, process.cwd());
  const exec = execOf(options.exec);
  const notes: string[] = [];
  let config: Config | null = null;
  try {
    // As the units will see it: under StateDirectory=, with no state_dir in the config.
    config = loadConfig(file, { ...process.env, STATE_DIRECTORY: user ? '' : stateFolder });
  } catch (error) {
    if (!(error instanceof ConfigError) || !error.problems.some((p) => p.startsWith('no such file')))
      throw error;
    notes.push(
      `${file} does not exist yet: the units name it, and the flag's folder is not known, so the ` +
        `units may write only their state folder. Write the config (\`cost-watchdog init -c ${file}\`` +
        `), then run this command again.`,
    );
  }
  if (config !== null) {
    if (config.stateDirFrom !== 'config') {
      notes.push(
        `${file} sets no state_dir: under systemd the state (lock, kill switch, heartbeat) goes to ` +
          `${stateFolder}, while commands run by hand (status, kill, clear-emergency) would use ` +
          `${path.join(path.dirname(file), '.cost-watchdog')}. Set \`state_dir: ${stateFolder}\` in the ` +
          'config so that both share one state.',
      );
    }
    // ReadWritePaths= skips a missing folder ("-"), and ProtectSystem=strict then leaves it
    // read-only: every check would fail. Only StateDirectory= is made by systemd itself.
    // User units have no ProtectSystem=: there the check makes its state folder itself.
    if (
      !user &&
      config.stateDirFrom === 'config' &&
      config.stateDir !== stateFolder &&
      !existsSync(config.stateDir)
    ) {
      notes.push(
        `state_dir ${config.stateDir} does not exist, and the units would not be allowed to create it: ` +
          `create it (mkdir -p), or set \`state_dir: ${stateFolder}\`, which systemd creates ` +
          `(StateDirectory=${path.basename(stateFolder)}).`,
      );
    }
    if (intervalMs >= config.heartbeat.maxAgeMs) {
      notes.push(
        `--interval ${formatDuration(intervalMs)} is not shorter than heartbeat.max_age ` +
          `${formatDuration(config.heartbeat.maxAgeMs)}: check-heartbeat would report the watchdog ` +
          `down between two checks. Raise heartbeat.max_age to at least twice the interval.`,
      );
    }
    // The user units have no PrivateTmp= (it needs privileges a user manager may not have). A PID
    // file the units cannot see is the worst of these: the kill would find no target, silently.
    if (!user) {
      const hidden = privateTmpPaths(config);
      if (hidden.length > 0) {
        notes.push(
          `${hidden.join(', ')} under /tmp or /var/tmp: PrivateTmp=yes gives the units a /tmp and ` +
            '/var/tmp of their own, so they would not see it (a PID file there: the kill would find no ' +
            'target). Move them, or remove PrivateTmp= from the units.',
        );
      }
    }
  }
  const target = config?.target ?? null;
  const checkTimeoutMs =
    LOCK_WAIT_MS +
    (target === null ? 0 : target.stopTimeoutMs + target.graceMs + VERIFY_MS) +
    SEND_BUDGET_MS +
    PING_TIMEOUT_MS +
    CHECK_MARGIN_MS;
  const units = systemdUnits({
    user,
    exec,
    config: file,
    intervalMs,
    flagFolder: config === null ? null : path.dirname(config.flagFile),
    stateFolder: config !== null && config.stateDirFrom === 'config' ? config.stateDir : null,
    metricsFolder: config?.metrics.textfile == null ? null : path.dirname(config.metrics.textfile),
    checkTimeoutMs,
    envFile: `${user ? '%h/.config' : '/etc'}/cost-watchdog/${instance === null ? 'env' : `${instance}.env`}`,
    instance,
    dailySummary:
      config?.alerts.dailySummary == null
        ? null
        : { ...config.alerts.dailySummary, timezone: config.timezone },
  });
  const installDir = user ? '~/.config/systemd/user' : '/etc/systemd/system';
  const systemctl = user ? 'systemctl --user' : 'systemctl';

  if (options.dir !== undefined) {
    const dir = path.resolve(options.dir);
    try {
      makeDirs(dir);
      for (const unit of units) writeFileSync(path.join(dir, unit.name), unit.text, { mode: 0o644 });
    } catch (error) {
      throw new FailureError(`cannot write the units to ${dir}: ${(error as Error).message}`);
    }
    for (const unit of units) process.stdout.write(`wrote ${path.join(dir, unit.name)}\n`);
  } else if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          user,
          ...(instance !== null ? { name: instance } : {}),
          interval_seconds: intervalMs / 1000,
          config: file,
          exec,
          install_dir: installDir,
          units,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const unit of units) process.stdout.write(`### ${installDir}/${unit.name}\n${unit.text}\n`);
  }
  for (const note of notes) process.stderr.write(`cost-watchdog: note: ${note}\n`);
  if (!options.json) {
    const sudo = user ? '' : 'sudo ';
    process.stderr.write(
      [
        `cost-watchdog: to install (checks ` +
          (intervalMs === 60_000 ? 'every minute' : `every ${formatDuration(intervalMs)}`) +
          `, heartbeat every 5 minutes):`,
        `  ${sudo}cost-watchdog systemd${user ? ' --user' : ''}` +
          `${instance !== null ? ` --name ${instance}` : ''}` +
          `${options.interval !== undefined ? ` --interval ${options.interval}` : ''}` +
          ` -c ${file} --dir ${installDir}`,
        `  ${user ? '' : 'sudo '}${systemctl} daemon-reload`,
        `  ${user ? '' : 'sudo '}${systemctl} enable --now ${prefix}.timer ${prefix}-heartbeat.timer` +
          `${config?.alerts.dailySummary != null ? ` ${prefix}-summary.timer` : ''}`,
        `  (or, for sub-second reaction: ${sudo}${systemctl} enable --now ${prefix}-watch.service ` +
          `${prefix}-heartbeat.timer)`,
        ...(user
          ? ['  loginctl enable-linger "$USER"   # keep user units running while you are logged out']
          : []),
        '',
      ].join('\n'),
    );
  }
  return EXIT.OK;
}

/** What the config names under /tmp or /var/tmp, which PrivateTmp= hides from the units. */
function privateTmpPaths(config: Config): string[] {
  const hidden = (file: string | null): boolean =>
    file !== null && (file.startsWith('/tmp/') || file.startsWith('/var/tmp/'));
  const named: [string, string | null][] = [
    ...config.sources.map((s): [string, string] => [`the log ${s.pattern}`, s.pattern]),
    [`the flag ${config.flagFile}`, config.flagFile],
    [`target.pid_file ${config.target?.pidFile ?? ''}`, config.target?.pidFile ?? null],
    [`state_file ${config.stateFile ?? ''}`, config.stateFile],
    [`state_dir ${config.stateDir}`, config.stateDirFrom === 'config' ? config.stateDir : null],
  ];
  return named.filter(([, file]) => hidden(file)).map(([what]) => what);
}
