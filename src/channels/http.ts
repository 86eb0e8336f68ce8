// A JSON POST for the structured channels (webhook, PagerDuty), with Slack's rules: bounded by a
// deadline, retried with back-off on 429 (Retry-After honoured) and 5xx and failed requests, never
// on another 4xx (the same request gets the same answer), and never rejecting. The address and
// any secret are cut out of every error text before it leaves this file.
import { retryAfterMs, sleep } from '../effects/retry.js';
import { VERSION } from '../version.js';
import type { SendOutcome } from './types.js';

const BACKOFF_MS = [500, 1000, 2000, 4000];

export interface PostRequest {
  url: string;
  /** Built again for each attempt (a webhook signs the time of sending). */
  build: () => { body: string; headers: Record<string, string> };
  /** The statuses that mean delivered (webhook: any 2xx; PagerDuty: 202, and 2xx). */
  accepted?: (status: number) => boolean;
  /** Strings never to appear in an error (the URL, its path, a secret). */
  secrets: readonly string[];
}

/** `text` with every secret (and the URL's path and query) replaced by `<redacted>`. */
export function redact(text: string, secrets: readonly string[]): string {
  const all: string[] = [];
  for (const s of secrets) {
    if (s.length < 2) continue;
    all.push(s);
    if (URL.canParse(s)) {
      const u = new URL(s);
      all.push(u.href, `${u.pathname}${u.search}`, u.search, u.password);
      if (u.pathname.length > 1) all.push(u.pathname);
    }
  }
  let out = text;
  for (const s of all.filter((x) => x.length > 1).sort((a, b) => b.length - a.length))
    out = out.split(s).join('<redacted>');
  return out;
}

function describe(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  if (e.cause?.code !== undefined) return `request failed (${e.cause.code})`;
  if (e.cause?.message !== undefined) return `request failed (${e.cause.message})`;
  return `request failed (${e.message ?? String(error)})`;
}

/** POST until accepted, a 4xx other than 429, the deadline, or `signal`. Never rejects. */
export async function postJson(
  request: PostRequest,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<SendOutcome & { status?: number }> {
  const accepted = request.accepted ?? ((s: number) => s >= 200 && s < 300);
  let attempts = 0;
  let lastError = 'not sent: no time left';
  const fail = (error: string, extra: Partial<SendOutcome> = {}) => ({
    ok: false,
    attempts,
    error: redact(error, request.secrets),
    ...extra,
  });
  const stopped = (): boolean => signal?.aborted === true;
  for (;;) {
    if (stopped()) return fail(attempts > 0 ? `${lastError}; then stopped` : 'not sent: stopped');
    const remaining = deadlineMs - Date.now();
    if (remaining <= 50) return fail(lastError);
    attempts++;
    const { body, headers } = request.build();
    const timeout = AbortSignal.timeout(remaining);
    let status: number;
    let retryAfter: string | null = null;
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        body,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': `cost-watchdog/${VERSION}`,
          ...headers,
        },
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
        redirect: 'error',
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      lastError = stopped() ? 'not sent: stopped' : describe(error);
      if (stopped()) return fail(lastError);
      const waitMs = BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)] as number;
      if (Date.now() + waitMs >= deadlineMs - 50)
        return fail(`${lastError}; no time left to retry within the bound`);
      await sleep(waitMs, signal);
      continue;
    }
    if (accepted(status)) return { ok: true, attempts, status };
    lastError = `HTTP ${status}`;
    let waitMs: number;
    if (status === 429) {
      waitMs =
        retryAfterMs(retryAfter, Date.now()) ??
        (BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)] as number);
      lastError = `HTTP 429 (rate limited${retryAfter !== null ? `, Retry-After ${retryAfter}` : ''})`;
    } else if (status < 500) {
      return fail(lastError, { status } as Partial<SendOutcome>); // a retry gets the same answer
    } else {
      waitMs = BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)] as number;
    }
    if (Date.now() + waitMs >= deadlineMs - 50)
      return fail(`${lastError}; no time left to retry within the bound`, {
        ...(status === 429 ? { retryAfterMs: waitMs } : {}),
      });
    await sleep(waitMs, signal);
  }
}
