// Lines -> spend. A line sink that parses each line, decides what it costs, and counts it in the
// ledger; malformed lines and lines from the future are counted and sampled for `status`.
import type { Attribution } from './attribution.js';
import { FUTURE_TOLERANCE_MS, type Ledger } from './ledger.js';
import { excerptOf, type LineSink } from './lines.js';
import { isCurrencyCode, MICROS_PER_USD } from './money.js';
import { type PriceBook, unpricedCost } from './prices.js';
import type { CostRecord } from './fields.js';
import type { Labels } from './labels.js';
import type { LineParser } from './record.js';
import type { StormTracker } from './storms.js';
import { ShapeHasher, shapeName } from './storms/shapes.js';

export const SAMPLE_LIMIT = 5;

export interface MalformedSample {
  file: string;
  line: number;
  reason: string;
  excerpt: string;
}

/** What reading has found so far; kept across runs in the checkpoint. */
export interface ScanTotals {
  records: number;
  malformed: number;
  /** The first malformed lines, for `status` (file, line number, reason, the line's start). */
  malformed_samples: MalformedSample[];
  /** Lines dated more than the tolerance in the future, counted as now. */
  future_lines: number;
  /** Lines with token counts but no cost: counted from their tokens. */
  uncosted_lines: number;
  /** Lines of a format (src/sources/) that are no billed call: user turns, summaries, spans without usage. */
  skipped_lines: number;
  /** The newest line time seen, epoch ms (0 when none). */
  newest_ms: number;
  /** Lines that logged cost 0 although their tokens cost money by the price table. */
  zero_cost_lines: number;
  /** What those lines were counted for, µ$ (what the app's log hides). */
  zero_cost_micros: number;
  /** Models with tokens but no price, by name ("(no model)" for lines that name none). */
  unpriced: Record<string, UnpricedModel>;
  /**
   * Lines malformed for a currency without a rate, per currency (added with currencies: an older
   * checkpoint has none).
   */
  unrated?: Record<string, { lines: number; last_ms: number }>;
}

export interface UnpricedModel {
  lines: number;
  tokens: number;
  /** µ$ counted for them: at cost.unpriced_per_million_tokens, or the logged cost where higher than 0. */
  micros: number;
  /** Lines counted at the unpriced rate (no logged cost, or 0). */
  at_rate: number;
  last_ms: number;
}

/** Unpriced models kept by name; the rest are summed under "(other)". */
export const UNPRICED_NAMES = 50;
export const NO_MODEL = '(no model)';

export function newTotals(): ScanTotals {
  return {
    records: 0,
    malformed: 0,
    malformed_samples: [],
    future_lines: 0,
    uncosted_lines: 0,
    skipped_lines: 0,
    newest_ms: 0,
    zero_cost_lines: 0,
    zero_cost_micros: 0,
    unpriced: {},
    unrated: {},
  };
}

export type CostPolicy = 'reported' | 'estimated' | 'max';

/** How a line's cost is decided: the policy, and the prices when estimates are on. */
export interface Costing {
  policy: CostPolicy;
  /**
   * Null: no estimates (policy `reported` with a logged cost on every line, or tests). It knows
   * models by the label ids of one scanner's LineParser: one PriceBook per scanner.
   */
  prices: PriceBook | null;
  unpricedPerMillion: number;
  /** cost.max_line_usd: a line that costs more (logged or estimated) is malformed, never summed. */
  maxLineUsd?: number;
  /**
   * cost.currency_rates: USD per unit of each currency a line may log its cost in. A line in a
   * currency not here (or any but USD, when this is left out) is malformed: never $0, never USD.
   */
  currencyRates?: Readonly<Record<string, number>>;
}

export const DEFAULT_MAX_LINE_USD = 10_000;

/** Logged costs only: the policy `reported` with nothing to estimate with. */
export const REPORTED_ONLY: Costing = { policy: 'reported', prices: null, unpricedPerMillion: 0 };

/** A line's cost in whole µ$, or a reason it cannot be summed. */
function microsOf(usd: number, maxLineUsd: number, what: string): number | string {
  // NaN and Infinity cannot come from the parser, but an estimate from absurd token counts can be
  // Infinity: never let one reach a sum.
  if (!(usd <= maxLineUsd))
    return `${what} ${Number.isFinite(usd) ? usd : 'not finite'} is above cost.max_line_usd (${maxLineUsd})`;
  return Math.round(usd * MICROS_PER_USD);
}

