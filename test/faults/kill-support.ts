// Real processes for the kill faults: a bystander that records the signals it gets, a PID reused
// for real (the kernel hands a chosen PID to a new process), and a runaway that ignores SIGTERM
// and goes on writing cost lines. Everything started here is SIGKILLed when the test ends.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { alive, waitFor } from '../e2e/procs.js';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

function killAtEnd(pids: () => number[]): void {
  onTestFinished(() => {
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

/**
 * A node process that writes every signal it gets (TERM, HUP, INT, USR1, USR2) to `record`, one
 * per line, and `ready` once its handlers are in place. SIGKILL cannot be recorded: it dies.
 */
export function bystanderScript(record: string, ready: string): string {
  return (
    `
    const fs = require('node:fs');
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2']) process.on(sig, ` +
    `() => fs.appendFileSync(${JSON.stringify(record)}, sig + '\\n'));
    fs.writeFileSync(${JSON.stringify(ready)}, String(process.pid));
    setInterval(() => {}, 1000);
  `
  );
}

/** The signals a bystander recorded. */
export function recorded(record: string): string[] {
  return existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Every signal sent to the bystander before now has been recorded: SIGUSR2 is sent and awaited
 * (Node handles signals in the order they came).
 */
export async function settle(pid: number, record: string): Promise<string[]> {
  const before = recorded(record).filter((s) => s === 'SIGUSR2').length;
  process.kill(pid, 'SIGUSR2');
  await waitFor(
    'the bystander to record SIGUSR2',
    () => recorded(record).filter((s) => s === 'SIGUSR2').length > before,
  );
  return recorded(record).filter((s) => s !== 'SIGUSR2');
}

export type PidMethod = 'ns_last_pid' | 'fork-until';

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Start `argv` so that its process gets `pid`, for real. A shell sets the kernel's last PID
 * (/proc/sys/kernel/ns_last_pid: root, in our PID namespace) and forks the command at once; when
 * that file is not writable, the shell forks cheap subshells until the PID counter comes round to
 * `pid - 1` (bounded in time), and that is said loudly. Other processes on the machine fork too,
 * so a miss is retried. The process outlives the shell and is SIGKILLed when the test ends.
 */
export function spawnWithPid(
  pid: number,
  argv: readonly string[],
  timeoutMs = 240_000,
): { method: PidMethod } {
  const deadline = Date.now() + timeoutMs;
  // CW_FAULTS_FORK_UNTIL=1 tries the fallback where ns_last_pid could be written.
  let method: PidMethod = process.env.CW_FAULTS_FORK_UNTIL === '1' ? 'fork-until' : 'ns_last_pid';
  let why = method === 'fork-until' ? 'CW_FAULTS_FORK_UNTIL=1' : '';
  if (method === 'ns_last_pid') {
    try {
      writeFileSync(NS_LAST_PID, String(pid - 1));
    } catch (error) {
      method = 'fork-until';
      why = `${NS_LAST_PID} is not writable: ${(error as Error).message}`;
    }
  }
  if (method === 'fork-until')
    process.stderr.write(
      `\n*** PID reuse forced by forking until PID ${pid} comes round (${why}): slow ***\n\n`,
    );
  const prepare =
    method === 'ns_last_pid'
      ? `echo ${pid - 1} > ${NS_LAST_PID}`
      : `while :; do : & p=$!; wait $p; [ $p -eq ${pid - 1} ] && break; done`;
  const command = `${prepare}; ${argv.map(quote).join(' ')} </dev/null >/dev/null 2>&1 & echo $!`;
  for (let attempt = 1; attempt <= 200 && Date.now() < deadline; attempt++) {
    if (alive(pid)) throw new Error(`PID ${pid} was taken by another process before the test could reuse it`);
    const r = spawnSync('/bin/sh', ['-c', command], {
      encoding: 'utf8',
      timeout: Math.max(1000, deadline - Date.now()),
    });
    const got = Number(r.stdout.trim());
    if (got > 0) killAtEnd(() => [got]);
    if (got === pid) return { method };
    if (got > 0) process.kill(got, 'SIGKILL');
  }
  throw new Error(`could not start a process with PID ${pid} (${method}${why === '' ? '' : `: ${why}`})`);
}

/**
 * A runaway: ignores SIGTERM, writes its PID to `pidFile`, then appends a line costing `cost`
 * to `log` every `everyMs` until it is killed.
 */
export function startSpender(pidFile: string, log: string, cost: number, everyMs: number): ChildProcess {
  const script =
    `
    const fs = require('node:fs');
    process.on('SIGTERM', () => {});
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    let n = 0;
    setInterval(() => {
      fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ t: Date.now() / 1000, ` +
    `request_id: 'spender-' + process.pid + '-' + ++n, cost: ${cost} }) + '\\n');
    }, ${everyMs});
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  killAtEnd(() => [child.pid ?? 0].filter((p) => p > 0));
  return child;
}
