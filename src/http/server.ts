// `watch`'s HTTP server (http.listen): the live dashboard on GET /, GET /status.json (what
// `status --json` says), GET /metrics (the latest check's Prometheus metrics) and GET /events (the
// dashboard's server-sent events, one after each check). Read-only: no route changes anything.
//
// The watchdog's protection never depends on it: when it cannot listen (the port is in use, say)
// `watch` goes on checking, says so loudly at once and again every 5 minutes, and tries again
// every 30 s. On SIGHUP, a changed http.listen is applied at once (closed and bound anew).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { formatDuration } from '../core/duration.js';
import { latestMetrics } from '../metrics/index.js';
import { dashboardHtml } from '../web/dashboard-page.js';
import { pagePolicy } from '../web/page.js';
import {
  baseHeaders,
  LISTEN_REPEAT_MS,
  LISTEN_RETRY_MS,
  listenFailure,
  NOTHING_POLICY,
  rebuildDelay,
  routeOf,
} from './routes.js';
import { type Built, buildSnapshot, type CheckSeen } from './snapshot.js';
import { EventClients } from './sse.js';

type Listen = NonNullable<Config['http']['listen']>;

/** http://127.0.0.1:9464/, http://[::1]:9464/ */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

export class DashboardServer {
  private config: Config;
  private server: http.Server | null = null;
  /** Where the config says to listen (bound, or being tried again). */
  private listen: Listen | null = null;
  private bound = false;
  private retry: NodeJS.Timeout | null = null;
  private failure: { text: string; sinceMs: number; saidMs: number } | null = null;
  private readonly events = new EventClients();
  private built: Built | null = null;
  private lastCheck: CheckSeen | null = null;
  private lastProblem: string | null = null;
  private building = false;
  private wanted = false;
  private lastBuildMs: number | null = null;
  private buildTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  constructor(
    config: Config,
    private readonly say: (text: string) => void,
  ) {
    this.config = config;
  }

  /** The address listened on (its actual port when port 0 was asked), or null. */
  get address(): AddressInfo | null {
    const a = this.bound ? this.server?.address() : null;
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** At start and on SIGHUP: serve where http.listen says, or stop serving. */
  async apply(config: Config): Promise<void> {
    this.config = config;
    const next = config.http.listen;
    if (next?.text === this.listen?.text && next?.host === this.listen?.host) return;
    const before = this.listen;
    await this.unbind();
    this.listen = next;
    if (next === null) {
      if (before !== null) this.say(`http: http.listen removed: the dashboard on ${before.text} is closed`);
      return;
    }
    await this.bind();
  }

  /** After each check: the snapshot is rebuilt (at most every 250 ms) and sent to the dashboards. */
  checked(config: Config, check: CheckSeen): void {
    this.config = config;
    this.lastCheck = check;
    this.wanted = true;
    this.scheduleBuild();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.buildTimer !== null) clearTimeout(this.buildTimer);
    this.events.close();
    await this.unbind();
  }

