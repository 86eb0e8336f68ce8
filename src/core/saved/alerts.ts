// alerts.json: what was alerted and acknowledged, the kill switch, the alerts still to send.
// A window's memory or an acknowledged level that cannot be read rejects the file (started
// afresh, alerts may repeat once); the rest is kept where it can be, and a part that cannot is
// dropped alone (a pending alert, an incident, a finding, the owner).
import * as z from 'zod';
import type { AlertState, PendingAlert } from '../decide.js';
import type { Level } from '../levels.js';
import { entriesOf, jsonNumber, keepEntries, keepItems, type Parsed, parseSaved } from './parse.js';

const level = z.enum(['ok', 'warn', 'emergency', 'kill']);

const pendingItem = z.looseObject({ text: z.string(), created_ms: jsonNumber, attempts: jsonNumber });

/** A remembered pending alert, its optional fields checked; one saved before ids gets one. */
function pendingFrom(p: z.infer<typeof pendingItem>, index: number): PendingAlert {
  const out: PendingAlert = {
    text: p.text,
    created_ms: p.created_ms,
    attempts: p.attempts,
    id: typeof p.id === 'string' && p.id !== '' ? p.id : `saved-${p.created_ms}-${index}`,
  };
  if (p.level === 'ok' || p.level === 'warn' || p.level === 'emergency' || p.level === 'kill')
    out.level = p.level as Level;
  if (Array.isArray(p.climbs) && p.climbs.every((c) => typeof c === 'string')) out.climbs = [...p.climbs];
  if (p.plain === true) out.plain = true;
  if (typeof p.channel === 'string' && p.channel !== '' && p.channel !== 'slack') out.channel = p.channel;
  if (p.payload !== null && typeof p.payload === 'object' && !Array.isArray(p.payload))
    out.payload = p.payload as Record<string, unknown>;
  return out;
}

/** alerts.json `scopes`: each scope instance's own memory (src/scopes/decide.ts). */
const scopeMemories = keepEntries(
  z.object({
    windows: entriesOf(z.object({ level, since_ms: jsonNumber })),
    acknowledged: entriesOf(level),
    kill_switch: z.object({ since_ms: jsonNumber, by: z.string() }).nullable().catch(null),
    flag_seen: z
      .unknown()
      .optional()
      .transform((v) => v === true),
    last_reminder_ms: jsonNumber.nullable().catch(null),
    incidents: keepEntries(jsonNumber),
    last_seen_ms: jsonNumber,
  }),
);

export const alertStateSchema: z.ZodType<AlertState> = z.object({
  version: z.literal(1),
  windows: entriesOf(z.object({ level, since_ms: jsonNumber })),
  acknowledged: entriesOf(level),
  kill_switch: z.object({ since_ms: jsonNumber, by: z.string() }).nullable().catch(null),
  flag_seen: z
    .unknown()
    .optional()
    .transform((v) => v === true),
  last_reminder_ms: jsonNumber.nullable().catch(null),
  incidents: keepEntries(jsonNumber),
  pending: keepItems(pendingItem).transform((list) => list.map(pendingFrom)),
  pending_owner: z
    .object({ pid: jsonNumber, start: jsonNumber.nullable(), host: z.string() })
    .nullable()
    .catch(null),
  findings: keepEntries(z.object({ since_ms: jsonNumber, last_ms: jsonNumber })),
  // Older files have none (left out); an instance that cannot be read is dropped alone.
  scopes: z
    .unknown()
    .optional()
    .transform((v) => (v === undefined ? undefined : scopeMemories.parse(v))),
});

export function parseAlertState(value: unknown): Parsed<AlertState> {
  return parseSaved(alertStateSchema, value);
}

/** A remembered state, or null when it cannot be used (the caller starts afresh and says so). */
export function loadAlertState(value: unknown): AlertState | null {
  const parsed = parseAlertState(value);
  return parsed.ok ? parsed.value : null;
}
