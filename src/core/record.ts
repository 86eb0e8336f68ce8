// One log line -> a cost record, or the reason it is malformed.
//
// This is the hot path (a million lines per full scan). Most lines are flat JSON objects, so a
// hand-written scanner reads those by character position without building an object. Anything it
// does not fully understand (nesting, escaped keys, odd whitespace, invalid JSON) is handed to
// JSON.parse, which is the judge of what is valid: the fast path may only ever accept lines that
// JSON.parse accepts, with the same values. A property test holds it to that.
import { labelIdOfBytes, labelIdOfString, labelIs, labelName } from './labels.js';
import { idHashOfBytes, idHashOfString, isRequestId, mayBePlaceholder } from './storms.js';
import { jsonProblem } from './json-syntax.js';
import { epochToMs, isoAt, isoOut, parseTimeBytes, parseTimeString } from './timestamp.js';

export const FIELDS = [
  'time',
  'cost',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'model',
  'provider',
  'agent',
  'task',
  'request_id',
  'fingerprint',
] as const;
export type FieldName = (typeof FIELDS)[number];

/** The names each field goes by, in order of precedence, when the config renames nothing. */
export const DEFAULT_ALIASES: Record<FieldName, readonly string[]> = {
  time: ['ts', 'timestamp', 'time', 't'],
  cost: ['cost_usd', 'cost'],
  input_tokens: ['input_tokens', 'prompt_tokens', 'tokens_in', 'in'],
  output_tokens: ['output_tokens', 'completion_tokens', 'tokens_out', 'out'],
  cached_tokens: ['cached_input_tokens', 'cached_tokens', 'cache_read_input_tokens', 'cache_read_tokens'],
  model: ['model'],
  provider: ['provider'],
  agent: ['agent'],
  task: ['task'],
  request_id: ['request_id'],
  fingerprint: ['fingerprint'],
};

export interface CostRecord {
  /** Epoch milliseconds. */
  timeMs: number;
  /** The cost the app logged, USD; null when the line has token counts but no cost. */
  cost: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedTokens: number | null;
  model: string | null;
  provider: string | null;
  agent: string | null;
  /** Registered ids of model and agent (core/labels.ts): -2 when absent, -1 when without an id. */
  modelId: number;
  agentId: number;
  providerId: number;
  task: string | null;
  requestId: string | null;
  fingerprint: string | null;
  /** The retry-storm id's hash (core/storms.ts), or -1: none, a placeholder, or not read. */
  stormHash: number;
  /** Its text, when already made (otherwise lastStormText() makes it from the line's bytes). */
  stormText: string | null;
}

/** A parsed line is a record, or a string saying why the line is malformed. */
export type ParsedLine = CostRecord | string;

interface AliasSlot {
  name: string;
  field: number;
}

/** Which key names feed which field: built once from the config, used for every line. */
export interface FieldTable {
  /** Per field, its alias slots in order of precedence. */
  readonly slotsByField: readonly (readonly number[])[];
  readonly slots: readonly AliasSlot[];
  /** Whether to read model / provider / agent / task / request_id / fingerprint. */
  readonly labels: boolean;
  /** Read task, request_id and fingerprint (`labels` reads model, provider and agent). */
  readonly ids: boolean;
  /** Read those, and the retry-storm id, only on lines dated after this time (epoch ms). */
  idsSinceMs: number;
  /** The field whose value is hashed as the retry-storm id (a FIELDS index), or -1. */
  readonly stormField: number;
  /** Whether to read token counts on every line (otherwise only on lines without a cost). */
  readonly tokens: boolean;
  // For matching keys in the raw bytes: candidate names grouped by first byte (CSR layout, so
  // the hot loop touches only typed arrays). Names needing escapes in JSON are left out: the
  // JSON.parse path matches those.
  readonly firstStart: Int32Array; // 257 entries: candidates of byte c are [firstStart[c], firstStart[c+1])
  readonly candSlot: Int32Array;
  readonly candLength: Int32Array;
  /** The first four bytes of the name, little-endian, zero-padded. */
  readonly candWord: Int32Array;
  readonly candOffset: Int32Array;
  readonly nameBytes: Uint8Array;
  /** 1 for the slots of the time field, whose strings are parsed as they are scanned. */
  readonly isTime: Uint8Array;
  /** Per slot, 1 << its field. */
  readonly fieldBit: Int32Array;
  /**
   * With at most 31 slots (the default names need 24): per slot 1 << slot, and per field the bits
   * of its slots. Slots are numbered in order of precedence, so a field's first name present on a
   * line is the lowest bit set. Null when there are more slots (then the slots are searched).
   */
  readonly slotBit: Int32Array | null;
  readonly fieldSlots: Int32Array | null;
}

