// The prepaid balance's top-ups (limits.balance), in the state folder's balance.json: each one
// recorded by `cost-watchdog balance --add`, never by editing the config. Written atomically under
// the state lock; read at every check. A file that cannot be read as written is said loudly and its
// top-ups are not counted (the balance is then the configured `usd` alone: limits come sooner,
// never later), and `balance --add` refuses to write over it (nothing recorded is lost).
import * as z from 'zod';
import { parseSaved } from '../core/saved/parse.js';
import { balanceFile } from './state-paths.js';
import { readJson, writeJsonAtomic } from './store.js';

export interface TopUp {
  /** When it was recorded (epoch ms). */
  atMs: number;
  /** The amount in USD, as counted (converted from `currency` at the configured rate). */
  usd: number;
  /** As given, in `currency` (the limits' currency). */
  amount: number;
  currency: string;
  reason: string;
  /** Who recorded it (user@host). */
  by: string;
}

export type TopUpsRead = { ok: true; topUps: TopUp[] } | { ok: false; file: string; problem: string };

const topUpSchema = z.object({
  at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 time'),
  usd: z.number().positive().max(1e9),
  amount: z.number().positive(),
  currency: z.string(),
  reason: z.string(),
  by: z.string(),
});

const fileSchema = z.object({ version: z.literal(1), top_ups: z.array(topUpSchema) });

/** The top-ups recorded so far (none when the file does not exist yet). */
export function readTopUps(stateDir: string): TopUpsRead {
  const file = balanceFile(stateDir);
  const read = readJson(file);
  if (read.kind === 'missing') return { ok: true, topUps: [] };
  if (read.kind === 'corrupt') return { ok: false, file, problem: read.reason };
  const parsed = parseSaved(fileSchema, read.value);
  if (!parsed.ok) return { ok: false, file, problem: `bad field "${parsed.field}": ${parsed.problem}` };
  return {
    ok: true,
    topUps: parsed.value.top_ups.map((t) => ({
      atMs: Date.parse(t.at),
      usd: t.usd,
      amount: t.amount,
      currency: t.currency,
      reason: t.reason,
      by: t.by,
    })),
  };
}

/** Record one more top-up (the caller holds the state lock and has read the file as ok). */
export function writeTopUps(stateDir: string, topUps: readonly TopUp[]): void {
  writeJsonAtomic(balanceFile(stateDir), {
    version: 1,
    top_ups: topUps.map((t) => ({
      at: new Date(t.atMs).toISOString(),
      usd: t.usd,
      amount: t.amount,
      currency: t.currency,
      reason: t.reason,
      by: t.by,
    })),
  });
}
