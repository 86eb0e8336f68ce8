// Helpers for the edge faults (test/faults/edges.test.ts): the real CLI as an unprivileged user
// (root bypasses EACCES on folders), `watch` as a real daemon, a tiny tmpfs that is full, and a
// FIFO. Everything started here is stopped, and everything mounted is unmounted, when the test ends.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { BIN, type CliResult, type Workspace } from '../e2e/helpers.js';
import { type Daemon, startWatch as startDaemon } from '../e2e/daemon.js';

export const NOBODY = 65534;
export const IS_ROOT = process.getuid?.() === 0;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...extra };
}

/** Give a folder and everything under it to `uid` (symlinks themselves, not their targets). */
export function chownTree(dir: string, uid: number): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return;
  chownSync(dir, uid, uid);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(dir)) chownTree(path.join(dir, name), uid);
}

let binCopy: string | null = null;

/** bin/ and dist/ copied where `nobody` can read them (dist/ is a self-contained bundle). */
function nobodyBin(): string {
  if (binCopy === null) {
    const copy = mkdtempSync(path.join(tmpdir(), 'cw-faults-bin-'));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
    cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
    chmodSync(copy, 0o755);
    binCopy = copy;
  }
  onTestFinished(() => {
    if (binCopy !== null) rmSync(binCopy, { recursive: true, force: true });
    binCopy = null;
  });
  return path.join(binCopy, 'bin', 'cost-watchdog.js');
}

/** The CLI as `nobody` (the caller decides who owns what in the workspace). Root only. */
export function cliAs(
  uid: number,
  ws: Workspace,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  const bin = nobodyBin();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, '-c', ws.config], {
      cwd: ws.dir,
      env: env(extraEnv),
      uid,
      gid: uid,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The CLI without blocking, ended (SIGKILL) if it has not finished within `timeoutMs`: a hang is a result.
 */
export function cliBounded(
  args: string[],
  cwd: string,
  timeoutMs: number,
  extraEnv: Record<string, string> = {},
): Promise<CliResult & { hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: env(extraEnv) });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
  });
}

export type { Daemon } from '../e2e/daemon.js';

/** `cost-watchdog watch` in the workspace; resolves once it watches (or has exited: see `exited`). */
export function startWatch(ws: Workspace, extraEnv: Record<string, string> = {}): Promise<Daemon> {
  return startDaemon(ws, extraEnv, [], true);
}

/**
 * How a full file system can be had here: `mount` (root may mount a tmpfs), `unshare` (a user and
 * mount namespace may), or `none` with the reason. Probed once, when the test file loads, so that
 * the test's name says which one ran. COST_WATCHDOG_FAULTS_NO_MOUNT=1 pretends mount is refused
 * (to exercise the other path).
 */
export type TmpfsWay = { way: 'mount' } | { way: 'unshare' } | { way: 'none'; why: string };

export function probeTmpfs(): TmpfsWay {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-faults-probe-'));
  try {
    if (process.env.COST_WATCHDOG_FAULTS_NO_MOUNT !== '1') {
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
      if (m.status === 0) {
        spawnSync('umount', [dir]);
        return { way: 'mount' };
      }
    }
    const u = spawnSync(
      'unshare',
      ['--user', '--map-root-user', '--mount', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${dir}'`],
      { encoding: 'utf8' },
    );
    if (u.status === 0) return { way: 'unshare' };
    return {
      way: 'none',
      why: `mount: not permitted; unshare: ${(u.stderr || u.error?.message || `exit ${u.status}`).trim()}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A node one-liner that fills the folder until the file system says ENOSPC (and checks it did). */
export const FILL_SCRIPT = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1] + '/filler', 'w');
const block = Buffer.alloc(4096, 120);
for (;;) {
  try { fs.writeSync(fd, block); } catch (e) { if (e.code === 'ENOSPC') break; throw e; }
}
try { fs.writeSync(fd, Buffer.from('x')); process.exit(3); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
fs.closeSync(fd);
`;

/** Mount a tmpfs of `size` at `dir` and fill it (root, `mount` way). Unmounted when the test ends. */
export function mountFullTmpfs(dir: string, size = '64k'): void {
  mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  onTestFinished(() => {
    spawnSync('umount', ['-l', dir]);
  });
  const f = spawnSync(process.execPath, ['-e', FILL_SCRIPT, dir], { encoding: 'utf8' });
  if (f.status !== 0) throw new Error(`could not fill the tmpfs: ${f.stderr}`);
}

/**
 * Run the CLI inside a new user + mount namespace in which `dir` is a full tmpfs (the `unshare`
 * way). The tmpfs exists only for that process: what is left in `dir` afterwards is the real one.
 */
export function cliInFullTmpfs(dir: string, args: string[], cwd: string, size = '64k'): CliResult {
  mkdirSync(dir, { recursive: true });
  const script = `mount -t tmpfs -o size=${size} tmpfs "$1" && "$2" -e "$3" "$1" && shift 3 && exec "$@"`;
  const r = spawnSync(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      script,
      'sh',
      dir,
      process.execPath,
      FILL_SCRIPT,
      process.execPath,
      BIN,
      ...args,
    ],
    {
      cwd,
      env: env(),
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A FIFO at `file` (mkfifo(1): Node has no mkfifo). */
export function mkfifo(file: string): void {
  const r = spawnSync('mkfifo', [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
}

export function writeVictim(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}
