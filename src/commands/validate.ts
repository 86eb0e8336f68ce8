// `validate`: check a config and show what it resolves to (absolute paths, windows, defaults).
import { balanceSpecText } from '../core/balance.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { configPath, loadConfig } from '../config/index.js';
import { formatDuration } from '../core/duration.js';
import { ConfigError, EXIT } from '../errors.js';
import type { Config } from '../config/index.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import { redisUrlSource } from '../fleet/url.js';
import { readFlag } from '../effects/flag.js';
import { webhookSource } from '../effects/slack.js';
import { configuredChannels } from '../channels/index.js';
import { findTarget, type TargetFinding } from '../effects/target.js';
import { limitsText, usd as formatUsd } from '../format.js';
import { priceTableVersion } from '../price-table.js';

const POLICY_WORDS = {
  reported: 'the cost the app logged (the estimate only for lines with tokens and no cost)',
  estimated: 'the estimate from tokens and the price table (the logged cost for models without a price)',
  max: 'the larger of the logged cost and the estimate from tokens',
} as const;
import { checkSchedule } from './watch.js';
import { figuresNote } from '../core/money.js';

export interface ValidateOptions {
  config?: string;
  json?: boolean;
}

const MANY = 10;

function describePids(finding: TargetFinding): string {
  const names = new Map(finding.processes.map((p) => [p.pid, p.name]));
  const shown = finding.pids.slice(0, MANY).map((pid) => `${pid} (${names.get(pid) ?? '?'})`);
  return `${shown.join(', ')}${finding.pids.length > MANY ? ` and ${finding.pids.length - MANY} more` : ''}`;
}

