// `notify --test`: a harmless message to every channel (Slack, each webhook, PagerDuty as a
// change event that pages nobody), at once and within the send budget, and which answered.
// Exit 0 when all answered, 1 when any did not (a broken secret included), 78 when no channel
// is configured (nothing to test: a matter of config).
import { configuredChannels } from '../channels/index.js';
import { buildPayload } from '../channels/payload.js';
import type { ChannelMessage } from '../channels/types.js';
import { type Config, configPath, loadConfig } from '../config/index.js';
import { noticeSlackText } from '../core/alert-text.js';
import { Auditor } from '../effects/audit.js';
import { host } from '../effects/identity.js';
import { SEND_BUDGET_MS } from '../effects/slack.js';
import { makeDirs } from '../effects/store.js';
import { CliError, EXIT, FailureError } from '../errors.js';
import { printable } from '../format.js';
import { tallyAlert } from '../metrics/tally.js';

export interface ChannelAnswer {
  name: string;
  type: 'slack' | 'webhook' | 'pagerduty';
  ok: boolean;
  ms: number;
  attempts: number;
  error?: string;
}

/** `notify --test --json`. */
export interface NotifyTestJson {
  ok: boolean;
  channels: ChannelAnswer[];
}

export async function notifyTest(options: { config?: string; json?: boolean }): Promise<number> {
  const config: Config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const { channels, broken } = configuredChannels(config, process.env);
  if (channels.length === 0 && broken.length === 0)
    throw new CliError(
      `notify --test: no alert channel is configured: set $${config.slack.webhookUrlEnv} (Slack) or ` +
        'add alerts.channels (webhook, pagerduty) to the config',
      EXIT.CONFIG,
    );
  const nowMs = Date.now();
  const headline = `cost-watchdog test from ${host()}: nothing is wrong`;
  const details = [
    'sent by `cost-watchdog notify --test` to check that alerts arrive here',
    `host ${host()} at ${new Date(nowMs).toISOString()} (cost-watchdog notify --test)`,
  ];
  const id = `test-${nowMs.toString(36)}`;
  const deadline = Date.now() + SEND_BUDGET_MS;
  const answers = await Promise.all(
    channels.map(async (channel): Promise<ChannelAnswer> => {
      const message: ChannelMessage = {
        kind: 'test',
        level: 'ok',
        text:
          channel.type === 'slack'
            ? noticeSlackText('ok', headline, details)
            : [headline, ...details].join('\n'),
        id,
      };
      if (channel.type !== 'slack')
        message.payload = buildPayload(message, {
          id,
          host: host(),
          atMs: nowMs,
          by: 'notify',
          fleet: config.fleet?.name ?? null,
        });
      const started = Date.now();
      const outcome = await channel.send(message, deadline);
      tallyAlert(channel.name, outcome.ok ? 'sent' : 'failed');
      return {
        name: channel.name,
        type: channel.type,
        ok: outcome.ok,
        ms: Date.now() - started,
        attempts: outcome.attempts,
        ...(outcome.ok ? {} : { error: outcome.error ?? 'unknown' }),
      };
    }),
  );
  for (const b of broken)
    answers.push({ name: b.name, type: b.type, ok: false, ms: 0, attempts: 0, error: b.problem });
  const order = ['slack', ...config.alerts.channels.map((c) => c.name)];
  answers.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const ok = answers.every((a) => a.ok);
  try {
    makeDirs(config.stateDir);
    new Auditor(config.stateDir, Date.now).record('notify_test', {
      channels: answers.map((a) => ({
        name: a.name,
        ok: a.ok,
        ms: a.ms,
        ...(a.error ? { error: a.error } : {}),
      })),
    });
  } catch {
    // a test of the channels does not fail on the audit log
  }
  if (options.json) {
    const json: NotifyTestJson = { ok, channels: answers };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else {
    const width = Math.max(...answers.map((a) => a.name.length), 7);
    const lines = answers.map(
      (a) =>
        `${a.name.padEnd(width)}  ${a.type.padEnd(9)}  ${a.ok ? 'ok    ' : 'FAILED'}  ` +
        `${String(a.ms).padStart(5)} ms` +
        (a.ok ? (a.type === 'pagerduty' ? '  (a change event: pages nobody)' : '') : `  ${a.error}`),
    );
    process.stdout.write(`${lines.map(printable).join('\n')}\n`);
  }
  if (!ok) {
    const failed = answers.filter((a) => !a.ok).map((a) => a.name);
    throw new FailureError(`notify --test: no answer from ${failed.join(', ')}`);
  }
  return EXIT.OK;
}
