// A burn rate that will reach the daily limit: both a short and a long window spending faster than
// `factor` times the even pace of that limit. Pure.
import { formatDuration } from '../duration.js';
import type { Level, Limits } from '../levels.js';
import { usd } from '../money.js';
import { type Finding, findingKey } from './finding.js';

export interface BurnFacts {
  shortUsd: number;
  longUsd: number;
  shortMs: number;
  longMs: number;
  factor: number;
  /** The daily limit burnt towards: the kill limit, else emergency, else warn. */
  limit: { level: Level; usd: number } | null;
  today: number;
  nowMs: number;
  /** When the calendar day ends (the daily total starts again). */
  dayEndMs: number;
  /** Local HH:MM of a time, in the daily window's zone. */
  clock: (ms: number) => string;
}

/** The daily limit a burn rate is measured against: kill, else emergency, else warn; null without one. */
export function burnLimit(daily: Limits): { level: Level; usd: number } | null {
  if (daily.kill !== undefined) return { level: 'kill', usd: daily.kill };
  if (daily.emergency !== undefined) return { level: 'emergency', usd: daily.emergency };
  if (daily.warn !== undefined) return { level: 'warn', usd: daily.warn };
  return null;
}

/** The burn-rate verdict: both windows faster than `factor` times the even pace of the daily limit. */
export function burnRate(f: BurnFacts): { finding: Finding; reachMs: number } | null {
  if (f.limit === null || f.limit.usd <= 0 || f.today >= f.limit.usd) return null;
  const pace = f.limit.usd / 86_400_000; // USD per ms spent evenly over a day
  const shortRate = f.shortUsd / f.shortMs;
  const longRate = f.longUsd / f.longMs;
  if (!(shortRate > f.factor * pace && longRate > f.factor * pace)) return null;
  const reachMs = f.nowMs + (f.limit.usd - f.today) / shortRate;
  const times = (shortRate / pace).toFixed(0);
  const when =
    reachMs >= f.dayEndMs
      ? `${f.clock(reachMs)} tomorrow, after the daily total starts again, unless the pace rises`
      : f.clock(reachMs);
  return {
    reachMs,
    finding: {
      key: findingKey('burn-rate'),
      kind: 'burn-rate',
      text:
        `burn rate: ${usd(f.shortUsd)} in the last ${formatDuration(f.shortMs)} and ${usd(f.longUsd)} ` +
        `in the last ${formatDuration(f.longMs)}, ${times}x the even pace of the daily ` +
        `${f.limit.level} limit ${usd(f.limit.usd)}; at this rate the daily ${f.limit.level} limit ` +
        `is reached at ${when} (today so far ${usd(f.today)})`,
    },
  };
}
