// `heartbeat`: how old the last check may be before check-heartbeat alerts, and a URL pinged after
// each check (a dead-man's switch outside this host).
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import { describe } from '../messages.js';
import { positiveDuration } from '../primitives.js';

export const heartbeatSchema = z
  .strictObject({
    // 0s would call every heartbeat stale: check-heartbeat would alert forever.
    max_age: positiveDuration.default('5m'),
    ping_url: z
      .string({ error: 'expected an http(s) URL' })
      .refine((url) => /^https?:\/\/\S+$/i.test(url), {
        error: (issue) => `expected an http(s) URL, got ${describe(issue.input)}`,
      })
      .optional(),
  })
  .default({ max_age: '5m' });

export interface HeartbeatConfig {
  maxAgeMs: number;
  pingUrl: string | null;
}

export function resolveHeartbeat(raw: z.output<typeof heartbeatSchema>): HeartbeatConfig {
  return { maxAgeMs: parseDuration(raw.max_age) as number, pingUrl: raw.ping_url ?? null };
}
