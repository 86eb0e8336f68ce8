// The prepaid balance (limits.balance) driven through the real CLI: the emergency it reaches, a
// top-up recorded by `balance --add` during it (audited, announced on a Slack stand-in, the flag
// kept until clear-emergency), what survives a lost checkpoint and a moved `since`, an unreadable
// balance.json, and a 15-agent runaway under `watch` killed before the balance is gone.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { StatusBalanceJson } from '../../src/commands/render/status-json.js';
import { startWatch } from './daemon.js';
import { alertsIn, cliAsync, type Workspace, workspace } from './helpers.js';
import { alive, slackServer, waitFor } from './procs.js';

const now = () => Date.now() / 1000;
const HOUR_AGO = () => new Date(Date.now() - 3_600_000).toISOString();

function call(cost: number, agoSec = 30, agent = 'a'): string {
  return `${JSON.stringify({ t: Number((now() - agoSec).toFixed(3)), agent, model: 'gpt-4o', cost })}\n`;
}

function config(since: string, balance: string, extra = ''): string {
  return (
    'log: state/cost_log.jsonl\nflag_file: state/EMERGENCY\n' +
    'limits:\n  15m: { warn: 900, emergency: 950, kill: 990 }\n' +
    `  balance: { since: "${since}", ${balance} }\n` +
    extra
  );
}

function balanceOf(ws: Workspace): { code: number | null; b: StatusBalanceJson } {
  const { code, json } = ws.status();
  return { code, b: json.windows.balance as StatusBalanceJson };
}

