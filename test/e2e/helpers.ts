// Helpers for end-to-end tests: a temp workspace laid out like an app built on the Cost Control
// tracker, and the real CLI (bin/cost-watchdog.js -> dist/) spawned as a user would run it.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import type { StatusJson } from '../../src/commands/render/status-json.js';

export const BIN = fileURLToPath(new URL('../../bin/cost-watchdog.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A cut-down environment, so that nothing from the developer's shell leaks in. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...extra };
}

export function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: env(options.env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI without blocking this process (a test's HTTP server must keep answering). */
export function cliAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: env(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Workspace {
  dir: string;
  config: string;
  log: string;
  stateDir: string;
  /** Run the CLI with -c pointing at this workspace's config. */
  run(...args: string[]): CliResult;
  append(text: string | Uint8Array): void;
  /** status --json, parsed. */
  status(): { code: number | null; json: StatusJson };
  /** run --json, parsed. */
  runJson(...args: string[]): { code: number | null; json: RunJson; stderr: string };
}

export const DEFAULT_LIMITS = `limits:
  15m:   { warn: 3, emergency: 5, kill: 8 }
  daily: { warn: 20, emergency: 25, kill: 30 }
`;

export function workspace(configText?: string): Workspace {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-e2e-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'state'));
  const config = path.join(dir, 'watchdog.yaml');
  writeFileSync(config, configText ?? `log: state/cost_log.jsonl\n${DEFAULT_LIMITS}`);
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const ws: Workspace = {
    dir,
    config,
    log,
    stateDir: path.join(dir, '.cost-watchdog'),
    run: (...args) => cli([...args, '-c', config], { cwd: dir }),
    append: (text) => appendFileSync(log, text),
    status: () => {
      const r = cli(['status', '--json', '-c', config], { cwd: dir });
      return { code: r.code, json: JSON.parse(r.stdout) as StatusJson };
    },
    runJson: (...args) => {
      const r = cli(['run', '--json', ...args, '-c', config], { cwd: dir });
      return { code: r.code, json: JSON.parse(r.stdout) as RunJson, stderr: r.stderr };
    },
  };
  return ws;
}

let serial = 0;

/**
 * A Cost Control tracker line, dated `agoSec` seconds before now; each call a new request id unless given.
 */
export function ccLine(cost: number, agoSec = 5, id = `r${process.pid}-${++serial}`): string {
  const t = Date.now() / 1000 - agoSec;
  return (
    `${JSON.stringify({ t: Number(t.toFixed(3)), request_id: id, in: 1200, out: 300, cost, daily: 3.125 })}` +
    `\n`
  );
}

export function lines(count: number, cost: number, agoSec = 5): string {
  let out = '';
  for (let i = 0; i < count; i++) out += ccLine(cost, agoSec);
  return out;
}

export function readJsonFile(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const NOBODY = 65534;

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) chownTree(file, uid);
    else chownSync(file, uid, uid);
  }
}

/**
 * Run the CLI in `ws` as `nobody` (only when root): dist/ is a self-contained bundle, copied to a
 * folder that user can read, and the workspace is handed to that user.
 */
function spawnAsNobody(ws: Workspace, args: string[], before: () => void = () => {}): CliResult {
  const copy = mkdtempSync(path.join(tmpdir(), 'cw-bin-'));
  onTestFinished(() => rmSync(copy, { recursive: true, force: true }));
  const root = fileURLToPath(new URL('../..', import.meta.url));
  cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
  cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
  chmodSync(copy, 0o755);
  chownTree(ws.dir, NOBODY);
  before();
  const r = spawnSync(
    process.execPath,
    [path.join(copy, 'bin', 'cost-watchdog.js'), ...args, '-c', ws.config],
    {
      cwd: ws.dir,
      env: env(),
      encoding: 'utf8',
      uid: NOBODY,
      gid: NOBODY,
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI as `nobody` when this process is root; null otherwise. */
export function cliAsNobody(ws: Workspace, args: string[]): CliResult | null {
  return process.getuid?.() === 0 ? spawnAsNobody(ws, args) : null;
}

/**
 * Run the CLI (`run --json`) in `ws` so that `unreadable` cannot be read. Not root: chmod 000 is
 * enough. Root reads anything, so the CLI runs as `nobody` instead: dist/ is a self-contained
 * bundle, copied to a folder that user can read, and the workspace is handed to that user.
 */
export function runWithUnreadable(ws: Workspace, unreadable: string): CliResult {
  if (process.getuid?.() !== 0) {
    chmodSync(unreadable, 0o000);
    return cli(['run', '--json', '-c', ws.config], { cwd: ws.dir });
  }
  // Root reads anything: run as nobody, with the file left to root.
  const chown = (): void => {
    chownSync(unreadable, 0, 0);
    chmodSync(unreadable, 0o600);
  };
  return spawnAsNobody(ws, ['run', '--json'], chown);
}

/** The emergency flag of a workspace (the config's default place). */
export function flagFile(ws: Workspace): string {
  return path.join(ws.dir, 'state', 'cost_emergency.flag');
}

/** The workspace's audit log, one object per line. */
export function audit(ws: Workspace): Record<string, unknown>[] {
  return readFileSync(path.join(ws.stateDir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The alert lines a command printed on stderr. */
export function alertsIn(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('cost-watchdog: ALERT '));
}