const F_TIME = 0;
const F_COST = 1;
const F_IN = 2;
const F_OUT = 3;
const F_CACHED = 4;
const F_FIRST_LABEL = 5;
const F_MODEL = F_FIRST_LABEL;
const F_PROVIDER = F_FIRST_LABEL + 1;
const F_AGENT = F_FIRST_LABEL + 2;

const utf8 = new TextEncoder();

/**
 * Build the table; `renames` replaces a field's default names (see README: fields). `labels`
 * (model, agent), `ids` (provider, task, request_id, fingerprint) and `tokens` turn on reading
 * those fields of every line: they cost time on every line, so only when something uses them.
 */
export function fieldTable(
  renames: Partial<Record<FieldName, readonly string[]>> = {},
  options: {
    labels?: boolean;
    ids?: boolean;
    tokens?: boolean;
    idsSinceMs?: number;
    stormKey?: 'request_id' | 'fingerprint';
  } = {},
): FieldTable {
  const slots: AliasSlot[] = [];
  const slotsByField: number[][] = [];
  FIELDS.forEach((field, fieldIndex) => {
    const names = renames[field] ?? DEFAULT_ALIASES[field];
    const ids: number[] = [];
    for (const name of names) {
      ids.push(slots.length);
      slots.push({ name, field: fieldIndex });
    }
    slotsByField.push(ids);
  });
  const byFirst: { slot: number; bytes: Uint8Array }[][] = Array.from({ length: 256 }, () => []);
  slots.forEach((slot, index) => {
    const bytes = utf8.encode(slot.name);
    const plain = bytes.length > 0 && bytes.every((c) => c >= 32 && c <= 126 && c !== 34 && c !== 92);
    if (plain)
      (byFirst[bytes[0] as number] as { slot: number; bytes: Uint8Array }[]).push({ slot: index, bytes });
  });
  const flat = byFirst.flat();
  const firstStart = new Int32Array(257);
  for (let c = 0; c < 256; c++)
    firstStart[c + 1] = (firstStart[c] as number) + (byFirst[c] as unknown[]).length;
  const candSlot = new Int32Array(flat.length);
  const candLength = new Int32Array(flat.length);
  const candWord = new Int32Array(flat.length);
  const candOffset = new Int32Array(flat.length);
  const nameBytes = new Uint8Array(flat.reduce((n, c) => n + c.bytes.length, 0));
  let offset = 0;
  flat.forEach((c, k) => {
    candSlot[k] = c.slot;
    candLength[k] = c.bytes.length;
    candWord[k] =
      (c.bytes[0] ?? 0) | ((c.bytes[1] ?? 0) << 8) | ((c.bytes[2] ?? 0) << 16) | ((c.bytes[3] ?? 0) << 24);
    candOffset[k] = offset;
    nameBytes.set(c.bytes, offset);
    offset += c.bytes.length;
  });
  const isTime = new Uint8Array(slots.length);
  for (const slot of slotsByField[F_TIME] as number[]) isTime[slot] = 1;
  const fieldBit = new Int32Array(slots.length);
  for (const [index, slot] of slots.entries()) fieldBit[index] = 1 << slot.field;
  const narrow = slots.length <= 31;
  const slotBit = narrow ? new Int32Array(slots.length) : null;
  const fieldSlots = narrow ? new Int32Array(FIELDS.length) : null;
  if (slotBit !== null && fieldSlots !== null) {
    slots.forEach((slot, index) => {
      slotBit[index] = 1 << index;
      fieldSlots[slot.field] = (fieldSlots[slot.field] as number) | (1 << index);
    });
  }
  return {
    slots,
    slotsByField,
    labels: options.labels === true,
    ids: options.ids === true,
    idsSinceMs: options.idsSinceMs ?? -Infinity,
    stormField: options.stormKey === undefined ? -1 : FIELDS.indexOf(options.stormKey),
    tokens: options.tokens === true,
    firstStart,
    candSlot,
    candLength,
    candWord,
    candOffset,
    nameBytes,
    isTime,
    fieldBit,
    slotBit,
    fieldSlots,
  };
}

