// Each way a provider's admin API fails, against the loopback stand-ins (test/e2e/provider-standins.ts),
// for both providers: 401/403 (the key refused), 429 with Retry-After as seconds, as an HTTP date
// and without it, 500/503, a hang (bounded by the provider's timeout and by the caller's signal),
// a refused connection, a redirect (never followed: it could carry the key elsewhere), a body of the
// wrong shape and one that is not JSON. Every failure is a ProviderFailure of the right kind that
// names the provider, and the admin key is in none of them: not in the message, the stack, or
// anything the error serializes to, also when the provider echoes the key back.
import { describe, expect, it } from 'vitest';
import { clientFor } from '../../src/reconcile/providers/index.js';
import type { ProviderFailure } from '../../src/reconcile/types.js';
import {
  anthropicStandIn,
  configFor,
  minuteOf,
  openaiStandIn,
  type ProviderStandIn,
  type ProviderType,
  failure,
} from '../e2e/provider-standins.js';

const KEYS = { openai: 'sk-admin-NEVER-PRINT-7f3a9c', anthropic: 'sk-ant-admin01-NEVER-PRINT-7f3a9c' };
const VARS = { openai: '$OPENAI_ADMIN_KEY', anthropic: '$ANTHROPIC_ADMIN_KEY' };

const standIn = (type: ProviderType): Promise<ProviderStandIn> =>
  type === 'openai' ? openaiStandIn({ adminKey: KEYS[type] }) : anthropicStandIn({ adminKey: KEYS[type] });

/** Everything an error could print: message, stack, String(), JSON, own fields. */
function printed(f: ProviderFailure): string {
  return [f.message, String(f.stack), String(f), JSON.stringify(f), JSON.stringify({ ...f })].join('\n');
}