describe('a prepaid balance', () => {
  it('a top-up during an emergency: audited, announced; the flag stays until clear-emergency', async () => {
    const slack = await slackServer();
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const ws = workspace(config(HOUR_AGO(), 'usd: 10, warn: 80%, emergency: 90%'));
    const flag = path.join(ws.dir, 'state', 'EMERGENCY');
    ws.append(call(4.6, 600) + call(4.6, 60)); // $9.20 of $10: past emergency (90%)
    const run = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(flag)).toBe(true);
    expect(alertsIn(run.stderr)[0]).toContain(
      'EMERGENCY: balance spend $9.20 crossed the emergency limit $9.00',
    );
    expect(alertsIn(run.stderr)[0]).toContain('$0.80 left of $10.00 since');
    let { code, b } = balanceOf(ws);
    expect(code).toBe(2);
    expect(b).toMatchObject({
      spend_usd: 9.2,
      level: 'emergency',
      limits: { warn: 8, emergency: 9 },
      left_usd: 0.8,
      balance_usd: 10,
      top_ups_usd: 0,
    });
    // Not burning in the last 15 minutes... one line was a minute ago: it is, and runs out soon.
    expect(b.runs_out_at).not.toBeNull();
    expect(Date.parse(b.runs_out_at as string)).toBeGreaterThan(Date.now());

    // While the balance is over its emergency limit, the flag is not cleared without --force.
    const refused = await cliAsync(['clear-emergency', '--reason', 'try', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('balance');
    expect(existsSync(flag)).toBe(true);

    const before = slack.requests.length;
    const add = await cliAsync(
      ['balance', '--add', '10', '--reason', 'bought $10, invoice 42', '-c', ws.config],
      {
        cwd: ws.dir,
        env,
      },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('top-up recorded: +$10.00 (bought $10, invoice 42');
    expect(add.stdout).toContain('$10.80 left of $20.00 (with $10.00 of top-ups)');
    expect(add.stdout).toContain('the emergency flag is still in force');
    expect(add.stdout).toContain('clear-emergency');
    expect(existsSync(flag)).toBe(true);
    const announced = slack.requests.slice(before).map((r) => r.text);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toContain('BALANCE TOPPED UP by');
    expect(announced[0]).toContain('+$10.00: bought $10, invoice 42');
    const audit = readFileSync(path.join(ws.stateDir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const topped = audit.find((e) => e.event === 'balance_topped_up');
    expect(topped).toMatchObject({ reason: 'bought $10, invoice 42', amount: 10, currency: 'USD', usd: 10 });

    ({ code, b } = balanceOf(ws));
    expect(b).toMatchObject({
      level: 'ok',
      limits: { warn: 16, emergency: 18 },
      balance_usd: 20,
      left_usd: 10.8,
    });
    expect(code).toBe(2); // the flag is still in force: CRITICAL until it is cleared
    // The next check says the balance recovered, and keeps the flag.
    const again = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(again.code).toBe(0);
    expect(existsSync(flag)).toBe(true);
    const cleared = await cliAsync(['clear-emergency', '--reason', 'topped up', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(existsSync(flag)).toBe(false);
    expect(ws.status().code).toBe(0);

    // `balance` shows the top-up, and --json says the same.
    const shown = await cliAsync(['balance', '--json', '-c', ws.config], { cwd: ws.dir });
    const parsed = JSON.parse(shown.stdout) as { balance: StatusBalanceJson; top_ups: { reason: string }[] };
    expect(parsed.balance.balance_usd).toBe(20);
    expect(parsed.top_ups.map((t) => t.reason)).toEqual(['bought $10, invoice 42']);
  });

  it('top-ups and since survive a lost checkpoint; a moved since re-reads the log', () => {
    const since = HOUR_AGO();
    const ws = workspace(config(since, 'usd: 50, kill: 95%'));
    ws.append(call(1, 7200) + call(2, 1800) + call(3, 60)); // the first is before since
    expect(ws.run('run').code).toBe(0);
    expect(ws.run('balance', '--add', '5', '--reason', 'credit').code).toBe(0);
    let { b } = balanceOf(ws);
    expect(b).toMatchObject({ spend_usd: 5, balance_usd: 55, left_usd: 50, log_starts_at: null });
    // A months-long log is not re-read each check: the total is in the checkpoint.
    const cp = JSON.parse(readFileSync(path.join(ws.stateDir, 'checkpoint.json'), 'utf8'));
    expect(cp.ledger.balance).toEqual({ since_ms: Date.parse(since), spend: 5_000_000 });
    rmSync(path.join(ws.stateDir, 'checkpoint.json'));
    ({ b } = balanceOf(ws));
    expect(b).toMatchObject({ spend_usd: 5, balance_usd: 55, left_usd: 50 });
    const rebuilt = ws.runJson();
    expect(rebuilt.json.windows.balance).toMatchObject({ spend_usd: 5 });
    // since moved to 10 minutes ago: only the 1-minute line counts; the top-up (after it) too.
    writeFileSync(ws.config, config(new Date(Date.now() - 10 * 60_000).toISOString(), 'usd: 50, kill: 95%'));
    const moved = ws.runJson();
    expect(moved.json.rebuilt).toContain('limits.balance.since changed');
    expect(moved.json.windows.balance).toMatchObject({ spend_usd: 3, balance_usd: 55, left_usd: 52 });
    // since moved past the top-up (a new balance bought): the top-up no longer counts.
    writeFileSync(ws.config, config(new Date(Date.now() + 1000).toISOString(), 'usd: 50, kill: 95%'));
    expect(ws.runJson().json.windows.balance).toMatchObject({
      spend_usd: 0,
      balance_usd: 50,
      top_ups_usd: 0,
    });
  });

  it('a since before the log begins is said once', () => {
    const ws = workspace(config('2026-01-01T00:00:00Z', 'usd: 50, kill: 95%'));
    ws.append(call(1, 60));
    const first = ws.run('run');
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(
      'note: limits.balance.since is 2026-01-01T00:00:00.000Z but the log begins at',
    );
    expect(first.stderr).toContain('spend before its first line is not in the log and not counted');
    ws.append(call(1, 10));
    const second = ws.run('run');
    expect(second.stderr).not.toContain('limits.balance.since is');
    const { b } = balanceOf(ws);
    expect(b.log_starts_at).not.toBeNull();
    expect(ws.run('status').stdout).toContain('spend before it is not known');
  });

  it('an unreadable balance.json is loud, is not written over, and its top-ups are not counted', () => {
    const ws = workspace(config(HOUR_AGO(), 'usd: 10, warn: 50%'));
    ws.append(call(6, 60));
    expect(ws.run('run').code).toBe(0);
    const file = path.join(ws.stateDir, 'balance.json');
    writeFileSync(file, '{"version":1,"top_ups":[{"at":"x"');
    const { code, json } = ws.status();
    expect(code).toBe(1);
    expect(json.warnings.map((w) => w.text).join('\n')).toContain(`${file} cannot be read`);
    expect((json.windows.balance as StatusBalanceJson).balance_usd).toBe(10);
    const add = ws.run('balance', '--add', '5', '--reason', 'credit');
    expect(add.code).toBe(1);
    expect(add.stderr).toContain(`cannot record the top-up: ${file} cannot be read`);
    expect(readFileSync(file, 'utf8')).toBe('{"version":1,"top_ups":[{"at":"x"');
  });

  it('a top-up while the log cannot be read: recorded, said to be on old figures, exit 1', async () => {
    const slack = await slackServer();
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const ws = workspace(config(HOUR_AGO(), 'usd: 10, warn: 50%'));
    ws.append(call(2, 60));
    expect((await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env })).code).toBe(0);
    renameSync(ws.log, `${ws.log}.gone`);
    const before = slack.requests.length;
    const add = await cliAsync(['balance', '--add', '5', '--reason', 'credit', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(add.code).toBe(1);
    expect(add.stdout).toContain('top-up recorded: +$5.00');
    expect(add.stdout).toContain('COULD NOT READ the log (the spend above is as last read)');
    expect(add.stderr).toContain(ws.log);
    const announced = slack.requests.slice(before).map((r) => r.text);
    expect(announced.join('\n')).toContain('BALANCE TOPPED UP');
    expect(announced.join('\n')).toContain('COULD NOT READ the log');
    const saved = JSON.parse(readFileSync(path.join(ws.stateDir, 'balance.json'), 'utf8'));
    expect(saved.top_ups).toHaveLength(1);
    const json = await cliAsync(['balance', '--add', '1', '--reason', 'more', '--json', '-c', ws.config], {
      cwd: ws.dir,
      env,
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toContain(ws.log);
  });

  it('balance --add says the since note when it reads first; validate, replay say theirs', () => {
    const ws = workspace(config('2026-01-01T00:00:00Z', 'usd: 50, kill: 95%'));
    ws.append(call(1, 60));
    const add = ws.run('balance', '--add', '5', '--reason', 'credit');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('note: limits.balance.since is 2026-01-01T00:00:00.000Z but the log begins');
    expect(ws.run('run').stderr).not.toContain('limits.balance.since is');
    expect(ws.run('replay').stderr).toContain('note: limits.balance is not replayed');
    const future = workspace(config('2099-01-01T00:00:00Z', 'usd: 50, kill: 95%'));
    expect(future.run('validate').stdout + future.run('validate').stderr).toContain(
      'limits.balance.since 2099-01-01T00:00:00.000Z is in the future',
    );
  });

  it('balance without limits.balance, or with a bad amount, is a usage error', () => {
    const ws = workspace();
    const none = ws.run('balance', '--add', '5', '--reason', 'x');
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('no limits.balance in');
    const withBalance = workspace(config(HOUR_AGO(), 'usd: 10, kill: 90%'));
    for (const bad of ['0', 'ten', '-3', '0.0000001']) {
      const r = withBalance.run('balance', '--add', bad, '--reason', 'x');
      expect(r.code, bad).toBe(64);
      expect(r.stderr).toContain('--add: expected the amount added');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(withBalance.run('balance', '--add', '3').code).toBe(64);
    expect(existsSync(path.join(withBalance.stateDir, 'balance.json'))).toBe(false);
  });
});

/** An app of 15 agents, each appending a call every `everyMs` to the log until it is killed. */
function runaway(ws: Workspace, pidFile: string, cost: number, everyMs: number): ChildProcess {
  const script = `
    const fs = require('node:fs');
    const log = ${JSON.stringify(ws.log)};
    for (let i = 0; i < 15; i++)
      setInterval(() => fs.appendFileSync(log, JSON.stringify({ t: Date.now() / 1000, agent: 'agent-' + i,
        model: 'gpt-4o', cost: ${cost} }) + '\\n'), ${everyMs});
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

describe('a 15-agent runaway under watch', () => {
  it('is killed at the balance kill share, before the balance is gone', async () => {
    const ws = workspace(
      config(
        HOUR_AGO(),
        'usd: 50, warn: 80%, emergency: 90%, kill: 95%',
        'target:\n  pid_file: state/app.pid\n  grace: 1s\n',
      ),
    );
    ws.append(call(44, 600)); // $44 spent before the runaway: $3.50 to the kill share
    const d = await startWatch(ws);
    const pidFile = path.join(ws.dir, 'state', 'app.pid');
    // 15 agents x $0.01 every 300 ms: $0.50 a second, so ~7 s to the kill share and 5 more to $50.
    const app = runaway(ws, pidFile, 0.01, 300);
    await waitFor('the app to start', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the app to be killed', () => !alive(pid) || app.exitCode !== null, 60_000);
    await waitFor('the kill to be said', () => d.stderr().includes('KILL: balance spend'), 10_000);
    // Every line the app wrote is counted once the watchdog has read to the end.
    const { b } = balanceOf(ws);
    const written = readFileSync(ws.log, 'utf8').trim().split('\n').length - 1;
    expect(b.spend_usd).toBeCloseTo(44 + written * 0.01, 6);
    expect(b.level).toBe('kill');
    expect(b.spend_usd).toBeGreaterThanOrEqual(47.5);
    expect(b.left_usd).toBeGreaterThan(0);
    expect(existsSync(path.join(ws.dir, 'state', 'EMERGENCY'))).toBe(true);
    const agents = new Set(
      readFileSync(ws.log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { agent: string }).agent),
    );
    expect(agents.size).toBe(16);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });
});
