// Lines of a log in one of the formats (claude-code, otel-genai, litellm) -> spend: each line is
// decoded, parsed by its format, and each record it gives is counted by the check's SpendScanner
// like a line of the app's own JSONL log (the same cost policy, prices, windows, attribution).
// The JSONL hot path is not involved: this sink has no fast path (no lineAt), every line goes to
// line().
import { excerptOf, type LineSink } from '../core/lines.js';
import type { CostRecord } from '../core/fields.js';
import type { SpendScanner } from '../core/scan.js';
import type { Counted, DedupeSet } from './dedupe.js';
import type { FormatRecord, LineFormat } from './formats/index.js';

export class FormatSink implements LineSink {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly format: LineFormat,
    private readonly scanner: SpendScanner,
    private readonly seen: DedupeSet,
  ) {}

  line(bytes: Uint8Array, start: number, end: number, lineNo: number): void {
    this.scanner.lines++;
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
      const usage = usageOf(record);
      const before = key === null ? undefined : this.seen.get(key);
      // Counted already (a streamed snapshot, a resumed session's copy): only what it adds.
      const part = before === undefined ? record : growth(record, usage, before);
      if (part === null) continue;
      const why = this.scanner.countRecord(this.costRecord(part));
      if (why !== null) {
        refused ??= why;
        continue;
      }
      counted++;
      if (key !== null)
        this.seen.set(key, record.timeMs, before === undefined ? usage : larger(usage, before));
    }
    if (refused !== null) this.malformed(lineNo, refused, excerptOf(bytes, start, end));
    // A line whose every call was counted before, in full, is read and skipped.
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
      // The formats log US dollars (costUSD, response_cost) or no cost at all.
      currency: null,
      cacheWrite1hTokens: r.cacheWrite1hTokens,
      ...(r.tierInputTokens === undefined ? {} : { tierInputTokens: r.tierInputTokens }),
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
      // Nor are call shapes: a format's calls carry the provider's own message ids.
      shapeable: false,
    };
  }
}

/** What a record counts for, as the DedupeSet remembers it. */
function usageOf(r: FormatRecord): Counted {
  const read = r.cacheReadTokens ?? 0;
  const w5 = r.cacheWrite5mTokens ?? 0;
  const w1 = r.cacheWrite1hTokens ?? 0;
  const input = r.inputTokens ?? 0;
  return [Math.max(0, input - read - w5 - w1), r.outputTokens ?? 0, read, w5, w1, r.cost ?? -1];
}

function larger(a: Counted, b: Counted): Counted {
  return [
    Math.max(a[0], b[0]),
    Math.max(a[1], b[1]),
    Math.max(a[2], b[2]),
    Math.max(a[3], b[3]),
    Math.max(a[4], b[4]),
    Math.max(a[5], b[5]),
  ];
}

/**
 * What a later copy of a counted call adds (tokens it shows beyond those counted), or null when
 * it adds nothing: a pure copy. A logged cost adds what it exceeds the one counted by; a copy
 * whose cost was not logged both times is priced from the tokens it adds.
 */
function growth(r: FormatRecord, now: Counted, before: Counted): FormatRecord | null {
  const d = (i: number): number => Math.max(0, (now[i] as number) - (before[i] as number));
  const [input, output, read, w5, w1] = [d(0), d(1), d(2), d(3), d(4)];
  const cost = now[5] >= 0 && before[5] >= 0 ? d(5) : null;
  if (input + output + read + w5 + w1 === 0 && (cost === null || cost === 0)) return null;
  return {
    ...r,
    cost,
    // Priced at the whole call's tier (a long-context price applies to all of its tokens).
    tierInputTokens: now[0] + now[2] + now[3] + now[4],
    inputTokens: input + read + w5 + w1,
    outputTokens: output,
    cacheReadTokens: read,
    cacheWrite5mTokens: w5,
    cacheWrite1hTokens: w1,
  };
}
