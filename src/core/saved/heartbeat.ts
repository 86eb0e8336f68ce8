// The watchdog's own small files: heartbeat.json (proof a check completed), heartbeat-alert.json
// (what `check-heartbeat` last alerted) and notify.json (when `notify` last announced each unit).
// Each is read by a schema here; what a bad one becomes is said beside it.
import * as z from 'zod';
import type { HeartbeatAlertState } from '../heartbeat.js';
import { jsonNumber, keepEntries, type Parsed, parseSaved } from './parse.js';

/**
 * heartbeat.json: only its time is needed to judge it; the other fields are read where they are
 * used, each one checked there. A heartbeat without a valid time is corrupt.
 */
export const heartbeatSchema = z.looseObject({
  time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'not a date and time'),
});

export function parseHeartbeat(value: unknown): Parsed<z.infer<typeof heartbeatSchema>> {
  return parseSaved(heartbeatSchema, value);
}

/** heartbeat-alert.json: one that cannot be used is as none (nothing alerted yet). */
export const heartbeatAlertStateSchema: z.ZodType<HeartbeatAlertState> = z.object({
  version: z.literal(1),
  down: z
    .object({
      state: z.enum(['failing', 'stale', 'missing']),
      since_ms: jsonNumber,
      announced: z.boolean(),
    })
    .nullable(),
});

export function loadHeartbeatAlertState(value: unknown): HeartbeatAlertState | null {
  const parsed = parseSaved(heartbeatAlertStateSchema, value);
  return parsed.ok ? parsed.value : null;
}

/** notify.json: per unit (or message), when it was last announced. One that cannot be used is as none. */
export interface NotifyState {
  version: 1;
  sent: Record<string, number>;
}

export const notifyStateSchema: z.ZodType<NotifyState> = z.object({
  version: z.literal(1),
  sent: keepEntries(jsonNumber),
});

export function loadNotifyState(value: unknown): NotifyState {
  const parsed = parseSaved(notifyStateSchema, value);
  return parsed.ok ? parsed.value : { version: 1, sent: {} };
}
