// Lines -> spend. A line sink that parses each line, decides what it costs, and counts it in the
// ledger; malformed lines and lines from the future are counted and sampled for `status`.
import type { Attribution, AttributionState } from './attribution.js';
import { FUTURE_TOLERANCE_MS, type Ledger, type LedgerState } from './ledger.js';
import { excerptOf, type LineSink } from './lines.js';
import { type PriceBook, unpricedCost } from './prices.js';
import { type CostRecord, type FieldTable, lastFastRecord, lastStormText, parseLineBytes, parseLineFast } from './record.js';
import type { StormState, StormTracker } from './storms.js';

/** What a helper thread found reading part of the log (see SpendScanner.absorb). */
export interface PartScan {
  /** Complete lines in the part (blank and malformed ones included). */
  lines: number;
  ledger: LedgerState;
  attribution: AttributionState;
  totals: ScanTotals;
  found: MalformedSample[];
  foundCount: number;
  newestReadMs: number;
  stormNamed: StormState;
  /** Ids seen once, [hash, time, cost] sorted by hash. */
  stormSingles: Float64Array;
  /** Where each of those is in the log: byte offset * 65536 + length; 0 when in stormNames. */
  stormRefs: Float64Array;
  /** The names of ids seen once that have no place in the log's bytes (escaped, or numbers): [index, name]. */
  stormNames: [number, string][];
}

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
  /** The newest line time seen, epoch ms (0 when none). */
  newest_ms: number;
  /** Lines that logged cost 0 although their tokens cost money by the price table. */
  zero_cost_lines: number;
  /** What those lines were counted for, USD (what the app's log hides). */
  zero_cost_usd: number;
  /** Models with tokens but no price, by name ("(no model)" for lines that name none). */
  unpriced: Record<string, UnpricedModel>;
}

export interface UnpricedModel {
  lines: number;
  tokens: number;
  /** USD counted for them: at cost.unpriced_per_million_tokens, or the logged cost where higher than 0. */
  usd: number;
  /** Lines counted at the unpriced rate (no logged cost, or 0). */
  at_rate: number;
  last_ms: number;
}

/** Unpriced models kept by name; the rest are summed under "(other)". */
export const UNPRICED_NAMES = 50;
export const NO_MODEL = '(no model)';

export function newTotals(): ScanTotals {
  return { records: 0, malformed: 0, malformed_samples: [], future_lines: 0, uncosted_lines: 0, newest_ms: 0, zero_cost_lines: 0, zero_cost_usd: 0, unpriced: {} };
}

export type CostPolicy = 'reported' | 'estimated' | 'max';

/** How a line's cost is decided: the policy, and the prices when estimates are on. */
export interface Costing {
  policy: CostPolicy;
  /** Null: no estimates (policy `reported` with a logged cost on every line, or tests). */
  prices: PriceBook | null;
  unpricedPerMillion: number;
}

/** Logged costs only: the policy `reported` with nothing to estimate with. */
export const REPORTED_ONLY: Costing = { policy: 'reported', prices: null, unpricedPerMillion: 0 };


export class SpendScanner {
  /** Malformed lines found by this scanner (this check), for the audit log. */
  readonly found: MalformedSample[] = [];
  foundCount = 0;
  file = '';
  /** The newest line time read by this scanner (this check), epoch ms, as dated (0: none). */
  newestReadMs = 0;
  /** Set when a helper thread reads part of the log (see LineSink.claim). */
  claimFrom?: number;
  claim?: (fd: number, at: number, linesBefore: number) => { lines: number; end: number } | null;
  poll?: () => void;

  constructor(
    private readonly table: FieldTable,
    private readonly ledger: Ledger,
    private readonly nowMs: number,
    readonly totals: ScanTotals,
    private readonly attribution: Attribution | null = null,
    private readonly costing: Costing = REPORTED_ONLY,
    private readonly storms: StormTracker | null = null,
  ) {}

  /** A sink for lines of `file` (a name for reports). */
  sinkFor(file: string): LineSink {
    this.file = file;
    return this;
  }

  lineAt(bytes: Uint8Array, start: number, limit: number): number {
    const newline = parseLineFast(bytes, start, limit, this.table);
    if (newline >= 0) this.count(lastFastRecord());
    return newline;
  }

  line(bytes: Uint8Array, start: number, end: number, lineNo: number): void {
    const parsed = parseLineBytes(bytes, start, end, this.table);
    if (typeof parsed === 'string') this.malformed(lineNo, parsed, excerptOf(bytes, start, end));
    else this.count(parsed);
  }

  private count(parsed: CostRecord): void {
    let timeMs = parsed.timeMs;
    if (timeMs > this.newestReadMs) this.newestReadMs = timeMs;
    if (timeMs > this.nowMs + FUTURE_TOLERANCE_MS) {
      this.totals.future_lines++;
      timeMs = this.nowMs;
    }
    if (parsed.cost === null) this.totals.uncosted_lines++;
    if (timeMs > this.totals.newest_ms) this.totals.newest_ms = timeMs;
    this.totals.records++;
    const cost = this.costOf(parsed, timeMs);
    this.ledger.add(timeMs, cost);
    if (this.attribution !== null && (parsed.model !== null || parsed.agent !== null)) this.attribution.add(timeMs, cost, parsed.modelId, parsed.agentId, parsed.model, parsed.agent);
    if (this.storms !== null && parsed.stormHash >= 0) {
      const made = parsed.stormText;
      this.storms.add(parsed.stormHash, timeMs, cost, made === null ? lastStormText : () => made);
    }
  }

