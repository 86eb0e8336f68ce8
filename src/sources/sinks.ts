// Which sink reads a file's lines: the JSONL hot path (the scanner, with a parser for the source's
// field names), or a format's sink (claude-code, otel-genai, litellm). All count into one scanner,
// and all parsers share one Labels, so that the PriceBook and the Attribution see one set of ids.
import type { SourceSpec } from '../config/index.js';
import { fieldTable } from '../core/fields.js';
import { Labels } from '../core/labels.js';
import type { LineSink } from '../core/lines.js';
import { LineParser } from '../core/record.js';
import type { SpendScanner } from '../core/scan.js';
import type { DedupeSet } from './dedupe.js';
import { FormatSink } from './format-sink.js';
import { lineFormat } from './formats/index.js';

/** Calls of a format counted already are remembered this long (today's window, and yesterday's). */
export const DEDUPE_HORIZON_MS = 50 * 3_600_000;

type FieldTableOptions = NonNullable<Parameters<typeof fieldTable>[1]>;

export class SourceSinks {
  readonly labels = new Labels();
  private readonly parsers = new Map<string, LineParser>();
  private readonly formats = new Map<string, FormatSink>();
  private scanner: SpendScanner | null = null;

  constructor(
    private readonly tableOptions: FieldTableOptions,
    /** Calls of the formats counted already, across all their files (a resumed session's copies). */
    readonly seen: DedupeSet,
  ) {}

  /** The parser of a JSONL source's field names (one per distinct set of names). */
  parserFor(spec: SourceSpec): LineParser {
    const key = JSON.stringify(spec.fields);
    let parser = this.parsers.get(key);
    if (parser === undefined) {
      parser = new LineParser(fieldTable(spec.fields, this.tableOptions), this.labels);
      this.parsers.set(key, parser);
    }
    return parser;
  }

  /** The scanner these sinks count into (set once it is made: it takes a first parser). */
  countInto(scanner: SpendScanner): void {
    this.scanner = scanner;
  }

  /** The sink for lines of a file of `spec`, named `name` in reports. */
  sinkFor(spec: SourceSpec, name: string): LineSink {
    const scanner = this.scanner;
    if (scanner === null) throw new Error('SourceSinks: no scanner');
    const jsonl = this.parserFor(spec);
    scanner.use(jsonl);
    const sink = scanner.sinkFor(name);
    if (spec.format === 'jsonl') return sink;
    // (The scanner still names the file: the format's sink reports malformed lines through it.)
    const key = `${spec.format}\u0000${JSON.stringify(spec.fields)}`;
    let formatSink = this.formats.get(key);
    if (formatSink === undefined) {
      const renames: Record<string, string> = {};
      for (const [field, names] of Object.entries(spec.fields))
        if (names !== undefined && names[0] !== undefined) renames[field] = names[0];
      formatSink = new FormatSink(lineFormat(spec.format, renames), scanner, this.seen);
      this.formats.set(key, formatSink);
    }
    return formatSink;
  }
}
