// One log line -> a cost record, or the reason it is malformed.
//
// This is the hot path (a million lines per full scan). Most lines are flat JSON objects, so a
// hand-written scanner reads those by character position without building an object. Anything it
// does not fully understand (nesting, escaped keys, odd whitespace, invalid JSON) is handed to
// JSON.parse, which is the judge of what is valid: the fast path may only ever accept lines that
// JSON.parse accepts, with the same values. A property test holds it to that.
import { epochToMs, parseTimeString } from './timestamp.js';

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
  task: string | null;
  requestId: string | null;
  fingerprint: string | null;
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
  /** Slot indexes by key length, for matching a key without building a string. */
  readonly byLength: readonly (readonly number[])[];
}

const F_TIME = 0;
const F_COST = 1;
const F_IN = 2;
const F_OUT = 3;
const F_CACHED = 4;

/** Build the table; `renames` replaces a field's default names (see README: fields). */
export function fieldTable(renames: Partial<Record<FieldName, readonly string[]>> = {}): FieldTable {
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
  const byLength: number[][] = [];
  slots.forEach((slot, index) => {
    const list = (byLength[slot.name.length] ??= []);
    list.push(index);
  });
  for (let i = 0; i < byLength.length; i++) byLength[i] ??= [];
  return { slots, slotsByField, byLength };
}

// Scratch space for the fast path, reused for every line (single-threaded, never re-entered).
const KIND_NONE = 0;
const KIND_NUMBER = 1;
const KIND_STRING = 2;
const KIND_ESCAPED = 3; // a string with backslash escapes: decoded by JSON.parse when needed
const KIND_OTHER = 4; // true / false
const KIND_NULL = 5;
let kinds = new Uint8Array(64);
let starts = new Int32Array(64);
let ends = new Int32Array(64);
const touched: number[] = [];

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/**
 * Scan a flat JSON object in s[start, end). Returns the position after it when every token was
 * understood, or -1 to defer the whole line to JSON.parse.
 */
function scanFlatObject(s: string, start: number, end: number, table: FieldTable): number {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 123) return -1; // '{'
  i++;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) === 125) return i + 1; // '{}'
  for (;;) {
    // key
    if (i >= end || s.charCodeAt(i) !== 34) return -1;
    const keyStart = ++i;
    for (;;) {
      if (i >= end) return -1;
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 || c < 32) return -1;
      i++;
    }
    const keyEnd = i++;
    while (i < end && isWs(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 58) return -1; // ':'
    i++;
    while (i < end && isWs(s.charCodeAt(i))) i++;
    if (i >= end) return -1;
    // value
    const valueStart = i;
    let kind: number;
    const c0 = s.charCodeAt(i);
    if (c0 === 34) {
      kind = KIND_STRING;
      i++;
      for (;;) {
        if (i >= end) return -1;
        const c = s.charCodeAt(i);
        if (c === 34) break;
        if (c < 32) return -1;
        if (c === 92) {
          kind = KIND_ESCAPED;
          const e = s.charCodeAt(i + 1);
          if (e === 117) {
            // \uXXXX
            for (let k = 2; k < 6; k++) {
              const h = s.charCodeAt(i + k);
              const hex = (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102);
              if (!hex || i + k >= end) return -1;
            }
            i += 6;
            continue;
          }
          if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
            if (i + 1 >= end) return -1;
            i += 2;
            continue;
          }
          return -1;
        }
        i++;
      }
      i++;
    } else if (c0 === 45 || (c0 >= 48 && c0 <= 57)) {
      kind = KIND_NUMBER;
      // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      if (c0 === 45) i++;
      let c = s.charCodeAt(i);
      if (i >= end) return -1;
      if (c === 48) {
        i++;
      } else if (c >= 49 && c <= 57) {
        while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
      } else {
        return -1;
      }
      if (i < end && s.charCodeAt(i) === 46) {
        i++;
        const fracStart = i;
        while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
        if (i === fracStart) return -1;
      }
      if (i < end && ((c = s.charCodeAt(i)) === 101 || c === 69)) {
        i++;
        if (i < end && ((c = s.charCodeAt(i)) === 43 || c === 45)) i++;
        const expStart = i;
        while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
        if (i === expStart) return -1;
      }
    } else if (c0 === 116 && s.startsWith('true', i) && i + 4 <= end) {
      kind = KIND_OTHER;
      i += 4;
    } else if (c0 === 102 && s.startsWith('false', i) && i + 5 <= end) {
      kind = KIND_OTHER;
      i += 5;
    } else if (c0 === 110 && s.startsWith('null', i) && i + 4 <= end) {
      kind = KIND_NULL;
      i += 4;
    } else {
      return -1; // nested object or array, or not JSON: JSON.parse decides
    }
    // Which alias slot, if any, does this key feed?
    const keyLength = keyEnd - keyStart;
    const candidates = table.byLength[keyLength];
    if (candidates !== undefined) {
      for (let k = 0; k < candidates.length; k++) {
        const slot = candidates[k] as number;
        if (s.startsWith((table.slots[slot] as AliasSlot).name, keyStart)) {
          if (kinds[slot] === KIND_NONE) touched.push(slot);
          // A repeated key keeps its last value, as JSON.parse does.
          kinds[slot] = kind;
          starts[slot] = valueStart;
          ends[slot] = i;
          break;
        }
      }
    }
    while (i < end && isWs(s.charCodeAt(i))) i++;
    const sep = s.charCodeAt(i);
    if (i >= end) return -1;
    i++;
    if (sep === 125) return i; // '}'
    if (sep !== 44) return -1; // ','
    while (i < end && isWs(s.charCodeAt(i))) i++;
  }
}

