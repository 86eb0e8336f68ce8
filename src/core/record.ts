// One log line -> a cost record, or the reason it is malformed.
//
// This is the hot path (a million lines per full scan). Most lines are flat JSON objects, so a
// hand-written scanner (flat-scan.ts) reads those by character position without building an
// object. Anything it does not fully understand (nesting, escaped keys, odd whitespace, invalid
// JSON) is handed to JSON.parse (parse-slow.ts), which is the judge of what is valid: the fast
// path may only ever accept lines that JSON.parse accepts, with the same values. A property test
// holds it to that.
//
// A LineParser holds everything a scan reuses from line to line (the scratch, the one record,
// the label ids, the last date read): one per scan, made where the scan starts.
import {
  type AliasSlot,
  type CostRecord,
  F_AGENT,
  F_CACHED,
  F_COST,
  F_CURRENCY,
  F_FIRST_LABEL,
  currencyOf,
  F_IN,
  F_MODEL,
  F_OUT,
  F_PROVIDER,
  F_TIME,
  FIELDS,
  type FieldTable,
  type ParsedLine,
} from './fields.js';
import { FlatScan, KIND_ESCAPED, KIND_NUMBER, KIND_OTHER, KIND_STRING, KIND_TIME } from './flat-scan.js';
import { ascii, numberAt, numberText } from './json-values.js';
import { Labels } from './labels.js';
import { parseLineSlow, recordOfObject } from './parse-slow.js';
import { idHashOfBytes, idHashOfString, isRequestId, mayBePlaceholder } from './storms.js';
import { epochToMs } from './timestamp.js';

