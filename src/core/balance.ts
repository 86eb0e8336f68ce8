// A prepaid balance (limits.balance) at one instant: the spend counted from `since`, the balance
// (the configured `usd` plus the top-ups recorded from `since` on), the limits that makes, the
// level, what is left and, at the burn rate of the last minutes, when it runs out. Pure, in
// whole micro-dollars (core/money.ts) like every window.
import type { BalanceLevel, BalanceSpec } from '../config/sections/balance.js';
import { levelOfMicros, type WindowStatus } from './levels.js';
import { dollarsOf, toMicros, usd } from './money.js';
import type { Limits } from './types.js';

/** The burn rate that says when the balance runs out: spend over this many last minutes. */
export const BALANCE_BURN_MS = 15 * 60_000;

/** The name of the balance among the windows (status --json `windows.balance`, alerts, metrics). */
export const BALANCE_WINDOW = 'balance';

export interface BalanceFacts {
  spec: BalanceSpec;
  /** Spend (µ$) of the lines dated from `since` on. */
  spendMicros: number;
  /** The top-ups recorded, [epoch ms, USD]: those from `since` on count. */
  topUps: readonly { atMs: number; usd: number }[];
  /** Spend (µ$) over the last BALANCE_BURN_MS (or since `since`, when that is later). */
  burnMicros: number;
  /** The earliest line time counted (null: no line yet). */
  firstLineMs: number | null;
  nowMs: number;
}

export interface BalanceStatus {
  /** As a window: name `balance`, its limits in USD, the spend, the level. */
  window: WindowStatus;
  sinceMs: number;
  /** The configured balance, plus the top-ups: what the limits are shares of. */
  balanceUsd: number;
  topUpsUsd: number;
  topUpsCounted: number;
  /** The balance less the spend (negative once it is overspent). */
  leftUsd: number;
  /** When it runs out at the burn rate of the last minutes; null when not burning or already out. */
  runsOutAtMs: number | null;
  /** USD an hour over those minutes. */
  burnUsdPerHour: number;
  /** The log begins after `since`: spend before its first line is not known (null: it does not). */
  logStartsMs: number | null;
}

/** The spend (µ$) at which a level is reached, for a balance of `totalMicros` and top-ups of `upMicros`. */
export function levelMicros(level: BalanceLevel, totalMicros: number, upMicros: number): number {
  return 'share' in level ? Math.round(level.share * totalMicros) : toMicros(level.usd) + upMicros;
}

export function balanceStatus(facts: BalanceFacts): BalanceStatus {
  const { spec, spendMicros, nowMs } = facts;
  let upMicros = 0;
  let counted = 0;
  for (const t of facts.topUps)
    if (t.atMs >= spec.sinceMs) {
      upMicros += toMicros(t.usd);
      counted++;
    }
  const totalMicros = toMicros(spec.usd) + upMicros;
  const limits: Limits = {};
  for (const name of ['warn', 'emergency', 'kill'] as const) {
    const level = spec[name];
    if (level !== null) limits[name] = dollarsOf(levelMicros(level, totalMicros, upMicros));
  }
  const leftMicros = totalMicros - spendMicros;
  const spanMs = Math.min(BALANCE_BURN_MS, Math.max(0, nowMs - spec.sinceMs));
  const perMs = spanMs > 0 ? facts.burnMicros / spanMs : 0;
  const runsOutAtMs = perMs > 0 && leftMicros > 0 ? Math.round(nowMs + leftMicros / perMs) : null;
  return {
    window: {
      name: BALANCE_WINDOW,
      seconds: null,
      limits,
      spend: dollarsOf(spendMicros),
      level: levelOfMicros(spendMicros, limits),
    },
    sinceMs: spec.sinceMs,
    balanceUsd: dollarsOf(totalMicros),
    topUpsUsd: dollarsOf(upMicros),
    topUpsCounted: counted,
    leftUsd: dollarsOf(leftMicros),
    runsOutAtMs,
    burnUsdPerHour: dollarsOf(Math.round(perMs * 3_600_000)),
    logStartsMs: facts.firstLineMs !== null && facts.firstLineMs > spec.sinceMs ? facts.firstLineMs : null,
  };
}

/**
 * What is left, in words, for status and alerts: `$4.90 left of $50.00 (with $20.00 of top-ups)
 * since 2026-01-27T09:00:00.000Z; at $12.00/h it runs out at 2026-01-27T09:24:30.000Z`.
 */
export function balanceWords(b: BalanceStatus, withLogStart = false): string {
  const of = `of ${usd(b.balanceUsd)}${b.topUpsUsd > 0 ? ` (with ${usd(b.topUpsUsd)} of top-ups)` : ''}`;
  const left = b.leftUsd < 0 ? `overspent by ${usd(-b.leftUsd)} ${of}` : `${usd(b.leftUsd)} left ${of}`;
  const since = ` since ${new Date(b.sinceMs).toISOString()}`;
  const when =
    b.runsOutAtMs !== null
      ? `; at ${usd(b.burnUsdPerHour)}/h it runs out at ${new Date(b.runsOutAtMs).toISOString()}`
      : b.leftUsd > 0
        ? '; not burning (nothing spent in the last 15 minutes)'
        : '';
  const before =
    b.logStartsMs === null || !withLogStart
      ? ''
      : `; the log begins at ${new Date(b.logStartsMs).toISOString()}, spend before it is not known`;
  return `${left}${since}${when}${before}`;
}

/** The windows with the balance's among them (after the others), as alerts and the audit log list them. */
export function withBalance<W extends { name: string; spend: number; level: string }>(
  windows: readonly W[],
  balance: { window: W } | null,
): W[] {
  return balance === null ? [...windows] : [...windows, balance.window];
}

/** The balance as configured, in words (validate): `$50.00 since ...: warn 80%, kill $48.00`. */
export function balanceSpecText(spec: BalanceSpec): string {
  const levels = (['warn', 'emergency', 'kill'] as const)
    .filter((name) => spec[name] !== null)
    .map((name) => {
      const level = spec[name] as BalanceLevel;
      const text = 'share' in level ? `${Math.round(level.share * 1e6) / 1e4}%` : `${usd(level.usd)} spent`;
      return `${name} ${text}`;
    });
  return (
    `${usd(spec.usd)} since ${new Date(spec.sinceMs).toISOString()} (plus the top-ups of balance ` +
    `--add): ${levels.join(', ')}`
  );
}