// Scratch space for the fast path, reused for every line (single-threaded, never re-entered).
// A slot holds a value for the current line only when its generation is the current one, so
// nothing needs clearing between lines.
const KIND_NUMBER = 1;
const KIND_STRING = 2;
const KIND_ESCAPED = 3; // a string with backslash escapes
const KIND_OTHER = 4; // true / false
const KIND_NULL = 5;
const KIND_TIME = 6; // a time string already read: the value is in times[]
let times = new Float64Array(64);
let kinds = new Uint8Array(64);
let starts = new Int32Array(64);
let ends = new Int32Array(64);
let gens = new Int32Array(64);
let generation = 0;
/** The fields the current line has a key for (bit = FIELDS index): absent ones are not looked for. */
let fieldsSeen = 0;
/** The slots the current line has a value other than null for (see FieldTable.slotBit). */
let slotsSeen = 0;

/** JSON whitespace, less the newline: the newline ends the line. */
function isWs(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 13;
}

const WORD_MASK = [0, 0xff, 0xffff, 0xffffff];

// Byte classes inside a JSON string: 0 plain, 1 quote, 2 backslash, 3 hand the line to JSON.parse
// (control characters, which JSON forbids raw, and bytes >= 0x80, which need UTF-8 decoding).
// The newline after every line is class 3, so inner loops stop there without a bounds check.
const STRING_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) STRING_CLASS[c] = c === 34 ? 1 : c === 92 ? 2 : c < 32 || c > 126 ? 3 : 0;
const DIGIT = new Uint8Array(256);
for (let c = 48; c <= 57; c++) DIGIT[c] = 1;

/**
 * Scan one flat JSON object of printable ASCII starting at b[start], reading no further than
 * `limit`, filling the scratch slots. Returns the index just past the object and its trailing
 * blanks (where the caller expects the newline, or the end of the line), or -1 to hand the line
 * to JSON.parse: nesting, any byte >= 0x80, a control character, anything odd. It accepts only
 * text that is valid JSON. The newline is class 3 and not whitespace, so no loop crosses it; an
 * inner loop may run past `limit` only when the line is cut short mid-token, and the `>= limit`
 * checks then defer it.
 */
