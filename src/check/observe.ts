// What a check sees besides spend against limits: the app's state file against the watchdog's
// figures, retry storms, the burn rate, a silent log while the app runs, clocks that disagree,
// models without a price. The effects (reading the state file, listing processes) are here; the
// rules are in core/findings/. Used by every check (to alert) and by `status` (to show).
import type { Config } from '../config/index.js';
import { appView } from '../core/app-state.js';
import { DayCalendar, isUtc } from '../core/calendar.js';
import {
  type AppStateView,
  appFindings,
  burnLimit,
  burnRate,
  clockFindings,
  type Finding,
  silentLog,
  shapeStormFindings,
  stormFindings,
  currencyFindings,
  unpricedFindings,
  zeroCostFinding,
} from '../core/findings/index.js';
import type { Level } from '../core/levels.js';
import { dollarsOf } from '../core/money.js';
import { MAX_TRACKED_IDS } from '../core/storms.js';
import { readAppState } from '../effects/app-state.js';
import { findTarget, type TargetFinding } from '../effects/target.js';
import { priceTableProblem } from '../price-table.js';
import type { CheckResult, Observation } from './types.js';

/** HH:MM in the daily window's zone, with the zone named. */
function clockIn(timeZone: string): (ms: number) => string {
  if (isUtc(timeZone)) return (ms) => `${new Date(ms).toISOString().slice(11, 16)} UTC`;
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return (ms) => `${format.format(ms)} ${timeZone}`;
}

/**
 * Everything found in one check's figures. `level` is the level the check acts at (for an app
 * that says it is not in emergency while the watchdog is); `target` is reused when the check
 * already looked for the target.
 */
export async function observe(
  config: Config,
  result: CheckResult,
  level: Level,
  target: TargetFinding | null = null,
): Promise<Observation> {
  const nowMs = result.nowMs;
  const findings: Finding[] = [];
  const logWrittenMs = result.log?.mtimeMs ?? null;

  const noTable =
    config.cost.policy === 'reported' && result.totals.uncosted_lines === 0 ? null : priceTableProblem();
  if (noTable !== null)
    findings.push({
      key: 'price-table',
      kind: 'price-table',
      text: `${noTable}: every model counts at cost.unpriced_per_million_tokens`,
    });
  findings.push(...unpricedFindings(result.totals.unpriced, config.cost.unpricedPerMillion, nowMs));
  findings.push(...currencyFindings(result.totals.unrated, nowMs));
  if (result.balanceFileProblem !== null)
    findings.push({ key: 'balance:file', kind: 'balance', text: result.balanceFileProblem });
  const zero = zeroCostFinding(result.newZeroCost, result.newZeroCostUsd);
  if (zero !== null) findings.push(zero);

  let app: AppStateView | null = null;
  if (config.stateFile !== null) {
    const windows = new Map(result.windows.map((w) => [w.name, w]));
    app = appView(
      config.stateFile,
      readAppState(config.stateFile),
      config.appState,
      (name, atMs) => {
        const w = windows.get(name);
        if (w === undefined) return null;
        const micros =
          w.seconds === null ? result.ledger.todayAt(atMs) : result.ledger.rollingAt(w.seconds, atMs);
        return micros === null ? null : dollarsOf(micros);
      },
      nowMs,
    );
    findings.push(...appFindings(app, config.appState, logWrittenMs, level));
  }

  if (config.retryStorm !== null)
    findings.push(
      ...stormFindings(
        result.storms,
        config.retryStorm.key,
        config.retryStorm.windowMs,
        result.stormOverflow,
        MAX_TRACKED_IDS,
      ),
    );

  if (config.shapeStorm !== null)
    findings.push(
      ...shapeStormFindings(
        result.shapeStorms,
        config.shapeStorm.windowMs,
        result.shapeOverflow,
        MAX_TRACKED_IDS,
      ),
    );

  let burnReachMs: number | null = null;
  const daily = result.windows.find((w) => w.seconds === null);
  if (config.burnRate !== null && result.burn !== null && daily !== undefined) {
    const limit = burnLimit(daily.limits);
    const burn = burnRate({
      shortUsd: result.burn.shortUsd,
      longUsd: result.burn.longUsd,
      shortMs: config.burnRate.shortMs,
      longMs: config.burnRate.longMs,
      factor: config.burnRate.factor,
      limit,
      today: daily.spend,
      nowMs,
      dayEndMs: new DayCalendar(config.timezone).dayOf(nowMs).endMs,
      clock: clockIn(config.timezone),
    });
    if (burn !== null) {
      findings.push(burn.finding);
      burnReachMs = burn.reachMs;
    }
  }

  // Only a log quiet for longer than silence.after makes it worth listing processes.
  let seen = target;
  if (
    config.silenceAfterMs !== null &&
    logWrittenMs !== null &&
    nowMs - logWrittenMs >= config.silenceAfterMs
  ) {
    seen ??= await findTarget(config);
    const silent = silentLog(seen.running, logWrittenMs, nowMs, config.silenceAfterMs, config.log);
    if (silent !== null) findings.push(silent);
  }

  for (const glob of result.emptyGlobs)
    findings.push({
      key: `glob-empty:${glob}`,
      kind: 'glob-empty',
      text: `the log glob ${glob} matches no file: nothing from it is counted until a file matches`,
    });

  findings.push(
    ...clockFindings(result.newFuture, result.totals.newest_ms, logWrittenMs, result.log?.size ?? 0),
  );
  // The second witness: a provider that cannot be read, its clock, the price table's daily check.
  if (result.reconcile !== null) findings.push(...result.reconcile.findings);
  return { app, findings, burnReachMs, target: seen };
}
