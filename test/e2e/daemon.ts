// `cost-watchdog watch` as a test starts it: the real CLI in a workspace, its output kept, killed
// at the end of the test if it is still running. Shared by the e2e and fault tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { BIN, type Workspace } from './helpers.js';
import { waitFor } from './procs.js';

export interface Daemon {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/**
 * Resolves once the daemon watches its files. One that exits first throws, unless `mayExit`
 * (a test of a refused start looks at `exited`).
 */
export async function startWatch(
  ws: Workspace,
  env: Record<string, string> = {},
  args: string[] = [],
  mayExit = false,
): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, 'watch', '-c', ws.config, ...args], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    'watch to start watching',
    () => err.includes('cost-watchdog watch: watching ') || child.exitCode !== null,
    30_000,
  );
  if (child.exitCode !== null && !mayExit) throw new Error(`watch exited ${child.exitCode}: ${err}`);
  return { child, stdout: () => out, stderr: () => err, exited };
}
