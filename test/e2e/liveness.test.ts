// Liveness end to end: the real `watch` daemon against real files and signals, `check-heartbeat`
// and `notify` against a real HTTP server on 127.0.0.1 standing in for Slack and for a
// dead-man's-switch service, and the systemd units checked by systemd-analyze itself.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { cli, cliAsync, flagFile, lines, readJsonFile, type Workspace, workspace } from './helpers.js';
import { alive, slackServer, startNamed, waitFor } from './procs.js';
import { startWatch } from './daemon.js';

function config(extra = ''): string {
  return `log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n${extra}`;
}

function heartbeatFile(ws: Workspace): string {
  return path.join(ws.stateDir, 'heartbeat.json');
}

function audit(ws: Workspace): Record<string, unknown>[] {
  const file = path.join(ws.stateDir, 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function heartbeatTime(ws: Workspace): number | null {
  if (!existsSync(heartbeatFile(ws))) return null;
  try {
    return Date.parse((readJsonFile(heartbeatFile(ws)) as { time: string }).time);
  } catch {
    return null; // being replaced
  }
}

describe('watch', () => {
  // A schedule that never fires during a test: whatever happens below is the file watching's doing.
  const NO_TIMED_CHECKS = 'watch:\n  schedule: "0 0 0 1 1 *"\n';

  it('flags a breaching append, follows a rotation, and ends cleanly on SIGTERM', async () => {
    const ws = workspace(config(NO_TIMED_CHECKS));
    ws.append(lines(1, 1));
    const d = await startWatch(ws);
    await waitFor('the first check', () => heartbeatTime(ws));
    ws.append(lines(1, 5)); // $6 >= emergency $5
    const flag = await waitFor(
      'the flag',
      () => existsSync(flagFile(ws)) && (readJsonFile(flagFile(ws)) as Record<string, unknown>),
    );
    expect(flag).toMatchObject({ window: '15m', triggered_by: 'watch', level: 'emergency' });
    // The alert comes after the flag (it never delays it).
    await waitFor('the alert', () =>
      /ALERT EMERGENCY: 15m spend \$6\.00 crossed the emergency limit/.test(d.stderr()),
    );

    // Rotation under it: the log renamed away, a new one created with more spend.
    renameSync(ws.log, `${ws.log}.1`);
    writeFileSync(ws.log, lines(1, 2.5)); // $8.50 >= kill $8 (no target: flag and alert)
    await waitFor(
      'the rotated spend to be counted',
      () =>
        (readJsonFile(heartbeatFile(ws)) as { result: { levels: Record<string, string> } }).result.levels[
          '15m'
        ] === 'kill',
    );
    expect(ws.status().json.windows['15m']?.spend_usd).toBeCloseTo(8.5, 6);

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toMatch(/SIGTERM: stopped/);
    const hb = readJsonFile(heartbeatFile(ws)) as { mode: string; pid: number; result: { ok: boolean } };
    expect(hb).toMatchObject({ mode: 'watch', pid: d.child.pid, result: { ok: true } });
  });

  it("sees the flag deleted by hand, and the app's state file change", async () => {
    const ws = workspace(config(`state_file: state/cost_tracker.json\n${NO_TIMED_CHECKS}`));
    ws.append(lines(1, 6));
    // The flag is there before watch starts (written by a run), so that its removal is the change
    // of a file known to the watcher (one created and removed within milliseconds may be missed,
    // and then the next timed check sees it).
    expect(ws.run('run').code).toBe(0);
    expect(existsSync(flagFile(ws))).toBe(true);
    const d = await startWatch(ws);
    await waitFor('the first check', () => heartbeatTime(ws));
    rmSync(flagFile(ws));
    await waitFor('the removal to be alerted', () =>
      /ALERT FLAG REMOVED: the emergency flag .* was deleted without `cost-watchdog clear-emergency`/.test(
        d.stderr(),
      ),
    );
    const before = heartbeatTime(ws) as number;
    writeFileSync(path.join(ws.dir, 'state', 'cost_tracker.json'), '{"cost_15min": 1}');
    await waitFor('a check after the state file changed', () => (heartbeatTime(ws) ?? 0) > before);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('SIGTERM during a check lets it finish (the kill and its alert), then exits 0', async () => {
    const ws = workspace(
      config('target:\n  process_name: cw-watch-app\n  grace: 1s\n  stop_command: sleep 2\n'),
    );
    const app = startNamed(ws.dir, 'cw-watch-app');
    await waitFor('the app', () => app.pid !== undefined && alive(app.pid));
    const d = await startWatch(ws);
    await waitFor('the first check', () => heartbeatTime(ws));
    ws.append(lines(1, 9)); // kill level: the stop command runs for 2 s
    await waitFor('the check to start the stop command', () =>
      audit(ws).some(
        (e) =>
          e.event === 'check' && (e.windows as Record<string, { level: string }>)['15m']?.level === 'kill',
      ),
    );
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toMatch(/SIGTERM: finishing the check in progress/);
    const events = audit(ws).map((e) => e.event);
    expect(events).toContain('stop_command');
    expect(events).toContain('decision');
    expect(alive(app.pid as number)).toBe(false);
    expect(d.stderr()).toMatch(/ALERT KILL: 15m spend \$9\.00 crossed the kill limit/);
  });

  it('SIGHUP reloads the config; a bad config is refused and the old one kept', async () => {
    const ws = workspace(config());
    const d = await startWatch(ws);
    await waitFor('the first check', () => heartbeatTime(ws));

    writeFileSync(ws.config, `${config()}bogus_key: 1\n`);
    d.child.kill('SIGHUP');
    await waitFor('the refusal', () => /SIGHUP: config reload REFUSED/.test(d.stderr()));
    await waitFor('the reason', () => /bogus_key: unknown key/.test(d.stderr()));
    expect(audit(ws).some((e) => e.event === 'config_reload_refused')).toBe(true);
    // Still running, still watching with the old limits.
    ws.append(lines(1, 5.5));
    await waitFor('the flag under the old config', () => existsSync(flagFile(ws)));

    // A good new config: a lower warn limit on a new window takes effect.
    writeFileSync(ws.config, config('').replace('limits:\n', 'limits:\n  1h: { warn: 1 }\n'));
    d.child.kill('SIGHUP');
    await waitFor('the reload', () => /SIGHUP: config reloaded/.test(d.stderr()));
    await waitFor(
      'the new window in the heartbeat',
      () =>
        (readJsonFile(heartbeatFile(ws)) as { result: { levels: Record<string, string> } }).result.levels[
          '1h'
        ] === 'warn',
    );
    d.child.kill('SIGINT');
    expect(await d.exited).toBe(0);
  });

  it('checks on its schedule when nothing is logged (the heartbeat keeps moving)', async () => {
    const ws = workspace(config('watch:\n  schedule: "* * * * * *"\n'));
    ws.append(lines(1, 1));
    const d = await startWatch(ws);
    const first = await waitFor('the first check', () => heartbeatTime(ws));
    await waitFor('a timed check', () => {
      const t = heartbeatTime(ws);
      return t !== null && t > first;
    });
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('shares the lock with run: a run while it watches waits its turn and both succeed', async () => {
    const ws = workspace(config('watch:\n  schedule: "* * * * * *"\n'));
    ws.append(lines(1, 1));
    const d = await startWatch(ws);
    const runs = await Promise.all([0, 1, 2].map(() => cliAsync(['run', '-c', ws.config], { cwd: ws.dir })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    // Every check took the lock: their audit lines never interleave a check with another's.
    const modes = audit(ws)
      .filter((e) => e.event === 'check')
      .map((e) => e.mode);
    expect(modes.filter((m) => m === 'run').length).toBe(3);
  });

  it('a log that cannot be read: says so, keeps watching, and picks it up when it appears', async () => {
    const ws = workspace(config('watch:\n  schedule: "* * * * * *"\n'));
    const d = await startWatch(ws);
    await waitFor('the failure to be said', () => /CHECK FAILED: .*cost_log\.jsonl/.test(d.stderr()));
    expect((readJsonFile(heartbeatFile(ws)) as { result: { ok: boolean } }).result.ok).toBe(false);
    ws.append(lines(1, 6));
    await waitFor('the flag', () => existsSync(flagFile(ws)));
    await waitFor('recovery to be said', () => /checks succeed again/.test(d.stderr()));
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('a log folder that does not exist yet is watched once it does', async () => {
    const ws = workspace(
      config('watch:\n  schedule: "* * * * * *"\n').replace(
        'log: state/cost_log.jsonl',
        'log: logs/cost_log.jsonl',
      ),
    );
    const d = await startWatch(ws);
    expect(d.stderr()).toMatch(/note: .*logs does not exist; it is watched once it does/);
    mkdirSync(path.join(ws.dir, 'logs'));
    await waitFor('the folder to be watched', () =>
      /a watched folder appeared or was replaced: watching it anew/.test(d.stderr()),
    );
    appendFileSync(path.join(ws.dir, 'logs', 'cost_log.jsonl'), lines(1, 6));
    await waitFor('the flag', () => existsSync(flagFile(ws)));
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('--json prints one line per check', async () => {
    const ws = workspace(config());
    ws.append(lines(1, 4));
    const d = await startWatch(ws, {}, ['--json']);
    await waitFor('a JSON line', () => d.stdout().includes('\n'));
    const first = JSON.parse(d.stdout().split('\n')[0] as string) as RunJson & { reasons: string[] };
    expect(first.windows['15m']?.level).toBe('warn');
    expect(first.reasons).toContain('start');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it.each([
    ['a bad config', 'limits: nope\nlog: x\n', /limits: expected a mapping/],
    [
      'a bad schedule',
      config('watch:\n  schedule: "61 * * * * *"\n'),
      new RegExp(
        String.raw`watch\.schedule: not a valid cron expression "61 \* \* \* \* \*": ` +
          '61 is an invalid expression for second',
      ),
    ],
    [
      'a schedule with too few fields',
      config('watch:\n  schedule: "every 15s"\n'),
      /watch\.schedule: expected a cron expression of 5 or 6 fields/,
    ],
  ])('refuses to start with %s (exit 78)', (_name, text, message) => {
    const ws = workspace(text);
    const r = ws.run('watch');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(message);
  });
});

describe('check-heartbeat', () => {
  function ageHeartbeat(ws: Workspace, agoMs: number): void {
    const hb = readJsonFile(heartbeatFile(ws)) as Record<string, unknown>;
    writeFileSync(
      heartbeatFile(ws),
      JSON.stringify({ ...hb, time: new Date(Date.now() - agoMs).toISOString() }),
    );
  }

  it('the alert of a named install names its own units (COST_WATCHDOG_UNITS from the unit)', async () => {
    const slack = await slackServer();
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url, COST_WATCHDOG_UNITS: 'cost-watchdog-shop' };
    const r = await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env });
    expect(r.code).toBe(2);
    expect(slack.requests[0]?.text).toContain(
      '`systemctl status cost-watchdog-shop.timer cost-watchdog-shop-watch.service`, or cron',
    );
  });

  it('missing, fresh, stale, recovered: exit codes, and one alert each way', async () => {
    const slack = await slackServer();
    const ws = workspace(config());
    ws.append(lines(1, 1));
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const check = (...args: string[]) =>
      cliAsync(['check-heartbeat', '-c', ws.config, ...args], { cwd: ws.dir, env });

    let r = await check();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^HEARTBEAT CRITICAL: no heartbeat/);
    expect(slack.requests.length).toBe(1);
    expect(slack.requests[0]?.text).toMatch(/WATCHDOG DOWN: cost-watchdog on .*no heartbeat/);
    r = await check();
    expect(r.code).toBe(2);
    expect(slack.requests.length).toBe(1); // once

    expect(ws.run('run').code).toBe(0);
    r = await check();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^HEARTBEAT OK: last check \d+(ms|s) ago \(run, pid \d+\), within the 5m allowed/,
    );
    expect(slack.requests.length).toBe(2);
    expect(slack.requests[1]?.text).toMatch(/RECOVERED: cost-watchdog on .* is checking again/);
    r = await check();
    expect(r.code).toBe(0);
    expect(slack.requests.length).toBe(2);

    ageHeartbeat(ws, 10 * 60_000);
    r = await check('--json');
    expect(r.code).toBe(2);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      status: 'CRITICAL',
      state: 'stale',
      max_age_seconds: 300,
      alert: { kind: 'down', delivery: 'sent' },
    });
    expect(json.age_seconds as number).toBeGreaterThanOrEqual(600);
    expect(slack.requests.length).toBe(3);
    expect((await check()).code).toBe(2);
    expect(slack.requests.length).toBe(3);

    // --max-age overrides the config: 10 minutes old is fine for an hour.
    expect((await check('--max-age', '1h')).code).toBe(0);
    expect(slack.requests.length).toBe(4);
    expect(slack.requests[3]?.text).toMatch(/RECOVERED/);
    const alerts = audit(ws)
      .filter((e) => e.event === 'heartbeat_alert')
      .map((e) => e.kind);
    expect(alerts).toEqual(['down', 'recovered', 'down', 'recovered']);
  });

  it('the last check failed: WARNING (1), alerted once', async () => {
    const slack = await slackServer();
    const ws = workspace(config());
    expect(ws.run('run').code).toBe(1); // no log yet
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const r = await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^HEARTBEAT WARNING: last check .* could not do its job: .*cost_log\.jsonl/);
    expect(slack.requests[0]?.text).toMatch(/WATCHDOG FAILING/);
    expect((await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env })).code).toBe(1);
    expect(slack.requests.length).toBe(1);
  });

  it('an alert Slack refused is sent on the next check-heartbeat', async () => {
    const slack = await slackServer([
      { status: 404, body: 'no_service' },
      { status: 200, body: 'ok' },
    ]);
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const first = await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env });
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/could not send the heartbeat alert to Slack \(HTTP 404\)/);
    expect(first.stderr).not.toContain('s3cr3t');
    await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env });
    expect(slack.requests.length).toBe(2);
    await cliAsync(['check-heartbeat', '-c', ws.config], { cwd: ws.dir, env });
    expect(slack.requests.length).toBe(2);
  });

  it('cannot tell (3): a corrupt heartbeat, a bad config; bad usage is 64', () => {
    const ws = workspace(config());
    ws.append(lines(1, 1));
    expect(ws.run('run').code).toBe(0);
    writeFileSync(heartbeatFile(ws), '{"time": "not a time"');
    let r = ws.run('check-heartbeat');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^HEARTBEAT UNKNOWN: heartbeat unreadable/);
    writeFileSync(ws.config, 'log: x\nlimits: 3\n');
    r = ws.run('check-heartbeat', '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'UNKNOWN' });
    expect(r.stderr).toMatch(/limits: expected a mapping/);
    r = ws.run('check-heartbeat', '--max-age', 'soon');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--max-age: expected a duration/);
    r = ws.run('check-heartbeat', '--max-age', '0s');
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('cost-watchdog: --max-age: expected at least "1s", got "0s"\n');
  });

  it('does not wait for the lock a hung check holds', () => {
    const ws = workspace(config());
    ws.append(lines(1, 1));
    expect(ws.run('run').code).toBe(0);
    // A lock held by a live process (this test runner), as a hung `run` would hold it.
    writeFileSync(
      path.join(ws.stateDir, 'lock'),
      JSON.stringify({ pid: process.pid, start: null, host: 'x', since: new Date().toISOString() }),
    );
    const started = Date.now();
    const r = ws.run('check-heartbeat');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("dead-man's-switch ping", () => {
  it(
    'pings the URL after a good check and <url>/fail ' + 'after a failed one; never changes the exit code',
    async () => {
      const pings = await slackServer([{ status: 200, body: 'OK' }]);
      const base = pings.url.replace('/services/T000/B000/s3cr3t-token', '/ping/uuid-1');
      const ws = workspace(config(`heartbeat:\n  ping_url: ${base}\n`));
      ws.append(lines(1, 1));
      // Not cli(): spawnSync would block this process, and with it the ping server.
      const run = (...args: string[]) => cliAsync(['run', '-c', ws.config, ...args], { cwd: ws.dir });
      expect((await run()).code).toBe(0);
      expect(pings.requests.map((r) => r.url)).toEqual(['/ping/uuid-1']);
      rmSync(ws.log);
      expect((await run()).code).toBe(1);
      expect(pings.requests.map((r) => r.url)).toEqual(['/ping/uuid-1', '/ping/uuid-1/fail']);
      expect((await run('--dry-run')).code).toBe(1);
      expect(pings.requests.length).toBe(2); // a dry run touches nothing
    },
  );

  it('a ping server that never answers: bounded, noted in the audit log, the check unaffected', async () => {
    const pings = await slackServer(['hang']);
    const ws = workspace(config(`heartbeat:\n  ping_url: ${pings.url}\n`));
    ws.append(lines(1, 6));
    const started = Date.now();
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
    const took = Date.now() - started;
    expect(r.code).toBe(0);
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(took).toBeLessThan(15_000); // bounded (5 s), not hung
    expect(r.stderr).toMatch(
      /dead-man's-switch ping to http:\/\/127\.0\.0\.1:\d+\/… failed \(no answer within 5s\)/,
    );
    expect(r.stderr).not.toContain('s3cr3t');
    const failed = audit(ws).find((e) => e.event === 'ping_failed');
    expect(failed).toMatchObject({ check_ok: true, error: 'no answer within 5s' });
    expect(JSON.stringify(audit(ws))).not.toContain('s3cr3t');
  });

  it('watch pings on its first check and when the outcome changes, not on every append', async () => {
    const pings = await slackServer([{ status: 200, body: 'OK' }]);
    const ws = workspace(config(`heartbeat:\n  ping_url: ${pings.url}\n`));
    ws.append(lines(1, 1));
    const d = await startWatch(ws);
    await waitFor('a ping', () => pings.requests.length > 0);
    expect(pings.requests[0]?.url).toBe('/services/T000/B000/s3cr3t-token');
    const auditLines = audit(ws).length;
    for (let i = 0; i < 5; i++) {
      const before = heartbeatTime(ws) as number;
      ws.append(lines(1, 0.1));
      await waitFor('the check of that append', () => (heartbeatTime(ws) ?? 0) > before);
    }
    expect(pings.requests.length).toBe(1); // five more checks, no more pings within the minute
    // Routine checks (nothing said or done, the same levels) are not in the audit log.
    expect(audit(ws).length).toBe(auditLines);
    ws.append(lines(1, 3)); // $4.50: warn, recorded
    await waitFor('the warn check in the audit log', () =>
      audit(ws).some(
        (e) =>
          e.event === 'check' && (e.windows as Record<string, { level: string }>)['15m']?.level === 'warn',
      ),
    );
    rmSync(ws.log); // the next check fails: pinged at once
    await waitFor('a /fail ping', () => pings.requests.some((r) => r.url.endsWith('/s3cr3t-token/fail')));
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });
});

describe('notify', () => {
  it('alerts naming the failed unit; the same failure is held back until the reminder', async () => {
    const slack = await slackServer();
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const r = await cliAsync(['notify', '--unit', 'cost-watchdog.service', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(r.code).toBe(0);
    expect(slack.requests.length).toBe(1);
    expect(slack.requests[0]?.text).toMatch(/WATCHDOG UNIT FAILED: cost-watchdog\.service failed on /);
    expect(slack.requests[0]?.text).toMatch(/journalctl -u cost-watchdog\.service/);
    const again = await cliAsync(['notify', '--unit', 'cost-watchdog.service', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already announced/);
    expect(slack.requests.length).toBe(1);
    // A different unit is a different failure.
    await cliAsync(['notify', '--unit', 'cost-watchdog-heartbeat.service', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(slack.requests.length).toBe(2);
    // A good check in between: the next failure is new.
    ws.append(lines(1, 1));
    expect(ws.run('run').code).toBe(0);
    await cliAsync(['notify', '--unit', 'cost-watchdog.service', '-c', ws.config], { cwd: ws.dir, env });
    expect(slack.requests.length).toBe(3);
  });

  it('works when the config does not load (through $SLACK_WEBHOOK_URL), and says why', async () => {
    const slack = await slackServer();
    const ws = workspace('log: x\nlimits: broken\n');
    const r = await cliAsync(['notify', '--unit', 'cost-watchdog.service', '-c', ws.config], {
      cwd: ws.dir,
      env: { SLACK_WEBHOOK_URL: slack.url },
    });
    expect(r.code).toBe(0);
    expect(slack.requests[0]?.text).toMatch(/config could not be loaded.*limits: expected a mapping/);
  });

  it('exits 1 when Slack cannot be reached, 64 with nothing to say', async () => {
    const slack = await slackServer([{ status: 500, body: 'down' }]);
    const ws = workspace(config());
    const r = await cliAsync(['notify', '--message', 'run failed', '-c', ws.config], {
      cwd: ws.dir,
      env: { SLACK_WEBHOOK_URL: slack.url },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ALERT WATCHDOG: run failed/);
    expect(r.stderr).toMatch(/could not send the notice to Slack: HTTP 500/);
    expect(ws.run('notify').code).toBe(64);
  });
});

const ANALYZE = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
const NO_ANALYZE =
  "systemd-analyze is not installed here (.ci/run installs Debian's systemd package where it can)";

function verify(dir: string, names: string[]): { code: number | null; output: string } {
  const r = spawnSync('systemd-analyze', ['verify', ...names], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function unitNames(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => n.endsWith('.service') || n.endsWith('.timer'));
  // The template is checked through an instance, as OnFailure= starts it.
  return [...names.filter((n) => !n.includes('@')), 'cost-watchdog-notify@cost-watchdog.service.service'];
}

describe('systemd units', () => {
  if (!ANALYZE) console.warn(`SKIPPED systemd-analyze checks: ${NO_ANALYZE}`);

  it.skipIf(!ANALYZE)(
    'the generated units (system, --user, --interval 30s) pass systemd-analyze verify',
    () => {
      const ws = workspace(config());
      for (const args of [[], ['--user'], ['--interval', '30s']]) {
        const dir = mkdtempSync(path.join(tmpdir(), 'cw-units-'));
        onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
        const r = cli(['systemd', '-c', ws.config, '--dir', dir, ...args], { cwd: ws.dir });
        expect(r.code, r.stderr).toBe(0);
        const service = readFileSync(path.join(dir, 'cost-watchdog.service'), 'utf8');
        expect(service).toContain(
          `ExecStart=${process.execPath} ` +
            `${fileURLToPath(new URL('../../bin/cost-watchdog.js', import.meta.url))} run -c ` +
            `${ws.config}`,
        );
        if (args[0] !== '--user') expect(service).toContain(`ReadWritePaths=-${path.join(ws.dir, 'state')}`);
        const v = verify(dir, unitNames(dir));
        expect(v.output).toBe('');
        expect(v.code).toBe(0);
      }
    },
  );

  it.skipIf(!ANALYZE)('the units shipped in systemd/ pass systemd-analyze verify', () => {
    const dir = fileURLToPath(new URL('../../systemd/', import.meta.url));
    const v = verify(dir, unitNames(dir));
    expect(v.output).toBe('');
    expect(v.code).toBe(0);
  });

  it.skipIf(!ANALYZE)('systemd-analyze verify catches a broken unit (the check itself works)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cw-units-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      path.join(dir, 'broken.service'),
      '[Service]\nType=oneshott\nExecStart=/no/such/cost-watchdog run\n',
    );
    const v = verify(dir, ['broken.service']);
    expect(v.code).not.toBe(0);
    expect(v.output).toMatch(/oneshott|not executable/);
  });

  it.skipIf(!ANALYZE)('every --interval the command accepts is a calendar systemd understands', () => {
    for (const interval of ['1s', '10s', '30s', '1m', '5m', '15m', '1h', '6h', '24h']) {
      const r = cli(['systemd', '--interval', interval, '--json', '-c', '/nonexistent/watchdog.yaml']);
      expect(r.code, r.stderr).toBe(0);
      const timer =
        (JSON.parse(r.stdout) as { units: { name: string; text: string }[] }).units.find(
          (u) => u.name === 'cost-watchdog.timer',
        )?.text ?? '';
      const calendar = /^OnCalendar=(.+)$/m.exec(timer)?.[1] ?? '';
      const c = spawnSync('systemd-analyze', ['calendar', '--iterations=3', calendar], { encoding: 'utf8' });
      expect(c.status, `${interval} -> ${calendar}: ${c.stderr}`).toBe(0);
    }
  });

  it.skipIf(!ANALYZE)(
    'two apps on one host (--name): no unit collides, each its own config and state, both pass verify',
    () => {
      const sets = ['app-a', 'app_b'].map((name) => {
        const ws = workspace(config());
        const dir = mkdtempSync(path.join(tmpdir(), 'cw-units-'));
        onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
        const r = cli(['systemd', '--name', name, '-c', ws.config, '--dir', dir], { cwd: ws.dir });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(
          `systemctl enable --now cost-watchdog-${name}.timer cost-watchdog-${name}-heartbeat.timer`,
        );
        expect(r.stderr).toContain(`goes to /var/lib/cost-watchdog-${name}`);
        return { name, ws, dir, files: readdirSync(dir).sort() };
      });
      const [a, b] = sets as [(typeof sets)[0], (typeof sets)[0]];
      expect(a.files).toEqual([
        'cost-watchdog-app-a-heartbeat.service',
        'cost-watchdog-app-a-heartbeat.timer',
        'cost-watchdog-app-a-notify@.service',
        'cost-watchdog-app-a-watch.service',
        'cost-watchdog-app-a.service',
        'cost-watchdog-app-a.timer',
      ]);
      expect(a.files.filter((f) => b.files.includes(f))).toEqual([]);
      for (const { name, ws, dir, files } of sets) {
        for (const file of files) {
          const text = readFileSync(path.join(dir, file), 'utf8');
          // Every unit it names (Unit=, OnFailure=) is one of its own set.
          for (const m of text.matchAll(/^(?:Unit|OnFailure)=(\S+)$/gm))
            expect(m[1]?.replace('@%n', '@')).toMatch(new RegExp(`^cost-watchdog-${name}[-.]`));
          if (text.includes('ExecStart=')) expect(text).toContain(` -c ${ws.config}`);
          if (text.includes('[Service]')) {
            expect(text).toContain(`StateDirectory=cost-watchdog-${name}\n`);
            expect(text).toContain(`EnvironmentFile=-/etc/cost-watchdog/${name}.env\n`);
          }
        }
        const names = [
          ...files.filter((n) => !n.includes('@')),
          `cost-watchdog-${name}-notify@cost-watchdog-${name}.service.service`,
        ];
        const v = verify(dir, names);
        expect(v.output).toBe('');
        expect(v.code).toBe(0);
      }
    },
  );

  it.each([['a b'], ['-x'], ['../etc'], ['x@y'], ['watch'], ['app-heartbeat'], ['é'], ['']])(
    'systemd --name %j is bad usage',
    (name) => {
      const r = cli(['systemd', '--name', name, '-c', '/nonexistent/watchdog.yaml']);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^cost-watchdog: --name: /);
      expect(r.stdout).toBe('');
    },
  );

  it('prints the units with headers, notes what it could not know, and refuses a bad interval', () => {
    const r = cli(['systemd', '-c', '/nonexistent/watchdog.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^### \/etc\/systemd\/system\/cost-watchdog\.service\n/);
    for (const name of [
      'cost-watchdog.timer',
      'cost-watchdog-heartbeat.service',
      'cost-watchdog-heartbeat.timer',
      'cost-watchdog-watch.service',
      'cost-watchdog-notify@.service',
    ]) {
      expect(r.stdout).toContain(`### /etc/systemd/system/${name}\n`);
    }
    expect(r.stdout).toContain('run -c /nonexistent/watchdog.yaml');
    expect(r.stderr).toMatch(/does not exist yet/);
    expect(r.stderr).toMatch(/systemctl enable --now cost-watchdog\.timer cost-watchdog-heartbeat\.timer/);
    const user = cli(['systemd', '--user', '-c', '/nonexistent/watchdog.yaml']);
    expect(user.stdout).toContain('### ~/.config/systemd/user/cost-watchdog.service');
    expect(user.stderr).toMatch(/systemctl --user enable --now/);
    const bad = cli(['systemd', '--interval', '7s']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--interval: expected a duration that divides a minute/);
  });

  it('warns when the config sets no state_dir (hand-run commands would use another state)', () => {
    const ws = workspace(config());
    const r = ws.run('systemd');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /sets no state_dir: under systemd the state .* goes to \/var\/lib\/cost-watchdog/,
    );
    const set = workspace(`${config()}state_dir: /var/lib/cost-watchdog-test\n`);
    const r2 = set.run('systemd');
    expect(r2.stderr).not.toMatch(/sets no state_dir/);
    expect(r2.stdout).toContain(
      `ReadWritePaths=-${path.join(set.dir, 'state')} -/var/lib/cost-watchdog-test`,
    );
  });

  it('warns when state_dir does not exist (ReadWritePaths=- skips it; it stays read-only)', () => {
    const missing = workspace(`${config()}state_dir: /var/lib/cost-watchdog-nowhere\n`);
    const r = missing.run('systemd', '--name', 'shop');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'cost-watchdog: note: state_dir /var/lib/cost-watchdog-nowhere does not exist, and the units ' +
        'would not be allowed to create it: create it (mkdir -p), or set ' +
        '`state_dir: /var/lib/cost-watchdog-shop`, which systemd creates ' +
        '(StateDirectory=cost-watchdog-shop).',
    );
    // The folder systemd makes itself (StateDirectory=), and a folder that exists, need no note.
    const own = workspace(`${config()}state_dir: /var/lib/cost-watchdog-shop\n`);
    expect(own.run('systemd', '--name', 'shop').stderr).not.toMatch(/does not exist, and the units/);
    const there = workspace(config());
    const made = workspace(`${config()}state_dir: ${there.dir}\n`);
    expect(made.run('systemd').stderr).not.toMatch(/does not exist, and the units/);
  });

  it('the /tmp note names a PID file or state file there too, for system units only', () => {
    // Everything outside /tmp but the PID file and the state file: the kill would find no target.
    const ws = workspace(
      'log: /srv/cw-app/cost_log.jsonl\nflag_file: /srv/cw-app/flag\nstate_dir: /var/lib/cost-watchdog\n' +
        'state_file: /var/tmp/cw-app/tracker.json\n' +
        'limits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\ntarget: { pid_file: /tmp/cw-app/app.pid }\n',
    );
    expect(ws.run('systemd').stderr).toContain(
      'cost-watchdog: note: target.pid_file /tmp/cw-app/app.pid, state_file /var/tmp/cw-app/tracker.json ' +
        'under /tmp or /var/tmp: PrivateTmp=yes gives the units a /tmp and /var/tmp of their own',
    );
    expect(ws.run('systemd', '--user').stderr).not.toMatch(/PrivateTmp/);
    const outside = workspace(
      'log: /srv/cw-app/cost_log.jsonl\nflag_file: /srv/cw-app/flag\nstate_dir: /var/lib/cost-watchdog\n' +
        'limits:\n  15m: { warn: 3 }\ntarget: { pid_file: /srv/cw-app/app.pid }\n',
    );
    expect(outside.run('systemd').stderr).not.toMatch(/PrivateTmp/);
  });

  it('user units get no note about a missing state_dir (they have no ProtectSystem=)', () => {
    const missing = workspace(`${config()}state_dir: /var/lib/cost-watchdog-nowhere\n`);
    expect(missing.run('systemd', '--user').stderr).not.toMatch(/does not exist, and the units/);
  });

  it('warns when the timer interval is not shorter than heartbeat.max_age', () => {
    const ws = workspace(config());
    expect(ws.run('systemd', '--interval', '1m').stderr).not.toMatch(/heartbeat\.max_age/);
    const r = ws.run('systemd', '--interval', '5m');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        String.raw`--interval 5m is not shorter than heartbeat\.max_age 5m: ` +
          'check-heartbeat would report the watchdog down',
      ),
    );
  });

  it('under systemd, a config without state_dir uses $STATE_DIRECTORY', () => {
    const ws = workspace(config());
    ws.append(lines(1, 1));
    const stateDir = mkdtempSync(path.join(tmpdir(), 'cw-statedir-'));
    onTestFinished(() => rmSync(stateDir, { recursive: true, force: true }));
    const r = cli(['run', '-c', ws.config], { cwd: ws.dir, env: { STATE_DIRECTORY: stateDir } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(stateDir, 'heartbeat.json'))).toBe(true);
    expect(existsSync(ws.stateDir)).toBe(false);
  });
});
