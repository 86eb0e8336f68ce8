// Slack incoming webhook. Sending is bounded in time for the whole check, retried with back-off
// on 429 (honouring Retry-After) and 5xx, and never throws: the caller keeps what was not sent.
// The URL is a secret (anyone with it can post to the channel): it never appears in a message,
// an error, the audit log or the state folder.
import { retryAfterMs, sleep } from './retry.js';
import { readSecretFile } from './secret-file.js';

/** The whole time alert sending may take in one check. */
export const SEND_BUDGET_MS = 10_000;

export type WebhookSource =
  | { kind: 'none' }
  | { kind: 'url'; url: string; from: string }
  | { kind: 'broken'; from: string; problem: string };

/** The part of the config that says where the URL is (config/sections/alerts.ts SlackConfig). */
export interface WebhookSettings {
  slack: { webhookUrlEnv: string; webhookUrlFile: string | null };
}

/** Where the webhook URL comes from: the environment variable first, then the file. */
export function webhookSource(config: WebhookSettings, env: NodeJS.ProcessEnv): WebhookSource {
  const fromEnv = env[config.slack.webhookUrlEnv];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return checked(fromEnv.trim(), `$${config.slack.webhookUrlEnv}`);
  }
  const file = config.slack.webhookUrlFile;
  if (file === null) return { kind: 'none' };
  // Held like a key (effects/secret-file.ts): a file that others can read or write, a folder, or
  // one that cannot be read is broken, here and (the same words) when the config is loaded.
  const read = readSecretFile(file);
  if (!read.ok) return { kind: 'broken', from: file, problem: read.problem };
  return checked(read.text.trim(), file);
}

function checked(url: string, from: string): WebhookSource {
  if (!/^https?:\/\/[^\s/]+\/?\S*$/i.test(url))
    return { kind: 'broken', from, problem: 'does not hold an http(s) URL' };
  return { kind: 'url', url, from };
}

export interface SendOutcome {
  ok: boolean;
  attempts: number;
  /** Why it failed, in words that never include the URL. */
  error?: string;
  /** Slack asked to wait this long (429 Retry-After) and that was beyond the deadline. */
  retryAfterMs?: number;
}

const BACKOFF_MS = [500, 1000, 2000, 4000];

function describeError(error: unknown, url: string): string {
  const e = error as {
    statusCode?: number;
    original?: Error & { cause?: { code?: string } };
    message?: string;
    name?: string;
  };
  let text: string;
  if (typeof e.statusCode === 'number') text = `HTTP ${e.statusCode}`;
  else {
    const original = e.original;
    if (original?.name === 'TimeoutError' || original?.name === 'AbortError') text = 'no answer in time';
    else if (original?.cause?.code !== undefined) text = `request failed (${original.cause.code})`;
    else text = `request failed (${original?.message ?? e.message ?? String(error)})`;
  }
  // Belt and braces: the URL and its path (the secret part) never leave this function.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  for (const secret of [url, parsed?.pathname ?? '', parsed?.href ?? '']) {
    if (secret.length > 1) text = text.split(secret).join('<webhook>');
  }
  return text;
}

/**
 * Post `text` to the webhook, retrying 429 and 5xx and failed requests until `deadlineMs` (or
 * until `signal` aborts: a daemon that stops). Resolves (never rejects) with what happened.
 */
export async function postToSlack(
  url: string,
  text: string,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<SendOutcome> {
  // A CommonJS package: its exports arrive as the default export once bundled.
  const mod = (await import('@slack/webhook')) as typeof import('@slack/webhook') & {
    default?: typeof import('@slack/webhook');
  };
  const IncomingWebhook = mod.IncomingWebhook ?? mod.default?.IncomingWebhook;
  let attempts = 0;
  let lastError = 'not sent: no time left';
  const stopped = (): boolean => signal?.aborted === true;
  for (;;) {
    if (stopped())
      return {
        ok: false,
        attempts,
        error: attempts > 0 ? `${lastError}; then stopped` : 'not sent: stopped',
      };
    const remaining = deadlineMs - Date.now();
    if (remaining <= 50) return { ok: false, attempts, error: lastError };
    let retryAfter: string | null = null;
    const fetchCapturing: typeof fetch = async (input, init) => {
      const joined =
        signal === undefined
          ? init
          : { ...init, signal: init?.signal == null ? signal : AbortSignal.any([init.signal, signal]) };
      const response = await fetch(input, joined);
      retryAfter = response.headers.get('retry-after');
      return response;
    };
    attempts++;
    let hook: InstanceType<typeof IncomingWebhook>;
    try {
      hook = new IncomingWebhook(url, {
        timeout: remaining,
        fetch: fetchCapturing,
        retryConfig: { retries: 0 },
      });
    } catch (error) {
      return { ok: false, attempts, error: `cannot use the webhook: ${describeError(error, url)}` };
    }
    try {
      // link_names off: a name like @here in the text stays text (alert-text.ts breaks it too).
      await hook.send({ text, link_names: false, unfurl_links: false, unfurl_media: false });
      return { ok: true, attempts };
    } catch (error) {
      lastError = stopped() ? 'not sent: stopped' : describeError(error, url);
      if (stopped()) return { ok: false, attempts, error: lastError };
      const status = (error as { statusCode?: number }).statusCode;
      let waitMs: number;
      if (status === 429) {
        waitMs =
          retryAfterMs(retryAfter, Date.now()) ?? BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)]!;
        lastError = `HTTP 429 (rate limited${retryAfter !== null ? `, Retry-After ${retryAfter}` : ''})`;
      } else if (status !== undefined && status < 500) {
        return { ok: false, attempts, error: lastError }; // 4xx: a retry gets the same answer
      } else {
        waitMs = BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)]!;
      }
      if (Date.now() + waitMs >= deadlineMs - 50) {
        return {
          ok: false,
          attempts,
          error: `${lastError}; no time left to retry within the bound`,
          ...(status === 429 ? { retryAfterMs: waitMs } : {}),
        };
      }
      await sleep(waitMs, signal);
    }
  }
}