/** Why a line in a currency without a rate is malformed. */
export function currencyProblem(code: string): string {
  const shown = code.length > 12 ? `${code.slice(0, 12)}…` : code;
  return isCurrencyCode(code)
    ? `currency ${JSON.stringify(shown)} has no rate in cost.currency_rates (not counted, neither ` +
        `as $0 nor as USD)`
    : `currency ${JSON.stringify(shown)} is not an ISO 4217 currency code (not counted, neither ` +
        `as $0 nor as USD)`;
}

const NOTE_NONE = 0;
/** Logged cost 0, counted from its tokens. */
const NOTE_ZERO = 1;
/** A model without a price, counted at the unpriced rate. */
const NOTE_AT_RATE = 2;
/** A model without a price, counted at its logged cost. */
const NOTE_UNPRICED = 3;

/** Where a line's spend also goes when scoped budgets are configured (src/scopes/counter.ts). */
export interface ScopeSink {
  /** Count `cost` µ$ at `timeMs` for the line `record` (read from `source`: '' when not known). */
  add(timeMs: number, cost: number, record: CostRecord, source: string): void;
  /** Packed to send, and another reader's (a helper thread's) taken in: for the two-thread read. */
  pack(): PackedScopes;
  absorbPacked(packed: PackedScopes): void;
}

/** Scoped budgets' spend as a helper thread sends it (src/scopes/counter.ts ScopeCounter.pack). */
export interface PackedScopes {
  /** Per scope in config order, its values ('' alone for a scope without each). */
  values: string[][];
  /** Per ledger in that order: n, n pairs of second and µ$, d, d pairs of date (yyyymmdd) and µ$. */
  data: Float64Array;
  overflowed: string[];
}

export class SpendScanner {
  /** Malformed lines found by this scanner (this check), for the audit log. */
  readonly found: MalformedSample[] = [];
  foundCount = 0;
  file = '';
  /**
   * The source of the lines being read: the file, relative to the config's folder (an attribution
   * field like agent: top spenders, scopes). Set by whoever reads a file, before its lines.
   */
  source = '';
  /** Count spend per source for the top spenders (not for a config of one log: nothing to tell apart). */
  sourceTops = false;
  /** Lines read by this scanner (records, malformed and skipped), for the count per file. */
  lines = 0;
  /** The newest line time read by this scanner (this check), epoch ms, as dated (0: none). */
  newestReadMs = 0;
  /** Set when a helper thread reads part of the log (see LineSink.claim and src/parallel/). */
  claimFrom?: number;
  claim?: (fd: number, at: number, linesBefore: number) => { lines: number; end: number } | null;
  poll?: () => void;
  /** Scoped budgets (null: none configured; then nothing is done per line). */
  scopes: ScopeSink | null = null;
  /**
   * Lines without ids, by call shape (core/storms/shapes.ts): a second tracker keyed by the shape's
   * hash (null: off). `shapeRef` gives the tracker a ref per sighting (a helper thread's notes).
   */
  shapes: StormTracker | null = null;
  shapeRef: ((record: CostRecord) => number) | null = null;
  private readonly shapeHasher = new ShapeHasher();
  /** The record whose shape is being added: shapeText names it (asked from its second sighting). */
  private shapeRecord: CostRecord | null = null;
  private readonly shapeText = (): string => shapeName(this.shapeRecord as CostRecord);

  constructor(
    private parser: LineParser,
    readonly ledger: Ledger,
    private readonly nowMs: number,
    readonly totals: ScanTotals,
    readonly attribution: Attribution | null = null,
    private readonly costing: Costing = REPORTED_ONLY,
    readonly storms: StormTracker | null = null,
  ) {}

  /**
   * Read the next lines with another parser (another source's field names). Parsers that share
   * one Labels (and so one PriceBook and Attribution) may take turns.
   */
  use(parser: LineParser): void {
    this.parser = parser;
  }

  /** A sink for lines of `file` (a name for reports). */
  sinkFor(file: string): LineSink {
    this.file = file;
    return this;
  }

  lineAt(bytes: Uint8Array, start: number, limit: number): number {
    const parser = this.parser;
    const newline = parser.parseLineFast(bytes, start, limit);
    // A line that costs too much is left to line(), which says why it is malformed.
    if (newline >= 0 && this.count(parser.lastFastRecord()) !== null) return -1;
    if (newline >= 0) this.lines++;
    return newline;
  }