function scanFlat(b: Uint8Array, start: number, limit: number, table: FieldTable): number {
  generation++;
  const gen = generation;
  fieldsSeen = 0;
  slotsSeen = 0;
  let i = start;
  while (isWs(b[i])) i++;
  if (b[i] !== 123) return -1; // '{'
  i++;
  while (isWs(b[i])) i++;
  if (b[i] === 125) {
    i++;
  } else {
    const { firstStart, candSlot, candLength, candWord, candOffset, nameBytes } = table;
    for (;;) {
      // key: plain ASCII, no escapes. A key we read is matched in place against the names that
      // start with its first byte; any other key is skipped with the class table.
      if (i >= limit || b[i] !== 34) return -1;
      i++;
      let slot = -1;
      const c0 = (b[i] as number) | 0; // | 0: past the end a byte reads as undefined, and an undefined index makes every later lookup slow
      const kEnd = firstStart[c0 + 1] as number;
      let k = firstStart[c0] as number;
      if (k < kEnd) {
        const word =
          c0 | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
        for (; k < kEnd; k++) {
          const length = candLength[k] as number;
          if (b[i + length] !== 34) continue;
          if (length < 4 ? (word & (WORD_MASK[length] as number)) !== candWord[k] : word !== candWord[k])
            continue;
          let j = 4;
          const offset = candOffset[k] as number;
          while (j < length && b[i + j] === nameBytes[offset + j]) j++;
          if (j >= length) {
            slot = candSlot[k] as number;
            i += length;
            break;
          }
        }
      }
      if (slot < 0) while (STRING_CLASS[(b[i] as number) | 0] === 0) i++;
      if (i >= limit || b[i] !== 34) return -1;
      i++;
      while (isWs(b[i])) i++;
      if (b[i] !== 58) return -1; // ':'
      i++;
      while (isWs(b[i])) i++;
      // value
      const valueStart = i;
      let kind: number;
      let c = (b[i] as number) | 0;
      let timeEnd: number;
      if (
        c === 34 &&
        slot >= 0 &&
        table.isTime[slot] === 1 &&
        (timeEnd = isoAt(b, i + 1, limit)) > 0 &&
        b[timeEnd] === 34
      ) {
        // An ISO time, read in place: only digits and T, Z, +, -, :, . so a plain JSON string.
        kind = KIND_TIME;
        times[slot] = isoOut[0] as number;
        i = timeEnd + 1;
      } else if (c === 34) {
        kind = KIND_STRING;
        i++;
        for (;;) {
          while (STRING_CLASS[(b[i] as number) | 0] === 0) i++;
          if (i >= limit) return -1;
          const cls = STRING_CLASS[(b[i] as number) | 0];
          if (cls === 1) break;
          if (cls === 3) return -1;
          // backslash
          kind = KIND_ESCAPED;
          const e = b[i + 1];
          if (e === 117) {
            // \uXXXX
            if (i + 6 > limit) return -1;
            for (let h = 2; h < 6; h++) {
              const x = b[i + h] as number;
              if (!((x >= 48 && x <= 57) || (x >= 65 && x <= 70) || (x >= 97 && x <= 102))) return -1;
            }
            i += 6;
          } else if (
            e === 34 ||
            e === 92 ||
            e === 47 ||
            e === 98 ||
            e === 102 ||
            e === 110 ||
            e === 114 ||
            e === 116
          ) {
            i += 2;
          } else {
            return -1;
          }
        }
        i++;
      } else if (c === 45 || DIGIT[c] === 1) {
        kind = KIND_NUMBER;
        // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        if (c === 45) c = (b[++i] as number) | 0;
        if (c === 48) i++;
        else if (DIGIT[c] === 1) while (DIGIT[(b[++i] as number) | 0] === 1);
        else return -1;
        if (b[i] === 46) {
          const fracStart = ++i;
          while (DIGIT[(b[i] as number) | 0] === 1) i++;
          if (i === fracStart) return -1;
        }
        c = (b[i] as number) | 0;
        if (c === 101 || c === 69) {
          c = (b[++i] as number) | 0;
          if (c === 43 || c === 45) i++;
          const expStart = i;
          while (DIGIT[(b[i] as number) | 0] === 1) i++;
          if (i === expStart) return -1;
        }
      } else if (c === 116 && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101) {
        kind = KIND_OTHER; // true
        i += 4;
      } else if (c === 102 && b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101) {
        kind = KIND_OTHER; // false
        i += 5;
      } else if (c === 110 && b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108) {
        kind = KIND_NULL;
        i += 4;
      } else {
        return -1; // nested object or array, or not JSON: JSON.parse decides
      }
      if (i >= limit) return -1;
      if (slot >= 0) {
        // A repeated key keeps its last value, as JSON.parse does.
        gens[slot] = gen;
        fieldsSeen |= table.fieldBit[slot] as number;
        const bits = table.slotBit;
        if (bits !== null)
          slotsSeen =
            kind === KIND_NULL ? slotsSeen & ~(bits[slot] as number) : slotsSeen | (bits[slot] as number);
        kinds[slot] = kind;
        starts[slot] = valueStart;
        ends[slot] = i;
      }
      while (isWs(b[i])) i++;
      if (i >= limit) return -1;
      const sep = b[i++];
      if (sep === 125) break; // '}'
      if (sep !== 44) return -1; // ','
      while (isWs(b[i])) i++;
    }
  }
  while (i < limit && isWs(b[i])) i++;
  return i <= limit ? i : -1;
}

