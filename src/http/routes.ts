// What `watch`'s HTTP server answers, decided from the request alone (pure, table-tested):
// four read-only routes, 405 for any method but GET and HEAD, 404 for any other path, and 421 for
// a Host that is not this loopback server's (a DNS-rebinding page must not read the figures).
import { isLoopbackHost } from '../config/sections/surfaces.js';

export type Route =
  | { kind: 'page' | 'status' | 'metrics' | 'events' }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed' }
  | { kind: 'wrong-host'; host: string };

const PATHS: Record<string, 'page' | 'status' | 'metrics' | 'events'> = {
  '/': 'page',
  '/status.json': 'status',
  '/metrics': 'metrics',
  '/events': 'events',
};

/** The host of a Host header ("127.0.0.1:9464", "[::1]:9464", "localhost"), lower-cased. */
export function hostOf(header: string): string {
  const text = header.trim().toLowerCase();
  const v6 = /^\[([^\]]*)\](?::\d*)?$/.exec(text);
  if (v6 !== null) return v6[1] as string;
  return text.replace(/:\d*$/, '');
}

/**
 * `loopbackOnly`: the server listens on a loopback address, so a request naming any other host
 * came through a name that resolved to it (DNS rebinding) and is refused.
 */
export function routeOf(
  method: string | undefined,
  url: string | undefined,
  hostHeader: string | undefined,
  loopbackOnly: boolean,
): Route {
  if (loopbackOnly) {
    const host = hostOf(hostHeader ?? '');
    if (!isLoopbackHost(host)) return { kind: 'wrong-host', host };
  }
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'method-not-allowed' };
  const path = (url ?? '/').split('?')[0] as string;
  const kind = PATHS[path];
  return kind === undefined ? { kind: 'not-found' } : { kind };
}

/** Headers on every answer: nothing may be framed, sniffed, shared with other origins or cached. */
export function baseHeaders(policy: string): Record<string, string> {
  return {
    'Content-Security-Policy': policy,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

/** The policy of every answer but the page's: nothing at all. */
export const NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Why the server could not listen, said so that an operator knows what to change. */
export function listenFailure(listen: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `${listen} is already in use by another process`;
    case 'EACCES':
      return `not allowed to listen on ${listen} (a port below 1024 needs privileges)`;
    case 'EADDRNOTAVAIL':
      return `${listen} is not an address of this host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host of ${listen} does not resolve`;
    default:
      return `cannot listen on ${listen}: ${error.message}`;
  }
}

/** At most this long between two attempts to listen after a failure. */
export const LISTEN_RETRY_MS = 30_000;
/** The failure is said again this often while it lasts (each attempt is quiet in between). */
export const LISTEN_REPEAT_MS = 5 * 60_000;

/** The snapshot is rebuilt at most this often: a burst of checks makes one rebuild after it. */
export const REBUILD_GAP_MS = 250;

/** How long to wait before a rebuild asked for at `nowMs`, the last one having started at `lastMs`. */
export function rebuildDelay(lastMs: number | null, nowMs: number, gapMs = REBUILD_GAP_MS): number {
  return lastMs === null ? 0 : Math.max(0, Math.min(gapMs, lastMs + gapMs - nowMs));
}
