// The dead-man's-switch ping (healthchecks.io and alike): one GET after each check, bounded in
// time, never throwing. A service outside this machine notices when the pings stop, which is the
// one failure the watchdog cannot report itself (the machine or the timer is gone).
// The URL's path is a secret (anyone with it can ping): only its host appears in messages.
import { pingUrlFor } from '../core/heartbeat.js';
import { VERSION } from '../version.js';

/** Bounded so that a ping never holds up a check (and `run` never waits on it longer). */
export const PING_TIMEOUT_MS = 5_000;

export interface PingOutcome {
  ok: boolean;
  /** Where it went, without the secret part: `https://hc-ping.com/…/fail`. */
  target: string;
  /** Why it failed, without the URL. */
  error?: string;
  /** Cut off by `signal` (a newer ping took its place): not a failure to report. */
  superseded?: boolean;
}

function shown(url: string, ok: boolean): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}/…${ok ? '' : '/fail'}`;
}

export async function ping(
  url: string,
  checkOk: boolean,
  timeoutMs: number = PING_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<PingOutcome> {
  const target = shown(url, checkOk);
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(pingUrlFor(url, checkOk), {
      method: 'GET',
      headers: { 'user-agent': `cost-watchdog/${VERSION}` },
      signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) return { ok: false, target, error: `HTTP ${response.status}` };
    return { ok: true, target };
  } catch (error) {
    if (signal?.aborted === true && !timeout.aborted) return { ok: false, target, superseded: true };
    const e = error as Error & { cause?: { code?: string } };
    const why =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `no answer within ${Math.round(timeoutMs / 1000)}s`
        : e.cause?.code !== undefined
          ? `request failed (${e.cause.code})`
          : 'request failed';
    return { ok: false, target, error: why };
  }
}
