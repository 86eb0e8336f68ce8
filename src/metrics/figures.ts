// What the metrics of one check say, taken from the config and the check's outcome: what the
// check adds to the counters, and the figures the exposition is rendered from. Pure.
import type { CheckOutcome } from '../check/types.js';
import type { Config } from '../config/index.js';
import { VERSION } from '../version.js';
import { type CheckCounts, type Counters, killDidSomething } from './counters.js';
import type { MetricsFigures, WindowFigure } from './render.js';
import type { AlertResult } from './tally.js';

export interface CheckTimes {
  startedMs: number;
  finishedMs: number;
  ok: boolean;
}

type Outcome = Pick<
  CheckOutcome,
  | 'newRecords'
  | 'newMalformed'
  | 'newFuture'
  | 'kill'
  | 'scopeActions'
  | 'windows'
  | 'balance'
  | 'flag'
  | 'scopes'
  | 'fleet'
  | 'reconcile'
>;

/** What a check adds: its new lines, its kills (the main target's and scopes'), its alerts (drained). */
export function checkCounts(
  outcome: Outcome,
  ok: boolean,
  alerts: readonly (readonly [string, AlertResult, number])[],
): CheckCounts {
  let kills = killDidSomething(outcome.kill) ? 1 : 0;
  for (const action of outcome.scopeActions) if (killDidSomething(action.kill)) kills++;
  return {
    records: outcome.newRecords,
    malformed: outcome.newMalformed,
    future: outcome.newFuture,
    kills,
    ok,
    alerts,
  };
}

/** A scope instance's key as one label value: `agent=research`; "" for a scope without each. */
export function scopeKeyText(key: Record<string, string>): string {
  return Object.keys(key)
    .sort()
    .map((field) => `${field}=${key[field]}`)
    .join(',');
}

function windowFigure(w: { name: string; spend: number; level: WindowFigure['level'] }): WindowFigure {
  return { name: w.name, spendUsd: w.spend, level: w.level };
}

export function metricsFigures(
  config: Pick<Config, 'scopes' | 'fleet'>,
  outcome: Outcome,
  times: CheckTimes,
  counters: Counters,
): MetricsFigures {
  const fleet = config.fleet;
  return {
    version: VERSION,
    windows: [...outcome.windows, ...(outcome.balance === null ? [] : [outcome.balance.window])].map((w) => ({
      ...windowFigure(w),
      limits: w.limits,
    })),
    balance:
      outcome.balance === null
        ? null
        : {
            balanceUsd: outcome.balance.balanceUsd,
            leftUsd: outcome.balance.leftUsd,
            runsOutAtMs: outcome.balance.runsOutAtMs,
          },
    emergencyActive: outcome.flag.kind === 'written' || outcome.flag.kind === 'exists',
    lastCheck: {
      atMs: times.finishedMs,
      durationMs: Math.max(0, times.finishedMs - times.startedMs),
      ok: times.ok,
    },
    counters,
    scopes:
      config.scopes.length === 0
        ? null
        : {
            limits: config.scopes.flatMap((s) =>
              s.windows.map((w) => ({ scope: s.name, window: w.name, limits: w.limits })),
            ),
            instances: outcome.scopes.map((s) => ({
              scope: s.name,
              key: scopeKeyText(s.key),
              windows: s.windows.map(windowFigure),
            })),
          },
    fleet:
      fleet === null
        ? null
        : {
            reachable: outcome.fleet?.reachable === true,
            windows: outcome.fleet?.reachable === true ? outcome.fleet.windows.map(windowFigure) : [],
            limits: fleet.windows.map((w) => ({ window: w.name, limits: w.limits })),
          },
    reconcile:
      outcome.reconcile == null
        ? null
        : Object.entries(outcome.reconcile.entries).map(([name, e]) => ({
            provider: name,
            type: e.type,
            lastMinuteMs: e.last_minute === null ? null : Date.parse(e.last_minute),
            providerUsd: e.provider_usd,
            loggedUsd: e.logged_usd,
            unloggedUsd: e.unlogged_usd,
            lagSeconds: e.lag_seconds,
            level: e.level,
            up: e.error === null && e.read_at !== null,
          })),
  };
}
