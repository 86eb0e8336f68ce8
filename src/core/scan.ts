// Lines -> spend. A line sink that parses each line, decides what it costs, and counts it in the
// ledger; malformed lines and lines from the future are counted and sampled for `status`.
import type { Attribution } from './attribution.js';
import { FUTURE_TOLERANCE_MS, type Ledger } from './ledger.js';
import { excerptOf, type LineSink } from './lines.js';
import { type CostRecord, type FieldTable, lastFastRecord, parseLineBytes, parseLineFast } from './record.js';

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
  /** Lines with token counts but no cost: counted at $0 until estimates from tokens exist. */
  uncosted_lines: number;
  /** The newest line time seen, epoch ms (0 when none). */
  newest_ms: number;
}

export function newTotals(): ScanTotals {
  return { records: 0, malformed: 0, malformed_samples: [], future_lines: 0, uncosted_lines: 0, newest_ms: 0 };
}

/** What a record counts for. The one place a cost policy applies (token estimates: later). */
export function costOf(record: CostRecord): number {
  return record.cost ?? 0;
}

export class SpendScanner {
  /** Malformed lines found by this scanner (this check), for the audit log. */
  readonly found: MalformedSample[] = [];
  foundCount = 0;
  file = '';

  constructor(
    private readonly table: FieldTable,
    private readonly ledger: Ledger,
    private readonly nowMs: number,
    readonly totals: ScanTotals,
    private readonly attribution: Attribution | null = null,
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
    if (timeMs > this.nowMs + FUTURE_TOLERANCE_MS) {
      this.totals.future_lines++;
      timeMs = this.nowMs;
    }
    if (parsed.cost === null) this.totals.uncosted_lines++;
    if (timeMs > this.totals.newest_ms) this.totals.newest_ms = timeMs;
    this.totals.records++;
    const cost = costOf(parsed);
    this.ledger.add(timeMs, cost);
    if (this.attribution !== null && (parsed.model !== null || parsed.agent !== null)) this.attribution.add(timeMs, cost, parsed.modelId, parsed.agentId, parsed.model, parsed.agent);
  }

  malformed(lineNo: number, reason: string, excerpt: string): void {
    const sample = { file: this.file, line: lineNo, reason, excerpt };
    this.totals.malformed++;
    this.foundCount++;
    if (this.totals.malformed_samples.length < SAMPLE_LIMIT) this.totals.malformed_samples.push(sample);
    if (this.found.length < SAMPLE_LIMIT) this.found.push(sample);
  }
}
