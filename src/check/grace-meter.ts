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
import { fieldTable } from '../core/fields.js';
import { LineParser } from '../core/record.js';
import { newTotals, SpendScanner } from '../core/scan.js';
import {
  type FileCursor,
  loadCursor,
  readNewLines,
  saveCursor,
  type TailState,
} from '../effects/log-tail.js';
import { type PriceCache, priceLookup } from '../price-table.js';

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

/** Where the check left the log, and the prices it used: all a meter needs to start. */
export interface MeterStart {
  tail: TailState;
  prices: PriceCache;
}

function copyTail(tail: TailState): TailState {
  const copy = (c: FileCursor): FileCursor | null => loadCursor(saveCursor(c));
  return {
    current: tail.current === null ? null : copy(tail.current),
    previous: tail.previous.map(copy).filter((c): c is FileCursor => c !== null),
  };
}

export function graceMeter(config: Config, start: MeterStart, nowMs: number = Date.now()): GraceMeter {
  // No place in the log to start from (it was missing): nothing can be measured.
  if (start.tail.current === null) return { spentMicro: () => null };
  let tail = copyTail(start.tail);
  const ledger = new SumLedger(nowMs);
  const estimates = config.cost.policy !== 'reported';
  const scanner = new SpendScanner(
    new LineParser(fieldTable(config.fields, { labels: true, tokens: estimates })),
    ledger,
    nowMs,
    newTotals(),
    null,
    {
      policy: config.cost.policy,
      prices: new PriceBook(priceLookup(config.cost.prices, nowMs, start.prices), MAX_LABELS),
      unpricedPerMillion: config.cost.unpricedPerMillion,
      maxLineUsd: config.cost.maxLineUsd,
    },
  );
  return {
    spentMicro() {
      try {
        const read = readNewLines(config.log, tail, (name) => scanner.sinkFor(name), Date.now(), {
          horizonMs: horizonSeconds(config) * 1000,
        });
        if (read.error === null) tail = read.state;
      } catch {
        // what was counted so far still stands
      }
      return ledger.micro;
    },
  };
}
