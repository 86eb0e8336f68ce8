// For the alert fault rows: the real `watch` daemon, and an HTTP server on 127.0.0.1 standing in
// for Slack (or a dead-man's-switch service) whose behaviour can be changed mid-test: answer,
// fail, rate-limit, or hold every request open (and let them go when it "recovers").
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { Workspace } from '../e2e/helpers.js';

export type Mode = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Seen {
  url: string;
  body: string;
  text: string;
  payload: Record<string, unknown>;
  at: number;
  /** When the client gave up on it (a request held open), or null while it is open / was answered. */
  closedAt: number | null;
  answered: boolean;
  /** The request's headers (lower-case names). */
  headers: http.IncomingHttpHeaders;
}

export interface StandIn {
  url: string;
  base: string;
  requests: Seen[];
  /** Answers to come: each request takes the first (the last one repeats). */
  replies: Mode[];
  /** Open requests right now, and the most ever open at once. */
  open(): number;
  maxOpen(): number;
  /** Answer 200 to the requests held open, and to every later one. */
  recover(): void;
}

export async function standIn(replies: Mode[] = [{ status: 200, body: 'ok' }]): Promise<StandIn> {
  const requests: Seen[] = [];
  const held: { res: http.ServerResponse; seen: Seen }[] = [];
  let open = 0;
  let maxOpen = 0;
  const state = { replies: [...replies] };
  const server = http.createServer((req, res) => {
    let body = '';
    open++;
    maxOpen = Math.max(maxOpen, open);
    let counted = true;
    const done = (): void => {
      if (counted) open--;
      counted = false;
    };
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      let payload: Record<string, unknown> = {};
      try {
        payload = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // a GET (a ping) has no body
      }
      const seen: Seen = {
        url: req.url ?? '',
        body,
        text: typeof payload.text === 'string' ? payload.text : '',
        payload,
        at: Date.now(),
        closedAt: null,
        answered: false,
        headers: req.headers,
      };
      requests.push(seen);
      const reply = (state.replies.length > 1 ? state.replies.shift() : state.replies[0]) as Mode;
      if (reply === 'hang') {
        held.push({ res, seen });
        res.on('close', () => {
          if (!seen.answered) seen.closedAt = Date.now();
          done();
        });
        return;
      }
      seen.answered = true;
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
      done();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const h of held) h.res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/services/T000/B000/s3cr3t-token`,
    base,
    requests,
    get replies() {
      return state.replies;
    },
    set replies(next: Mode[]) {
      state.replies = [...next];
    },
    open: () => open,
    maxOpen: () => maxOpen,
    recover() {
      state.replies = [{ status: 200, body: 'ok' }];
      for (const h of held.splice(0)) {
        if (h.res.destroyed || h.seen.closedAt !== null) continue;
        h.seen.answered = true;
        h.res.writeHead(200);
        h.res.end('ok');
      }
    },
  };
}

export { type Daemon, startWatch } from '../e2e/daemon.js';

/** The audit log, one object per line (empty when there is none yet). */
export function auditOf(ws: Workspace): Record<string, unknown>[] {
  const file = path.join(ws.stateDir, 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function alertsJson(ws: Workspace): {
  pending: { text: string; id?: string }[];
  pending_owner?: unknown;
} {
  return JSON.parse(readFileSync(path.join(ws.stateDir, 'alerts.json'), 'utf8')) as {
    pending: { text: string }[];
    pending_owner?: unknown;
  };
}

/** The index of the first audit line that matches, or -1. */
export function indexOf(
  lines: Record<string, unknown>[],
  match: (e: Record<string, unknown>) => boolean,
): number {
  return lines.findIndex(match);
}

/** A loopback port where nothing listens (taken, then closed). */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
