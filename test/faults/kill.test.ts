// Fault suite, kill rows: the real CLI against real processes (a PID really reused, a real
// zombie, a real EPERM, a real runaway that ignores SIGTERM and goes on spending).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  audit,
  ccLine,
  cli,
  cliAsNobody,
  cliAsync,
  flagFile,
  lines,
  type Workspace,
  workspace,
} from '../e2e/helpers.js';
import { alive, startNamed, stateOf, waitFor } from '../e2e/procs.js';
import { bystanderScript, settle, spawnWithPid, startSpender } from './kill-support.js';

function config(target: string): string {
  return `log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\ntarget:\n${target}`;
}

const pidFileOf = (ws: Workspace): string => path.join(ws.dir, 'state', 'app.pid');

/** A target that ignores SIGTERM and spends nothing, started once its PID file is written. */
async function startStubborn(ws: Workspace): Promise<ReturnType<typeof spawn>> {
  const script =
    `process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(` +
    `${JSON.stringify(pidFileOf(ws))}, String(process.pid)); setInterval(() => {}, 1000);`;
  const stubborn = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  try {
    await waitFor('the PID file', () => existsSync(pidFileOf(ws)));
  } catch (error) {
    stubborn.kill('SIGKILL');
    throw error;
  }
  return stubborn;
}
const signalsTo = (ws: Workspace, pid: number): Record<string, unknown>[] =>
  audit(ws).filter((e) => e.event === 'signal' && e.pid === pid);
const lastKill = (ws: Workspace): Record<string, unknown> =>
  audit(ws)
    .filter((e) => e.event === 'kill')
    .at(-1) as Record<string, unknown>;

/** Wait until the wall clock is `phaseMs` into a second. */
async function atPhase(phaseMs: number): Promise<void> {
  await waitFor(`phase ${phaseMs} ms of a second`, () => {
    const into = Date.now() % 1000;
    return into >= phaseMs && into < phaseMs + 30;
  });
}