  private async bind(): Promise<void> {
    const listen = this.listen;
    if (listen === null || this.closed) return;
    const server = http.createServer((req, res) => this.handle(req, res));
    // A client that sends its request slowly, or holds an idle connection, is cut off.
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 128;
    server.on('clientError', (_error, socket) => socket.destroy());
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen({ host: listen.host, port: listen.port }, () => resolve(null));
    });
    if (this.listen !== listen || this.closed) {
      server.close();
      return;
    }
    if (error !== null) {
      server.close();
      this.failed(listenFailure(listen.text, error));
      return;
    }
    server.on('error', (e) => this.say(`http: ${e.message}`));
    this.server = server;
    this.bound = true;
    const address = server.address() as AddressInfo;
    const url = urlOf(address.address, address.port);
    const after =
      this.failure === null ? '' : ` (it could not for ${formatDuration(Date.now() - this.failure.sinceMs)})`;
    this.failure = null;
    this.say(`http: dashboard on ${url} (also ${url}status.json, ${url}metrics)${after}`);
    if (!this.config.http.loopback)
      this.say(
        `http: WARNING: ${listen.text} is NOT a loopback address (http.allow_remote: true): the ` +
          'dashboard, /status.json and /metrics are open to the network, without authentication. ' +
          'Put an authenticating reverse proxy or a firewall in front of it',
      );
    if (this.wanted) this.scheduleBuild();
  }

  private failed(text: string): void {
    const now = Date.now();
    const first = this.failure === null || this.failure.text !== text;
    if (first || now - (this.failure?.saidMs ?? 0) >= LISTEN_REPEAT_MS) {
      const since = first ? '' : ` for ${formatDuration(now - (this.failure?.sinceMs ?? now))}`;
      this.say(
        `http: DASHBOARD DOWN${since}: ${text}. The dashboard, /status.json and /metrics are unreachable; ` +
          `the watchdog goes on checking and protecting. Trying again every ` +
          `${formatDuration(LISTEN_RETRY_MS)}`,
      );
      this.failure = { text, sinceMs: first ? now : (this.failure?.sinceMs ?? now), saidMs: now };
    }
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.bind();
    }, LISTEN_RETRY_MS);
    this.retry.unref();
  }

  private async unbind(): Promise<void> {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    this.failure = null;
    const server = this.server;
    this.server = null;
    this.bound = false;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Dashboards on /events and idle keep-alive connections would hold close() open.
    server.closeAllConnections();
    await closed;
  }

  /**
   * Pushed only to dashboards that follow /events: with none, nothing is built after a check
   * (a `status` costs about a check's reading again), and /status.json builds on demand.
   */
  private scheduleBuild(): void {
    if (!this.bound || this.building || this.buildTimer !== null || this.closed) return;
    if (this.events.size === 0) return;
    this.buildTimer = setTimeout(
      () => {
        this.buildTimer = null;
        void this.build();
      },
      rebuildDelay(this.lastBuildMs, Date.now()),
    );
  }

  /** The snapshot as of the last check (built now if it was not yet), or null before any check. */
  private async current(): Promise<Built | null> {
    if (this.inFlight !== null) await this.inFlight;
    if (this.wanted && this.lastCheck !== null && !this.closed) {
      if (this.buildTimer !== null) clearTimeout(this.buildTimer);
      this.buildTimer = null;
      await (this.inFlight ?? this.build());
    }
    return this.built;
  }

  private build(): Promise<void> {
    const promise = this.rebuild().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = promise;
    return promise;
  }

  private async rebuild(): Promise<void> {
    this.wanted = false;
    this.building = true;
    this.lastBuildMs = Date.now();
    try {
      const built = await buildSnapshot(this.config, this.lastCheck, Date.now());
      this.built = built;
      if (built.problem !== this.lastProblem && built.problem !== null)
        this.say(`http: status for the dashboard: ${built.problem}`);
      this.lastProblem = built.problem;
      this.events.event('snapshot', built.snapshotText);
    } finally {
      this.building = false;
    }
    if (this.wanted) this.scheduleBuild();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const head = req.method === 'HEAD';
    const route = routeOf(req.method, req.url, req.headers.host, this.config.http.loopback);
    const send = (code: number, type: string, body: string, policy = NOTHING_POLICY, extra = {}): void => {
      res.writeHead(code, {
        ...baseHeaders(policy),
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(body),
        ...extra,
      });
      res.end(head ? undefined : body);
    };
    const text = 'text/plain; charset=utf-8';
    switch (route.kind) {
      case 'wrong-host':
        send(
          421,
          text,
          `This server listens on a loopback address and answers only requests to it (Host ` +
            `localhost, 127.0.0.1 or [::1]), not to ${JSON.stringify(route.host)}: a page elsewhere ` +
            `must not read it through a name that resolves here. A reverse proxy must pass the ` +
            `upstream's own Host (nginx does by default: proxy_set_header Host $proxy_host).\n`,
        );
        return;
      case 'method-not-allowed':
        send(405, text, 'Read-only: only GET and HEAD.\n', NOTHING_POLICY, { Allow: 'GET, HEAD' });
        return;
      case 'not-found':
        send(404, text, 'Not found: /, /status.json, /metrics and /events are served here.\n');
        return;
      case 'page':
        send(200, 'text/html; charset=utf-8', dashboardHtml(), pagePolicy('dashboard'));
        return;
      case 'status':
        void this.current().then((built) => {
          if (built === null)
            send(
              503,
              'application/json',
              `${JSON.stringify({ status: 'UNKNOWN', error: 'the first check has not finished yet' })}\n`,
              NOTHING_POLICY,
              { 'Retry-After': '1' },
            );
          else send(200, 'application/json', built.statusText);
        });
        return;
      case 'metrics': {
        const metrics = latestMetrics();
        if (metrics === null)
          send(503, text, '# no metrics yet: the first check has not finished\n', NOTHING_POLICY, {
            'Retry-After': '1',
          });
        else send(200, metrics.contentType, metrics.text);
        return;
      }
      case 'events': {
        const headers = {
          ...baseHeaders(NOTHING_POLICY),
          'Content-Type': 'text/event-stream; charset=utf-8',
          // nginx buffers a proxied answer unless told not to: events would arrive late.
          'X-Accel-Buffering': 'no',
        };
        if (head) {
          res.writeHead(200, headers);
          res.end();
          return;
        }
        if (this.events.full) {
          send(503, text, 'Too many dashboards connected; try again later.\n', NOTHING_POLICY, {
            'Retry-After': '10',
          });
          return;
        }
        res.writeHead(200, headers);
        res.flushHeaders();
        const latest = this.built === null ? null : `event: snapshot\ndata: ${this.built.snapshotText}\n\n`;
        this.events.add(res, latest);
        // The first dashboard after checks that nobody followed: it gets their latest at once.
        if (this.wanted) this.scheduleBuild();
        return;
      }
    }
  }
}