  line(bytes: Uint8Array, start: number, end: number, lineNo: number): void {
    this.lines++;
    const parsed = this.parser.parseLineBytes(bytes, start, end);
    const why = typeof parsed === 'string' ? parsed : this.count(parsed);
    if (why === null) return;
    this.malformed(lineNo, why, excerptOf(bytes, start, end));
    if (typeof parsed !== 'string' && parsed.currency !== null && why === currencyProblem(parsed.currency))
      this.unrated(parsed.currency, parsed.timeMs);
  }

  /** The label ids of this scanner's parser: a record counted by countRecord() uses them. */
  get labels(): Labels {
    return this.parser.labels;
  }

  /**
   * Count a record made elsewhere (a line of another format: src/sources/format-sink.ts), or say
   * why it cannot be counted (then nothing is).
   */
  countRecord(record: CostRecord): string | null {
    return this.count(record);
  }

  /** Count a record, or say why it cannot be (its cost above cost.max_line_usd): then nothing is counted. */
  private count(parsed: CostRecord): string | null {
    let timeMs = parsed.timeMs;
    const future = timeMs > this.nowMs + FUTURE_TOLERANCE_MS;
    if (future) timeMs = this.nowMs;
    const cost = this.costOf(parsed);
    if (typeof cost === 'string') return cost;
    if (parsed.timeMs > this.newestReadMs) this.newestReadMs = parsed.timeMs;
    if (future) this.totals.future_lines++;
    if (parsed.cost === null) this.totals.uncosted_lines++;
    if (timeMs > this.totals.newest_ms) this.totals.newest_ms = timeMs;
    this.totals.records++;
    const note = this.note;
    if (note === NOTE_ZERO) {
      this.totals.zero_cost_lines++;
      this.totals.zero_cost_micros += cost;
    } else if (note !== NOTE_NONE) {
      this.unpriced(parsed.model ?? NO_MODEL, this.noteTokens, cost, note === NOTE_AT_RATE, timeMs);
    }
    this.ledger.add(timeMs, cost);
    if (this.attribution !== null && (parsed.model !== null || parsed.agent !== null))
      this.attribution.add(timeMs, cost, parsed.modelId, parsed.agentId, parsed.model, parsed.agent);
    if (this.attribution !== null && this.sourceTops) this.attribution.addSource(timeMs, cost, this.source);
    if (this.scopes !== null) this.scopes.add(timeMs, cost, parsed, this.source);
    if (this.storms !== null && parsed.stormHash >= 0) {
      const made = parsed.stormText;
      this.storms.add(parsed.stormHash, timeMs, cost, made === null ? this.parser.lastStormText : () => made);
    }
    // Without shape_with_ids a shapeable line has no id, so at most one of the two applies.
    if (this.shapes !== null && parsed.shapeable) {
      const hash = this.shapeHasher.hash(parsed, this.parser.labels);
      if (hash >= 0) {
        this.shapeRecord = parsed;
        this.shapes.add(
          hash,
          timeMs,
          cost,
          this.shapeText,
          this.shapeRef === null ? 0 : this.shapeRef(parsed),
        );
      }
    }
    return null;
  }

  /** What count() is to note about the line costOf() priced last (see NOTE_*). */
  private note = NOTE_NONE;
  private noteTokens = 0;