const F_TASK = F_FIRST_LABEL + 3;
const F_REQUEST_ID = F_FIRST_LABEL + 4;
const F_FINGERPRINT = F_FIRST_LABEL + 5;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class LineParser extends FlatScan {
  /** Per field, the label id of the line before. */
  private readonly lastLabelIds = new Int32Array(FIELDS.length).fill(-1);
  /** The one record the fast path fills in: allocating a million of them costs more than reading. */
  private readonly reused: CostRecord = {
    timeMs: 0,
    cost: null,
    inputTokens: null,
    outputTokens: null,
    cachedTokens: null,
    // Never set on the JSONL path: the app's own log has no cache writes.
    cacheWriteTokens: null,
    cacheWrite1hTokens: null,
    model: null,
    provider: null,
    agent: null,
    task: null,
    requestId: null,
    fingerprint: null,
    modelId: -2,
    agentId: -2,
    providerId: -2,
    stormHash: -1,
    stormText: null,
    shapeable: false,
    currency: null,
  };
  // Where the last fast-read line's storm id is, to make its text only when it is needed.
  private stormBytes: Uint8Array = new Uint8Array(0);
  private stormStart = 0;
  private stormEnd = 0;
  private stormMade: string | null = null;

  /**
   * `labels` gives the model, agent and provider ids of the records: the PriceBook and the
   * Attribution of the same scan take those ids.
   */
  constructor(
    table: FieldTable,
    readonly labels: Labels = new Labels(),
  ) {
    super(table);
  }

  /**
   * Parse the line b[start, end) (no newline), straight from the bytes of the log. Hot path: a
   * record returned here may be the same object on the next call; copy what you keep.
   */
  parseLineBytes(b: Uint8Array, start: number, end: number): ParsedLine {
    if (this.scan(b, start, end) === end) {
      const record = this.fastRecord(b);
      if (record !== null) return record;
      // Valid flat JSON the fast path did not take (no time, a negative cost...): the judge sees
      // the same fields without JSON.parse, which interns every short string value of the line in
      // V8's string table (over 2,000,000 such lines: about 50 MB more peak RSS).
      return recordOfObject(this.table, this.flatFields(b), this.labels, this.time);
    }
    let text: string;
    try {
      text = strictUtf8.decode(b.subarray(start, end));
    } catch {
      return 'invalid UTF-8';
    }
    return this.parseLineSlow(text);
  }

  /**
   * The fast path alone, on a line whose end is not known yet: b[start] starts a line, and its
   * newline is somewhere before `limit`. Returns the index of that newline when the line was read
   * (the record is then `lastFastRecord()`), or -1: the caller finds the line's end itself and
   * calls parseLineBytes, which decides everything the fast path did not.
   */
  parseLineFast(b: Uint8Array, start: number, limit: number): number {
    const after = this.scan(b, start, limit);
    if (after < 0 || after >= limit || b[after] !== 10) return -1;
    return this.fastRecord(b) === null ? -1 : after;
  }

  /** The record the last successful parseLineFast read (the same object each time). */
  lastFastRecord(): CostRecord {
    return this.reused;
  }

  /** Parse a decoded line with JSON.parse. */
  parseLineSlow(line: string): ParsedLine {
    return parseLineSlow(line, this.table, this.labels, this.time);
  }

  /** Parse one line given as a string (tests, and callers that already hold text): a fresh record. */
  parseLine(line: string): ParsedLine {
    const bytes = utf8.encode(line);
    const parsed = this.parseLineBytes(bytes, 0, bytes.length);
    return typeof parsed === 'string' ? parsed : { ...parsed };
  }

  /** Where the storm id of the line the fast path read last is: its bytes (see lastStormText). */
  lastStormBytes(): Uint8Array {
    return this.stormBytes;
  }
  lastStormStart(): number {
    return this.stormStart;
  }
  lastStormEnd(): number {
    return this.stormEnd;
  }
  /** Whether that id is those bytes as they are (not an escaped string, nor a number made text). */
  lastStormIsBytes(): boolean {
    return this.stormMade === null;
  }

  /**
   * The storm id of the line the fast path read last, as text (see CostRecord.stormHash). A
   * function made once, handed to the storm tracker as is (and known by its identity).
   */
  readonly lastStormText = (): string => {
    if (this.stormMade !== null) return this.stormMade;
    return ascii(this.stormBytes, this.stormStart, this.stormEnd);
  };

  private tokensAt(b: Uint8Array, field: number): number | null {
    const slot = this.firstSlot(field);
    if (slot < 0 || this.kinds[slot] !== KIND_NUMBER) return null;
    const value = numberAt(b, this.starts[slot] as number, this.ends[slot] as number);
    return Number.isFinite(value) && value >= 0 ? value : null;
  }

  /** Model or agent: its registered id (-2 when the line has none, -1 when it has no id). */
  private labelIdAt(b: Uint8Array, field: number): number {
    const slot = this.firstSlot(field);
    if (slot < 0) return -2;
    if (this.kinds[slot] === KIND_STRING) {
      const start = (this.starts[slot] as number) + 1;
      const end = (this.ends[slot] as number) - 1;
      // Most lines name the same model (or agent) as the line before.
      const lastLabelIds = this.lastLabelIds;
      const last = lastLabelIds[field] as number;
      const labels = this.labels;
      if (labels.is(last, b, start, end)) return last;
      const id = labels.idOfBytes(b, start, end);
      lastLabelIds[field] = id;
      return id;
    }
    const text = this.labelAt(b, field);
    return text === null ? -2 : this.labels.idOfString(text);
  }

  private labelAt(b: Uint8Array, field: number): string | null {
    const slot = this.firstSlot(field);
    if (slot < 0) return null;
    const start = this.starts[slot] as number;
    const end = this.ends[slot] as number;
    switch (this.kinds[slot]) {
      case KIND_STRING:
        return ascii(b, start + 1, end - 1);
      case KIND_ESCAPED:
        return JSON.parse(ascii(b, start, end)) as string;
      case KIND_NUMBER: {
        const value = numberAt(b, start, end);
        return Number.isFinite(value) ? numberText(value) : null;
      }
      default:
        return null;
    }
  }

  /** The storm id's hash, or -1 when the line has none (missing, null, empty, a placeholder). */
  private stormHashAt(b: Uint8Array): number {
    const stormField = this.table.stormField;
    const slot = this.firstSlot(stormField);
    if (slot < 0) return -1;
    const kind = this.kinds[slot];
    if (kind === KIND_STRING) {
      const start = (this.starts[slot] as number) + 1;
      const end = (this.ends[slot] as number) - 1;
      // Only a short id starting with a blank, u, n or - can be a placeholder ("unknown", "n/a").
      const first = (b[start] as number) | 0x20;
      if (
        mayBePlaceholder(end - start) &&
        (end === start || first === 0x75 || first === 0x6e || first === 45 || first === 32 || first === 41) &&
        !isRequestId(ascii(b, start, end))
      )
        return -1;
      this.stormBytes = b;
      this.stormStart = start;
      this.stormEnd = end;
      this.stormMade = null;
      return idHashOfBytes(b, start, end);
    }
    const text = kind === KIND_ESCAPED || kind === KIND_NUMBER ? this.labelAt(b, stormField) : null;
    if (text === null || !isRequestId(text)) return -1;
    this.stormMade = text;
    return idHashOfString(text);
  }

  /** Whether the field carries an id (not missing, null, empty or a placeholder): as parse-slow.ts says. */
  private hasIdAt(b: Uint8Array, field: number): boolean {
    const slot = this.firstSlot(field);
    if (slot < 0) return false;
    const kind = this.kinds[slot];
    if (kind === KIND_STRING) {
      const start = (this.starts[slot] as number) + 1;
      const end = (this.ends[slot] as number) - 1;
      return !mayBePlaceholder(end - start) || isRequestId(ascii(b, start, end));
    }
    return (kind === KIND_ESCAPED || kind === KIND_NUMBER) && isRequestId(this.labelAt(b, field));
  }

  /**
   * The record of a line the scanner understood, or null to let the JSON.parse path decide (and
   * word the reason when the line is malformed).
   */
  private fastRecord(b: Uint8Array): CostRecord | null {
    const table = this.table;
    const { kinds, starts, ends } = this;
    const timeSlot = this.firstSlot(F_TIME);
    if (timeSlot < 0) return null;
    let timeMs: number;
    const timeKind = kinds[timeSlot];
    if (timeKind === KIND_TIME) timeMs = this.times[timeSlot] as number;
    else if (timeKind === KIND_NUMBER)
      timeMs = epochToMs(numberAt(b, starts[timeSlot] as number, ends[timeSlot] as number));
    else if (timeKind === KIND_STRING)
      timeMs = this.time.parseTimeBytes(b, (starts[timeSlot] as number) + 1, (ends[timeSlot] as number) - 1);
    else return null;
    if (Number.isNaN(timeMs)) return null;
    const costSlot = this.firstSlot(F_COST);
    const withTokens = table.tokens || costSlot < 0;
    const inputTokens = withTokens ? this.tokensAt(b, F_IN) : null;
    const outputTokens = withTokens ? this.tokensAt(b, F_OUT) : null;
    let cost: number | null = null;
    if (costSlot < 0) {
      if (inputTokens === null && outputTokens === null) return null;
    } else {
      if (kinds[costSlot] !== KIND_NUMBER) return null;
      cost = numberAt(b, starts[costSlot] as number, ends[costSlot] as number);
      if (!Number.isFinite(cost) || cost < 0) return null;
    }
    // A currency other than "USD" (as is, in capitals) is made text; anything but a string is
    // left to the JSON.parse path, which words why it is malformed.
    let currency: string | null = null;
    const currencySlot = this.firstSlot(F_CURRENCY);
    if (currencySlot >= 0) {
      const kind = kinds[currencySlot];
      const start = starts[currencySlot] as number;
      const end = ends[currencySlot] as number;
      if (kind === KIND_STRING) {
        if (!(end - start === 5 && b[start + 1] === 85 && b[start + 2] === 83 && b[start + 3] === 68))
          currency = currencyOf(ascii(b, start + 1, end - 1));
      } else if (kind === KIND_ESCAPED) currency = currencyOf(JSON.parse(ascii(b, start, end)) as string);
      else return null;
    }
    const reused = this.reused;
    reused.currency = currency;
    reused.timeMs = timeMs;
    reused.cost = cost;
    reused.inputTokens = inputTokens;
    reused.outputTokens = outputTokens;
    reused.cachedTokens = withTokens ? this.tokensAt(b, F_CACHED) : null;
    if (table.labels) {
      const labels = this.labels;
      const modelId = this.labelIdAt(b, F_MODEL);
      const agentId = this.labelIdAt(b, F_AGENT);
      const providerId = this.labelIdAt(b, F_PROVIDER);
      reused.modelId = modelId;
      reused.agentId = agentId;
      reused.providerId = providerId;
      reused.model = modelId >= 0 ? labels.name(modelId) : modelId === -2 ? null : this.labelAt(b, F_MODEL);
      reused.agent = agentId >= 0 ? labels.name(agentId) : agentId === -2 ? null : this.labelAt(b, F_AGENT);
      reused.provider =
        providerId >= 0 ? labels.name(providerId) : providerId === -2 ? null : this.labelAt(b, F_PROVIDER);
    } else {
      reused.model = null;
      reused.agent = null;
      reused.provider = null;
      reused.modelId = -2;
      reused.agentId = -2;
      reused.providerId = -2;
    }
    reused.stormHash = table.stormField >= 0 && timeMs > table.idsSinceMs ? this.stormHashAt(b) : -1;
    if (table.ids && timeMs >= table.idsSinceMs) {
      reused.task = this.labelAt(b, F_FIRST_LABEL + 3);
      reused.requestId = this.labelAt(b, F_FIRST_LABEL + 4);
      reused.fingerprint = this.labelAt(b, F_FIRST_LABEL + 5);
    } else {
      reused.task = table.task ? this.labelAt(b, F_FIRST_LABEL + 3) : null;
      reused.requestId = null;
      reused.fingerprint = null;
    }
    // Only lines without an id pay for the shape: a line with one has stormHash >= 0, or an id in
    // the other field.
    const shapeable =
      table.shapes &&
      timeMs > table.idsSinceMs &&
      (table.shapesWithIds ||
        (reused.stormHash < 0 && !this.hasIdAt(b, F_REQUEST_ID) && !this.hasIdAt(b, F_FINGERPRINT)));
    reused.shapeable = shapeable;
    if (shapeable) {
      if (!withTokens) {
        reused.inputTokens = this.tokensAt(b, F_IN);
        reused.outputTokens = this.tokensAt(b, F_OUT);
      }
      if (reused.agent === null && reused.task === null) reused.task = this.labelAt(b, F_TASK);
    }
    return reused;
  }

  /**
   * The fields of the line scan() just read whole, as JSON.parse would give them to
   * recordOfObject: every key that names a field is a slot (a flat line's keys are plain ASCII, so
   * none is missed), with its last value. Keys that name no field do not matter to it.
   */
  private flatFields(b: Uint8Array): Record<string, unknown> {
    const table = this.table;
    const { kinds, starts, ends, gens } = this;
    const generation = this.generation;
    const object = Object.create(null) as Record<string, unknown>;
    for (let slot = 0; slot < table.slots.length; slot++) {
      if (gens[slot] !== generation) continue;
      const start = starts[slot] as number;
      const end = ends[slot] as number;
      let value: unknown;
      switch (kinds[slot]) {
        case KIND_NUMBER:
          value = numberAt(b, start, end);
          break;
        case KIND_STRING:
        case KIND_TIME:
          value = ascii(b, start + 1, end - 1);
          break;
        case KIND_ESCAPED:
          value = JSON.parse(ascii(b, start, end)) as string;
          break;
        case KIND_OTHER:
          value = b[start] === 116;
          break;
        default:
          value = null;
      }
      object[(table.slots[slot] as AliasSlot).name] = value;
    }
    return object;
  }
}
