// Read: take what the log gained since the checkpoint and recompute spend, windows and
// signals. With `save`, the new checkpoint is written (the caller holds the lock); without it
// nothing is written (status, run --dry-run).
import { type Config, horizonSeconds } from '../config/index.js';
import type { BalanceSpec } from '../config/sections/balance.js';
import { BALANCE_BURN_MS, type BalanceStatus, balanceStatus } from '../core/balance.js';
import { DayCalendar } from '../core/calendar.js';
import type { Ledger } from '../core/ledger.js';
import { readTopUps, type TopUpsRead } from '../effects/balance-store.js';
import { shapeStormSignal, stormSignal } from '../core/findings/index.js';
import { MAX_LABELS } from '../core/labels.js';
import { assess, type WindowStatus } from '../core/levels.js';
import { dollarsOf } from '../core/money.js';
import { PriceBook } from '../core/prices.js';
import { type Costing, SpendScanner } from '../core/scan.js';
import { priceLookup } from '../price-table.js';
import { startParallelScan } from '../parallel/index.js';
import { listSources } from '../sources/list.js';
import { isSingleLog, readSources } from '../sources/read.js';
import { SourceSinks } from '../sources/sinks.js';
import { loadCheckpoint, saveCheckpoint, shapeSettings, stormSettings } from './checkpoint.js';
import { forgetPlaces, PlaceDamaged } from './places.js';
import { readReconcileState } from '../reconcile/state.js';
import { reconcileView } from '../reconcile/view.js';
import type { CheckResult } from './types.js';

export function inspect(config: Config, nowMs: number, save: boolean): CheckResult {
  const { result, commit } = inspectDeferred(config, nowMs);
  if (save) commit();
  return result;
}

/**
 * inspect, with the checkpoint saved only when `commit` is called: the fleet's push goes between
 * the two (a push is idempotent, so a crash after it re-reads and re-pushes the same values; a
 * checkpoint saved before a push that never happened would lose that spend from the fleet).
 */
export function inspectDeferred(config: Config, nowMs: number): { result: CheckResult; commit: () => void } {
  try {
    return inspectFrom(config, nowMs, null);
  } catch (error) {
    if (!(error instanceof PlaceDamaged)) throw error;
    forgetPlaces();
    return inspectFrom(config, nowMs, `${error.message}: rebuilt from the log`);
  }
}

/**
 * The balance now: its spend, the top-ups recorded (or why they cannot be read), the burn rate.
 * `topUps`: these instead of balance.json's (`balance --add`, with the one it records).
 */
export function balanceOf(
  config: Config,
  spec: BalanceSpec,
  ledger: Ledger,
  nowMs: number,
  topUps: TopUpsRead = readTopUps(config.stateDir),
): { status: BalanceStatus; problem: string | null } {
  const read = topUps;
  const from = Math.max(nowMs - BALANCE_BURN_MS, spec.sinceMs);
  let burnMicros = 0;
  if (from < nowMs) for (const [, micros] of ledger.perMinute(from, nowMs)) burnMicros += micros;
  const status = balanceStatus({
    spec,
    spendMicros: ledger.balanceSpend(),
    topUps: read.ok ? read.topUps : [],
    burnMicros,
    firstLineMs: ledger.firstLineMs(),
    nowMs,
  });
  return {
    status,
    problem: read.ok
      ? null
      : `${read.file} cannot be read (${read.problem}): its top-ups are not counted, the balance is ` +
        `limits.balance.usd alone until it is fixed or moved away`,
  };
}

