// Helpers for the log-rotation fault rows: fixed-width cost lines (so a rewrite can keep the exact
// size), the Cost Control tracker's own rotate_log(), a real `watch` daemon, and the peak memory of
// a real CLI process.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { BIN, type Workspace } from '../e2e/helpers.js';
import { waitFor } from '../e2e/procs.js';

let serial = 0;

/**
 * One Cost Control tracker line dated now, always 84 bytes: a 10-digit epoch with 3 decimals, an
 * 8-digit request id, and a cost with 2 decimals (integer cents: float sums stay exact enough).
 */
export function fixedLine(cost: number, id = ++serial + process.pid * 10_000): string {
  const t = (Date.now() / 1000 - 5).toFixed(3);
  const line =
    `{"t":${t},"request_id":"r${String(id % 1e8).padStart(8, '0')}","in":1200,"out":300,"cost":` +
    `${cost.toFixed(2)}}\n`;
  return line;
}

export function fixedLines(count: number, cost: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += fixedLine(cost);
  return out;
}

/**
 * Lines whose first and last 64 bytes are the same on every line (attribution first, the time in
 * the middle, constant fields last), all of one length: `agoSec` tells them apart.
 */
export function sameEdgedLines(count: number, agoSec: number): string {
  const t = (Date.now() / 1000 - agoSec).toFixed(3);
  let out = '';
  for (let i = 0; i < count; i++)
    out +=
      `{"model":"gpt-4o-mini-2024-07-18","provider":"openai","agent":"support-bot","t":${t},"in":1200` +
      `,"out":300,"cost":0.25,"tags":"prod,eu-west-1,batch,triage"}\n`;
  return out;
}

/**
 * The Python tracker's rotate_log(): read the log, then open it for writing (truncate, same
 * inode) and write back its last `keep` lines. `open(path, "w")` is O_WRONLY|O_CREAT|O_TRUNC, as
 * writeFileSync's default flag.
 */
export function rotateLog(file: string, keep: number): void {
  const all = readFileSync(file, 'utf8').split('\n').slice(0, -1);
  writeFileSync(
    file,
    all
      .slice(-keep)
      .map((l) => `${l}\n`)
      .join(''),
  );
}

export function inode(file: string): number {
  return statSync(file).ino;
}

export interface Daemon {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `cost-watchdog watch` in the workspace, ready (its files are watched) when this resolves. */
export async function startWatch(ws: Workspace): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, 'watch', '-c', ws.config], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
  });
  let err = '';
  child.stdout?.resume();
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    'watch to start watching',
    () => err.includes('cost-watchdog watch: watching ') || child.exitCode !== null,
    60_000,
  );
  if (child.exitCode !== null) throw new Error(`watch exited ${child.exitCode}: ${err}`);
  return { child, stderr: () => err, exited };
}

/** The peak resident memory (VmHWM, kB) of a process, read from /proc while it runs. */
function peakKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * The CLI with its peak memory: VmHWM is polled until the process ends (it only grows, so the
 * last reading is the peak up to a few milliseconds before the end).
 */
export async function cliWithPeak(
  ws: Workspace,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; peakMb: number }> {
  const child = spawn(process.execPath, [BIN, ...args, '-c', ws.config], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let peak = 0;
  const timer = setInterval(() => {
    const kb = child.pid === undefined ? null : peakKb(child.pid);
    if (kb !== null && kb > peak) peak = kb;
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearInterval(timer);
  return { code, stdout, stderr, peakMb: peak / 1024 };
}