  /**
   * What a line counts for, in µ$, by the cost policy: the logged cost (`reported`), the estimate
   * from tokens (`estimated`), or the larger (`max`). A line without a logged cost counts its
   * estimate under every policy. A model with no price counts its logged cost when that is above
   * 0, and otherwise its tokens at the unpriced rate: never $0 in silence. A cost above
   * cost.max_line_usd is a reason instead. Changes nothing but `note`: count() acts on it.
   */
  private costOf(record: CostRecord): number | string {
    this.note = NOTE_NONE;
    const max = this.costing.maxLineUsd ?? DEFAULT_MAX_LINE_USD;
    let reported = record.cost;
    if (record.currency !== null) {
      const rates = this.costing.currencyRates;
      const rate =
        rates !== undefined && Object.hasOwn(rates, record.currency) ? rates[record.currency] : undefined;
      if (rate === undefined) return currencyProblem(record.currency);
      if (reported !== null) reported *= rate;
    }
    const { policy, prices } = this.costing;
    if (reported !== null && (policy === 'reported' || prices === null))
      return microsOf(reported, max, 'cost');
    const input = record.inputTokens ?? 0;
    const output = record.outputTokens ?? 0;
    const cached = record.cachedTokens ?? 0;
    // Cache writes come only from the formats (src/sources/): 0 on the JSONL path.
    const write = record.cacheWriteTokens ?? 0;
    const write1h = record.cacheWrite1hTokens ?? 0;
    if (input === 0 && output === 0 && cached === 0 && write === 0 && write1h === 0)
      return microsOf(reported ?? 0, max, 'cost');
    const estimate =
      prices === null
        ? -1
        : prices.estimate(
            record.modelId,
            record.model,
            record.providerId,
            record.provider,
            input,
            output,
            cached,
            write,
            write1h,
            record.tierInputTokens ?? input,
          );
    if (estimate < 0) {
      const atRate = reported === null || reported === 0;
      const cost = atRate
        ? microsOf(
            unpricedCost(this.costing.unpricedPerMillion, input, output, cached, write, write1h),
            max,
            'cost at the unpriced rate',
          )
        : microsOf(reported as number, max, 'cost');
      if (typeof cost === 'string') return cost;
      // A line naming no model, with a logged cost, has nothing to price: nothing to report.
      if (atRate || record.model !== null) {
        this.note = atRate ? NOTE_AT_RATE : NOTE_UNPRICED;
        const apart = cached + write + write1h;
        this.noteTokens = input + output + (apart > input ? apart : 0);
      }
      return cost;
    }
    const estimated = microsOf(estimate, max, 'estimated cost');
    if (reported === null || typeof estimated === 'string') return estimated;
    const logged = microsOf(reported, max, 'cost');
    if (typeof logged === 'string') return logged;
    if (logged === 0 && estimated > 0) this.note = NOTE_ZERO;
    return policy === 'estimated' || estimated > logged ? estimated : logged;
  }

  private unpriced(model: string, tokens: number, micros: number, atRate: boolean, timeMs: number): void {
    const all = this.totals.unpriced;
    // Names come from the log: kept short, and never an object's own machinery.
    const key = model === '__proto__' ? '(__proto__)' : model.length > 80 ? `${model.slice(0, 80)}…` : model;
    let entry = Object.hasOwn(all, key) ? all[key] : undefined;
    if (entry === undefined) {
      const name = Object.keys(all).length < UNPRICED_NAMES ? key : '(other)';
      entry = Object.hasOwn(all, name) ? all[name] : undefined;
      if (entry === undefined) {
        entry = { lines: 0, tokens: 0, micros: 0, at_rate: 0, last_ms: 0 };
        all[name] = entry;
      }
    }
    entry.lines++;
    // Token counts come from the log (1e308 is a number): the tally never becomes Infinity.
    entry.tokens = Math.min(entry.tokens + tokens, Number.MAX_SAFE_INTEGER);
    entry.micros += micros;
    if (atRate) entry.at_rate++;
    if (timeMs > entry.last_ms) entry.last_ms = timeMs;
  }

  /** A line in a currency without a rate: counted per currency, for the finding (said once). */
  private unrated(code: string, timeMs: number): void {
    this.totals.unrated ??= {};
    const all = this.totals.unrated;
    const key = code.length > 12 ? `${code.slice(0, 12)}…` : code === '__PROTO__' ? '(__PROTO__)' : code;
    const name = Object.hasOwn(all, key) || Object.keys(all).length < UNPRICED_NAMES ? key : '(other)';
    const entry = Object.hasOwn(all, name) ? all[name] : undefined;
    if (entry === undefined) all[name] = { lines: 1, last_ms: Math.min(timeMs, this.nowMs) };
    else {
      entry.lines++;
      entry.last_ms = Math.max(entry.last_ms, Math.min(timeMs, this.nowMs));
    }
  }

  malformed(lineNo: number, reason: string, excerpt: string): void {
    const sample = { file: this.file, line: lineNo, reason, excerpt };
    this.totals.malformed++;
    this.foundCount++;
    if (this.totals.malformed_samples.length < SAMPLE_LIMIT) this.totals.malformed_samples.push(sample);
    if (this.found.length < SAMPLE_LIMIT) this.found.push(sample);
  }
}