function inspectFrom(
  config: Config,
  nowMs: number,
  rebuild: string | null,
): { result: CheckResult; commit: () => void } {
  const calendar = new DayCalendar(config.timezone);
  const loaded = loadCheckpoint(config, calendar, nowMs, rebuild);
  // The fleet is told what this read changed: the seconds and days as they were before it.
  const mark = config.fleet === null ? null : loaded.ledger.mark();
  const storms = loaded.storms;
  const estimates = config.cost.policy !== 'reported';
  const lookup = priceLookup(config.cost.prices, nowMs, loaded.prices);
  const costing: Costing = {
    policy: config.cost.policy,
    // Under `reported`, prices are still needed for lines that log tokens but no cost.
    prices: new PriceBook(lookup, MAX_LABELS),
    unpricedPerMillion: config.cost.unpricedPerMillion,
    maxLineUsd: config.cost.maxLineUsd,
    currencyRates: config.cost.currencyRates,
  };
  const readsTask = config.scopes.some((s) => s.each === 'task' || s.match.some((m) => m.field === 'task'));
  const shapes = loaded.shapes;
  const tableOptions = {
    labels: true,
    tokens: estimates,
    task: readsTask,
    ...(storms !== null && config.retryStorm !== null
      ? { idsSinceMs: storms.sinceMs, stormKey: config.retryStorm.key }
      : {}),
    // Ids are read back as far as either window reaches: a line without one is a shape.
    ...(shapes !== null
      ? {
          shapes: true,
          shapesWithIds: config.shapeStorm?.withIds === true,
          idsSinceMs: Math.min(shapes.sinceMs, storms?.sinceMs ?? Infinity),
        }
      : {}),
  };
  const sinks = new SourceSinks(tableOptions, loaded.dedupe);
  loaded.dedupe.forget(nowMs);
  const scanner = new SpendScanner(
    sinks.parserFor(config.sources[0]!),
    loaded.ledger,
    nowMs,
    loaded.totals,
    loaded.attribution,
    costing,
    storms,
  );
  sinks.countInto(scanner);
  if (!loaded.scopes.empty) scanner.scopes = loaded.scopes;
  scanner.shapes = shapes;
  scanner.sourceTops = !isSingleLog(config);
  const recordsBefore = loaded.totals.records;
  const zeroBefore = loaded.totals.zero_cost_lines;
  const zeroMicrosBefore = loaded.totals.zero_cost_micros;
  const futureBefore = loaded.totals.future_lines;
  let threads = 1;
  const listing = listSources(config);
  const read = readSources(
    config,
    listing,
    loaded.files,
    scanner,
    {
      sinkFor: (spec, _file, name) => sinks.sinkFor(spec, name),
      // A whole large log to read: a second thread reads its second part (src/parallel/).
      // (One log only: the helper thread counts no source, and many files are small.)
      whole: (file) => {
        if (file.spec.format !== 'jsonl' || !isSingleLog(config)) return null;
        scanner.use(sinks.parserFor(file.spec));
        const helper = startParallelScan(scanner, lookup, {
          file: file.path,
          nowMs,
          horizonSec: horizonSeconds(config),
          balanceSinceMs: config.balance?.sinceMs ?? null,
          timezone: config.timezone,
          fields: file.spec.fields,
          tokens: estimates,
          stormKey: config.retryStorm?.key ?? null,
          storms: stormSettings(config),
          shapes: shapeSettings(config),
          policy: config.cost.policy,
          unpricedPerMillion: config.cost.unpricedPerMillion,
          maxLineUsd: config.cost.maxLineUsd,
          currencyRates: config.cost.currencyRates,
          prices: config.cost.prices,
          priceCache: loaded.prices,
          scopes: config.scopes,
          task: readsTask,
          source: file.source,
        });
        if (helper === null) return null;
        return {
          stop: () => {
            helper.stop();
            if (helper.used) threads = 2;
          },
        };
      },
    },
    { nowMs, savedAtMs: loaded.savedAtMs, horizonMs: horizonSeconds(config) * 1000 },
  );
  // Anything this check learned must be saved, or the next check learns (and reports) it again:
  // bytes read, a rebuild, a rotation, a malformed line (also one with no new bytes: the cut-off
  // last line of a rotated file), a file dropped or a rotated file no longer followed.
  const changed =
    read.bytesRead > 0 ||
    loaded.rebuilt !== null ||
    loaded.clockMoved ||
    read.changed ||
    scanner.foundCount > 0 ||
    read.files.size !== loaded.files.size;
  const commit = (): void => {
    if (changed) saveCheckpoint(config, loaded, read.files, nowMs);
  };
  const windows = assess(config.windows, loaded.ledger);
  const balance = config.balance === null ? null : balanceOf(config, config.balance, loaded.ledger, nowMs);
  // Said once: when the log is read from its start (the first check, a new or moved since).
  if (balance?.status.logStartsMs != null && loaded.rebuilt !== null)
    read.notes.push(
      `limits.balance.since is ${new Date(balance.status.sinceMs).toISOString()} but the log begins at ` +
        `${new Date(balance.status.logStartsMs).toISOString()}: spend before its first line is not in ` +
        `the log and not counted against the balance`,
    );
  const found = storms?.storms() ?? [];
  const storm = config.retryStorm === null ? null : stormSignal(found, config.retryStorm);
  const shapeFound = shapes?.storms() ?? [];
  const shapeStorm = config.shapeStorm === null ? null : shapeStormSignal(shapeFound, config.shapeStorm);
  const signals: WindowStatus[] = [
    ...windows,
    ...(balance === null ? [] : [balance.status.window]),
    ...(storm === null ? [] : [storm]),
    ...(shapeStorm === null ? [] : [shapeStorm]),
  ];
  // The providers' last reads against the logs as now counted: unlogged spend acts like a window.
  const reconcile =
    config.reconcile === null
      ? null
      : reconcileView(
          config,
          readReconcileState(config.stateDir),
          loaded.ledger,
          loaded.attribution,
          lookup,
          nowMs,
        );
  if (reconcile !== null) signals.push(...reconcile.signals);
  const result: CheckResult = {
    nowMs,
    windows,
    balance: balance?.status ?? null,
    balanceFileProblem: balance?.problem ?? null,
    signals,
    scanThreads: threads,
    newZeroCost: loaded.totals.zero_cost_lines - zeroBefore,
    newZeroCostUsd: dollarsOf(loaded.totals.zero_cost_micros - zeroMicrosBefore),
    attribution: loaded.attribution,
    totals: loaded.totals,
    newRecords: loaded.totals.records - recordsBefore,
    newMalformed: scanner.foundCount,
    newFuture: loaded.totals.future_lines - futureBefore,
    newMalformedSamples: scanner.found,
    bytesRead: read.bytesRead,
    rebuilt: loaded.rebuilt,
    notes: read.notes,
    logError: read.errors.length === 0 ? null : read.errors.join('; '),
    log:
      read.files.size === 0 ? null : { path: config.log, size: read.totalSize, mtimeMs: read.newestMtimeMs },
    sources: read.reports,
    emptyGlobs: listing.empty,
    storms: found,
    stormOverflow: storms?.overflow ?? false,
    shapeStorms: shapeFound,
    shapeOverflow: shapes?.overflow ?? false,
    newestReadMs: scanner.newestReadMs,
    burn:
      config.burnRate === null
        ? null
        : {
            shortUsd: dollarsOf(loaded.ledger.rolling(Math.round(config.burnRate.shortMs / 1000))),
            longUsd: dollarsOf(loaded.ledger.rolling(Math.round(config.burnRate.longMs / 1000))),
          },
    ledger: loaded.ledger,
    scopes: loaded.scopes.statuses(),
    scopeValues: loaded.scopes.valueCounts(),
    scopeStatus: (name, value) => loaded.scopes.status(name, value),
    scopesOverflowed: [...loaded.scopes.overflowed],
    meterStart: { files: read.files, prices: loaded.prices, dedupe: loaded.dedupe },
    fleetChanges:
      mark === null
        ? null
        : loaded.ledger.changesSince(mark, Math.floor(nowMs / 1000) - horizonSeconds(config)),
    fleet: null,
    reconcile,
  };
  return { result, commit };
}