describe('fault: kill', () => {
  it('stale PID file: its process is gone, nothing is signalled, and that is said', async () => {
    const ws = workspace(config('  pid_file: state/app.pid\n  grace: 1s\n'));
    const gone = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = gone.pid as number;
    writeFileSync(pidFileOf(ws), `${pid}\n`);
    gone.kill('SIGKILL');
    await new Promise((resolve) => gone.once('exit', resolve));
    expect(alive(pid)).toBe(false);
    ws.append(lines(3, 3)); // $9 >= kill $8
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kill: no target running');
    expect(r.stdout).toContain(
      `names PID ${pid}, which is not running (a stale PID file): nothing signalled`,
    );
    expect(audit(ws).filter((e) => e.event === 'signal')).toEqual([]);
    expect(lastKill(ws)).toMatchObject({
      result: 'no target running',
      notes: [expect.stringContaining('stale PID file')],
    });
    expect(existsSync(flagFile(ws))).toBe(true);
  });

  it("real PID reuse: a process given the PID file's PID 2 s after the file was written is never " +
    'signalled (3 times, by run and by kill)', async () => {
    // ps reads start times up to a second early (whole seconds, from a boot time in whole
    // seconds); how early depends on the second's phase, so the PID file is written at phases
    // spread over the second.
    for (const phaseMs of [50, 250, 450]) {
      const ws = workspace(config('  pid_file: state/app.pid\n  grace: 1s\n'));
      const pidFile = pidFileOf(ws);
      // The app: writes its PID file and dies, leaving the file behind.
      const app = spawn('sleep', ['300'], { stdio: 'ignore' });
      const pid = app.pid as number;
      await atPhase(phaseMs);
      writeFileSync(pidFile, `${pid}\n`);
      const writtenMs = Number(statSync(pidFile, { bigint: true }).mtimeNs / 1000n) / 1000;
      app.kill('SIGKILL');
      await new Promise((resolve) => app.once('exit', resolve));
      // 2 s later, an innocent process gets the same PID from the kernel.
      const record = path.join(ws.dir, 'signals.txt');
      const ready = path.join(ws.dir, 'ready.txt');
      await waitFor('2 s after the PID file was written', () => Date.now() >= writtenMs + 2000);
      const { method } = spawnWithPid(pid, [process.execPath, '-e', bystanderScript(record, ready)]);
      await waitFor(
        'the bystander to be ready',
        () => existsSync(ready) && readFileSync(ready, 'utf8') === String(pid),
      );
      const startedMs =
        Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[19]) * 10;
      const uptimeMs = Number.parseFloat(readFileSync('/proc/uptime', 'latin1')) * 1000;
      const gapMs = Date.now() - (uptimeMs - startedMs) - writtenMs;
      expect(gapMs, `the reuse came ${gapMs} ms after the PID file (${method})`).toBeGreaterThan(1500);

      ws.append(lines(3, 3));
      const run = ws.run('run');
      const kill = ws.run('kill', '--reason', 'fault test');
      expect(alive(pid), `phase ${phaseMs}: the innocent process is alive`).toBe(true);
      expect(await settle(pid, record), `phase ${phaseMs}: signals the innocent process got`).toEqual([]);
      expect(signalsTo(ws, pid)).toEqual([]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `PID ${pid} started after the PID file was written \\([\\d.]+ s later\\): the PID was ` +
            `reused by another process, which is spared`,
        ),
      );
      expect(run.stdout).toContain('kill: no target running');
      expect(kill.code, kill.stderr).toBe(0);
      expect(kill.stdout).toMatch(/the PID was reused by another process, which is spared/);
      process.kill(pid, 'SIGKILL');
    }
  }, 300_000); // without a writable ns_last_pid, forking round the PID space takes a while

  it(
    'zombie: a target that died and is not reaped ' + 'counts as gone after SIGTERM, not as a survivor',
    async () => {
      const ws = workspace(config('  pid_file: state/app.pid\n  grace: 30s\n'));
      const pidFile = pidFileOf(ws);
      // Its parent (outside the target's tree) never reaps it: a shell that becomes `sleep`.
      const parent = spawn('/bin/sh', ['-c', `sleep 300 & echo $! > ${pidFile}; exec sleep 300`], {
        stdio: 'ignore',
      });
      try {
        const target = await waitFor('the target', () => {
          const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
          return text !== '' && alive(Number(text)) ? Number(text) : null;
        });
        ws.append(lines(3, 3));
        const r = ws.run('run');
        expect(r.code, r.stderr).toBe(0);
        expect(stateOf(target), 'the target is a zombie now').toBe('Z');
        expect(lastKill(ws)).toMatchObject({
          result: 'killed',
          exited_after_sigterm: [target],
          killed_by_sigkill: [],
          survivors: [],
        });
        expect(signalsTo(ws, target).map((s) => s.signal)).toEqual(['SIGTERM']);
        expect(r.stdout).toMatch(new RegExp(`killed 1 process \\(after SIGTERM\\): ${target}`));
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  it(
    "EPERM: signals refused (the watchdog as nobody, the target root's) => exit 1, named in stderr " +
      'and the audit log',
    async () => {
      expect(
        process.getuid?.(),
        'this row needs root, to run the watchdog as nobody against a root-owned target',
      ).toBe(0);
      const ws = workspace(config('  process_name: cw-root-agent\n  grace: 1s\n'));
      const target = startNamed(ws.dir, 'cw-root-agent');
      const pid = target.pid as number;
      await waitFor('target', () => alive(pid));
      ws.append(lines(3, 3));
      const r = cliAsNobody(ws, ['run']);
      expect(r).not.toBeNull();
      expect(r?.code, r?.stderr).toBe(1);
      expect(r?.stderr).toContain(`KILL REFUSED (EPERM, not ours to signal): ${pid} (cw-root-agent)`);
      expect(r?.stderr).toContain(`signals refused (EPERM) for ${pid}`);
      expect(alive(pid)).toBe(true);
      expect(signalsTo(ws, pid)).toEqual([expect.objectContaining({ signal: 'SIGTERM', result: 'EPERM' })]);
      expect(lastKill(ws)).toMatchObject({ result: 'failed', refused: [pid], survivors: [pid] });
      expect(existsSync(flagFile(ws))).toBe(true);
    },
  );

  it(
    'SIGTERM ignored: the SIGTERM is in the audit log as it is sent, while the grace period still ' + 'runs',
    async () => {
      const ws = workspace(config('  pid_file: state/app.pid\n  grace: 60s\n  grace_spend: off\n'));
      const stubborn = await startStubborn(ws);
      try {
        const pid = stubborn.pid as number;
        ws.append(lines(3, 3));
        const running = cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
        // A watchdog that dies during a long grace (OOM, a unit's timeout) must have said SIGTERM.
        const auditFile = path.join(ws.stateDir, 'audit.jsonl');
        await waitFor(
          'the SIGTERM in the audit log',
          () =>
            existsSync(auditFile) &&
            signalsTo(ws, pid).some((s) => s.signal === 'SIGTERM' && s.result === 'sent'),
          30_000,
        );
        expect(alive(pid)).toBe(true);
        expect(signalsTo(ws, pid).map((s) => s.signal)).toEqual(['SIGTERM']);
        stubborn.kill('SIGKILL'); // gone before the grace is out: the watchdog sees it and ends
        const r = await running;
        expect(r.code, r.stderr).toBe(0);
        expect(signalsTo(ws, pid).map((s) => s.signal)).toEqual(['SIGTERM']);
      } finally {
        stubborn.kill('SIGKILL');
      }
    },
  );

  it('SIGTERM ignored: SIGKILL after the grace period', async () => {
    const ws = workspace(config('  pid_file: state/app.pid\n  grace: 1s\n'));
    const stubborn = await startStubborn(ws);
    try {
      const pid = stubborn.pid as number;
      ws.append(lines(3, 3));
      const r = ws.run('run');
      expect(r.code, r.stderr).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(signalsTo(ws, pid).map((s) => s.signal)).toEqual(['SIGTERM', 'SIGKILL']);
      const kill = lastKill(ws);
      expect(kill).toMatchObject({ result: 'killed', killed_by_sigkill: [pid] });
      expect(kill).not.toHaveProperty('grace_cut'); // it spent nothing meanwhile: the grace ran out
      expect(r.stdout).toMatch(/after SIGKILL/);
    } finally {
      stubborn.kill('SIGKILL');
    }
  });

  it(
    'SIGTERM ignored while it keeps spending: SIGKILL as soon as the log gains more than ' +
      'grace_spend, not after the grace',
    async () => {
      const ws = workspace(config('  pid_file: state/app.pid\n  grace: 40s\n'));
      ws.append(lines(3, 3)); // $9: the kill limit is crossed before it starts
      const spender = startSpender(pidFileOf(ws), ws.log, 0.01, 20); // $0.50/s
      const pid = spender.pid as number;
      await waitFor('the spender', () => existsSync(pidFileOf(ws)));
      const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(signalsTo(ws, pid).map((s) => s.signal)).toEqual(['SIGTERM', 'SIGKILL']);
      const kill = lastKill(ws);
      expect(kill).toMatchObject({
        result: 'killed',
        killed_by_sigkill: [pid],
        grace_cut: { grace_spend_usd: 0.1 },
      });
      const cut = kill.grace_cut as { spend_usd: number; after_ms: number; note: string };
      expect(cut.spend_usd).toBeGreaterThan(0.1);
      expect(cut.after_ms).toBeLessThan(40_000);
      // Two decimals, cut (never rounded up): the money format of every text.
      const cents = (Math.floor(Math.round(cut.spend_usd * 1e6) / 1e4) / 100).toFixed(2);
      expect(cut.note).toBe(`SIGKILL after $${cents} more spend during the grace period`);
      expect(r.stdout).toContain(`SIGKILL after $${cents} more spend during the grace period`);
      // The meter counted what the log gained after the check's read: those lines are in the log.
      const after = readFileSync(ws.log, 'utf8')
        .split('\n')
        .filter((l) => l.includes('spender-')).length;
      expect(after * 0.01).toBeGreaterThan(cut.spend_usd);
    },
  );

  it(
    "several processes match process_name by the kernel's name (comm), as pgrep -x does: a shell " +
      'script, a process that renamed itself',
    async () => {
      const ws = workspace(config('  process_name: cw-sh-agent\n  grace: 1s\n'));
      // A shell script: its executable is /bin/sh (ps-list calls it `dash`), its kernel name the script's.
      const script = path.join(ws.dir, 'cw-sh-agent');
      writeFileSync(script, '#!/bin/sh\nwhile :; do sleep 1; done\n', { mode: 0o755 });
      const sh = spawn(script, [], { stdio: 'ignore' });
      // A node process that renames itself through /proc/self/comm, as prctl(PR_SET_NAME) does.
      const renamed = spawn(
        process.execPath,
        [
          '-e',
          "require('node:fs').writeFileSync('/proc/self/comm', 'cw-sh-agent'); setInterval(() => {}, 1000);",
        ],
        { stdio: 'ignore' },
      );
      const bystander = startNamed(ws.dir, 'cw-sh-agent-2');
      try {
        const pids = [sh.pid as number, renamed.pid as number];
        await waitFor('the kernel names', () =>
          pids.every(
            (pid) =>
              stateOf(pid) !== null && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'cw-sh-agent',
          ),
        );
        const dry = ws.run('kill', '--dry-run', '--reason', 'which ones');
        expect(dry.code, dry.stderr).toBe(0);
        for (const pid of pids) expect(dry.stdout).toContain(String(pid));
        ws.append(lines(3, 3));
        const r = ws.run('run');
        expect(r.code, r.stderr).toBe(0);
        for (const pid of pids) await waitFor(`pid ${pid} gone`, () => !alive(pid));
        expect(alive(bystander.pid as number)).toBe(true);
      } finally {
        sh.kill('SIGKILL');
        renamed.kill('SIGKILL');
      }
    },
  );

  it('several processes match process_name / cmdline: all of them are killed, nothing else', async () => {
    const ws = workspace(config('  process_name: cw-many-agent\n  grace: 1s\n'));
    const many = [
      startNamed(ws.dir, 'cw-many-agent'),
      startNamed(ws.dir, 'cw-many-agent'),
      startNamed(ws.dir, 'cw-many-agent'),
    ];
    const other = startNamed(ws.dir, 'cw-many-agent-2');
    const pids = many.map((c) => c.pid as number);
    await waitFor('the processes', () => [...pids, other.pid as number].every(alive));
    ws.append(lines(3, 3));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(alive(other.pid as number)).toBe(true);
    expect(r.stdout).toMatch(/killed 3 processes \(after SIGTERM\)/);
    expect((lastKill(ws).tree as { pid: number }[]).map((p) => p.pid).sort()).toEqual([...pids].sort());

    // The same by a pattern over the command line.
    const ws2 = workspace(config('  cmdline: "cw-many-agent 30[0-9]"\n  grace: 1s\n'));
    const byArgs = [301, 302].map((n) =>
      spawn(path.join(ws.dir, 'cw-many-agent'), [String(n)], { stdio: 'ignore' }),
    );
    try {
      const argPids = byArgs.map((c) => c.pid as number);
      await waitFor('the processes', () => argPids.every(alive));
      ws2.append(ccLine(9));
      const r2 = cli(['run', '-c', ws2.config], { cwd: ws2.dir });
      expect(r2.code, r2.stderr).toBe(0);
      for (const pid of argPids) expect(alive(pid), `pid ${pid}`).toBe(false);
      expect(alive(other.pid as number)).toBe(true);
      expect(r2.stdout).toMatch(/killed 2 processes/);
    } finally {
      for (const c of byArgs) c.kill('SIGKILL');
    }
  });
});