  /**
   * What a line counts for, by the cost policy: the logged cost (`reported`), the estimate from
   * tokens (`estimated`), or the larger (`max`). A line without a logged cost counts its estimate
   * under every policy. A model with no price counts its logged cost when that is above 0, and
   * otherwise its tokens at the unpriced rate: never $0 in silence.
   */
  private costOf(record: CostRecord, timeMs: number): number {
    const reported = record.cost;
    const { policy, prices } = this.costing;
    if (reported !== null && (policy === 'reported' || prices === null)) return reported;
    const input = record.inputTokens ?? 0;
    const output = record.outputTokens ?? 0;
    const cached = record.cachedTokens ?? 0;
    if (input === 0 && output === 0 && cached === 0) return reported ?? 0;
    const estimate = prices === null ? -1 : prices.estimate(record.modelId, record.model, record.providerId, record.provider, input, output, cached);
    if (estimate < 0) {
      const atRate = reported === null || reported === 0;
      const cost = atRate ? unpricedCost(this.costing.unpricedPerMillion, input, output, cached) : reported;
      // A line naming no model, with a logged cost, has nothing to price: nothing to report.
      if (atRate || record.model !== null) this.unpriced(record.model ?? NO_MODEL, input + output + (cached > input ? cached : 0), cost, atRate, timeMs);
      return cost;
    }
    if (reported === null) return estimate;
    if (reported === 0 && estimate > 0) {
      this.totals.zero_cost_lines++;
      this.totals.zero_cost_usd += estimate;
    }
    return policy === 'estimated' || estimate > reported ? estimate : reported;
  }

  private unpriced(model: string, tokens: number, usd: number, atRate: boolean, timeMs: number): void {
    const all = this.totals.unpriced;
    // Names come from the log: kept short, and never an object's own machinery.
    const key = model === '__proto__' ? '(__proto__)' : model.length > 80 ? `${model.slice(0, 80)}…` : model;
    let entry = Object.hasOwn(all, key) ? all[key] : undefined;
    if (entry === undefined) {
      const name = Object.keys(all).length < UNPRICED_NAMES ? key : '(other)';
      entry = Object.hasOwn(all, name) ? all[name] : undefined;
      if (entry === undefined) {
        entry = { lines: 0, tokens: 0, usd: 0, at_rate: 0, last_ms: 0 };
        all[name] = entry;
      }
    }
    entry.lines++;
    entry.tokens += tokens;
    entry.usd += usd;
    if (atRate) entry.at_rate++;
    if (timeMs > entry.last_ms) entry.last_ms = timeMs;
  }

  /**
   * Count what a helper thread found in a part of the log that starts after `lineBase` lines of
   * this file, as if this scanner had read it.
   */
  absorb(part: PartScan, nameAt: (offset: number, length: number) => string): void {
    this.ledger.absorb(part.ledger);
    this.attribution?.absorb(part.attribution);
    const t = this.totals;
    const p = part.totals;
    t.records += p.records;
    t.malformed += p.malformed;
    t.future_lines += p.future_lines;
    t.uncosted_lines += p.uncosted_lines;
    t.zero_cost_lines += p.zero_cost_lines;
    t.zero_cost_usd += p.zero_cost_usd;
    if (p.newest_ms > t.newest_ms) t.newest_ms = p.newest_ms;
    for (const [model, entry] of Object.entries(p.unpriced)) {
      const key = Object.hasOwn(t.unpriced, model) || Object.keys(t.unpriced).length < UNPRICED_NAMES ? model : '(other)';
      const held = Object.hasOwn(t.unpriced, key) ? t.unpriced[key] : undefined;
      if (held === undefined) t.unpriced[key] = { ...entry };
      else {
        held.lines += entry.lines;
        held.tokens += entry.tokens;
        held.usd += entry.usd;
        held.at_rate += entry.at_rate;
        if (entry.last_ms > held.last_ms) held.last_ms = entry.last_ms;
      }
    }
    for (const sample of part.found) {
      if (t.malformed_samples.length < SAMPLE_LIMIT) t.malformed_samples.push(sample);
      if (this.found.length < SAMPLE_LIMIT) this.found.push(sample);
    }
    this.foundCount += part.foundCount;
    if (part.newestReadMs > this.newestReadMs) this.newestReadMs = part.newestReadMs;
    if (this.storms !== null) {
      let names: Map<number, string> | null = null;
      this.storms.absorb(part.stormNamed, part.stormSingles, (k) => {
        const ref = part.stormRefs[k] ?? 0;
        if (ref > 0) return nameAt(Math.floor(ref / 65_536), ref % 65_536);
        names ??= new Map(part.stormNames);
        return names.get(k) ?? '';
      });
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
