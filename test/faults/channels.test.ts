// Fault rows for the alert channels besides Slack (alerts.channels): a webhook receiver and
// PagerDuty's Events API stood in for by HTTP servers on 127.0.0.1. The signature verifies with
// the secret; the payload has its version and shape; min_level filters; PagerDuty triggers one
// incident per window and resolves it when the window is back to ok (a warn) or the flag is
// cleared (an emergency); 429 / 5xx are retried, 400 is not; a receiver that hangs holds back
// neither the flag nor Slack, in `run` and in `watch`; no secret reaches any output or file;
// `notify --test` says which channel answered. Real CLI, real files, real processes.
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, flagFile, lines, type Workspace, workspace } from '../e2e/helpers.js';
import { waitFor } from '../e2e/procs.js';
import { alertsJson, auditOf, type Seen, standIn, startWatch } from './alerts-support.js';

const HOOK_SECRET = 'hm4c-s3cr3t-value';
const PD_KEY = 'R0UT1NGK3Y0000000000000000000001';
const NO_TIMED_CHECKS = 'watch:\n  schedule: "0 0 0 1 1 *"\n';

function config(pdUrl: string, extra = ''): string {
  return (
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n' +
    'slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n' +
    'alerts:\n  channels:\n' +
    '    - { type: webhook, name: ops-hook, url_env: CW_HOOK_URL, secret_env: CW_HOOK_SECRET }\n' +
    `    - { type: pagerduty, routing_key_env: CW_PD_KEY, events_url: "${pdUrl}/v2/enqueue", ` +
    'min_level: emergency }\n' +
    extra
  );
}

interface Receivers {
  slack: Awaited<ReturnType<typeof standIn>>;
  hook: Awaited<ReturnType<typeof standIn>>;
  pd: Awaited<ReturnType<typeof standIn>>;
  env: Record<string, string>;
}

async function receivers(
  hookReplies?: Parameters<typeof standIn>[0],
  pdReplies: Parameters<typeof standIn>[0] = [{ status: 202, body: '{"status":"success"}' }],
): Promise<Receivers> {
  const slack = await standIn();
  const hook = await standIn(hookReplies);
  const pd = await standIn(pdReplies);
  return {
    slack,
    hook,
    pd,
    env: {
      CW_TEST_WEBHOOK: slack.url,
      CW_HOOK_URL: hook.url,
      CW_HOOK_SECRET: HOOK_SECRET,
      CW_PD_KEY: PD_KEY,
    },
  };
}

function run(ws: Workspace, env: Record<string, string>, ...args: string[]) {
  return cliAsync(['run', ...args, '-c', ws.config], { cwd: ws.dir, env });
}

