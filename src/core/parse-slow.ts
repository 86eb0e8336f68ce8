// The JSON.parse path: the judge of what is valid, and the words for what is not. Lines the fast
// path (flat-scan.ts, record.ts) does not fully understand come here, as do valid flat lines it
// did not take (their fields then given as JSON.parse would give them).
import {
  type AliasSlot,
  F_AGENT,
  F_CACHED,
  F_COST,
  F_CURRENCY,
  currencyOf,
  F_FIRST_LABEL,
  F_IN,
  F_MODEL,
  F_OUT,
  F_PROVIDER,
  F_TIME,
  type FieldTable,
  type ParsedLine,
} from './fields.js';
import { jsonProblem } from './json-syntax.js';
import { numberText } from './json-values.js';
import type { Labels } from './labels.js';
import { idHashOfString, isRequestId } from './storms.js';
import { epochToMs, type TimeParser } from './timestamp.js';

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

/** The JSON.parse path: the judge of what is valid, and the words for what is not. */
export function recordOfObject(
  table: FieldTable,
  object: Record<string, unknown>,
  labels: Labels,
  times: TimeParser,
): ParsedLine {
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
  else if (typeof timeValue === 'string') timeMs = times.parseTimeString(timeValue);
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
  // A cost in another currency is converted by the scan (core/scan.ts), or the line is malformed.
  const currencyPick = pick(F_CURRENCY);
  let currency: string | null = null;
  if (currencyPick !== null) {
    const [currencyValue, currencyKey] = currencyPick;
    if (typeof currencyValue !== 'string')
      return `"${currencyKey}" is not a currency code: ${describe(currencyValue)}`;
    currency = currencyOf(currencyValue);
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
  const storm = stormOf(table, timeMs, pick);
  // As record.ts decides it: a line without an id, followed by its call shape.
  const shapeable =
    table.shapes &&
    timeMs > table.idsSinceMs &&
    (table.shapesWithIds ||
      (storm.stormHash < 0 &&
        !isRequestId(label(pick(F_FIRST_LABEL + 4)?.[0])) &&
        !isRequestId(label(pick(F_FIRST_LABEL + 5)?.[0]))));
  let task = table.task ? label(pick(F_FIRST_LABEL + 3)?.[0]) : labelOf(F_FIRST_LABEL + 3);
  if (shapeable && agent === null && task === null) task = label(pick(F_FIRST_LABEL + 3)?.[0]);
  return {
    timeMs,
    cost,
    inputTokens: shapeable && !withTokens ? tokenCount(pick(F_IN)?.[0]) : inputTokens,
    outputTokens: shapeable && !withTokens ? tokenCount(pick(F_OUT)?.[0]) : outputTokens,
    cachedTokens: withTokens ? tokenCount(pick(F_CACHED)?.[0]) : null,
    cacheWriteTokens: null,
    cacheWrite1hTokens: null,
    model,
    provider,
    agent,
    task,
    requestId: labelOf(F_FIRST_LABEL + 4),
    fingerprint: labelOf(F_FIRST_LABEL + 5),
    modelId: model === null ? -2 : labels.idOfString(model),
    agentId: agent === null ? -2 : labels.idOfString(agent),
    providerId: provider === null ? -2 : labels.idOfString(provider),
    ...storm,
    shapeable,
    currency,
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
export function parseLineSlow(
  line: string,
  table: FieldTable,
  labels: Labels,
  times: TimeParser,
): ParsedLine {
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
  return recordOfObject(table, value as Record<string, unknown>, labels, times);
}
