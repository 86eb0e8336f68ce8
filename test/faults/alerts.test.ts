// Fault rows for alert delivery: a Slack that rate-limits, fails or never answers, in `run` and
// in `watch`; a dead-man's-switch that is down or hangs; names from the log that try to ping a
// channel; the webhook URL, a secret, kept out of every output and file. Real CLI, real files,
// real processes, and HTTP servers on 127.0.0.1 standing in for Slack and the ping service.
// No timing goals here (those are in the benchmark): "not delayed" is proved by order: the flag
// and the kill are on disk while Slack still holds the alert's request, or before its answer.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, flagFile, lines, type Workspace, workspace } from '../e2e/helpers.js';
import { alive, startTree, waitFor } from '../e2e/procs.js';
import { alertsJson, auditOf, closedPort, indexOf, standIn, startWatch } from './alerts-support.js';

const SLACK = 'slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n';
const PID_TARGET = 'target:\n  pid_file: state/app.pid\n  grace: 1s\n';
// Timed checks every second: a watch that is told nothing still checks.
const EVERY_SECOND = 'watch:\n  schedule: "* * * * * *"\n';
// No timed checks during a test: what happens is the file watching's doing.
const NO_TIMED_CHECKS = 'watch:\n  schedule: "0 0 0 1 1 *"\n';
const SECRET = 's3cr3t-token';

function config(extra = ''): string {
  return `log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n${extra}`;
}

function run(ws: Workspace, env: Record<string, string>, ...args: string[]) {
  return cliAsync(['run', ...args, '-c', ws.config], { cwd: ws.dir, env });
}

const is = (event: string) => (e: Record<string, unknown>) => e.event === event;
const sentAbout = (re: RegExp) => (e: Record<string, unknown>) =>
  e.event === 'alert_sent' && re.test(String(e.headline));

function flagLevel(ws: Workspace): string {
  return (JSON.parse(readFileSync(flagFile(ws), 'utf8')) as { level: string }).level;
}

/** No trace of the secret part of the URL in these outputs, nor in any file of the state folder. */
function noSecret(ws: Workspace, outputs: string[]): void {
  for (const out of outputs) expect(out).not.toContain(SECRET);
  for (const name of readdirSync(ws.stateDir)) {
    const file = path.join(ws.stateDir, name);
    try {
      expect(readFileSync(file, 'utf8'), name).not.toContain(SECRET);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
    }
  }
  if (existsSync(flagFile(ws))) expect(readFileSync(flagFile(ws), 'utf8')).not.toContain(SECRET);
}