function ensureScratch(table: FieldTable): void {
  if (table.slots.length > kinds.length) {
    const size = table.slots.length * 2;
    kinds = new Uint8Array(size);
    starts = new Int32Array(size);
    ends = new Int32Array(size);
    gens = new Int32Array(size);
    times = new Float64Array(size);
  }
}

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/**
 * A number as String() writes it, through JSON.stringify: String() keeps what it made in V8's
 * number-string cache, allocated in the old generation, so a number written per line (a numeric
 * id, a reason's value) piled up garbage there (2,000,000 negative costs: 104 MB peak RSS, 81 so).
 */
function numberText(value: number): string {
  return Number.isFinite(value) ? JSON.stringify(value) : String(value);
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(b[i] as number);
  return out;
}

/**
 * A JSON number (already validated) as Number() reads it. Clinger's fast path: when the digits
 * fit in 2^53 and the power of ten is at most 22, both are exact doubles and one division or
 * multiplication rounds correctly, which is exactly what Number() returns. Otherwise Number().
 */
function numberAt(b: Uint8Array, start: number, end: number): number {
  let i = start;
  const negative = b[i] === 45;
  if (negative) i++;
  let mantissa = 0;
  let significant = 0;
  let scale = 0;
  let c = 0;
  while (i < end && (c = b[i] as number) >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    if (mantissa !== 0) significant++;
    i++;
  }
  if (i < end && c === 46) {
    i++;
    while (i < end && (c = b[i] as number) >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      if (mantissa !== 0) significant++;
      scale++;
      i++;
    }
  }
  if (i < end || significant > 15 || scale > 22) return Number(ascii(b, start, end)); // exponent, or too long
  const value = scale === 0 ? mantissa : mantissa / (POW10[scale] as number);
  return negative ? -value : value;
}

function firstSlot(table: FieldTable, field: number): number {
  if ((fieldsSeen & (1 << field)) === 0) return -1;
  const fieldSlots = table.fieldSlots;
  if (fieldSlots !== null) {
    const present = slotsSeen & (fieldSlots[field] as number);
    return present === 0 ? -1 : 31 - Math.clz32(present & -present);
  }
  const slots = table.slotsByField[field] as number[];
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k] as number;
    if (gens[slot] === generation && kinds[slot] !== KIND_NULL) return slot;
  }
  return -1;
}

