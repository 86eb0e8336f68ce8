// What a log line's fields are called, the table that finds them in a line's bytes (built once
// from the config), and the record a line becomes.
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
  'currency',
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
  currency: ['currency'],
};

export interface CostRecord {
  /** Epoch milliseconds. */
  timeMs: number;
  /** The cost the app logged, USD; null when the line has token counts but no cost. */
  cost: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedTokens: number | null;
  /**
   * Cache writes (part of inputTokens, like cachedTokens), at the default (5-minute) and the
   * 1-hour rate: only the formats that log them (src/sources/) set them; null on the JSONL path.
   */
  cacheWriteTokens: number | null;
  cacheWrite1hTokens: number | null;
  /**
   * The input tokens that choose a tiered price (a long-context tier), when they are not this
   * record's own: the part of a call counted after an earlier copy of it (src/sources/) is
   * priced at the whole call's tier. Never set on the JSONL path.
   */
  tierInputTokens?: number;
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
  /** The retry-storm id's hash (core/storms/ids.ts), or -1: none, a placeholder, or not read. */
  stormHash: number;
  /** Its text, when already made (otherwise lastStormText() makes it from the line's bytes). */
  stormText: string | null;
  /**
   * A line of the app's own log that carries no request id and no fingerprint, dated after
   * idsSinceMs: followed by its call shape (core/storms/shapes.ts). Only set when the table follows
   * shapes; its tokens, and its task when it names no agent, are then read whatever else says.
   */
  shapeable: boolean;
  /**
   * The currency its logged cost is in (ISO 4217, as logged), or null: US dollars (no `currency`,
   * or "USD"). The scan converts it at cost.currency_rates, or finds the line malformed.
   */
  currency: string | null;
}

/** A parsed line is a record, or a string saying why the line is malformed. */
export type ParsedLine = CostRecord | string;

export interface AliasSlot {
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
  /** Read task on every line (scoped budgets on task), whatever `ids` and idsSinceMs say. */
  readonly task: boolean;
  /** Read those, and the retry-storm id, only on lines dated after this time (epoch ms). */
  idsSinceMs: number;
  /** The field whose value is hashed as the retry-storm id (a FIELDS index), or -1. */
  readonly stormField: number;
  /** Follow lines without ids by their call shape (CostRecord.shapeable). */
  readonly shapes: boolean;
  /** With shapes: lines with ids too (storms.shape_with_ids). */
  readonly shapesWithIds: boolean;
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

export const F_TIME = 0;
export const F_COST = 1;
export const F_IN = 2;
export const F_OUT = 3;
export const F_CACHED = 4;
export const F_FIRST_LABEL = 5;
export const F_MODEL = F_FIRST_LABEL;
export const F_PROVIDER = F_FIRST_LABEL + 1;
export const F_AGENT = F_FIRST_LABEL + 2;
export const F_CURRENCY = 11;

const utf8 = new TextEncoder();

/** A line's `currency` as the scan looks it up: in capitals, null for US dollars. */
export function currencyOf(logged: string): string | null {
  const code = logged.trim().toUpperCase();
  return code === 'USD' ? null : code;
}

/**
 * Build the table; `renames` replaces a field's default names (see docs/configuration.md, `fields`). `labels`
 * (model, agent), `ids` (provider, task, request_id, fingerprint) and `tokens` turn on reading
 * those fields of every line: they cost time on every line, so only when something uses them.
 */
export function fieldTable(
  renames: Partial<Record<FieldName, readonly string[]>> = {},
  options: {
    labels?: boolean;
    ids?: boolean;
    task?: boolean;
    tokens?: boolean;
    idsSinceMs?: number;
    stormKey?: 'request_id' | 'fingerprint';
    shapes?: boolean;
    shapesWithIds?: boolean;
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
    task: options.task === true,
    idsSinceMs: options.idsSinceMs ?? -Infinity,
    stormField: options.stormKey === undefined ? -1 : FIELDS.indexOf(options.stormKey),
    shapes: options.shapes === true,
    shapesWithIds: options.shapes === true && options.shapesWithIds === true,
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
