// Enforcement end to end: the real CLI against real processes, real files and a real HTTP server
// on 127.0.0.1 standing in for Slack.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  alertsIn,
  audit,
  cli,
  cliAsNobody,
  cliAsync,
  flagFile,
  lines,
  readJsonFile,
  type Workspace,
  workspace,
} from './helpers.js';
import { alive, slackServer, startNamed, startPlain, startTree, stateOf, waitFor } from './procs.js';

function config(extra = '', limits = '  15m: { warn: 3, emergency: 5, kill: 8 }\n'): string {
  return `log: state/cost_log.jsonl\nlimits:\n${limits}${extra}`;
}

const PID_TARGET = 'target:\n  pid_file: state/app.pid\n  grace: 1s\n';

describe('the ladder: warn alerts, emergency flags, kill kills', () => {
  it('kills the whole tree (parent and children) at the kill limit, after writing the flag', async () => {
    const ws = workspace(config(PID_TARGET));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3)); // $9 >= kill $8
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    for (const pid of [tree.pid, ...tree.children]) expect(alive(pid), `pid ${pid}`).toBe(false);
    const flag = readJsonFile(flagFile(ws)) as Record<string, unknown>;
    expect(flag).toMatchObject({
      window: '15m',
      spend_usd: 9,
      limit_usd: 8,
      triggered_by: 'run',
      level: 'kill',
    });
    expect(typeof flag.host).toBe('string');
    expect(Number.isNaN(Date.parse(flag.triggered_at as string))).toBe(false);
    expect(flag.reason).toContain('crossed the kill limit');
    expect(r.stdout).toMatch(/killed 3 processes \(after SIGTERM\)/);
    const events = audit(ws).map((e) => e.event);
    expect(events.indexOf('flag_written')).toBeLessThan(events.indexOf('kill'));
    expect(audit(ws).filter((e) => e.event === 'signal' && e.signal === 'SIGTERM').length).toBe(3);
    expect(alertsIn(r.stderr)).toHaveLength(1);
  });

  it('a target that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const ws = workspace(config(PID_TARGET));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'), { ignoreTerm: true });
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    for (const pid of [tree.pid, ...tree.children]) expect(alive(pid)).toBe(false);
    const signals = audit(ws).filter((e) => e.event === 'signal');
    expect(
      signals
        .filter((s) => s.signal === 'SIGKILL')
        .map((s) => s.pid)
        .sort(),
    ).toEqual([tree.pid, ...tree.children].sort());
    expect(r.stdout).toMatch(/needed SIGKILL|after SIGKILL/);
  });

  it('a child forked during the grace period is killed too', async () => {
    const ws = workspace(config(PID_TARGET));
    const pidFile = path.join(ws.dir, 'state', 'app.pid');
    const spawned = `${pidFile}.late`;
    const script = `
      const { spawn } = require('node:child_process');
      const fs = require('node:fs');
      process.on('SIGTERM', () => {
        const late = spawn('sleep', ['300'], { stdio: 'ignore' });
        fs.writeFileSync(${JSON.stringify(spawned)}, String(late.pid));
      });
      fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    let late = 0;
    try {
      await waitFor('the target', () => existsSync(pidFile));
      ws.append(lines(3, 3));
      const r = ws.run('run');
      expect(r.code, r.stderr).toBe(0);
      late = Number(readFileSync(spawned, 'utf8'));
      expect(late).toBeGreaterThan(0);
      expect(alive(parent.pid as number)).toBe(false);
      expect(alive(late)).toBe(false);
      expect(audit(ws).some((e) => e.event === 'signal' && e.signal === 'SIGKILL' && e.pid === late)).toBe(
        true,
      );
    } finally {
      parent.kill('SIGKILL');
      if (late > 0 && alive(late)) process.kill(late, 'SIGKILL');
    }
  });

  it('emergency writes the flag and kills nothing; the flag is left as it is afterwards', async () => {
    const ws = workspace(config(PID_TARGET));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(2, 3)); // $6: emergency
    expect(ws.run('run').code).toBe(0);
    expect(alive(tree.pid)).toBe(true);
    const first = readFileSync(flagFile(ws), 'utf8');
    expect(JSON.parse(first)).toMatchObject({ level: 'emergency', spend_usd: 6, limit_usd: 5 });
    ws.append(lines(1, 3)); // $9: kill; the flag keeps its first trigger
    expect(ws.run('run').code).toBe(0);
    expect(readFileSync(flagFile(ws), 'utf8')).toBe(first);
    expect(alive(tree.pid)).toBe(false);
  });

  it(
    'alerts once per level, again only on escalation, a reminder while the flag stays, and on ' + 'recovery',
    async () => {
      // A 3-second window, so that spend leaves it while the test waits.
      const ws = workspace(config('alerts:\n  reminder: 2s\n', '  3s: { warn: 1, emergency: 2 }\n'));
      ws.append(lines(1, 1.5, 0));
      const first = ws.run('run');
      expect(alertsIn(first.stderr)).toEqual([
        expect.stringMatching(/^cost-watchdog: ALERT WARN: 3s spend \$1\.50 crossed the warn limit \$1\.00/),
      ]);
      expect(alertsIn(ws.run('run').stderr)).toEqual([]);
      ws.append(lines(1, 1, 0));
      const escalated = ws.run('run');
      expect(alertsIn(escalated.stderr)).toEqual([
        expect.stringMatching(
          /ALERT EMERGENCY: 3s spend \$2\.50 crossed the emergency limit \$2\.00 \(was warn\)/,
        ),
      ]);
      expect(existsSync(flagFile(ws))).toBe(true);
      expect(alertsIn(ws.run('run').stderr)).toEqual([]);
      // The spend leaves the window: recovery; the flag stays (only a person clears it), so 2 s
      // after the last announcement a reminder is due as well.
      await new Promise((r) => setTimeout(r, 3200));
      const later = ws.run('run');
      const said = alertsIn(later.stderr).join('\n');
      expect(said).toMatch(/RECOVERED: 3s spend \$0\.00 is back under its limits \(was emergency\)/);
      expect(said).toMatch(/REMINDER: the emergency flag is still in force/);
      expect(existsSync(flagFile(ws))).toBe(true);
      expect(alertsIn(ws.run('run').stderr)).toEqual([]);
    },
  );
});

describe('which processes are the target', () => {
  it('a stale PID file pointing at an unrelated, newer process is not trusted', async () => {
    const ws = workspace(config(PID_TARGET));
    const bystander = startPlain();
    const pidFile = path.join(ws.dir, 'state', 'app.pid');
    writeFileSync(pidFile, `${bystander.pid}\n`);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(pidFile, old, old); // written an hour before that process started: PID reused
    await waitFor('bystander', () => alive(bystander.pid as number));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(alive(bystander.pid as number)).toBe(true);
    expect(r.stdout).toMatch(/started after the PID file was written/);
    expect(r.stdout).toContain('kill: no target running');
    expect(existsSync(flagFile(ws))).toBe(true);
  });

  it('a PID file whose process does not match process_name is not trusted', async () => {
    const ws = workspace(
      config('target:\n  pid_file: state/app.pid\n  process_name: cw-exact-agent\n  grace: 1s\n'),
    );
    const bystander = startPlain();
    await waitFor('bystander', () => alive(bystander.pid as number));
    writeFileSync(path.join(ws.dir, 'state', 'app.pid'), String(bystander.pid));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code).toBe(0);
    expect(alive(bystander.pid as number)).toBe(true);
    expect(r.stdout).toMatch(/not the configured target/);
  });

  it(
    'a process name matches exactly: my-agent never kills my-agent-2; long names use the full ' +
      'executable name',
    async () => {
      const ws = workspace(config('target:\n  process_name: cw-agent\n  grace: 1s\n'));
      const target = startNamed(ws.dir, 'cw-agent');
      const other = startNamed(ws.dir, 'cw-agent-2');
      const longTarget = 'cw-agent-with-a-long-name-a';
      await waitFor('named processes', () => alive(target.pid as number) && alive(other.pid as number));
      ws.append(lines(3, 3));
      expect(ws.run('run').code).toBe(0);
      expect(alive(target.pid as number)).toBe(false);
      expect(alive(other.pid as number)).toBe(true);

      // Both long names share their first 15 characters (all /proc/<pid>/comm keeps).
      const ws2 = workspace(config(`target:\n  process_name: ${longTarget}\n  grace: 1s\n`));
      const a = startNamed(ws2.dir, longTarget);
      const b = startNamed(ws2.dir, 'cw-agent-with-a-long-name-b');
      await waitFor('long-named processes', () => alive(a.pid as number) && alive(b.pid as number));
      ws2.append(lines(3, 3));
      expect(ws2.run('run').code).toBe(0);
      expect(alive(a.pid as number)).toBe(false);
      expect(alive(b.pid as number)).toBe(true);
    },
  );

  it('a zombie target is dead: nothing to kill, no wait', async () => {
    const ws = workspace(config('target:\n  pid_file: state/app.pid\n  grace: 30s\n'));
    const pidFile = path.join(ws.dir, 'state', 'app.pid');
    // The shell starts a short child, writes its PID, then becomes a `sleep` that never reaps it.
    const parent = spawn('/bin/sh', ['-c', `sleep 0.05 & echo $! > ${pidFile}; exec sleep 300`], {
      stdio: 'ignore',
    });
    try {
      const zombie = await waitFor('the zombie', () => {
        const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
        return text !== '' && stateOf(Number(text)) === 'Z' ? Number(text) : null;
      });
      ws.append(lines(3, 3));
      const started = Date.now();
      const r = ws.run('run');
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(25_000); // not the 30 s grace
      expect(r.stdout).toContain('kill: no target running');
      expect(stateOf(zombie)).toBe('Z');
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it(
    'EPERM: a watchdog that may not signal the target ' + 'alerts and exits 1, having written the flag',
    async () => {
      const ws = workspace(config('target:\n  process_name: cw-root-agent\n  grace: 1s\n'));
      const target = startNamed(ws.dir, 'cw-root-agent');
      await waitFor('target', () => alive(target.pid as number));
      ws.append(lines(3, 3));
      let r = cliAsNobody(ws, ['run']);
      let victim = target.pid as number;
      if (r === null) {
        // Not root: a process of root's is out of reach the same way. The signal is refused, so it
        // is never harmed.
        const rootPid = readdirSync('/proc')
          .filter((name) => /^\d+$/.test(name) && name !== '1')
          .find((pid) => {
            try {
              return /^Uid:\s+0\s/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
            } catch {
              return false;
            }
          });
        expect(rootPid, 'a root-owned process to aim at').toBeDefined();
        victim = Number(rootPid);
        writeFileSync(ws.config, config('target:\n  pid_file: state/app.pid\n  grace: 1s\n'));
        writeFileSync(path.join(ws.dir, 'state', 'app.pid'), String(victim));
        r = ws.run('run');
      }
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/KILL REFUSED \(EPERM/);
      expect(r.stderr).toMatch(/kill failed: 1 process\(es\) still running/);
      expect(alive(victim)).toBe(true);
      expect(existsSync(flagFile(ws))).toBe(true);
    },
  );
});

describe('the flag cannot be written', () => {
  it('still kills, alerts that the flag failed, and exits 1', async () => {
    const ws = workspace(config(`flag_file: no-such-folder/cost_emergency.flag\n${PID_TARGET}`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(alive(tree.pid)).toBe(false);
    expect(r.stderr).toMatch(
      /EMERGENCY FLAG NOT WRITTEN: .*no-such-folder\/cost_emergency\.flag: its folder .* does not exist/,
    );
    expect(r.stderr).toMatch(/^cost-watchdog: emergency flag not written/m);
    expect(audit(ws).some((e) => e.event === 'flag_failed')).toBe(true);
    // The next check fails again (the flag is still not there), without alerting again within
    // the hour, and a flag that was never written is not "removed".
    const again = ws.run('run');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^cost-watchdog: emergency flag not written/m);
    expect(alertsIn(again.stderr)).toEqual([]);
    expect(again.stderr).not.toContain('FLAG REMOVED');
  });

  it('never writes through a symlink planted where the flag goes', () => {
    const ws = workspace(config());
    const victim = path.join(ws.dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, flagFile(ws));
    ws.append(lines(2, 3));
    expect(ws.run('run').code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a dangling symlink where the flag goes is a flag not written (the app would see none)', () => {
    const ws = workspace(config());
    symlinkSync(path.join(ws.dir, 'nowhere'), flagFile(ws));
    ws.append(lines(2, 3));
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EMERGENCY FLAG NOT WRITTEN: .*a symlink that points nowhere is in its place/);
    expect(existsSync(path.join(ws.dir, 'nowhere'))).toBe(false);
  });
});

describe('dry runs touch nothing', () => {
  it('run --dry-run and kill --dry-run say what would be signalled', async () => {
    const ws = workspace(config(PID_TARGET));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const r = ws.run('run', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would write the emergency flag');
    expect(r.stdout).toMatch(new RegExp(`would send SIGTERM.*${tree.pid}`));
    expect(r.stderr).toMatch(/would alert: ALERT KILL/);
    const k = ws.run('kill', '--dry-run');
    expect(k.code).toBe(0);
    for (const pid of [tree.pid, ...tree.children]) expect(k.stdout).toContain(String(pid));
    expect(alive(tree.pid)).toBe(true);
    expect(existsSync(flagFile(ws))).toBe(false);
    expect(existsSync(ws.stateDir)).toBe(false);
  });
});

describe('kill and clear-emergency', () => {
  it(
    'kill: flag by kill, target dead; a restarted ' + 'target is killed again until clear-emergency',
    async () => {
      const ws = workspace(config(PID_TARGET));
      const pidFile = path.join(ws.dir, 'state', 'app.pid');
      ws.append(lines(1, 0.5));
      const first = await startTree(pidFile);
      const k = ws.run('kill', '--reason', 'retry loop');
      expect(k.code, k.stderr).toBe(0);
      expect(alive(first.pid)).toBe(false);
      expect(readJsonFile(flagFile(ws))).toMatchObject({
        triggered_by: 'kill',
        level: 'kill',
        reason: expect.stringContaining('retry loop'),
      });
      expect(alertsIn(k.stderr)[0]).toMatch(/MANUAL KILL by .*: retry loop/);

      const second = await startTree(pidFile); // the supervisor brings it back
      const r = ws.run('run');
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(alive(second.pid)).toBe(false);
      expect(alertsIn(r.stderr).join('\n')).toMatch(/TARGET CAME BACK/);

      const c = ws.run('clear-emergency', '--reason', 'loop fixed');
      expect(c.code, c.stderr).toBe(0);
      expect(existsSync(flagFile(ws))).toBe(false);
      expect(alertsIn(c.stderr)[0]).toMatch(/EMERGENCY CLEARED by .*: loop fixed/);
      const third = await startTree(pidFile);
      expect(ws.run('run').code).toBe(0);
      expect(alive(third.pid)).toBe(true);
      const cleared = audit(ws).find((e) => e.event === 'flag_cleared');
      expect(cleared).toMatchObject({ reason: 'loop fixed', forced: false, removed: true });
      expect(typeof cleared?.by).toBe('string');
    },
  );

  it('clear-emergency refuses while spend is at emergency, shows it, and --force acknowledges it', () => {
    const ws = workspace(config());
    ws.append(lines(2, 3)); // $6: emergency
    ws.run('run');
    expect(existsSync(flagFile(ws))).toBe(true);
    const refused = ws.run('clear-emergency', '--reason', 'looks fine');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to clear the emergency: .*15m \$6\.00 at emergency/);
    expect(refused.stderr).toContain('--force');
    expect(existsSync(flagFile(ws))).toBe(true);
    // With --json, the refusal is said on stdout too, for a script.
    const json = ws.run('clear-emergency', '--reason', 'looks fine', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      removed: false,
      file: flagFile(ws),
      refused: 'still over',
      windows: { '15m': { spend_usd: 6, level: 'emergency' } },
    });

    const forced = ws.run('clear-emergency', '--reason', 'known batch, approved', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('acknowledged: 15m at emergency');
    expect(existsSync(flagFile(ws))).toBe(false);
    // The same spend does not bring the flag back...
    const again = ws.run('run');
    expect(existsSync(flagFile(ws))).toBe(false);
    expect(alertsIn(again.stderr)).toEqual([]);
    // ...climbing higher does, with a new alert.
    ws.append(lines(1, 3)); // $9: kill
    const higher = ws.run('run');
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(alertsIn(higher.stderr)[0]).toMatch(/ALERT KILL/);
  });

  it('clear-emergency needs a reason (exit 64)', () => {
    const ws = workspace(config());
    const r = ws.run('clear-emergency');
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--reason');
    expect(ws.run('clear-emergency', '--reason', '  ').code).toBe(64);
  });
});

describe('stop_command for supervised apps', () => {
  it('runs first, is audited with its output, and the tree is then signalled', async () => {
    const marker = 'stopped-by-supervisor';
    const ws = workspace(config(`${PID_TARGET}  stop_command: "echo ${marker}; touch stop-ran"\n`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(ws.dir, 'stop-ran'))).toBe(true);
    expect(alive(tree.pid)).toBe(false);
    const stop = audit(ws).find((e) => e.event === 'stop_command');
    expect(stop).toMatchObject({ exit_code: 0, ok: true, output: marker });
  });

  it('a failing or hanging stop command is alerted; the signals still come', async () => {
    const ws = workspace(config(`${PID_TARGET}  stop_command: "sleep 20"\n  stop_timeout: 1s\n`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code).toBe(0);
    expect(alive(tree.pid)).toBe(false);
    expect(r.stderr).toMatch(/STOP COMMAND FAILED: timed out/);
    expect(audit(ws).find((e) => e.event === 'stop_command')).toMatchObject({ timed_out: true, ok: false });
  });
});

describe('Slack', () => {
  const SLACK = 'slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n';

  function noSecretAnywhere(ws: Workspace, outputs: string[], secret: string): void {
    for (const out of outputs) expect(out).not.toContain(secret);
    for (const name of readdirSync(ws.stateDir))
      expect(readFileSync(path.join(ws.stateDir, name), 'utf8')).not.toContain(secret);
  }

  it('posts the alert, escaped, and the URL appears nowhere', async () => {
    const slack = await slackServer();
    const ws = workspace(config(SLACK));
    ws.append(`${JSON.stringify({ t: Date.now() / 1000, cost: 3.5, model: '<!channel>', agent: 'a&b' })}\n`);
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: slack.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(slack.requests).toHaveLength(1);
    const text = slack.requests[0]?.text ?? '';
    expect(text).toMatch(/WARN: 15m spend \$3\.50 crossed the warn limit \$3\.00/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('a&amp;b');
    expect(text).not.toContain('<!channel>');
    expect(audit(ws).some((e) => e.event === 'alert_sent')).toBe(true);
    noSecretAnywhere(ws, [r.stdout, r.stderr], 's3cr3t-token');
    // A second run in the same state sends nothing.
    await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: slack.url } });
    expect(slack.requests).toHaveLength(1);
  });

  it('retries a 500 and honours Retry-After on a 429', async () => {
    const slack = await slackServer([
      { status: 500, body: 'oops' },
      { status: 429, headers: { 'Retry-After': '1' } },
      { status: 200, body: 'ok' },
    ]);
    const ws = workspace(config(SLACK));
    ws.append(lines(1, 3.5));
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: slack.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(slack.requests).toHaveLength(3);
    const [, limited, ok] = slack.requests;
    expect((ok?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(audit(ws).find((e) => e.event === 'alert_sent')).toMatchObject({ attempts: 3 });
  });

  it('a webhook that never answers delays neither the flag nor the kill; the run ends within its ' +
    'bound and the alert is sent later', async () => {
    const slack = await slackServer(['hang']);
    const ws = workspace(config(`${SLACK}${PID_TARGET}`));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const started = Date.now();
    const running = cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: slack.url } });
    await waitFor('the flag', () => existsSync(flagFile(ws)), 5000);
    await waitFor('the kill', () => !alive(tree.pid), 5000);
    const r = await running;
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(took).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/could not send an alert to Slack \(no answer in time/);
    expect(audit(ws).find((e) => e.event === 'alert_failed')).toMatchObject({ kept_for_retry: true });
    noSecretAnywhere(ws, [r.stdout, r.stderr], 's3cr3t-token');

    const good = await slackServer();
    const next = await cliAsync(['run', '-c', ws.config], {
      cwd: ws.dir,
      env: { CW_TEST_WEBHOOK: good.url },
    });
    expect(next.code).toBe(0);
    expect(good.requests).toHaveLength(1);
    expect(good.requests[0]?.text).toMatch(/KILL: 15m spend \$9\.00/);
    expect(
      audit(ws)
        .filter((e) => e.event === 'alert_sent')
        .at(-1),
    ).toHaveProperty('delayed_from');
  }, 40_000);

  it('without a webhook, alerts go to stderr with a one-time note on adding Slack', () => {
    const ws = workspace(config());
    ws.append(lines(1, 3.5));
    const first = ws.run('run');
    expect(first.stderr).toMatch(/note: alerts go to stderr only\. To send them to Slack/);
    ws.append(lines(1, 2)); // emergency
    const second = ws.run('run');
    expect(alertsIn(second.stderr)).toHaveLength(1);
    expect(second.stderr).not.toMatch(/To send them to Slack/);
  });

  it('reads the URL from slack.webhook_url_file, and refuses one others can read or write', async () => {
    const slack = await slackServer();
    const ws = workspace(config('slack:\n  webhook_url_file: slack-url\n'));
    const file = path.join(ws.dir, 'slack-url');
    writeFileSync(file, `${slack.url}\n`, { mode: 0o600 });
    ws.append(lines(1, 3.5));
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(slack.requests).toHaveLength(1);
    chmodSync(file, 0o666);
    const refused = ws.run('run');
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(
      new RegExp(
        String.raw`slack\.webhook_url_file: .*slack-url is open to group and others ` +
          String.raw`\(mode 0666\): UNPROTECTED SECRET FILE.*chmod 600 `,
      ),
    );
  });
});

describe('StrictModes for the config', () => {
  it('refuses a config file that others can write (exit 78, with the fix)', () => {
    const ws = workspace(config());
    chmodSync(ws.config, 0o664);
    const r = ws.run('run');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/refusing a config file writable by group \(mode 0664\).*chmod go-w/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a config file owned by someone else (when root: a file of nobody's)", () => {
    const ws = workspace(config());
    const uid = process.getuid?.() ?? 0;
    if (uid !== 0) {
      // Not root: a file we own is accepted; one of root's is too (root may run the watchdog's config).
      expect(ws.run('validate').code).toBe(0);
      return;
    }
    chownSync(ws.config, 65534, 65534);
    const r = ws.run('run');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      new RegExp(
        'refusing a config file owned by uid 65534, not by root or the user ' +
          String.raw`the watchdog runs as \(uid 0\).*chown root`,
      ),
    );
  });

  it('refuses a config in a folder anyone can write to', () => {
    const ws = workspace(config());
    const open = path.join(ws.dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const file = path.join(open, 'watchdog.yaml');
    writeFileSync(file, config().replace('state/', '../state/'), { mode: 0o644 });
    const r = cli(['validate', '-c', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/anyone can write to/);
  });
});

describe('files the app user could plant', () => {
  it('never appends the audit log through a symlink', () => {
    const ws = workspace(config());
    mkdirSync(ws.stateDir);
    const victim = path.join(ws.dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, path.join(ws.stateDir, 'audit.jsonl'));
    ws.append(lines(1, 1));
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot append to the audit log/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});

describe('npm run demo', () => {
  it('shows warn, emergency and kill, ends by itself in under 30 s and leaves nothing running', async () => {
    const script = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
    const started = Date.now();
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, NO_COLOR: '1' } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code, r.out).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const step of [
      /\[slack\] :warning: \*cost-watchdog: WARN/,
      /EMERGENCY: 15m spend/,
      /KILL: 15m spend/,
      /killed 1 process/,
    ])
      expect(r.out).toMatch(step);
    const pid = Number(/agent pid (\d+)/.exec(r.out)?.[1]);
    expect(alive(pid)).toBe(false);
    // The demo names its config first (`== config (<folder>/watchdog.yaml)`).
    const folder = /config \((\S+)\/watchdog\.yaml\)/.exec(r.out)?.[1] ?? '';
    expect(folder).not.toBe('');
    expect(existsSync(folder)).toBe(false);
  }, 40_000);
});