function tokensAt(b: Uint8Array, table: FieldTable, field: number): number | null {
  const slot = firstSlot(table, field);
  if (slot < 0 || kinds[slot] !== KIND_NUMBER) return null;
  const value = numberAt(b, starts[slot] as number, ends[slot] as number);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/** Per field, the label id of the line before. */
const lastLabelIds = new Int32Array(FIELDS.length).fill(-1);

/** Model or agent: its registered id (-2 when the line has none, -1 when it has no id). */
function labelIdAt(b: Uint8Array, table: FieldTable, field: number): number {
  const slot = firstSlot(table, field);
  if (slot < 0) return -2;
  if (kinds[slot] === KIND_STRING) {
    const start = (starts[slot] as number) + 1;
    const end = (ends[slot] as number) - 1;
    // Most lines name the same model (or agent) as the line before.
    const last = lastLabelIds[field] as number;
    if (labelIs(last, b, start, end)) return last;
    const id = labelIdOfBytes(b, start, end);
    lastLabelIds[field] = id;
    return id;
  }
  const text = labelAt(b, table, field);
  return text === null ? -2 : labelIdOfString(text);
}

function labelAt(b: Uint8Array, table: FieldTable, field: number): string | null {
  const slot = firstSlot(table, field);
  if (slot < 0) return null;
  const start = starts[slot] as number;
  const end = ends[slot] as number;
  switch (kinds[slot]) {
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The one record the fast path fills in: allocating a million of them costs more than reading. */
const reused: CostRecord = {
  timeMs: 0,
  cost: null,
  inputTokens: null,
  outputTokens: null,
  cachedTokens: null,
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
};

// Where the last fast-read line's storm id is, to make its text only when it is needed.
let stormBytes: Uint8Array = new Uint8Array(0);
let stormStart = 0;
let stormEnd = 0;
let stormMade: string | null = null;

/** Where the storm id of the line the fast path read last is: its bytes (see lastStormText). */
export function lastStormBytes(): Uint8Array {
  return stormBytes;
}
export function lastStormStart(): number {
  return stormStart;
}
export function lastStormEnd(): number {
  return stormEnd;
}
/** Whether that id is those bytes as they are (not an escaped string, nor a number made text). */
export function lastStormIsBytes(): boolean {
  return stormMade === null;
}

/** The storm id of the line the fast path read last, as text (see CostRecord.stormHash). */
export function lastStormText(): string {
  if (stormMade !== null) return stormMade;
  return ascii(stormBytes, stormStart, stormEnd);
}

/** The storm id's hash, or -1 when the line has none (missing, null, empty, a placeholder). */
function stormHashAt(b: Uint8Array, table: FieldTable): number {
  const slot = firstSlot(table, table.stormField);
  if (slot < 0) return -1;
  const kind = kinds[slot];
  if (kind === KIND_STRING) {
    const start = (starts[slot] as number) + 1;
    const end = (ends[slot] as number) - 1;
    // Only a short id starting with a blank, u, n or - can be a placeholder ("unknown", "n/a").
    const first = (b[start] as number) | 0x20;
    if (
      mayBePlaceholder(end - start) &&
      (end === start || first === 0x75 || first === 0x6e || first === 45 || first === 32 || first === 41) &&
      !isRequestId(ascii(b, start, end))
    )
      return -1;
    stormBytes = b;
    stormStart = start;
    stormEnd = end;
    stormMade = null;
    return idHashOfBytes(b, start, end);
  }
  const text = kind === KIND_ESCAPED || kind === KIND_NUMBER ? labelAt(b, table, table.stormField) : null;
  if (text === null || !isRequestId(text)) return -1;
  stormMade = text;
  return idHashOfString(text);
}

/**
 * The record of a line the scanner understood, or null to let the JSON.parse path decide (and
 * word the reason when the line is malformed).
 */
function fastRecord(b: Uint8Array, table: FieldTable): CostRecord | null {
  const timeSlot = firstSlot(table, F_TIME);
  if (timeSlot < 0) return null;
  let timeMs: number;
  const timeKind = kinds[timeSlot];
  if (timeKind === KIND_TIME) timeMs = times[timeSlot] as number;
  else if (timeKind === KIND_NUMBER)
    timeMs = epochToMs(numberAt(b, starts[timeSlot] as number, ends[timeSlot] as number));
  else if (timeKind === KIND_STRING)
    timeMs = parseTimeBytes(b, (starts[timeSlot] as number) + 1, (ends[timeSlot] as number) - 1);
  else return null;
  if (Number.isNaN(timeMs)) return null;
  const costSlot = firstSlot(table, F_COST);
  const withTokens = table.tokens || costSlot < 0;
  const inputTokens = withTokens ? tokensAt(b, table, F_IN) : null;
  const outputTokens = withTokens ? tokensAt(b, table, F_OUT) : null;
  let cost: number | null = null;
  if (costSlot < 0) {
    if (inputTokens === null && outputTokens === null) return null;
  } else {
    if (kinds[costSlot] !== KIND_NUMBER) return null;
    cost = numberAt(b, starts[costSlot] as number, ends[costSlot] as number);
    if (!Number.isFinite(cost) || cost < 0) return null;
  }
  reused.timeMs = timeMs;
  reused.cost = cost;
  reused.inputTokens = inputTokens;
  reused.outputTokens = outputTokens;
  reused.cachedTokens = withTokens ? tokensAt(b, table, F_CACHED) : null;
  if (table.labels) {
    const modelId = labelIdAt(b, table, F_MODEL);
    const agentId = labelIdAt(b, table, F_AGENT);
    const providerId = labelIdAt(b, table, F_PROVIDER);
    reused.modelId = modelId;
    reused.agentId = agentId;
    reused.providerId = providerId;
    reused.model = modelId >= 0 ? labelName(modelId) : modelId === -2 ? null : labelAt(b, table, F_MODEL);
    reused.agent = agentId >= 0 ? labelName(agentId) : agentId === -2 ? null : labelAt(b, table, F_AGENT);
    reused.provider =
      providerId >= 0 ? labelName(providerId) : providerId === -2 ? null : labelAt(b, table, F_PROVIDER);
  } else {
    reused.model = null;
    reused.agent = null;
    reused.provider = null;
    reused.modelId = -2;
    reused.agentId = -2;
    reused.providerId = -2;
  }
  reused.stormHash = table.stormField >= 0 && timeMs > table.idsSinceMs ? stormHashAt(b, table) : -1;
  if (table.ids && timeMs >= table.idsSinceMs) {
    reused.task = labelAt(b, table, F_FIRST_LABEL + 3);
    reused.requestId = labelAt(b, table, F_FIRST_LABEL + 4);
    reused.fingerprint = labelAt(b, table, F_FIRST_LABEL + 5);
  } else {
    reused.task = null;
    reused.requestId = null;
    reused.fingerprint = null;
  }
  return reused;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return numberText(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function names(table: FieldTable, field: number): string {
  return (table.slotsByField[field] as number[])
    .map((slot) => (table.slots[slot] as AliasSlot).name)
    .join(', ');
}

function tokenCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function label(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return numberText(value);
  return null;
}

/**
 * The fields of the line scanFlat just read whole, as JSON.parse would give them to fromObject:
 * every key that names a field is a slot (a flat line's keys are plain ASCII, so none is missed),
 * with its last value. Keys that name no field do not matter to fromObject.
 */
function flatFields(b: Uint8Array, table: FieldTable): Record<string, unknown> {
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

/** The JSON.parse path: the judge of what is valid, and the words for what is not. */
function fromObject(table: FieldTable, object: Record<string, unknown>): ParsedLine {
  const pick = (field: number): [unknown, string] | null => {
    for (const slot of table.slotsByField[field] as number[]) {
      const name = (table.slots[slot] as AliasSlot).name;
      const value = Object.hasOwn(object, name) ? object[name] : undefined;
      if (value !== undefined && value !== null) return [value, name];
    }
    return null;
  };
  const time = pick(F_TIME);
  if (time === null) return `no time (expected one of: ${names(table, F_TIME)})`;
  const [timeValue, timeKey] = time;
  let timeMs: number;
  if (typeof timeValue === 'number') timeMs = epochToMs(timeValue);
  else if (typeof timeValue === 'string') timeMs = parseTimeString(timeValue);
  else timeMs = NaN;
  if (Number.isNaN(timeMs))
    return `"${timeKey}" is not an ISO 8601 time or epoch number: ${describe(timeValue)}`;

  const costPick = pick(F_COST);
  const withTokens = table.tokens || costPick === null;
  const inputTokens = withTokens ? tokenCount(pick(F_IN)?.[0]) : null;
  const outputTokens = withTokens ? tokenCount(pick(F_OUT)?.[0]) : null;
  let cost: number | null = null;
  if (costPick === null) {
    if (inputTokens === null && outputTokens === null) {
      return `no cost (expected one of: ${names(table, F_COST)}) and no token counts`;
    }
  } else {
    const [costValue, costKey] = costPick;
    if (typeof costValue !== 'number') return `"${costKey}" is not a number: ${describe(costValue)}`;
    if (!Number.isFinite(costValue)) return `"${costKey}" is not finite`;
    if (costValue < 0) return `"${costKey}" is negative: ${numberText(costValue)}`;
    cost = costValue;
  }
  const labelOf = (field: number): string | null =>
    (
      field === F_MODEL || field === F_AGENT || field === F_PROVIDER
        ? table.labels
        : table.ids && timeMs >= table.idsSinceMs
    )
      ? label(pick(field)?.[0])
      : null;
  const model = labelOf(F_MODEL);
  const agent = labelOf(F_AGENT);
  const provider = labelOf(F_PROVIDER);
  return {
    timeMs,
    cost,
    inputTokens,
    outputTokens,
    cachedTokens: withTokens ? tokenCount(pick(F_CACHED)?.[0]) : null,
    model,
    provider,
    agent,
    task: labelOf(F_FIRST_LABEL + 3),
    requestId: labelOf(F_FIRST_LABEL + 4),
    fingerprint: labelOf(F_FIRST_LABEL + 5),
    modelId: model === null ? -2 : labelIdOfString(model),
    agentId: agent === null ? -2 : labelIdOfString(agent),
    providerId: provider === null ? -2 : labelIdOfString(provider),
    ...stormOf(table, timeMs, pick),
  };
}

/** The storm id of a line read with JSON.parse. */
function stormOf(
  table: FieldTable,
  timeMs: number,
  pick: (field: number) => [unknown, string] | null,
): { stormHash: number; stormText: string | null } {
  if (table.stormField < 0 || !(timeMs > table.idsSinceMs)) return { stormHash: -1, stormText: null };
  const text = label(pick(table.stormField)?.[0]);
  return text !== null && isRequestId(text)
    ? { stormHash: idHashOfString(text), stormText: text }
    : { stormHash: -1, stormText: null };
}

const NON_JSON_NUMBER = /(?::|\[|,)\s*-?(?:NaN|Infinity)\b/;

/** Parse a decoded line with JSON.parse. */
export function parseLineSlow(line: string, table: FieldTable): ParsedLine {
  // JSON.parse only what it accepts: each line it rejects leaves V8 a Script in the old generation
  // (core/json-syntax.ts), hundreds of megabytes over a log of malformed lines.
  const problem = jsonProblem(line);
  if (problem !== null) return `not JSON: ${problem}`;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    // Python's json.dumps writes NaN and Infinity, which are not JSON: say so plainly.
    if (NON_JSON_NUMBER.test(line)) return 'not JSON: NaN or Infinity is not a JSON number';
    // V8 quotes the line back ("..." is not valid JSON); the excerpt already shows it.
    const detail = (error instanceof Error ? error.message : String(error)).replace(
      /,? ".*" is not valid JSON$/s,
      '',
    );
    return `not JSON: ${detail.length > 80 ? `${detail.slice(0, 80)}…` : detail}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a JSON object: ${Array.isArray(value) ? 'an array' : describe(value)}`;
  }
  return fromObject(table, value as Record<string, unknown>);
}

/**
 * Parse the line b[start, end) (no newline), straight from the bytes of the log. Hot path: a
 * record returned here may be the same object on the next call; copy what you keep.
 */
export function parseLineBytes(b: Uint8Array, start: number, end: number, table: FieldTable): ParsedLine {
  ensureScratch(table);
  if (scanFlat(b, start, end, table) === end) {
    const record = fastRecord(b, table);
    if (record !== null) return record;
    // Valid flat JSON the fast path did not take (no time, a negative cost...): the judge sees the
    // same fields without JSON.parse, which interns every short string value of the line in V8's
    // string table (over 2,000,000 such lines: about 50 MB more peak RSS).
    return fromObject(table, flatFields(b, table));
  }
  let text: string;
  try {
    text = strictUtf8.decode(b.subarray(start, end));
  } catch {
    return 'invalid UTF-8';
  }
  return parseLineSlow(text, table);
}

/**
 * The fast path alone, on a line whose end is not known yet: b[start] starts a line, and its
 * newline is somewhere before `limit`. Returns the index of that newline when the line was read
 * (the record is then `lastFastRecord()`), or -1: the caller finds the line's end itself and
 * calls parseLineBytes, which decides everything the fast path did not.
 */
export function parseLineFast(b: Uint8Array, start: number, limit: number, table: FieldTable): number {
  ensureScratch(table);
  const after = scanFlat(b, start, limit, table);
  if (after < 0 || after >= limit || b[after] !== 10) return -1;
  return fastRecord(b, table) === null ? -1 : after;
}

/** The record the last successful parseLineFast read (the same object each time). */
export function lastFastRecord(): CostRecord {
  return reused;
}

/** Parse one line given as a string (tests, and callers that already hold text): a fresh record. */
export function parseLine(line: string, table: FieldTable): ParsedLine {
  const bytes = utf8.encode(line);
  const parsed = parseLineBytes(bytes, 0, bytes.length, table);
  return typeof parsed === 'string' ? parsed : { ...parsed };
}
