// Real processes for kill tests: targets with children, ones that ignore SIGTERM, named ones, and
// a Slack stand-in on 127.0.0.1. Everything started here is SIGKILLed when the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/** Alive and not a zombie (a zombie is dead: PID 1 in a container may never reap it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function cleanup(pids: () => number[]): void {
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

export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Tree {
  parent: ChildProcess;
  pid: number;
  children: number[];
}

/**
 * A node parent with two `sleep` children; writes its PID to `pidFile` (and the children's to
 * `pidFile.kids`) once all are up. With `ignoreTerm`, the parent and its children ignore SIGTERM.
 */
export async function startTree(pidFile: string, options: { ignoreTerm?: boolean } = {}): Promise<Tree> {
  const script =
    `
    const { spawn } = require('node:child_process');
    const fs = require('node:fs');
    const ignore = ${options.ignoreTerm === true};
    if (ignore) process.on('SIGTERM', () => {});
    const kid = () => ignore ? spawn('/bin/sh', ['-c', 'trap "" TERM; exec sleep 300'], { ` +
    `stdio: 'ignore' }) : spawn('sleep', ['300'], { stdio: 'ignore' });
    const kids = [kid(), kid()];
    fs.writeFileSync(${JSON.stringify(`${pidFile}.kids`)}, kids.map((k) => k.pid).join(','));
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  let children: number[] = [];
  cleanup(() => [parent.pid ?? 0, ...children].filter((p) => p > 0));
  await waitFor('the target tree', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '');
  children = readFileSync(`${pidFile}.kids`, 'utf8').split(',').map(Number);
  // A trap set by the shell must be in place before a test signals it.
  if (options.ignoreTerm)
    await waitFor('the children to exec sleep', () =>
      children.every((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'),
    );
  return { parent, pid: parent.pid as number, children };
}

/** `sleep 300` under another name (a copy of the binary), for exact-name tests. */
export function startNamed(dir: string, name: string): ChildProcess {
  const exe = path.join(dir, name);
  if (!existsSync(exe)) copyFileSync('/bin/sleep', exe);
  const child = spawn(exe, ['300'], { stdio: 'ignore' });
  cleanup(() => [child.pid ?? 0].filter((p) => p > 0));
  return child;
}

export function startPlain(args: string[] = ['300']): ChildProcess {
  const child = spawn('sleep', args, { stdio: 'ignore' });
  cleanup(() => [child.pid ?? 0].filter((p) => p > 0));
  return child;
}

export interface SlackRequest {
  url: string;
  body: string;
  text: string;
  at: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A Slack incoming-webhook stand-in on 127.0.0.1. `replies` are used in order, the last repeats. */
export async function slackServer(
  replies: Reply[] = [{ status: 200, body: 'ok' }],
): Promise<{ url: string; requests: SlackRequest[] }> {
  const requests: SlackRequest[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      let text = '';
      try {
        text = (JSON.parse(body) as { text: string }).text;
      } catch {
        // recorded as it came
      }
      requests.push({ url: req.url ?? '', body, text, at: Date.now() });
      const reply = replies[Math.min(requests.length - 1, replies.length - 1)] as Reply;
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/services/T000/B000/s3cr3t-token`, requests };
}
