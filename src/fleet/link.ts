// The connection to the fleet's Redis, with node-redis (the `redis` package). Loaded only when a
// config has `fleet:` (src/fleet/exchange.ts imports it on first use), so a one-host watchdog
// never loads the client. Every call has a deadline: a slow or silent Redis costs a check at most
// `fleet.timeout`, then the connection is dropped and made anew by the next check. Errors come
// back as FleetError: `lost` (cannot reach, timed out: local limits go on) or `refused` (a wrong
// password, TLS, an answer that is not ours: a fault to fix), in words without the password.
import { createClient } from '@redis/client';
import { scriptSha } from './sha.js';
import { redact } from './url.js';

export class FleetError extends Error {
  constructor(
    readonly kind: 'lost' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/** What the fleet uses of a node-redis client (its full generic type is not needed here). */
interface Client {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

let current: { url: string; client: Client } | null = null;

/** Why a Redis call failed, in an operator's words (never the URL's password). */
export function classify(error: unknown, password: string | null, timeoutMs: number): FleetError {
  if (error instanceof FleetError) return error;
  const e = error as { code?: string; message?: string; name?: string };
  const message = redact(String(e.message ?? error), password);
  const code = e.code ?? '';
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || /timed? ?out/i.test(message))
    return new FleetError('lost', `Redis did not answer within ${timeoutMs} ms`);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message))
    return new FleetError(
      'refused',
      'Redis refused the credentials (WRONGPASS/NOAUTH): check the password in the Redis URL',
    );
  if (/NOPERM/.test(message))
    return new FleetError('refused', `Redis refused a command to this user (NOPERM): ${message}`);
  if (
    /^(ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code) ||
    /SSL routines|TLS/i.test(message)
  )
    return new FleetError('refused', `TLS to Redis failed: ${message}${code !== '' ? ` (${code})` : ''}`);
  if (/^(LOADING|MISCONF|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)/.test(message))
    return new FleetError('lost', `Redis cannot serve now: ${message}`);
  if (/^(READONLY|ERR|WRONGTYPE|NOSCRIPT|MOVED|ASK)/.test(message))
    return new FleetError('refused', `Redis answered with an error: ${message}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new FleetError('lost', `cannot resolve the Redis host: ${message}`);
  return new FleetError(
    'lost',
    `cannot reach Redis: ${message}${code !== '' && !message.includes(code) ? ` (${code})` : ''}`,
  );
}

function remaining(deadlineMs: number): number {
  return Math.max(1, deadlineMs - Date.now());
}

/** Run `work` within the deadline; on timeout the connection is dropped (it may be stuck). */
async function bounded<T>(work: Promise<T>, deadlineMs: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    }, remaining(deadlineMs));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function drop(entry: { client: Client } | null): void {
  if (entry === null) return;
  if (current === entry) current = null;
  try {
    entry.client.destroy();
  } catch {
    // already closed
  }
}

async function clientFor(url: string, deadlineMs: number, timeoutMs: number): Promise<Client> {
  if (current !== null && current.url === url && current.client.isReady) return current.client;
  drop(current);
  const client: Client = createClient({
    url,
    // No retries behind the check's back: a lost connection is dropped, and the next check makes
    // a new one (within its own deadline).
    socket: { connectTimeout: remaining(deadlineMs), reconnectStrategy: false },
    disableOfflineQueue: true,
  }) as unknown as Client;
  // Errors reach the caller through the promises; an 'error' event without a listener would end
  // the process.
  client.on('error', () => undefined);
  const entry = { url, client };
  current = entry;
  try {
    await bounded(client.connect(), deadlineMs, () => drop(entry));
  } catch (error) {
    drop(entry);
    // A plain Redis never answers a TLS hello: rediss:// to it looks like a Redis that is slow.
    const timedOut = classify(error, null, timeoutMs).message.startsWith('Redis did not answer');
    if (timedOut && url.toLowerCase().startsWith('rediss:'))
      throw new FleetError(
        'lost',
        `Redis did not answer within ${timeoutMs} ms: no TLS handshake (if the server at this port ` +
          'does not speak TLS, use redis:// rather than rediss://)',
      );
    throw error;
  }
  return client;
}

/** Run one of the fleet's scripts (EVALSHA, loaded with EVAL when Redis does not have it). */
export async function runScript(
  url: string,
  password: string | null,
  script: string,
  payload: unknown,
  deadlineMs: number,
  timeoutMs: number,
): Promise<unknown> {
  try {
    const client = await clientFor(url, deadlineMs, timeoutMs);
    const entry = current;
    const arg = JSON.stringify(payload);
    const send = async (): Promise<unknown> => {
      try {
        return await client.sendCommand(['EVALSHA', scriptSha(script), '0', arg]);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        return client.sendCommand(['EVAL', script, '0', arg]);
      }
    };
    const reply = await bounded(send(), deadlineMs, () => drop(entry));
    if (typeof reply !== 'string')
      throw new FleetError('refused', 'Redis answered a fleet script with no text');
    try {
      return JSON.parse(reply) as unknown;
    } catch {
      throw new FleetError('refused', 'Redis answered a fleet script with text that is not JSON');
    }
  } catch (error) {
    throw classify(error, password, timeoutMs);
  }
}

/** SET key value NX PX ttl: true when this host got it. */
export async function claim(
  url: string,
  password: string | null,
  key: string,
  value: string,
  ttlMs: number,
  deadlineMs: number,
  timeoutMs: number,
): Promise<boolean> {
  try {
    const client = await clientFor(url, deadlineMs, timeoutMs);
    const entry = current;
    const reply = await bounded(
      client.sendCommand(['SET', key, value, 'NX', 'PX', String(Math.max(1, Math.round(ttlMs)))]),
      deadlineMs,
      () => drop(entry),
    );
    return reply === 'OK';
  } catch (error) {
    throw classify(error, password, timeoutMs);
  }
}

/** Close the connection (a `run` does at its end, so that the process can exit). */
export async function closeLink(): Promise<void> {
  const entry = current;
  current = null;
  if (entry === null) return;
  try {
    await bounded(entry.client.close(), Date.now() + 500, () => entry.client.destroy());
  } catch {
    try {
      entry.client.destroy();
    } catch {
      // already closed
    }
  }
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * `watch`: hear the fleet's events (an emergency made or cleared) as they happen. Reconnects by
 * itself with back-off while Redis is away; `onMessage` gets each message's text, `onReady` is
 * called each time the subscription is (again) in place. The waits between tries are unref'd
 * timers of its own (node-redis's own reconnect waits would hold a stopping `watch` up to 5 s).
 */
/** What a subscription uses of a node-redis client. */
interface Subscriber {
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: 'error' | 'terminated', listener: (error: unknown) => void): unknown;
  subscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>;
}

export function subscribe(
  url: string,
  channel: string,
  onMessage: (message: string) => void,
  onReady: () => void = () => undefined,
): Subscription {
  let closed = false;
  let client: Subscriber | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failures = 0;
  const again = (from: Subscriber): void => {
    if (closed || client !== from) return;
    client = null;
    try {
      from.destroy();
    } catch {
      // already closed
    }
    timer = setTimeout(start, Math.min(200 * 2 ** failures++, 5000));
    timer.unref();
  };
  const start = (): void => {
    timer = null;
    if (closed) return;
    const next = createClient({
      url,
      socket: { connectTimeout: 2000, reconnectStrategy: false },
    }) as unknown as Subscriber;
    client = next;
    next.on('error', () => undefined);
    // Without reconnects, a connection lost (or never made) ends the client: make a new one.
    next.on('terminated', () => again(next));
    void (async () => {
      try {
        await next.connect();
        await next.subscribe(channel, (message) => onMessage(String(message)));
        if (client !== next) return;
        failures = 0;
        onReady();
      } catch {
        again(next);
      }
    })();
  };
  start();
  return {
    close: async () => {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      const last = client;
      client = null;
      try {
        last?.destroy();
      } catch {
        // already closed
      }
    },
  };
}
