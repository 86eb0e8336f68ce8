// The versioned JSON a webhook receives (and PagerDuty's events are made from): built once when an
// alert is queued, so that a retry after a restart sends the same facts. Pure. Documented in
// docs/operations.md, "Alert channels: webhook and PagerDuty"; a change that is not an addition
// raises PAYLOAD_VERSION.
import { type AlertFacts, alertLines, killJson, type KillJson } from '../core/alert-text.js';
import type { Level } from '../core/levels.js';

export const PAYLOAD_VERSION = 1;

/** What a payload is made from (a ChannelMessage, channels/types.ts). */
export interface PayloadInput {
  kind: 'alert' | 'test' | 'summary';
  level: Level;
  text: string;
  facts?: AlertFacts;
  summary?: Record<string, unknown>;
}

export interface AlertPayload {
  version: typeof PAYLOAD_VERSION;
  kind: PayloadInput['kind'];
  /** The alert's id: the same on every channel and every retry (receivers de-duplicate on it). */
  id: string;
  level: Level;
  host: string;
  /** When the check decided (ISO 8601). The time of sending is `sent_at`, added at each attempt. */
  at: string;
  /** The command that acted: run, watch, kill, clear-emergency, notify, summary. */
  by: string;
  /** The message as plain text (no Slack markup), first line the headline. */
  text: string;
  headline: string;
  windows: Record<
    string,
    { spend_usd: number; level: Level; limits: Partial<Record<'warn' | 'emergency' | 'kill', number>> }
  >;
  events: {
    kind: string;
    window: string;
    level: Level;
    previous: Level;
    spend_usd: number;
    limit_usd: number | null;
    detail?: string;
  }[];
  flag: { state: AlertFacts['flag']['kind']; file: string | null; error?: string } | null;
  kill: KillJson | null;
  /** A scoped budget's alert (src/scopes/): its name and key; null otherwise. */
  scope: { name: string; key: Record<string, string> } | null;
  /** The fleet this host belongs to (src/fleet/); null when none. */
  fleet: string | null;
  /** Kind summary: the daily summary's figures. */
  summary?: Record<string, unknown>;
}

export interface PayloadMeta {
  id: string;
  host: string;
  atMs: number;
  by?: string;
  fleet?: string | null;
}

/** The payload of a message; the facts of an alert say the most. */
export function buildPayload(message: PayloadInput, meta: PayloadMeta): AlertPayload {
  const f = message.facts;
  const text = f !== undefined ? alertLines(f).join('\n') : message.text;
  const flag = f?.flag;
  return {
    version: PAYLOAD_VERSION,
    kind: message.kind,
    id: meta.id,
    level: message.level,
    host: f?.host ?? meta.host,
    at: f?.atIso ?? new Date(meta.atMs).toISOString(),
    by: f?.by ?? meta.by ?? message.kind,
    text,
    headline: text.split('\n', 1)[0] ?? '',
    windows: Object.fromEntries(
      (f?.windows ?? []).map((w) => [
        w.name,
        { spend_usd: w.spend, level: w.level, limits: { ...w.limits } },
      ]),
    ),
    events: (f?.events ?? []).map((e) => ({
      kind: e.kind,
      window: e.window,
      level: e.level,
      previous: e.previous,
      spend_usd: e.spend,
      limit_usd: e.limit,
      ...(e.detail !== undefined ? { detail: e.detail } : {}),
    })),
    flag:
      flag === undefined
        ? null
        : {
            state: flag.kind,
            file: flag.kind === 'none' ? null : flag.file,
            ...('error' in flag ? { error: flag.error } : {}),
          },
    kill: killJson(f?.kill ?? null),
    scope: f?.scope === undefined ? null : { name: f.scope.name, key: { ...f.scope.key } },
    fleet: meta.fleet ?? null,
    ...(message.summary !== undefined ? { summary: message.summary } : {}),
  };
}

/** The body as sent: the payload with the time of this attempt. */
export function payloadBody(payload: AlertPayload, sentAtMs: number): string {
  return JSON.stringify({ ...payload, sent_at: new Date(sentAtMs).toISOString() });
}
