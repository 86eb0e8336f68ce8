// What the log gains during a kill's grace period, so that a target that ignores SIGTERM and goes
// on spending gets SIGKILL at once instead of billing for the whole grace (target.grace_spend).
//
// The check has just saved its checkpoint when it decides to kill; the meter starts from that
// very place (a copy of the cursors, in memory) and on each poll reads only the bytes the log
// gained since, with the check's line parser and cost policy, rotation-aware like any read.
// It writes nothing and needs no lock of its own.
import { type Config, horizonSeconds } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { MAX_LABELS } from '../core/labels.js';
import { Ledger } from '../core/ledger.js';
import { PriceBook } from '../core/prices.js';
import { newTotals, SpendScanner } from '../core/scan.js';
import { type PriceCache, priceLookup } from '../price-table.js';
import { listSources } from '../sources/list.js';
import type { DedupeSet } from '../sources/dedupe.js';
import { readSources } from '../sources/read.js';
import { SourceSinks } from '../sources/sinks.js';
import { copyTail, type FileState } from './places.js';

/** A ledger that only sums what it is given, in micro-dollars: no windows, no days. */
class SumLedger extends Ledger {
  micro = 0;
  constructor(nowMs: number) {
    super(1, new DayCalendar('UTC'), nowMs);
  }

  override add(_timeMs: number, cost: number): void {
    this.micro += cost; // the scanner hands whole µ$ (core/money.ts)
  }
}

export interface GraceMeter {
  /** Micro-dollars the log gained since the kill decision; null when it cannot be told. */
  spentMicro(): number | null;
}

/** Where the check left the logs, and the prices it used: all a meter needs to start. */
export interface MeterStart {
  files: ReadonlyMap<string, FileState>;
  prices: PriceCache;
  dedupe: DedupeSet;
}

export function graceMeter(config: Config, start: MeterStart, nowMs: number = Date.now()): GraceMeter {
  // No place in the logs to start from (none was there): nothing can be measured.
  if (start.files.size === 0) return { spentMicro: () => null };
  let files = new Map(
    [...start.files].map(([file, state]) => [file, { ...state, tail: copyTail(state.tail) }]),
  );
  const ledger = new SumLedger(nowMs);
  const estimates = config.cost.policy !== 'reported';
  // The check's calls counted already (it has saved them): a copy of one is not spend again.
  const sinks = new SourceSinks({ labels: true, tokens: estimates }, start.dedupe);
  const scanner = new SpendScanner(sinks.parserFor(config.sources[0]!), ledger, nowMs, newTotals(), null, {
    policy: config.cost.policy,
    prices: new PriceBook(priceLookup(config.cost.prices, nowMs, start.prices), MAX_LABELS),
    unpricedPerMillion: config.cost.unpricedPerMillion,
    maxLineUsd: config.cost.maxLineUsd,
    currencyRates: config.cost.currencyRates,
  });
  sinks.countInto(scanner);
  return {
    spentMicro() {
      try {
        const read = readSources(
          config,
          listSources(config),
          files,
          scanner,
          { sinkFor: (spec, _file, name) => sinks.sinkFor(spec, name) },
          { nowMs: Date.now(), savedAtMs: null, horizonMs: horizonSeconds(config) * 1000 },
        );
        files = read.files;
      } catch {
        // what was counted so far still stands
      }
      return ledger.micro;
    },
  };
}
