// `limits.balance`: a prepaid balance. Spend counted from `since` (inclusive) against `usd` (plus
// the top-ups recorded with `cost-watchdog balance --add`), with warn / emergency / kill as a share
// of the balance (`80%`) or an amount spent (`40`, in the limits' currency like `usd`).
import * as z from 'zod';
import { epochToMs, parseTimeString } from '../../core/timestamp.js';
import { describe } from '../messages.js';

/** A level of the balance: a share of the balance (0 < share <= 1), or an amount spent (USD). */
export type BalanceLevel = { share: number } | { usd: number };

export interface BalanceSpec {
  /** Spend from this instant (epoch ms, inclusive) counts against the balance. */
  sinceMs: number;
  /** As written in the config (for messages). */
  sinceText: string;
  /** The prepaid balance, USD (converted from the limits' currency). */
  usd: number;
  warn: BalanceLevel | null;
  emergency: BalanceLevel | null;
  kill: BalanceLevel | null;
}

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

const since = z
  .union([z.string(), z.number(), z.date()], {
    error: (issue) =>
      `expected a time like "2026-01-27T09:00:00Z" (ISO 8601; no zone = UTC), got ${describe(issue.input)}`,
  })
  .transform((value, ctx) => {
    const ms =
      value instanceof Date
        ? value.getTime()
        : typeof value === 'number'
          ? Number.isFinite(value) && value > 0
            ? epochToMs(value)
            : Number.NaN
          : parseTimeString(value.trim());
    if (!Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message:
          `expected a time like "2026-01-27T09:00:00Z" (ISO 8601; no zone = UTC), got ` + describe(value),
      });
      return z.NEVER;
    }
    const text = value instanceof Date ? value.toISOString() : String(value);
    return { ms, text };
  });

const balanceUsd = z
  .number({ error: 'expected the prepaid balance, a number (in the limits currency, USD by default)' })
  .gt(0, { error: (issue) => `expected a balance above 0, got ${describe(issue.input)}` })
  .max(1e9, { error: 'expected a balance of at most 1000000000' });

const level = z
  .union([z.number(), z.string()], {
    error: (issue) =>
      `expected a share of the balance like "80%", or an amount spent like 40, got ${describe(issue.input)}`,
  })
  .transform((value, ctx): BalanceLevel => {
    if (typeof value === 'number') {
      if (!(value >= 0.000001 && value <= 1e9)) {
        ctx.addIssue({
          code: 'custom',
          message:
            `expected an amount spent from 0.000001 to 1000000000, or a share like "80%", got ` +
            `${describe(value)}`,
        });
        return z.NEVER;
      }
      return { usd: value };
    }
    const match = PERCENT.exec(value.trim());
    const percent = match === null ? Number.NaN : Number(match[1]);
    if (!(percent > 0 && percent <= 100)) {
      ctx.addIssue({
        code: 'custom',
        message:
          `expected a share of the balance above "0%" and up to "100%", or an amount spent like 40, ` +
          `got ${describe(value)}`,
      });
      return z.NEVER;
    }
    return { share: percent / 100 };
  });

export const balanceSchema = z
  .strictObject(
    {
      since,
      usd: balanceUsd,
      warn: level.optional(),
      emergency: level.optional(),
      kill: level.optional(),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a mapping like `{ since: "2026-01-27T09:00:00Z", usd: 50, warn: 80%, ' +
            'emergency: 90%, kill: 95% }`'
          : undefined,
    },
  )
  .superRefine((raw, ctx) => {
    const set = (['warn', 'emergency', 'kill'] as const).filter((name) => raw[name] !== undefined);
    if (set.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'set at least one of warn, emergency, kill' });
      return;
    }
    const spent = (name: (typeof set)[number]): number => spentAt(raw[name] as BalanceLevel, raw.usd);
    for (let i = 1; i < set.length; i++) {
      const lower = set[i - 1] as (typeof set)[number];
      const higher = set[i] as (typeof set)[number];
      if (spent(lower) > spent(higher))
        ctx.addIssue({
          code: 'custom',
          message:
            `${lower} (${levelText(raw[lower] as BalanceLevel)}) is above ${higher} ` +
            `(${levelText(raw[higher] as BalanceLevel)}) of a balance of ${raw.usd}: expected warn <= ` +
            `emergency <= kill`,
        });
    }
  });

export type RawBalance = z.output<typeof balanceSchema>;

/** The spend at which a level is reached, for a balance of `total`. */
function spentAt(level: BalanceLevel, total: number): number {
  return 'share' in level ? level.share * total : level.usd;
}

function levelText(level: BalanceLevel): string {
  return 'share' in level ? `${Math.round(level.share * 1e6) / 1e4}%` : String(level.usd);
}

/** The balance as configured, amounts converted to USD at `rate` (the limits' currency). */
export function resolveBalance(raw: RawBalance | undefined, rate: number): BalanceSpec | null {
  if (raw === undefined) return null;
  const convert = (level: BalanceLevel | undefined): BalanceLevel | null =>
    level === undefined ? null : 'share' in level ? level : { usd: toUsd(level.usd, rate) };
  return {
    sinceMs: raw.since.ms,
    sinceText: raw.since.text,
    usd: toUsd(raw.usd, rate),
    warn: convert(raw.warn),
    emergency: convert(raw.emergency),
    kill: convert(raw.kill),
  };
}

/** An amount in the limits' currency, in USD rounded to the micro-dollar. */
export function toUsd(amount: number, rate: number): number {
  return rate === 1 ? amount : Math.round(amount * rate * 1e6) / 1e6;
}
