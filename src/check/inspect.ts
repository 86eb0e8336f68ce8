// Read: take what the log gained since the checkpoint and recompute spend, windows and
// signals. With `save`, the new checkpoint is written (the caller holds the lock); without it
// nothing is written (status, run --dry-run).
import { type Config, horizonSeconds } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { stormSignal } from '../core/findings/index.js';
import { MAX_LABELS } from '../core/labels.js';
import { assess, type WindowStatus } from '../core/levels.js';
import { dollarsOf } from '../core/money.js';
import { PriceBook } from '../core/prices.js';
import { fieldTable } from '../core/fields.js';
import { LineParser } from '../core/record.js';
import { type Costing, SpendScanner } from '../core/scan.js';
import { readNewLines } from '../effects/log-tail.js';
import { priceLookup } from '../price-table.js';
import { startParallelScan } from '../parallel/index.js';
import { loadCheckpoint, saveCheckpoint, stormSettings } from './checkpoint.js';
import type { CheckResult } from './types.js';

export function inspect(config: Config, nowMs: number, save: boolean): CheckResult {
  const calendar = new DayCalendar(config.timezone);
  const loaded = loadCheckpoint(config, calendar, nowMs);
  const storms = loaded.storms;
  const estimates = config.cost.policy !== 'reported';
  const lookup = priceLookup(config.cost.prices, nowMs, loaded.prices);
  const costing: Costing = {
    policy: config.cost.policy,
    // Under `reported`, prices are still needed for lines that log tokens but no cost.
    prices: new PriceBook(lookup, MAX_LABELS),
    unpricedPerMillion: config.cost.unpricedPerMillion,
    maxLineUsd: config.cost.maxLineUsd,
  };
  const readsTask = config.scopes.some((s) => s.each === 'task' || s.match.some((m) => m.field === 'task'));
  const table = fieldTable(config.fields, {
    labels: true,
    tokens: estimates,
    task: readsTask,
    ...(storms !== null && config.retryStorm !== null
      ? { idsSinceMs: storms.sinceMs, stormKey: config.retryStorm.key }
      : {}),
  });
  const parser = new LineParser(table);
  const scanner = new SpendScanner(
    parser,
    loaded.ledger,
    nowMs,
    loaded.totals,
    loaded.attribution,
    costing,
    storms,
  );
  if (!loaded.scopes.empty) scanner.scopes = loaded.scopes;
  // A whole large log to read: a second thread reads its second part (src/parallel/), scoped
  // budgets included.
  const helper =
    loaded.tail === null
      ? startParallelScan(scanner, lookup, {
          file: config.log,
          nowMs,
          horizonSec: horizonSeconds(config),
          timezone: config.timezone,
          fields: config.fields,
          tokens: estimates,
          stormKey: config.retryStorm?.key ?? null,
          storms: stormSettings(config),
          policy: config.cost.policy,
          unpricedPerMillion: config.cost.unpricedPerMillion,
          maxLineUsd: config.cost.maxLineUsd,
          prices: config.cost.prices,
          priceCache: loaded.prices,
          scopes: config.scopes,
          task: readsTask,
        })
      : null;
  const recordsBefore = loaded.totals.records;
  const zeroBefore = loaded.totals.zero_cost_lines;
  const zeroMicrosBefore = loaded.totals.zero_cost_micros;
  const futureBefore = loaded.totals.future_lines;
  let tail: ReturnType<typeof readNewLines>;
  try {
    tail = readNewLines(config.log, loaded.tail, (name) => scanner.sinkFor(name), nowMs, {
      lastSavedMs: loaded.savedAtMs,
      horizonMs: horizonSeconds(config) * 1000,
    });
  } finally {
    helper?.stop();
  }
  // Anything this check learned must be saved, or the next check learns (and reports) it again:
  // bytes read, a rebuild, a rotation, a malformed line (also one with no new bytes: the cut-off
  // last line of a rotated file), or a rotated file no longer followed.
  const changed =
    tail.bytesRead > 0 ||
    loaded.rebuilt !== null ||
    loaded.clockMoved ||
    tail.notes.length > 0 ||
    scanner.foundCount > 0 ||
    tail.followChanged;
  if (save && changed) saveCheckpoint(config, loaded, tail.state, nowMs);
  const windows = assess(config.windows, loaded.ledger);
  const found = storms?.storms() ?? [];
  const storm = config.retryStorm === null ? null : stormSignal(found, config.retryStorm);
  const signals: WindowStatus[] = storm === null ? [...windows] : [...windows, storm];
  return {
    nowMs,
    windows,
    signals,
    scanThreads: helper?.used === true ? 2 : 1,
    newZeroCost: loaded.totals.zero_cost_lines - zeroBefore,
    newZeroCostUsd: dollarsOf(loaded.totals.zero_cost_micros - zeroMicrosBefore),
    attribution: loaded.attribution,
    totals: loaded.totals,
    newRecords: loaded.totals.records - recordsBefore,
    newMalformed: scanner.foundCount,
    newFuture: loaded.totals.future_lines - futureBefore,
    newMalformedSamples: scanner.found,
    bytesRead: tail.bytesRead,
    rebuilt: loaded.rebuilt,
    notes: tail.notes,
    logError: tail.error,
    log: tail.log === null ? null : { path: config.log, ...tail.log },
    storms: found,
    stormOverflow: storms?.overflow ?? false,
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
    meterStart: { tail: tail.state, prices: loaded.prices },
  };
}
