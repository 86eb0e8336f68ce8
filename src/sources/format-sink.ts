// Lines of a log in one of the formats (claude-code, otel-genai, litellm) -> spend: each line is
// decoded, parsed by its format, and each record it gives is counted by the check's SpendScanner
// like a line of the app's own JSONL log (the same cost policy, prices, windows, attribution).
// The JSONL hot path is not involved: this sink has no fast path (no lineAt), every line goes to
// line().
import { excerptOf, type LineSink } from '../core/lines.js';
import type { CostRecord } from '../core/fields.js';
import type { SpendScanner } from '../core/scan.js';
import type { DedupeSet } from './dedupe.js';
import type { FormatRecord, LineFormat } from './formats/index.js';

export class FormatSink implements LineSink {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly format: LineFormat,
    private readonly scanner: SpendScanner,
    private readonly seen: DedupeSet,
  ) {}

  line(bytes: Uint8Array, start: number, end: number, lineNo: number): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes.subarray(start, end));
    } catch {
      this.malformed(lineNo, 'not UTF-8 text', excerptOf(bytes, start, end));
      return;
    }
    const parsed = this.format.parse(text);
    const totals = this.scanner.totals;
    if (parsed.kind === 'skip') {
      totals.skipped_lines++;
      return;
    }
    if (parsed.kind === 'malformed') {
      this.malformed(lineNo, `${this.format.name}: ${parsed.reason}`, excerptOf(bytes, start, end));
      return;
    }
    let counted = 0;
    let refused: string | null = null;
    for (const record of parsed.records) {
      const key = record.dedupeKey;
      // Counted already (a resumed session's copy, or the same turn written twice): not again.
      if (key !== null && this.seen.has(key)) continue;
      const why = this.scanner.countRecord(this.costRecord(record));
      if (why !== null) {
        refused ??= why;
        continue;
      }
      counted++;
      if (key !== null) this.seen.add(key, record.timeMs);
    }
    if (refused !== null) this.malformed(lineNo, refused, excerptOf(bytes, start, end));
    // A line whose every call was counted before is read, and skipped.
    else if (counted === 0) totals.skipped_lines++;
  }

  malformed(lineNo: number, reason: string, excerpt: string): void {
    this.scanner.malformed(lineNo, reason, excerpt);
  }

  private costRecord(r: FormatRecord): CostRecord {
    const labels = this.scanner.labels;
    return {
      timeMs: r.timeMs,
      cost: r.cost,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cachedTokens: r.cacheReadTokens,
      cacheWriteTokens: r.cacheWrite5mTokens,
      cacheWrite1hTokens: r.cacheWrite1hTokens,
      model: r.model,
      provider: r.provider,
      agent: r.agent,
      modelId: r.model === null ? -2 : labels.idOfString(r.model),
      agentId: r.agent === null ? -2 : labels.idOfString(r.agent),
      providerId: r.provider === null ? -2 : labels.idOfString(r.provider),
      task: r.task,
      requestId: r.requestId,
      fingerprint: null,
      // Retry storms are told by the app's own request ids: not tracked for these formats.
      stormHash: -1,
      stormText: null,
    };
  }
}
