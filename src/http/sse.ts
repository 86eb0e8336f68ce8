// The dashboards listening on GET /events (server-sent events,
// https://html.spec.whatwg.org/multipage/server-sent-events.html): each gets the latest snapshot
// when it connects and one after each check, and a comment every 15 s so that proxies and the
// browser see the connection alive. Bounded: at most MAX_CLIENTS at once, and a client that stops
// reading is dropped once its unsent data passes MAX_BUFFERED (it reconnects and is sent the latest).
import type { ServerResponse } from 'node:http';

export const MAX_CLIENTS = 32;
export const MAX_BUFFERED = 1024 * 1024;
export const HEARTBEAT_MS = 15_000;
/** How long a browser waits before it reconnects (the `retry:` field). */
const RETRY_MS = 2_000;

export class EventClients {
  private readonly clients = new Set<ServerResponse>();
  private readonly beat: NodeJS.Timeout;

  constructor() {
    this.beat = setInterval(() => this.send(': keep-alive\n\n'), HEARTBEAT_MS);
    this.beat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= MAX_CLIENTS;
  }

  /** Not when `full` (the caller answers 503 then). */
  add(res: ServerResponse, latest: string | null): void {
    if (this.full) throw new Error('EventClients.add: full');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (latest !== null) this.write(res, latest);
  }

  /** One event to every client: `data` is one line of JSON. */
  event(name: string, data: string): string {
    const text = `event: ${name}\ndata: ${data}\n\n`;
    this.send(text);
    return text;
  }

  private send(text: string): void {
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.destroyed) {
      this.clients.delete(res);
      return;
    }
    if (res.writableLength > MAX_BUFFERED) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }

  close(): void {
    clearInterval(this.beat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