function verified(seen: Seen, secret: string): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(seen.body).digest('hex')}`;
  return seen.headers['x-cost-watchdog-signature'] === expected;
}

const pdEvents = (pd: Receivers['pd']) =>
  pd.requests.filter((r) => r.url === '/v2/enqueue').map((r) => r.payload);

/** No trace of any secret in these outputs, nor in any file of the state folder, nor the flag. */
function noSecrets(ws: Workspace, outputs: string[], secrets: string[]): void {
  for (const out of outputs) for (const s of secrets) expect(out).not.toContain(s);
  const files = readdirSync(ws.stateDir).map((n) => path.join(ws.stateDir, n));
  if (existsSync(flagFile(ws))) files.push(flagFile(ws));
  for (const file of files) {
    if (statSync(file).isDirectory()) continue;
    const text = readFileSync(file, 'utf8');
    for (const s of secrets) expect(text, file).not.toContain(s);
  }
}

describe('webhook and PagerDuty in run', () => {
  it(
    'a signed, versioned payload to the webhook; ' + 'PagerDuty only from emergency, one incident per window',
    async () => {
      const r = await receivers();
      const ws = workspace(config(r.pd.base));
      ws.append(lines(1, 4)); // $4: warn
      const warn = await run(ws, r.env);
      expect(warn.code, warn.stderr).toBe(0);
      expect(r.slack.requests).toHaveLength(1);
      expect(r.hook.requests).toHaveLength(1);
      expect(pdEvents(r.pd)).toHaveLength(0); // min_level emergency
      const seen = r.hook.requests[0] as Seen;
      expect(verified(seen, HOOK_SECRET)).toBe(true);
      expect(verified(seen, 'not-the-secret')).toBe(false);
      expect(seen.headers['user-agent']).toMatch(/^cost-watchdog\/\S+$/);
      expect(seen.headers['content-type']).toBe('application/json');
      const ts = Number(seen.headers['x-cost-watchdog-timestamp']);
      expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
      expect(seen.payload).toMatchObject({
        version: 1,
        kind: 'alert',
        level: 'warn',
        by: 'run',
        headline: 'WARN: 15m spend $4.00 crossed the warn limit $3.00',
        windows: { '15m': { spend_usd: 4, level: 'warn', limits: { warn: 3, emergency: 5, kill: 8 } } },
        events: [{ kind: 'enter', window: '15m', level: 'warn', previous: 'ok', spend_usd: 4, limit_usd: 3 }],
        flag: { state: 'none', file: null },
        kill: null,
        scope: null,
        fleet: null,
      });
      expect(Math.floor(Date.parse(String(seen.payload.sent_at)) / 1000)).toBe(ts); // signed, in the body
      expect(typeof seen.payload.id).toBe('string');

      ws.append(lines(1, 2)); // $6: emergency
      const emergency = await run(ws, r.env);
      expect(emergency.code, emergency.stderr).toBe(0);
      expect(existsSync(flagFile(ws))).toBe(true);
      expect(pdEvents(r.pd)).toEqual([
        expect.objectContaining({
          routing_key: PD_KEY,
          event_action: 'trigger',
          dedup_key: expect.stringMatching(/^cost-watchdog:.+:15m$/),
          payload: expect.objectContaining({
            severity: 'error',
            source: expect.any(String),
            component: 'cost-watchdog',
          }),
        }),
      ]);
      // The same alert id on every channel: receivers can tell one alert from two.
      const hookId = r.hook.requests[1]?.payload.id;
      const pdPayload = pdEvents(r.pd)[0]?.payload as { custom_details: { id: string } } | undefined;
      const pdId = pdPayload?.custom_details.id;
      expect(hookId).toBe(pdId);

      ws.append(lines(1, 3)); // $9: kill (no target: nothing to kill, still a kill alert)
      await run(ws, r.env);
      expect(pdEvents(r.pd).at(-1)).toMatchObject({
        event_action: 'trigger',
        dedup_key: pdEvents(r.pd)[0]?.dedup_key,
        payload: { severity: 'critical' },
      });
      expect(alertsJson(ws).pending).toEqual([]);
      const sent = auditOf(ws).filter((e) => e.event === 'alert_sent');
      expect(sent.filter((e) => e.channel === 'ops-hook')).toHaveLength(3);
      expect(sent.filter((e) => e.channel === 'pagerduty')).toHaveLength(2);
      expect(sent.filter((e) => e.channel === undefined)).toHaveLength(3); // Slack, as before
    },
  );

  it('PagerDuty resolves a warn when its window is back to ok', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base).replace('min_level: emergency', 'min_level: warn'));
    ws.append(lines(1, 4, 15 * 60 - 4)); // $4, ages out of the 15m window in 4 s
    expect((await run(ws, r.env)).code).toBe(0);
    expect(pdEvents(r.pd)).toEqual([
      expect.objectContaining({
        event_action: 'trigger',
        payload: expect.objectContaining({ severity: 'warning' }),
      }),
    ]);
    const key = pdEvents(r.pd)[0]?.dedup_key;
    // Poll: a run every half second until the line has aged out and the window is back to ok.
    for (const end = Date.now() + 30_000; pdEvents(r.pd).length < 2 && Date.now() < end; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await run(ws, r.env);
    }
    expect(pdEvents(r.pd)[1]).toEqual({ routing_key: PD_KEY, event_action: 'resolve', dedup_key: key });
    expect(r.hook.requests.at(-1)?.payload.events).toEqual([
      expect.objectContaining({ kind: 'recovery', previous: 'warn' }),
    ]);
  });

  it('PagerDuty resolves an emergency when the flag is cleared (not when spend drops)', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base));
    ws.append(lines(2, 3)); // $6: emergency
    expect((await run(ws, r.env)).code).toBe(0);
    const key = pdEvents(r.pd)[0]?.dedup_key;
    expect(pdEvents(r.pd)).toHaveLength(1);
    const clear = await cliAsync(
      ['clear-emergency', '--reason', 'runaway fixed', '--force', '-c', ws.config],
      {
        cwd: ws.dir,
        env: r.env,
      },
    );
    expect(clear.code, clear.stderr).toBe(0);
    const resolves = pdEvents(r.pd).filter((e) => e.event_action === 'resolve');
    expect(resolves.map((e) => e.dedup_key)).toContain(key);
    expect(pdEvents(r.pd).filter((e) => e.event_action === 'trigger')).toHaveLength(1);
    expect(r.slack.requests.at(-1)?.text).toMatch(/EMERGENCY CLEARED/);
  });

  it('a manual kill pages critical on the flag incident; clear-emergency resolves it', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base));
    ws.append(lines(1, 1)); // $1: ok
    const kill = await cliAsync(['kill', '--reason', 'runaway', '-c', ws.config], {
      cwd: ws.dir,
      env: r.env,
    });
    expect(kill.code, kill.stderr).toBe(0);
    expect(pdEvents(r.pd)).toEqual([
      expect.objectContaining({
        event_action: 'trigger',
        dedup_key: expect.stringMatching(/^cost-watchdog:.+:flag$/),
        payload: expect.objectContaining({ severity: 'critical', class: 'manual-kill' }),
      }),
    ]);
    expect(r.hook.requests[0]?.payload).toMatchObject({ level: 'kill', by: 'kill' });
    const clear = await cliAsync(['clear-emergency', '--reason', 'done', '-c', ws.config], {
      cwd: ws.dir,
      env: r.env,
    });
    expect(clear.code, clear.stderr).toBe(0);
    expect(pdEvents(r.pd).map((e) => e.event_action)).toContain('resolve');
    expect(
      pdEvents(r.pd).find(
        (e) => e.event_action === 'resolve' && e.dedup_key === pdEvents(r.pd)[0]?.dedup_key,
      ),
    ).toBeDefined();
  });

  it('the watchdog down (check-heartbeat) and a failed unit (notify) reach the channels too', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base));
    ws.append(lines(1, 1));
    expect((await run(ws, r.env)).code).toBe(0);
    // The last check 10 s ago against a 1 s bound: the watchdog is down.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const down = await cliAsync(['check-heartbeat', '--max-age', '1s', '-c', ws.config], {
      cwd: ws.dir,
      env: r.env,
    });
    expect(down.code, down.stderr).toBe(2);
    const trigger = pdEvents(r.pd).find((e) => e.event_action === 'trigger');
    expect(trigger).toMatchObject({
      dedup_key: expect.stringMatching(/^cost-watchdog:.+:watchdog$/),
      payload: expect.objectContaining({ severity: 'error' }),
    });
    expect(r.hook.requests.some((q) => /WATCHDOG/.test(String(q.payload?.text)))).toBe(true);
    expect(r.hook.requests.every((q) => verified(q, HOOK_SECRET))).toBe(true);
    // Alive again: the watchdog's incident is resolved.
    expect((await run(ws, r.env)).code).toBe(0);
    const up = await cliAsync(['check-heartbeat', '--max-age', '1h', '-c', ws.config], {
      cwd: ws.dir,
      env: r.env,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(pdEvents(r.pd)).toContainEqual(
      expect.objectContaining({ event_action: 'resolve', dedup_key: trigger?.dedup_key }),
    );
    const failed = await cliAsync(['notify', '--unit', 'cost-watchdog.service', '-c', ws.config], {
      cwd: ws.dir,
      env: r.env,
    });
    expect(failed.code, failed.stderr).toBe(0);
    expect(pdEvents(r.pd).filter((e) => e.event_action === 'trigger').length).toBe(2);
    noSecrets(ws, [down.stderr, down.stdout, up.stderr, failed.stderr], [HOOK_SECRET, PD_KEY]);
  });

  it('429 with Retry-After then success; 500 retried; 400 not retried; the others unaffected', async () => {
    const r = await receivers(
      [{ status: 429, headers: { 'Retry-After': '1' } }, { status: 200 }],
      [{ status: 500 }, { status: 202 }],
    );
    const ws = workspace(config(r.pd.base));
    ws.append(lines(2, 3));
    const first = await run(ws, r.env);
    expect(first.code, first.stderr).toBe(0);
    expect(r.hook.requests).toHaveLength(2);
    expect((r.hook.requests[1]?.at ?? 0) - (r.hook.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(r.hook.requests[1]?.payload.id).toBe(r.hook.requests[0]?.payload.id);
    expect(verified(r.hook.requests[1] as Seen, HOOK_SECRET)).toBe(true);
    expect(pdEvents(r.pd)).toHaveLength(2); // 500, then 202
    expect(alertsJson(ws).pending).toEqual([]);

    r.hook.replies = [{ status: 400, body: 'bad' }];
    ws.append(lines(1, 3)); // $9: kill
    const second = await run(ws, r.env);
    expect(second.code).toBe(0);
    expect(r.hook.requests).toHaveLength(3); // not retried
    expect(second.stderr).toMatch(/could not send an alert to channel ops-hook \(HTTP 400\)/);
    expect(r.slack.requests).toHaveLength(2); // Slack had both
    const pending = alertsJson(ws).pending as { channel?: string }[];
    expect(pending.map((p) => p.channel)).toEqual(['ops-hook']); // only the webhook's is kept
    const failed = auditOf(ws).find((e) => e.event === 'alert_failed');
    expect(failed).toMatchObject({ channel: 'ops-hook', error: 'HTTP 400' });

    // The next run retries only the webhook's: Slack and PagerDuty get nothing twice.
    r.hook.replies = [{ status: 200 }];
    const slackBefore = r.slack.requests.length;
    const pdBefore = r.pd.requests.length;
    await run(ws, r.env);
    expect(r.hook.requests).toHaveLength(4);
    expect(r.slack.requests).toHaveLength(slackBefore);
    expect(r.pd.requests).toHaveLength(pdBefore);
    expect(alertsJson(ws).pending).toEqual([]);
  });

  it(
    'a webhook that hangs: the flag is on disk while it ' +
      'holds the request, Slack and PagerDuty get theirs, the run is bounded',
    async () => {
      const r = await receivers(['hang']);
      const ws = workspace(config(r.pd.base));
      ws.append(lines(2, 3));
      const started = Date.now();
      const running = run(ws, r.env);
      await waitFor('the request to the webhook', () => r.hook.requests.length > 0, 30_000);
      expect(existsSync(flagFile(ws))).toBe(true);
      await waitFor(
        'Slack and PagerDuty',
        () => r.slack.requests.length > 0 && pdEvents(r.pd).length > 0,
        30_000,
      );
      const done = await running;
      expect(done.code, done.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(done.stderr).toMatch(/could not send an alert to channel ops-hook \(no answer in time/);
      expect((alertsJson(ws).pending as { channel?: string }[]).map((p) => p.channel)).toEqual(['ops-hook']);
    },
  );

  it('secrets never reach stderr, stdout, the audit log, the state folder or the flag', async () => {
    const r = await receivers(
      [{ status: 500, body: `echo ${HOOK_SECRET}` }],
      [{ status: 400, body: PD_KEY }],
    );
    const ws = workspace(config(r.pd.base));
    ws.append(lines(2, 3));
    const failing = await run(ws, r.env, '--json');
    const status = await cliAsync(['status', '--json', '-c', ws.config], { cwd: ws.dir, env: r.env });
    const validate = await cliAsync(['validate', '--json', '-c', ws.config], { cwd: ws.dir, env: r.env });
    const test = await cliAsync(['notify', '--test', '--json', '-c', ws.config], { cwd: ws.dir, env: r.env });
    const outs = [failing, status, validate, test].flatMap((o) => [o.stdout, o.stderr]);
    noSecrets(ws, outs, [HOOK_SECRET, PD_KEY, '/services/T000/B000/s3cr3t-token', 's3cr3t-token']);
  });

  it(
    'a channel whose secret is not set: the config ' + 'loads, the others still get the alert, it is said',
    async () => {
      const r = await receivers();
      const ws = workspace(config(r.pd.base));
      const env = { ...r.env };
      delete (env as Record<string, string | undefined>).CW_PD_KEY;
      ws.append(lines(2, 3));
      const out = await run(ws, env);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stderr).toMatch(
        /alerts are not sent to channel pagerduty: no routing key: \$CW_PD_KEY is not set/,
      );
      expect(r.slack.requests).toHaveLength(1);
      expect(r.hook.requests).toHaveLength(1);
      const validate = await cliAsync(['validate', '-c', ws.config], { cwd: ws.dir, env });
      expect(validate.code).toBe(0);
      expect(validate.stdout + validate.stderr).toMatch(/channel pagerduty \(pagerduty\): no routing key/);

      // Without a signing secret: sent unsigned, and said once.
      const unsigned = { ...r.env };
      delete (unsigned as Record<string, string | undefined>).CW_HOOK_SECRET;
      ws.append(lines(1, 3));
      const next = await run(ws, unsigned);
      expect(next.stderr).toMatch(/channel ops-hook has no signing secret/);
      expect(r.hook.requests.at(-1)?.headers['x-cost-watchdog-signature']).toBeUndefined();
    },
  );

  it('a secret file held badly is a config error (78), as the Slack file is', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base).replace('secret_env: CW_HOOK_SECRET', 'secret_file: hook.secret'));
    writeFileSync(path.join(ws.dir, 'hook.secret'), HOOK_SECRET, { mode: 0o644 });
    const out = await run(ws, r.env);
    expect(out.code).toBe(78);
    expect(out.stderr).toMatch(/alerts\.channels\[0\]\.secret_file/);
    expect(out.stderr).not.toContain(HOOK_SECRET);
  });
});

describe('webhook and PagerDuty under watch', () => {
  it(
    'a webhook that hangs: the flag comes while it ' +
      'holds the request; Slack and PagerDuty are sent beside',
    async () => {
      const r = await receivers(['hang']);
      const ws = workspace(config(r.pd.base, NO_TIMED_CHECKS));
      const daemon = await startWatch(ws, r.env);
      ws.append(lines(1, 4)); // warn
      await waitFor('the webhook to hold the warn', () => r.hook.requests.length > 0, 30_000);
      ws.append(lines(1, 2)); // $6: emergency, while the webhook still holds the request
      await waitFor('the flag', () => existsSync(flagFile(ws)), 10_000);
      expect(r.hook.open()).toBe(1);
      await waitFor('Slack to have both', () => r.slack.requests.length >= 2, 30_000);
      await waitFor('PagerDuty to have the emergency', () => pdEvents(r.pd).length === 1, 30_000);
      expect(pdEvents(r.pd)[0]).toMatchObject({ event_action: 'trigger', payload: { severity: 'error' } });
      r.hook.recover();
      await waitFor(
        'the webhook to get the emergency',
        () => r.hook.requests.some((q) => q.payload.level === 'emergency'),
        60_000,
      );
      expect(r.hook.requests.every((q) => verified(q, HOOK_SECRET))).toBe(true);
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      noSecrets(ws, [daemon.stderr(), daemon.stdout()], [HOOK_SECRET, PD_KEY, 's3cr3t-token']);
    },
  );
});

describe('notify --test', () => {
  it('every channel answers: ok with times, exit 0; PagerDuty gets a change event', async () => {
    const r = await receivers();
    const ws = workspace(config(r.pd.base));
    const out = await cliAsync(['notify', '--test', '-c', ws.config], { cwd: ws.dir, env: r.env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^slack\s+slack\s+ok\s+\d+ ms$/m);
    expect(out.stdout).toMatch(/^ops-hook\s+webhook\s+ok\s+\d+ ms$/m);
    expect(out.stdout).toMatch(/^pagerduty\s+pagerduty\s+ok\s+\d+ ms\s+\(a change event: pages nobody\)$/m);
    expect(r.pd.requests.map((q) => q.url)).toEqual(['/v2/change/enqueue']);
    expect(r.pd.requests[0]?.payload).toMatchObject({
      routing_key: PD_KEY,
      payload: { summary: expect.stringMatching(/test/) },
    });
    expect(r.hook.requests[0]?.payload).toMatchObject({ version: 1, kind: 'test', level: 'ok' });
    expect(verified(r.hook.requests[0] as Seen, HOOK_SECRET)).toBe(true);
    expect(r.slack.requests[0]?.text).toMatch(/test/);
  });

  it('one that fails: exit 1, its reason; --json', async () => {
    const r = await receivers([{ status: 404, body: 'no such hook' }]);
    const ws = workspace(config(r.pd.base));
    const out = await cliAsync(['notify', '--test', '--json', '-c', ws.config], { cwd: ws.dir, env: r.env });
    expect(out.code).toBe(1);
    const json = JSON.parse(out.stdout) as { ok: boolean; channels: Record<string, unknown>[] };
    expect(json.ok).toBe(false);
    expect(json.channels).toEqual([
      expect.objectContaining({ name: 'slack', type: 'slack', ok: true, ms: expect.any(Number) }),
      expect.objectContaining({
        name: 'ops-hook',
        type: 'webhook',
        ok: false,
        error: 'HTTP 404',
        attempts: 1,
      }),
      expect.objectContaining({ name: 'pagerduty', type: 'pagerduty', ok: true }),
    ]);
    expect(out.stderr).toMatch(/no answer from ops-hook/);
  });

  it('no channel configured: exit 78 and says so', async () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3 }\n');
    const out = await cliAsync(['notify', '--test', '-c', ws.config], { cwd: ws.dir, env: {} });
    expect(out.code).toBe(78);
    expect(out.stderr).toMatch(/no alert channel is configured/);
  });
});
