// One GET of a provider's admin API, and why it failed: every request is bounded by the provider's
// timeout and the caller's signal, follows no redirect (a redirect could carry the key elsewhere),
// and turns each failure into a ProviderFailure whose text names the provider and where the key
// came from, never the key: the key is cut out of anything the provider sent back before it is
// quoted, and auth failures quote only the provider's error type.
import { VERSION } from '../version.js';
import type { ProviderConfig } from './types.js';
import { ProviderFailure } from './types.js';

/** The most of a body read: a 15-minute window grouped by model is a few kB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface GetRequest {
  provider: Pick<ProviderConfig, 'name' | 'timeoutMs'>;
  url: string;
  /** Auth and version headers; the key is in one of them. */
  headers: Record<string, string>;
  /** The admin key, cut out of every text that leaves this file. */
  key: string;
  /** Where the key came from (`$OPENAI_ADMIN_KEY`, a file), for the auth message. */
  keyFrom: string;
  signal: AbortSignal;
}

export interface JsonAnswer {
  body: unknown;
  /** The response's `Date` header, epoch ms, or null when absent or unreadable. */
  dateMs: number | null;
  /** Our clock when the headers arrived. */
  receivedMs: number;
}

/** GET `url` and parse its JSON. Throws ProviderFailure. */
export async function getJson(request: GetRequest): Promise<JsonAnswer> {
  const { provider } = request;
  // fetch would refuse it with the header's value, key and all, in its error text.
  if (!/^[\x21-\x7e]+$/.test(request.key))
    throw new ProviderFailure(
      'key',
      `${provider.name}: the admin key from ${request.keyFrom} is not one line of printable ASCII`,
    );
  const timeout = AbortSignal.timeout(provider.timeoutMs);
  const signal = AbortSignal.any([timeout, request.signal]);
  const where = safeWhere(request.url);
  const stopped = (): ProviderFailure =>
    request.signal.aborted
      ? new ProviderFailure('timeout', `${provider.name}: stopped before ${where} answered`)
      : new ProviderFailure(
          'timeout',
          `${provider.name}: ${where} gave no answer within ${seconds(provider.timeoutMs)}`,
        );
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'GET',
      headers: { Accept: 'application/json', 'User-Agent': `cost-watchdog/${VERSION}`, ...request.headers },
      signal,
      redirect: 'manual',
    });
  } catch (error) {
    if (signal.aborted) throw stopped();
    throw new ProviderFailure(
      'network',
      redact(`${provider.name}: cannot reach ${where} (${causeOf(error)})`, request.key),
    );
  }
  const receivedMs = Date.now();
  const dateMs = parseHttpDate(response.headers.get('date'));
  let text: string;
  try {
    text = await readText(response);
  } catch (error) {
    if (signal.aborted) throw stopped();
    if (error instanceof ProviderFailure)
      throw new ProviderFailure('shape', `${provider.name}: ${where}: ${error.message}`, response.status);
    throw new ProviderFailure(
      'network',
      redact(`${provider.name}: the answer from ${where} broke off (${causeOf(error)})`, request.key),
      response.status,
    );
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    try {
      return { body: JSON.parse(text) as unknown, dateMs, receivedMs };
    } catch {
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new ProviderFailure(
        'shape',
        `${provider.name}: the answer from ${where} is not JSON (HTTP ${status}, ${type.split(';')[0]})`,
        status,
      );
    }
  }
  const said = errorWords(text, request.key);
  if (status === 401 || status === 403)
    throw new ProviderFailure(
      'auth',
      `${provider.name}: the admin key from ${request.keyFrom} was refused (HTTP ${status}` +
        `${said.type === null ? '' : `, ${said.type}`}): ` +
        `${status === 401 ? 'the key is not valid' : 'the key may not read usage'}` +
        ` (fix: set an Admin API key in ${request.keyFrom})`,
      status,
    );
  if (status === 429) {
    const header = response.headers.get('retry-after');
    const retryAfterMs = parseRetryAfter(header, dateMs ?? receivedMs);
    throw new ProviderFailure(
      'rate',
      `${provider.name}: rate limited by ${where} (HTTP 429` +
        `${retryAfterMs === null ? ', no Retry-After' : `, retry after ${seconds(retryAfterMs)}`})` +
        said.text,
      status,
      retryAfterMs,
    );
  }
  if (status >= 300 && status < 400)
    throw new ProviderFailure(
      'server',
      `${provider.name}: ${where} answered with a redirect (HTTP ${status}), which is not followed ` +
        '(check base_url)',
      status,
    );
  throw new ProviderFailure(
    'server',
    `${provider.name}: ${where} answered HTTP ${status}` +
      `${status === 404 ? ' (check base_url)' : ''}${said.text}`,
    status,
  );
}

/** Retry-After as ms from `nowMs` (the provider's clock when known): seconds, or an HTTP date. */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = parseHttpDate(value);
  return at === null ? null : Math.max(0, at - nowMs);
}

/** An HTTP date (IMF-fixdate, or the obsolete forms Date.parse reads), epoch ms; null otherwise. */
export function parseHttpDate(header: string | null): number | null {
  if (header === null) return null;
  // Date.parse reads almost anything ("1.5" is a year): ask for a weekday or month name first.
  if (!/[A-Za-z]{3}/.test(header) || !/\d{1,2}:\d{2}:\d{2}/.test(header)) return null;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : at;
}

/** `text` with every occurrence of the key replaced. */
export function redact(text: string, key: string): string {
  return key.length < 4 ? text : text.split(key).join('<admin key>');
}

async function readText(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length'));
  if (Number.isFinite(length) && length > MAX_BODY_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new ProviderFailure('shape', `the answer is ${length} bytes, more than ${MAX_BODY_BYTES}`);
  }
  // A chunked answer says no length: it is read up to the bound, and cut off there.
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new ProviderFailure('shape', `the answer is more than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The provider's own error words (`{error: {type, message}}`, both providers' form), redacted. */
function errorWords(text: string, key: string): { type: string | null; text: string } {
  let type: string | null = null;
  let message: string | null = null;
  try {
    const body = JSON.parse(text) as { error?: { type?: unknown; code?: unknown; message?: unknown } };
    const e = body?.error;
    if (e !== null && typeof e === 'object') {
      const t = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : null;
      type = t === null ? null : redact(t, key).slice(0, 60);
      message = typeof e.message === 'string' ? e.message : null;
    }
  } catch {
    // not JSON: an HTML error page from a proxy, said as the status alone
  }
  const words = message === null ? '' : redact(message, key).replace(/\s+/g, ' ').slice(0, 200);
  return { type, text: words === '' ? '' : `: ${words}` };
}

/** The address without its query, for messages (the query holds no secret, but is long). */
function safeWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the provider';
  }
}

function causeOf(error: unknown): string {
  const e = error as Error & { cause?: { code?: unknown; message?: unknown } };
  if (typeof e.cause?.code === 'string') return e.cause.code;
  if (typeof e.cause?.message === 'string') return e.cause.message;
  return e.message ?? String(error);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