export async function validateCommand(options: ValidateOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  await checkSchedule(config);
  const fleet = config.fleet === null ? null : await checkFleet(config, config.fleet);
  // Worth knowing, not wrong: the config is valid either way.
  const notes: string[] = [];
  const reconcile = config.reconcile === null ? null : await checkReconcile(config, notes);
  for (const spec of config.sources) {
    if (!spec.glob && !existsSync(spec.pattern))
      notes.push(`the log ${spec.pattern} does not exist (yet): \`run\` fails until the app writes it`);
    if (spec.glob && !existsSync(spec.base))
      notes.push(
        `the folder ${spec.base} of the log glob ${spec.written} does not exist (yet): \`run\` fails ` +
          'until it does',
      );
  }
  const flag = readFlag(config.flagFile);
  if (flag.kind === 'unknown') notes.push(`${flag.reason}: every check fails until it is fixed`);
  else if (flag.kind === 'absent' && !existsSync(path.dirname(config.flagFile)))
    notes.push(
      `the flag's folder ${path.dirname(config.flagFile)} does not exist (yet): a flag cannot be ` +
        `written until the app creates it`,
    );
  for (const scope of config.scopes) {
    if (scope.flagFile === null) continue;
    const folder = path.dirname(scope.flagFile);
    if (!existsSync(folder))
      notes.push(
        `scope ${scope.name}: its flag's folder ${folder} does not exist (yet): its flag cannot be ` +
          'written until it does',
      );
  }
  const scopeTargets = config.scopes.filter((s) => s.target !== null).map((s) => s.name);
  if (config.target === null)
    notes.push(
      scopeTargets.length === 0
        ? 'no target: the watchdog can alert and flag, but cannot kill'
        : `no main target: only the scopes with a target of their own (${scopeTargets.join(', ')}) can ` +
            'kill; the main limits and the other scopes alert and flag',
    );
  const scopeKills = config.scopes.some((s) => s.windows.some((w) => w.limits.kill !== undefined));
  if (!config.windows.some((w) => w.limits.kill !== undefined) && config.balance?.kill == null)
    notes.push(
      scopeKills
        ? 'no kill limit on the main windows: only the scopes with a kill limit stop spend by a kill'
        : 'no kill limit on any window: spend is never stopped by a kill',
    );
  if (config.silenceAfterMs !== null && config.target === null)
    notes.push(
      'silence.after is set but there is no target: whether the app runs cannot be told, so a ' +
        'silent log is never alerted',
    );
  const daily = config.windows.find((w) => w.seconds === null);
  if (
    config.burnRate !== null &&
    daily !== undefined &&
    daily.limits.warn === undefined &&
    daily.limits.emergency === undefined &&
    daily.limits.kill === undefined
  ) {
    notes.push('burn_rate is on but the daily window has no limit: there is no pace to compare with');
  }
  const figures = figuresNote();
  if (figures !== null)
    notes.push(
      `${figures}: every amount below is shown in it (limits are written in ` +
        `${config.cost.limitsCurrency.code}; JSON and metrics stay USD)`,
    );
  const since = config.balance?.sinceMs ?? 0;
  if (since > Date.now())
    notes.push(
      `limits.balance.since ${new Date(since).toISOString()} is in the future: nothing counts ` +
        'against the balance until then',
    );
  // What the target rule finds right now: a pattern that matches far more than the app is
  // better seen here than during a kill.
  const finding = config.target === null ? null : await findTarget(config);
  if (finding !== null && finding.pids.length > MANY) {
    notes.push(
      `the target matches ${finding.pids.length} running processes now: check that process_name / ` +
        `cmdline names only the app (a kill signals them all)`,
    );
  }
  for (const note of finding?.notes ?? []) notes.push(note);
  const source = webhookSource(config, process.env);
  const slackText =
    source.kind === 'url'
      ? `from ${source.from}` +
        (source.from === config.slack.webhookUrlFile
          ? ' (held like a key: a regular file, yours ' + "or root's, open to nobody else)"
          : '')
      : source.kind === 'broken'
        ? `BROKEN: ${source.from} ${source.problem}`
        : `not set ($${config.slack.webhookUrlEnv} is empty)`;
  if (source.kind === 'none')
    notes.push(
      `no Slack webhook: alerts go to stderr only (set $${config.slack.webhookUrlEnv}, or slack.web` +
        `hook_url_file)`,
    );
  if (source.kind === 'broken')
    notes.push(`the Slack webhook URL from ${source.from} ${source.problem}: alerts go to stderr only`);
  const { broken: brokenChannels, unsigned } = configuredChannels(config, process.env);
  for (const b of brokenChannels)
    if (b.name !== 'slack')
      notes.push(`channel ${b.name} (${b.type}): ${b.problem}: its alerts are not sent`);
  for (const name of unsigned)
    notes.push(
      `channel ${name} has no signing secret: its alerts are sent unsigned (receivers cannot verify)`,
    );
  if (options.json) {
    const json = {
      valid: true,
      config,
      target_running_now: finding?.pids ?? null,
      ...(fleet === null ? {} : { fleet: fleet.json }),
      ...(reconcile === null ? {} : { reconcile: reconcile.json }),
      notes,
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    const lines = [
      `${config.file}: valid`,
      ...config.sources.map(
        (s, i) =>
          `  ${i === 0 ? (config.sources.length > 1 ? 'logs' : 'log ') : '    '}        ${s.pattern}` +
          (s.format === 'jsonl' ? '' : ` (${s.format})`),
      ),
      `  state file  ${config.stateFile ?? '(none)'}`,
      `  flag file   ${config.flagFile}`,
      `  state dir   ${config.stateDir}` +
        (config.stateDirFrom === 'systemd'
          ? ' (from systemd: $STATE_DIRECTORY)'
          : config.stateDirFrom === 'default'
            ? ' (the default, beside the config)'
            : ''),
      `  time zone   ${config.timezone}`,
      ...config.windows.map((w) => `  ${w.name.padEnd(10)}  ${limitsText(w.limits)}`),
      ...(config.balance === null ? [] : [`  balance     ${balanceSpecText(config.balance)}`]),
      config.target === null
        ? '  target      (none)'
        : `  target      ${[
            config.target.pidFile && `pid_file ${config.target.pidFile}`,
            config.target.processName && `process_name ${config.target.processName}`,
            config.target.cmdline && `cmdline /${config.target.cmdline}/`,
            `grace ${formatDuration(config.target.graceMs)}`,
            config.target.graceSpendUsd === null
              ? 'grace_spend off'
              : `SIGKILL at once if the log gains over ${formatUsd(config.target.graceSpendUsd)} duri` +
                `ng the grace`,
            config.target.stopCommand &&
              `stop_command "${config.target.stopCommand}" (timeout ` +
                `${formatDuration(config.target.stopTimeoutMs)})`,
          ]
            .filter(Boolean)
            .join(', ')}`,
      ...(finding === null
        ? []
        : [`  running now ${finding.running ? describePids(finding) : 'no target process'}`]),
      `  alerts      stderr always; Slack ${slackText}; reminder every ` +
        `${formatDuration(config.alerts.reminderMs)} while the flag is in force`,
      ...config.alerts.channels.map((c) => {
        const b = brokenChannels.find((x) => x.name === c.name);
        const how =
          b !== undefined ? `NOT SENT: ${b.problem}` : unsigned.includes(c.name) ? 'unsigned' : 'set';
        return `  channel     ${c.name} (${c.type}, from ${c.minLevel}): ${how}`;
      }),
      `  heartbeat   check-heartbeat fails when the last check is older than ` +
        `${formatDuration(config.heartbeat.maxAgeMs)}; ` +
        (config.heartbeat.pingUrl === null
          ? "no dead-man's-switch ping"
          : `pings ${new URL(config.heartbeat.pingUrl).host} after each check (/fail after a failed one)`),
      `  watch       timed checks "${config.watch.schedule}" besides one on every change`,
      `  cost policy ${config.cost.policy}: ${POLICY_WORDS[config.cost.policy]}`,
      `  prices      the table of @pydantic/genai-prices ` +
        (priceTableVersion() ?? '(NOT INSTALLED: every model counts as unpriced)') +
        (Object.keys(config.cost.prices).length > 0
          ? `; own prices for ${Object.keys(config.cost.prices).join(', ')}`
          : '') +
        `; a model without a price counts ` +
        formatUsd(config.cost.unpricedPerMillion) +
        ` per million tokens when it logs no cost; a line above ` +
        formatUsd(config.cost.maxLineUsd) +
        ` (cost.max_line_usd) is malformed`,
      `  app state   ${
        config.stateFile === null
          ? 'not compared (no state_file)'
          : `compared: ${
              Object.entries(config.appState.windows)
                .map(([w, k]) => `${w} = ${k}`)
                .join(', ') || 'no window figures'
            }; stale when "${config.appState.updatedAt}" is ` +
            `${formatDuration(config.appState.staleAfterMs)} behind the log; under-reports beyond ` +
            `${formatUsd(config.appState.toleranceUsd)} or ${config.appState.tolerancePercent}%`
      }`,
      `  storms      ` +
        (config.retryStorm === null
          ? 'off'
          : `the same ${config.retryStorm.key} ${config.retryStorm.count} times in ` +
            `${formatDuration(config.retryStorm.windowMs)} is a retry storm, acted on at ` +
            `${config.retryStorm.level}`),
      `  shapes      ` +
        (config.shapeStorm === null
          ? 'off (storms)'
          : `the same call shape ${config.shapeStorm.withIds ? '(ids or not)' : 'without ids'} ` +
            `${config.shapeStorm.count} times in ` +
            `${formatDuration(config.shapeStorm.windowMs)} is a shape storm, acted on at ` +
            `${config.shapeStorm.level}`),
      `  burn rate   ` +
        (config.burnRate === null
          ? 'off'
          : `warns when the last ${formatDuration(config.burnRate.shortMs)} and the last ` +
            `${formatDuration(config.burnRate.longMs)} both spend faster than ${config.burnRate.factor}` +
            `x the even pace of the daily limit`),
      `  silence     ` +
        (config.silenceAfterMs === null
          ? 'off (silence.after)'
          : `alerts when the target runs and the log has not grown for ` +
            `${formatDuration(config.silenceAfterMs)}`),
      ...config.scopes.map(
        (s) =>
          `  scope       ${s.name}: ` +
          [
            ...s.match.map((m) => `${m.field} ${m.glob === null ? '=' : 'like'} ${JSON.stringify(m.value)}`),
            ...(s.each === null ? [] : [`each ${s.each}`]),
          ].join(', ') +
          `; ${s.windows
            .filter((w) => limitsText(w.limits) !== 'no limits')
            .map((w) => `${w.name} ${limitsText(w.limits)}`)
            .join('; ')}` +
          `; flag ${s.flagFile ?? 'the main flag'}` +
          `; target ${targetOf(s.target !== null, config.target !== null)}`,
      ),
      ...(fleet === null ? [] : fleet.lines),
      ...(reconcile === null ? [] : reconcile.lines),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  for (const note of notes) process.stderr.write(`cost-watchdog: note: ${note}\n`);
  return EXIT.OK;
}

/**
 * Each provider of `reconcile` read once (its last two closed minutes): a key that is missing, or
 * refused (401 / 403), is a config that cannot work (exit 78); a provider that is down, slow or
 * answers oddly is a note (the config is right; run and watch say it until it answers).
 */
async function checkReconcile(
  config: Config,
  notes: string[],
): Promise<{ lines: string[]; json: Record<string, { read: boolean; error: string | null }> }> {
  const rc = config.reconcile!;
  const { clientsFrom } = await import('../reconcile/clients.js');
  const { ProviderFailure } = await import('../reconcile/types.js');
  const clients = clientsFrom(process.env);
  const lines: string[] = [];
  const json: Record<string, { read: boolean; error: string | null }> = {};
  const refused: string[] = [];
  const toMs = Math.floor(Date.now() / 60_000) * 60_000;
  await Promise.all(
    rc.providers.map(async (p) => {
      const client = clients(p);
      let failure: InstanceType<typeof ProviderFailure> | null =
        client instanceof ProviderFailure ? client : null;
      let rows = 0;
      if (failure === null) {
        try {
          const read = await (client as Exclude<typeof client, InstanceType<typeof ProviderFailure>>).usage(
            toMs - 2 * 60_000,
            toMs,
            AbortSignal.timeout(p.timeoutMs * 2),
          );
          rows = read.rows.length;
        } catch (error) {
          failure =
            error instanceof ProviderFailure
              ? error
              : new ProviderFailure(
                  'network',
                  `${p.name}: ${error instanceof Error ? error.message : String(error)}`,
                );
        }
      }
      json[p.name] = { read: failure === null, error: failure?.message ?? null };
      const where = `${p.name} (${p.type}) at ${p.baseUrl}`;
      if (failure === null)
        lines.push(
          `  reconcile   ${where}: read (${rows} usage row(s) in the last 2 minutes), every ` +
            `${formatDuration(rc.everyMs)} over ${formatDuration(rc.windowMs)}; unlogged spend over ` +
            `${formatUsd(rc.tolerance.usd)} and ${Math.round(rc.tolerance.ratio * 100)} % is ` +
            rc.unloggedLevel,
        );
      else if (failure.kind === 'auth' || failure.kind === 'key')
        refused.push(`reconcile: ${failure.message}`);
      else {
        lines.push(`  reconcile   ${where}: NOT READ: ${failure.message}`);
        notes.push(`reconcile ${p.name}: ${failure.message}: run and watch alert this until it answers`);
      }
    }),
  );
  if (refused.length > 0) throw new ConfigError(config.file, refused);
  return { lines, json };
}

/** Which target a scope kills: its own, the main one, or none. */
function targetOf(own: boolean, main: boolean): string {
  return own ? 'its own' : main ? 'the main target' : 'none (it cannot kill)';
}

export interface ValidateFleetJson {
  name: string;
  host: string;
  redis: string;
  /** Where the URL was found: `$COST_WATCHDOG_REDIS_URL` or the file's path. */
  from: string;
  /** How long the fleet's view took (connect and read). */
  ms: number;
  hosts: { host: string; last_push_age_seconds: number; silent: boolean }[];
}

/**
 * With a fleet: connect and read the fleet's view as `status` does, so that what every check would
 * meet is said now, before install. Anything that keeps the fleet from working is a config error
 * (exit 78): Redis refused (a wrong password, TLS), Redis cannot be reached (the URL names a
 * server that does not answer: every check would run blind), or another host of the fleet that
 * pushed within fleet.silent_after has other settings (this host would be refused).
 */
async function checkFleet(
  config: Config,
  fleet: FleetConfig,
): Promise<{ lines: string[]; json: ValidateFleetJson }> {
  const source = redisUrlSource(fleet, process.env);
  // loadConfig has refused a missing or broken URL already.
  const from = source.from;
  const { settingsText, viewFleet } = await import('../fleet/exchange.js');
  const started = Date.now();
  const view = await viewFleet(config, started);
  const ms = Date.now() - started;
  const where = `Redis at ${view.shown} (from ${from})`;
  if (!view.reachable) {
    const problem = view.problem;
    const blind =
      fleet.onLost === 'emergency'
        ? 'every check would write the emergency flag (fleet.on_lost: emergency) until it answers'
        : "every check would run on this host's own limits only until it answers";
    throw new ConfigError(config.file, [
      problem?.kind === 'refused'
        ? `fleet: ${problem.text} (${where})`
        : `fleet: ${problem?.text ?? 'Redis cannot be reached'} (${where}): start Redis or fix the URL; ` +
          blind,
    ]);
  }
  const mine = settingsText(config, fleet);
  const others = view.hosts.filter(
    (h) =>
      h.host !== fleet.host &&
      !h.refused &&
      h.settings !== '' &&
      h.settings !== mine &&
      h.lastPushAgeSeconds * 1000 < fleet.silentAfterMs,
  );
  if (others.length > 0)
    throw new ConfigError(
      config.file,
      others.map(
        (h) =>
          `fleet: host ${h.host} of fleet ${fleet.name} (pushed ` +
          `${secondsAgo(h.lastPushAgeSeconds)} ago) has other fleet settings: ${h.settings}; ` +
          `this config has: ${mine}. Every host of a fleet ` +
          'needs the same timezone and fleet.limits: this host would be refused while a host with the ' +
          `other settings pushes (within fleet.silent_after, ${formatDuration(fleet.silentAfterMs)})`,
      ),
    );
  const seen = view.hosts.map(
    (h) =>
      `${h.host} (${[
        ...(h.host === fleet.host ? ['this host'] : []),
        ...(h.silent ? ['SILENT'] : []),
        `pushed ${secondsAgo(h.lastPushAgeSeconds)} ago`,
      ].join(', ')})`,
  );
  const pad = '              ';
  const lines = [
    `  fleet       ${fleet.name} as host ${fleet.host}; ${where} answered in ${ms} ms`,
    `${pad}${fleet.windows.map((w) => `${w.name} ${limitsText(w.limits)}`).join('; ')} for all the hosts ` +
      `together; on_lost ${fleet.onLost}; timeout ${formatDuration(fleet.timeoutMs)}; a host is silent ` +
      `after ${formatDuration(fleet.silentAfterMs)}`,
    `${pad}hosts seen: ${seen.length === 0 ? 'none has pushed yet' : seen.slice(0, MANY).join(', ')}` +
      (seen.length > MANY ? ` and ${seen.length - MANY} more` : ''),
  ];
  return {
    lines,
    json: {
      name: fleet.name,
      host: fleet.host,
      redis: view.shown,
      from,
      ms,
      hosts: view.hosts.map((h) => ({
        host: h.host,
        last_push_age_seconds: h.lastPushAgeSeconds,
        silent: h.silent,
      })),
    },
  };
}

/** A push's age in whole seconds, as status says it: `0s`, `42s`, `5m12s`. */
function secondsAgo(seconds: number): string {
  return seconds < 1 ? '0s' : formatDuration(seconds * 1000);
}