function resetScratch(): void {
  for (let k = 0; k < touched.length; k++) kinds[touched[k] as number] = KIND_NONE;
  touched.length = 0;
}

function ensureScratch(table: FieldTable): void {
  if (table.slots.length > kinds.length) {
    const size = table.slots.length * 2;
    kinds = new Uint8Array(size);
    starts = new Int32Array(size);
    ends = new Int32Array(size);
  }
}

/** The JS value of a scanned slot, exactly as JSON.parse would give it. */
function slotValue(s: string, slot: number): unknown {
  const start = starts[slot] as number;
  const end = ends[slot] as number;
  switch (kinds[slot]) {
    case KIND_NUMBER:
      return Number(s.slice(start, end));
    case KIND_STRING:
      return s.slice(start + 1, end - 1);
    case KIND_ESCAPED:
      return JSON.parse(s.slice(start, end));
    case KIND_OTHER:
      return s.charCodeAt(start) === 116;
    default:
      return null;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function names(table: FieldTable, field: number): string {
  return (table.slotsByField[field] as number[]).map((slot) => (table.slots[slot] as AliasSlot).name).join(', ');
}

function tokenCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function label(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/**
 * The shared second half of both paths: `get(slot)` gives an alias slot's value (undefined when
 * the key is absent). The first alias, in order of precedence, whose value is not null wins.
 */
function build(table: FieldTable, get: (slot: number) => unknown): ParsedLine {
  const pick = (field: number): [unknown, string] | null => {
    const slots = table.slotsByField[field] as number[];
    for (let k = 0; k < slots.length; k++) {
      const value = get(slots[k] as number);
      if (value !== undefined && value !== null) return [value, (table.slots[slots[k] as number] as AliasSlot).name];
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
  if (Number.isNaN(timeMs)) return `"${timeKey}" is not an ISO 8601 time or epoch number: ${describe(timeValue)}`;

  const inputTokens = tokenCount(pick(F_IN)?.[0]);
  const outputTokens = tokenCount(pick(F_OUT)?.[0]);
  const cachedTokens = tokenCount(pick(F_CACHED)?.[0]);
  const costPick = pick(F_COST);
  let cost: number | null = null;
  if (costPick === null) {
    if (inputTokens === null && outputTokens === null) {
      return `no cost (expected one of: ${names(table, F_COST)}) and no token counts`;
    }
  } else {
    const [costValue, costKey] = costPick;
    if (typeof costValue !== 'number') return `"${costKey}" is not a number: ${describe(costValue)}`;
    if (!Number.isFinite(costValue)) return `"${costKey}" is not finite`;
    if (costValue < 0) return `"${costKey}" is negative: ${costValue}`;
    cost = costValue;
  }
  return {
    timeMs,
    cost,
    inputTokens,
    outputTokens,
    cachedTokens,
    model: label(pick(5)?.[0]),
    provider: label(pick(6)?.[0]),
    agent: label(pick(7)?.[0]),
    task: label(pick(8)?.[0]),
    requestId: label(pick(9)?.[0]),
    fingerprint: label(pick(10)?.[0]),
  };
}

const NON_JSON_NUMBER = /(?::|\[|,)\s*-?(?:NaN|Infinity)\b/;

function parseSlow(line: string, table: FieldTable): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    // Python's json.dumps writes NaN and Infinity, which are not JSON: say so plainly.
    if (NON_JSON_NUMBER.test(line)) return 'not JSON: NaN or Infinity is not a JSON number';
    // V8 quotes the line back ("..." is not valid JSON); the excerpt already shows it.
    const detail = (error instanceof Error ? error.message : String(error)).replace(/,? ".*" is not valid JSON$/s, '');
    return `not JSON: ${detail.length > 80 ? `${detail.slice(0, 80)}…` : detail}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a JSON object: ${Array.isArray(value) ? 'an array' : describe(value)}`;
  }
  const object = value as Record<string, unknown>;
  return build(table, (slot) => {
    const name = (table.slots[slot] as AliasSlot).name;
    return Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
  });
}

/** Parse the line s[start, end) (no newline). */
export function parseLine(s: string, table: FieldTable, start = 0, end = s.length): ParsedLine {
  ensureScratch(table);
  const after = scanFlatObject(s, start, end, table);
  let trailingOk = after >= 0;
  if (trailingOk) {
    for (let i = after; i < end; i++) {
      if (!isWs(s.charCodeAt(i))) {
        trailingOk = false;
        break;
      }
    }
  }
  if (!trailingOk) {
    resetScratch();
    return parseSlow(start === 0 && end === s.length ? s : s.slice(start, end), table);
  }
  const result = build(table, (slot) => (kinds[slot] === KIND_NONE ? undefined : slotValue(s, slot)));
  resetScratch();
  return result;
}

/** Only for tests: force the JSON.parse path, to compare both. */
export function parseLineSlow(line: string, table: FieldTable): ParsedLine {
  return parseSlow(line, table);
}
