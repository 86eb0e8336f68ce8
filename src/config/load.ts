// The config file from disk: which file (-c, $COST_WATCHDOG_CONFIG, ./watchdog.yaml), refused when
// others could have written it (StrictModes, as sshd does), parsed as YAML, resolved, and its
// secret file checked. Every failure is a ConfigError (exit 78).
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { showFiguresIn } from '../core/money.js';
import { unsafeFile, unsafeFolder } from '../core/strict.js';
import { webhookSource } from '../effects/slack.js';
import { channelFileProblems } from '../channels/files.js';
import { redisUrlSource } from '../fleet/url.js';
import { ConfigError } from '../errors.js';
import { type Config, resolveConfig } from './resolve.js';

export const DEFAULT_CONFIG_FILE = 'watchdog.yaml';
export const CONFIG_ENV = 'COST_WATCHDOG_CONFIG';

/** Which config file to use: `-c`, then $COST_WATCHDOG_CONFIG, then ./watchdog.yaml. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen =
    option ??
    (env[CONFIG_ENV] !== undefined && env[CONFIG_ENV] !== '' ? env[CONFIG_ENV] : DEFAULT_CONFIG_FILE);
  return path.resolve(cwd, chosen);
}

/**
 * Read, parse and validate a config file. Every failure is a ConfigError (exit 78). A config that
 * loads sets the currency the process shows figures in (cost.display_currency).
 */
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
  // The same for the files of alerts.channels (a URL, a signing secret, a routing key).
  const channelProblems = channelFileProblems(config.alerts.channels);
  if (channelProblems.length > 0) throw new ConfigError(file, channelProblems);
  // The fleet cannot work without its URL: a missing or broken one is a config error, said
  // without the URL itself (it may hold a password).
  if (config.fleet !== null) {
    const source = redisUrlSource(config.fleet, env);
    if (source.kind === 'broken')
      throw new ConfigError(file, [
        source.from === config.fleet.urlFile
          ? `fleet.redis_url_file: ${source.from} ${source.problem}`
          : source.problem.startsWith('no Redis URL')
            ? `fleet: ${source.problem}`
            : `fleet: ${source.from} ${source.problem}`,
      ]);
  }
  // Every figure this process writes for people is in the config's display currency from here.
  showFiguresIn(config.cost.display);
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