describe.each(['openai', 'anthropic'] as const)('%s: faults', (type) => {
  const window = (): [number, number] => {
    const to = minuteOf(Date.now());
    return [to - 15 * 60_000, to];
  };
  const read = async (s: ProviderStandIn, key = KEYS[type], timeoutMs = 5000, signal?: AbortSignal) =>
    failure(
      clientFor(configFor(s, { timeoutMs }), key).usage(...window(), signal ?? new AbortController().signal),
    );
  const expectClean = (f: ProviderFailure): void => {
    expect(f.message.startsWith(`${type}: `)).toBe(true);
    expect(printed(f)).not.toContain(KEYS[type]);
    expect(printed(f)).not.toContain('NEVER-PRINT');
  };

  it('401: auth, naming the variable the key came from, never the key (the provider echoes it)', async () => {
    const s = await standIn(type);
    s.adminKey = 'the-right-one';
    const f = await read(s);
    expect(f.kind).toBe('auth');
    expect(f.status).toBe(401);
    expect(f.message).toContain(`the admin key from ${VARS[type]} was refused (HTTP 401`);
    expectClean(f);
  });

  it('401 for a key from a file names the file', async () => {
    const s = await standIn(type);
    s.adminKey = 'the-right-one';
    const f = await failure(
      clientFor(configFor(s), KEYS[type], '/etc/cost-watchdog/openai.key').usage(
        ...window(),
        new AbortController().signal,
      ),
    );
    expect(f.message).toContain('/etc/cost-watchdog/openai.key');
    expectClean(f);
  });

  it('a key that cannot go in a header: key, before any request', async () => {
    const s = await standIn(type);
    const f = await read(s, `${KEYS[type]}\nsecond line`);
    expect(f.kind).toBe('key');
    expect(f.message).toContain(`the admin key from ${VARS[type]} is not one line`);
    expect(s.requests).toHaveLength(0);
    expectClean(f);
  });

  it('403: auth (a key that may not read usage)', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'status', status: 403 });
    const f = await read(s);
    expect([f.kind, f.status]).toEqual(['auth', 403]);
    expect(f.message).toContain('may not read usage');
    expectClean(f);
  });

  it.each([
    ['seconds', '7', 7000],
    ['no Retry-After', undefined, null],
  ] as const)('429 with %s: rate, Retry-After parsed', async (_, retryAfter, ms) => {
    const s = await standIn(type);
    s.fault({ kind: 'status', status: 429, ...(retryAfter === undefined ? {} : { retryAfter }) });
    const f = await read(s);
    expect([f.kind, f.status, f.retryAfterMs]).toEqual(['rate', 429, ms]);
    expect(f.message).toContain(ms === null ? 'no Retry-After' : 'retry after 7 s');
    expectClean(f);
  });

  it("429 with an HTTP date: read against the provider's own clock (Date header)", async () => {
    const s = await standIn(type);
    s.clockOffsetMs = 10 * 60_000; // its clock is 10 minutes ahead: the date is 90 s from its now
    const at = new Date(Date.now() + s.clockOffsetMs + 90_000).toUTCString();
    s.fault({ kind: 'status', status: 429, retryAfter: at });
    const f = await read(s);
    expect(f.kind).toBe('rate');
    expect(f.retryAfterMs).toBeGreaterThanOrEqual(88_000);
    expect(f.retryAfterMs).toBeLessThanOrEqual(91_000);
    expectClean(f);
  });

  it.each([500, 503, 529])('%s: server, with the status', async (status) => {
    const s = await standIn(type);
    s.fault({ kind: 'status', status });
    const f = await read(s);
    expect([f.kind, f.status]).toEqual(['server', status]);
    expect(f.message).toContain(`HTTP ${status}`);
    expectClean(f);
  });

  it('a 500 whose body quotes the key: the key is cut out of the quoted words', async () => {
    const s = await standIn(type);
    const body = JSON.stringify({ error: { type: 'api_error', message: `upstream rejected ${KEYS[type]}` } });
    s.fault({ kind: 'raw', status: 500, body });
    const f = await read(s);
    expect(f.kind).toBe('server');
    expect(f.message).toContain('upstream rejected <admin key>');
    expectClean(f);
  });

  it("a hang: timeout within the provider's timeout, the request given up", async () => {
    const s = await standIn(type);
    s.failAlways({ kind: 'hang' });
    const f = await read(s, KEYS[type], 300);
    expect(f.kind).toBe('timeout');
    expect(f.message).toContain('gave no answer within 0.3 s');
    await expect.poll(() => s.open(), { timeout: 10_000 }).toBe(0);
    expectClean(f);
  });

  it('a hang cut short by the caller\'s signal: timeout, "stopped"', async () => {
    const s = await standIn(type);
    s.failAlways({ kind: 'hang' });
    const stop = new AbortController();
    const pending = read(s, KEYS[type], 60_000, stop.signal);
    await expect.poll(() => s.open(), { timeout: 10_000 }).toBe(1);
    stop.abort();
    const f = await pending;
    expect(f.kind).toBe('timeout');
    expect(f.message).toContain('stopped before');
    expectClean(f);
  });

  it('a hang on the second page is bounded too', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'raw', body: JSON.stringify({ data: [], has_more: true, next_page: 'page_2' }) });
    s.failAlways({ kind: 'hang' });
    const f = await read(s, KEYS[type], 300);
    expect(f.kind).toBe('timeout');
    expect(s.usageRequests().map((r) => r.query.get('page'))).toEqual([null, 'page_2']);
  });

  it('a refused connection: network', async () => {
    const s = await standIn(type);
    await s.close();
    const f = await read(s);
    expect(f.kind).toBe('network');
    expect(f.message).toContain('ECONNREFUSED');
    expect(f.status).toBeNull();
    expectClean(f);
  });

  it('a redirect is not followed (the key stays home)', async () => {
    const s = await standIn(type);
    const elsewhere = await standIn(type);
    s.fault({ kind: 'raw', status: 302, body: '', headers: { Location: `${elsewhere.baseUrl}/v1/steal` } });
    const f = await read(s);
    expect([f.kind, f.status]).toEqual(['server', 302]);
    expect(elsewhere.requests).toHaveLength(0);
    expectClean(f);
  });

  it('a wrong-shape body: shape, naming the field', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'wrong-shape' });
    const f = await read(s);
    expect(f.kind).toBe('shape');
    expect(f.message).toContain('data: expected a list of time buckets, got an object');
    expectClean(f);
  });

  it('has_more without a next_page: shape', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'raw', body: JSON.stringify({ data: [], has_more: true, next_page: null }) });
    const f = await read(s);
    expect(f.kind).toBe('shape');
    expect(f.message).toContain('next_page');
  });

  it('a page token that comes back again: shape, not a loop', async () => {
    const s = await standIn(type);
    s.failAlways({ kind: 'raw', body: JSON.stringify({ data: [], has_more: true, next_page: 'page_same' }) });
    const f = await read(s);
    expect(f.kind).toBe('shape');
    expect(f.message).toContain("repeats an earlier page's token");
    expect(s.usageRequests()).toHaveLength(2);
  });

  it('an HTML error page with 200: shape, "not JSON"', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'raw', body: '<html>maintenance</html>', contentType: 'text/html; charset=utf-8' });
    const f = await read(s);
    expect(f.kind).toBe('shape');
    expect(f.message).toContain('is not JSON (HTTP 200, text/html)');
    expectClean(f);
  });

  it('the daily endpoints fail the same way', async () => {
    const s = await standIn(type);
    s.fault({ kind: 'status', status: 429, retryAfter: '2' }, { kind: 'status', status: 401 });
    const client = clientFor(configFor(s), KEYS[type]);
    const a = await failure(client.dailyCosts('2025-08-01', '2025-08-02', new AbortController().signal));
    expect([a.kind, a.retryAfterMs]).toEqual(['rate', 2000]);
    const b = await failure(client.dailyUsage('2025-08-01', '2025-08-02', new AbortController().signal));
    expect(b.kind).toBe('auth');
    expectClean(a);
    expectClean(b);
  });
});

describe('an answer without end', () => {
  it('a chunked answer past 32 MB (no Content-Length) is cut off, not read into memory', async () => {
    const { createServer } = await import('node:http');
    let written = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.write('{"object":"page","data":[');
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const stand = await openaiStandIn({ adminKey: KEYS.openai });
      const client = clientFor(configFor(stand, { baseUrl: `http://127.0.0.1:${port}` }), KEYS.openai);
      const to = minuteOf(Date.now());
      const f = await failure(client.usage(to - 15 * 60_000, to, AbortSignal.timeout(30_000)));
      expect(f.kind).toBe('shape');
      expect(f.message).toMatch(/more than 33554432 bytes/);
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