describe('Slack faults in run', () => {
  it(
    'Slack 429 + Retry-After in run: the flag and the kill come first, the alert is sent after the ' +
      'wait, bounded',
    async () => {
      const slack = await standIn([
        { status: 429, headers: { 'Retry-After': '1' } },
        { status: 200, body: 'ok' },
      ]);
      const ws = workspace(config(`${SLACK}${PID_TARGET}`));
      const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
      ws.append(lines(3, 3)); // $9: kill
      const r = await run(ws, { CW_TEST_WEBHOOK: slack.url });
      expect(r.code, r.stderr).toBe(0);
      expect(alive(tree.pid)).toBe(false);
      expect(slack.requests).toHaveLength(2);
      expect((slack.requests[1]?.at ?? 0) - (slack.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
      const log = auditOf(ws);
      const sent = indexOf(log, is('alert_sent'));
      expect(log[sent]).toMatchObject({ attempts: 2 });
      expect(indexOf(log, is('flag_written'))).toBeLessThan(sent);
      expect(indexOf(log, is('kill'))).toBeLessThan(sent);
      expect(alertsJson(ws).pending).toEqual([]);
    },
  );

  it(
    'Slack 500 in run: flag and kill done, exit 0, the alert kept and delivered by the next run once ' +
      'Slack recovers',
    async () => {
      const slack = await standIn([{ status: 500, body: 'oops' }]);
      const ws = workspace(config(`${SLACK}${PID_TARGET}`));
      const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
      ws.append(lines(3, 3));
      const r = await run(ws, { CW_TEST_WEBHOOK: slack.url });
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(flagFile(ws))).toBe(true);
      expect(alive(tree.pid)).toBe(false);
      expect(slack.requests.length).toBeGreaterThan(1); // retried within the bound
      expect(r.stderr).toMatch(/could not send an alert to Slack \(HTTP 500/);
      const log = auditOf(ws);
      expect(log.find(is('alert_failed'))).toMatchObject({ kept_for_retry: true });
      expect(indexOf(log, is('kill'))).toBeLessThan(indexOf(log, is('alert_failed')));
      expect(alertsJson(ws).pending).toHaveLength(1);

      slack.recover();
      const before = slack.requests.length;
      const next = await run(ws, { CW_TEST_WEBHOOK: slack.url });
      expect(next.code).toBe(0);
      expect(slack.requests.slice(before).map((q) => q.text)).toEqual([
        expect.stringMatching(/KILL: 15m spend \$9\.00/),
      ]);
      expect(auditOf(ws).filter(is('alert_sent')).at(-1)).toHaveProperty('delayed_from');
      expect(alertsJson(ws).pending).toEqual([]);
    },
  );

  it('Slack hang in run: the flag and the kill are on disk while Slack holds the request; the run ' +
    'ends within its bound; sent later', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config(`${SLACK}${PID_TARGET}`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const running = run(ws, { CW_TEST_WEBHOOK: slack.url });
    await waitFor('the request to Slack', () => slack.requests.length > 0, 30_000);
    // Slack has the request and has not answered: the flag and the kill are already done.
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(alive(tree.pid)).toBe(false);
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(slack.requests[0]?.closedAt).not.toBeNull(); // given up by the watchdog, not answered
    expect(r.stderr).toMatch(/could not send an alert to Slack \(no answer in time/);
    slack.recover();
    const next = await run(ws, { CW_TEST_WEBHOOK: slack.url });
    expect(next.code).toBe(0);
    expect(slack.requests.filter((q) => q.answered).map((q) => q.text)).toEqual([
      expect.stringMatching(/KILL: 15m spend \$9\.00/),
    ]);
  }, 60_000);
});

describe('Slack faults in watch', () => {
  it('Slack 429 + Retry-After in watch: the next check writes the flag while the alert waits out ' +
    'Retry-After; then it is sent', async () => {
    const slack = await standIn([
      { status: 429, headers: { 'Retry-After': '3' } },
      { status: 200, body: 'ok' },
    ]);
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(lines(1, 3.5)); // warn
    await waitFor('the warn alert at Slack', () => slack.requests.length > 0, 30_000);
    ws.append(lines(1, 2)); // $5.50: emergency
    await waitFor('the flag', () => existsSync(flagFile(ws)), 30_000);
    await waitFor('the warn alert sent', () => auditOf(ws).some(sentAbout(/WARN/)), 30_000);
    const log = auditOf(ws);
    // The flag came while the warn alert was still waiting for its Retry-After.
    expect(indexOf(log, is('flag_written'))).toBeLessThan(indexOf(log, sentAbout(/WARN/)));
    expect(flagLevel(ws)).toBe('emergency');
    expect((slack.requests[1]?.at ?? 0) - (slack.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(2900);
    await waitFor('the emergency alert sent', () => auditOf(ws).some(sentAbout(/EMERGENCY/)), 30_000);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(alertsJson(ws).pending).toEqual([]);
  }, 90_000);

  it('Slack 500 in watch: the flag is written before the failing alert gives up; kept, retried beside ' +
    'the checks, sent on recovery', async () => {
    const slack = await standIn([{ status: 500, body: 'oops' }]);
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(lines(1, 3.5));
    await waitFor('the warn alert at Slack', () => slack.requests.length > 0, 30_000);
    ws.append(lines(1, 2));
    await waitFor('the flag', () => existsSync(flagFile(ws)), 30_000);
    await waitFor('a failed round', () => auditOf(ws).some(is('alert_failed')), 30_000);
    const log = auditOf(ws);
    expect(indexOf(log, is('flag_written'))).toBeLessThan(indexOf(log, is('alert_failed')));
    expect(log.find(is('alert_failed'))).toMatchObject({ kept_for_retry: true });
    // Said on stderr once the round is recorded (the pipe may bring it a moment after the audit).
    await waitFor(
      'the failure said on stderr',
      () => /could not send an alert to Slack \(HTTP 500.*retried beside the checks/.test(d.stderr()),
      30_000,
    );
    slack.recover();
    await waitFor('both alerts sent', () => auditOf(ws).filter(is('alert_sent')).length >= 2, 60_000);
    const sent = auditOf(ws).filter(is('alert_sent'));
    expect(sent[0]).toHaveProperty('delayed_from');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(alertsJson(ws).pending).toEqual([]);
  }, 120_000);

  it('Slack hang in watch: the flag comes at the emergency level before the kill, the kill is not ' +
    'held back, the queue is merged and sent on recovery', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config(`${SLACK}${PID_TARGET}${NO_TIMED_CHECKS}`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(lines(1, 3.5)); // warn: its alert hangs at Slack
    await waitFor('the warn alert at Slack', () => slack.requests.length > 0, 30_000);
    ws.append(lines(1, 2)); // $5.50: emergency
    await waitFor('the flag', () => existsSync(flagFile(ws)), 30_000);
    expect(flagLevel(ws)).toBe('emergency');
    expect(alive(tree.pid)).toBe(true); // paused, not killed: the emergency level was not skipped
    // Written while the warn alert's request was still held open by Slack (not after it gave up).
    const flagAt = Date.parse(
      (JSON.parse(readFileSync(flagFile(ws), 'utf8')) as { triggered_at: string }).triggered_at,
    );
    expect(flagAt).toBeLessThan(slack.requests[0]?.closedAt ?? Infinity);
    ws.append(lines(1, 3)); // $8.50: kill
    const killed = await waitFor(
      'the kill, in the audit log',
      () => !alive(tree.pid) && auditOf(ws).find(is('kill')),
      30_000,
    );
    // The kill's check came before the warn alert's first round had even ended.
    const killAt = Date.parse(String(killed.ts));
    expect(killAt).toBeLessThan(slack.requests[0]?.closedAt ?? Infinity);
    slack.recover();
    await waitFor('the kill alert sent', () => auditOf(ws).some(sentAbout(/KILL/)), 60_000);
    const texts = slack.requests.filter((q) => q.answered).map((q) => q.text);
    // The queued emergency alert, never sent, was folded into the kill alert.
    expect(texts.some((t) => /^:rotating_light:/.test(t))).toBe(false);
    const kill = texts.find((t) => /KILL: 15m spend \$8\.50/.test(t)) ?? '';
    expect(kill).toMatch(/replaces an alert not sent in time \(.*\): EMERGENCY: 15m spend \$5\.50/);
    expect(auditOf(ws).some(is('alert_superseded'))).toBe(true);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(alertsJson(ws)).toMatchObject({ pending: [], pending_owner: null });
  }, 120_000);

  it('Slack hang in watch, and a kill by hand beside it: the kill hands its alert to the watch (no ' +
    'send under the lock), the watch sends it once', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(lines(1, 3.5)); // warn: the watch's alert hangs at Slack
    await waitFor('the warn alert at Slack', () => slack.requests.length === 1, 30_000);
    // A send from here would hold the state lock, and the watch's checks with it, for as long as
    // Slack holds the request: the kill must not post at all while the watch owns the queue.
    const kill = await cliAsync(['kill', '--reason', 'stop it', '-c', ws.config], {
      cwd: ws.dir,
      env: { CW_TEST_WEBHOOK: slack.url },
    });
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stderr).toMatch(/1 alert\(s\) handed to the running watch \(pid \d+\) to send to Slack/);
    expect(slack.requests).toHaveLength(1);
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(auditOf(ws).some(is('alert_handed_over'))).toBe(true);
    expect(alertsJson(ws).pending.some((p) => /MANUAL KILL by/.test(p.text))).toBe(true);
    // The flag the kill wrote wakes the watch, which takes the alert into its own queue.
    slack.recover();
    await waitFor(
      'the kill alert sent by the watch',
      () => slack.requests.some((q) => q.answered && /MANUAL KILL by/.test(q.text)),
      60_000,
    );
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(slack.requests.filter((q) => /MANUAL KILL by/.test(q.text))).toHaveLength(1);
    expect(alertsJson(ws)).toMatchObject({ pending: [], pending_owner: null });
  }, 120_000);

  it('Slack hang in watch, then SIGTERM: exits within its bound, says what is unsent, keeps it ' +
    'pending; the next run sends it once', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(lines(1, 6)); // emergency
    await waitFor('the flag', () => existsSync(flagFile(ws)), 30_000);
    await waitFor('the alert at Slack', () => slack.requests.length > 0, 30_000);
    // A run beside the daemon, with a Slack that answers: the daemon's alert is the daemon's to send.
    const good = await standIn();
    const beside = await run(ws, { CW_TEST_WEBHOOK: good.url });
    expect(beside.code, beside.stderr).toBe(0);
    expect(good.requests).toHaveLength(0);
    d.child.kill('SIGTERM');
    const code = await Promise.race([
      d.exited,
      new Promise((r) => setTimeout(() => r('still running'), 30_000)),
    ]);
    expect(code).toBe(0);
    expect(d.stderr()).toMatch(
      /SIGTERM: 1 alert\(s\) not sent to Slack; kept in .*alerts\.json for the next check to send/,
    );
    const saved = alertsJson(ws);
    expect(saved.pending).toHaveLength(1);
    expect(saved.pending_owner).toBeNull();
    const after = await run(ws, { CW_TEST_WEBHOOK: good.url });
    expect(after.code).toBe(0);
    expect(good.requests.map((q) => q.text)).toEqual([expect.stringMatching(/EMERGENCY: 15m spend \$6\.00/)]);
    await run(ws, { CW_TEST_WEBHOOK: good.url });
    expect(good.requests).toHaveLength(1);
  }, 90_000);
});

describe("dead-man's-switch ping faults", () => {
  it('ping down: the failure is said on stderr and in the audit log; the check and its exit code are ' +
    'unaffected (run and watch)', async () => {
    const down = `http://127.0.0.1:${await closedPort()}/ping/uuid-${SECRET}`;
    const ws = workspace(config(`heartbeat:\n  ping_url: ${down}\n${EVERY_SECOND}`));
    ws.append(lines(1, 6));
    const r = await run(ws, {});
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(r.stderr).toMatch(
      new RegExp(
        String.raw`dead-man's-switch ping to http:\/\/127\.0\.0\.1:\d+\/… failed ` +
          String.raw`\(request failed \(ECONNREFUSED\)\); the check itself is not ` +
          'affected',
      ),
    );
    expect(auditOf(ws).find(is('ping_failed'))).toMatchObject({ check_ok: true });
    const d = await startWatch(ws);
    await waitFor(
      'a ping failure from watch',
      () => /dead-man's-switch ping .* failed/.test(d.stderr()),
      30_000,
    );
    const hb = path.join(ws.stateDir, 'heartbeat.json');
    const first = readFileSync(hb, 'utf8');
    await waitFor('another check', () => readFileSync(hb, 'utf8') !== first, 30_000);
    expect(JSON.parse(readFileSync(hb, 'utf8'))).toMatchObject({ mode: 'watch', result: { ok: true } });
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    noSecret(ws, [r.stdout, r.stderr, d.stdout(), d.stderr()]);
  }, 60_000);

  it('ping hanging: checks go on while it hangs, at most one ping in flight (a newer one replaces ' +
    'it), run bounded with exit 0', async () => {
    const pings = await standIn(['hang']);
    const ws = workspace(config(`heartbeat:\n  ping_url: ${pings.base}/ping/${SECRET}\n${NO_TIMED_CHECKS}`));
    ws.append(lines(1, 1));
    const d = await startWatch(ws);
    await waitFor('the first ping', () => pings.requests.length > 0, 30_000);
    const hb = path.join(ws.stateDir, 'heartbeat.json');
    const before = readFileSync(hb, 'utf8');
    ws.append(lines(1, 0.5));
    await waitFor('the next check while the ping hangs', () => readFileSync(hb, 'utf8') !== before, 30_000);
    expect(pings.open()).toBe(1);
    // The next check fails (no log): a /fail ping is due at once; it replaces the hanging one.
    rmSync(ws.log);
    const fail = await waitFor(
      'a /fail ping',
      () => pings.requests.find((q) => q.url.endsWith('/fail')),
      30_000,
    );
    // The hanging ping was cut off by the watchdog when the newer one started (not left to its
    // 5 s timeout): never two in flight. (The server may see the close a moment after the new one.)
    const first = pings.requests[0];
    await waitFor('the first ping to be closed', () => first?.closedAt != null, 30_000);
    expect((first?.closedAt ?? 0) - fail.at).toBeLessThan(250);
    // only the newest
    expect(pings.requests.filter((q) => q.closedAt === null && !q.answered)).toHaveLength(1);
    d.child.kill('SIGTERM');
    const code = await Promise.race([
      d.exited,
      new Promise((r) => setTimeout(() => r('still running'), 30_000)),
    ]);
    expect(code).toBe(0);
    writeFileSync(ws.log, lines(1, 6));
    const r = await run(ws, {});
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(r.stderr).toMatch(/dead-man's-switch ping to .* failed \(no answer within 5s\)/);
    noSecret(ws, [r.stdout, r.stderr, d.stdout(), d.stderr()]);
  }, 90_000);
});

describe('mention injection', () => {
  const hostile = (cost: number, model: string, agent: string) =>
    `${JSON.stringify({ t: Date.now() / 1000, cost, model, agent })}\n`;

  function unpingable(text: string): void {
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;@U123&gt;');
    expect(text).toContain('@\u200bhere');
    expect(text).not.toMatch(/<!|<@|@here|@channel/);
  }

  it('mention injection: <!channel>, @here and <@U123> from the log cannot ping (escaped in the Slack ' +
    'payload, run and watch)', async () => {
    const slack = await standIn();
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    ws.append(hostile(2, '<!channel>', '@here'));
    ws.append(hostile(1.5, '<@U123>', '@channel'));
    const r = await run(ws, { CW_TEST_WEBHOOK: slack.url });
    expect(r.code, r.stderr).toBe(0);
    expect(slack.requests).toHaveLength(1);
    unpingable(slack.requests[0]?.text ?? '');
    expect(slack.requests[0]?.payload).toMatchObject({ link_names: false });
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    ws.append(hostile(2, '<!channel>', '@here')); // $5.50: emergency
    await waitFor('the emergency alert', () => slack.requests.length >= 2, 30_000);
    unpingable(slack.requests[1]?.text ?? '');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 60_000);
});

describe('webhook URL never printed', () => {
  it('webhook URL never printed: not in stdout, stderr, audit, state files or status --json, on ' +
    'success and on every kind of failure', async () => {
    const echo = await standIn([{ status: 500, body: 'error at /services/T000/B000/s3cr3t-token' }]);
    const ws = workspace(config(`${SLACK}${NO_TIMED_CHECKS}`));
    const outputs: string[] = [];
    const keep = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);
    ws.append(lines(1, 3.5));
    keep(await run(ws, { CW_TEST_WEBHOOK: echo.url }, '--json')); // 500 whose body names the URL
    echo.replies = [{ status: 404, body: 'no_service' }];
    ws.append(lines(1, 2));
    keep(await run(ws, { CW_TEST_WEBHOOK: echo.url }));
    const refused = echo.url.replace(/:\d+\//, `:${await closedPort()}/`);
    ws.append(lines(1, 0.1));
    keep(await run(ws, { CW_TEST_WEBHOOK: refused }));
    keep(await run(ws, { CW_TEST_WEBHOOK: 'not a url /services/T000/B000/s3cr3t-token' }));
    const hang = await standIn(['hang']);
    const d = await startWatch(ws, { CW_TEST_WEBHOOK: hang.url }, ['--json']);
    ws.append(lines(1, 3)); // kill level: alerted under watch
    await waitFor('the alert to reach the hanging Slack', () => hang.requests.length > 0, 30_000);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    outputs.push(d.stdout(), d.stderr());
    for (const args of [['status', '--json'], ['status'], ['validate'], ['check-heartbeat', '--json']]) {
      keep(await cliAsync([...args, '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: hang.url } }));
    }
    // Every way of failing was reached.
    const all = outputs.join('\n');
    for (const said of [/HTTP 500/, /HTTP 404/, /ECONNREFUSED/, /does not hold an http\(s\) URL/])
      expect(all).toMatch(said);
    expect(auditOf(ws).some(is('alert_failed'))).toBe(true);
    expect(alertsJson(ws).pending.length).toBeGreaterThan(0); // the unsent texts are in the state folder too
    noSecret(ws, outputs);
  }, 120_000);
});
