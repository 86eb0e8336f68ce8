// The values the three formats share: counts, costs, times and names as their logs write them,
// checked the same way in each. A check returns the value, or a string saying why it is unfit.
import { jsonProblem } from '../../core/json-syntax.js';
import { numberText } from '../../core/json-values.js';
import { epochToMs, parseTimeString } from '../../core/timestamp.js';
import type { FormatLine, RenameableField } from './types.js';

/** More tokens than any one call can have (the largest context windows are a few million). */
export const MAX_TOKENS = 1_000_000_000;

export type Checked<T> = T | { problem: string };

export function isProblem<T>(value: Checked<T>): value is { problem: string } {
  return value !== null && typeof value === 'object' && 'problem' in (value as object);
}

export function malformed(reason: string): FormatLine {
  return { kind: 'malformed', reason };
}

export const SKIP: FormatLine = { kind: 'skip' };

/** A value for a reason: short, with no control characters (names come from the log). */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(cut);
  }
  if (typeof value === 'number') return numberText(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** A JSON object's own property (never one inherited: `__proto__`, `constructor`). */
export function own(object: unknown, key: string): unknown {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return undefined;
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

/**
 * A key of the line, or a dotted path into its objects (`metadata.user_api_key_alias`). A key
 * that itself has dots is found first, as written.
 */
export function at(object: unknown, path: string): unknown {
  const whole = own(object, path);
  if (whole !== undefined || !path.includes('.')) return whole;
  let value: unknown = object;
  for (const part of path.split('.')) {
    value = own(value, part);
    if (value === undefined) return undefined;
  }
  return value;
}

/** A token count: a whole number from 0 to MAX_TOKENS; absent (undefined or null) is null. */
export function tokenCount(value: unknown, what: string): Checked<number | null> {
  if (value === undefined || value === null) return null;
  let n: number;
  if (typeof value === 'number') n = value;
  // protobuf's JSON writes int64 as a string.
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) n = Number(value);
  else return { problem: `${what} is not a number: ${describe(value)}` };
  if (!Number.isFinite(n)) return { problem: `${what} is not finite` };
  if (n < 0) return { problem: `${what} is negative: ${numberText(n)}` };
  if (!Number.isInteger(n)) return { problem: `${what} is not a whole number: ${numberText(n)}` };
  if (n > MAX_TOKENS) return { problem: `${what} is absurd: ${numberText(n)} tokens in one call` };
  return n;
}

/** A logged cost in USD; absent is null. Above cost.max_line_usd is the scanner's to refuse. */
export function costValue(value: unknown, what: string): Checked<number | null> {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') return { problem: `${what} is not a number: ${describe(value)}` };
  if (!Number.isFinite(value)) return { problem: `${what} is not finite` };
  if (value < 0) return { problem: `${what} is negative: ${numberText(value)}` };
  return value;
}

/** An ISO 8601 time string (or an epoch number), to epoch ms. */
export function isoTime(value: unknown, what: string): Checked<number> {
  let ms = NaN;
  if (typeof value === 'string') ms = parseTimeString(value);
  else if (typeof value === 'number') ms = epochToMs(value);
  else if (value === undefined || value === null) return { problem: `no ${what}` };
  if (Number.isNaN(ms)) return { problem: `${what} is not an ISO 8601 time: ${describe(value)}` };
  return ms;
}

/** Epoch seconds as a float (LiteLLM's startTime / endTime), to whole epoch ms. */
export function epochSeconds(value: unknown, what: string): Checked<number> {
  if (value === undefined || value === null) return { problem: `no ${what}` };
  if (typeof value === 'string') return isoTime(value, what);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    return { problem: `${what} is not an epoch time: ${describe(value)}` };
  return epochToMs(value);
}

/**
 * OTLP's fixed64 nanoseconds (a decimal string in protobuf JSON, or a number) to epoch ms,
 * truncated: exact for a string (its last six digits are dropped, no float in between).
 */
export function unixNanosToMs(value: unknown, what: string): Checked<number> {
  if (value === undefined || value === null) return { problem: `no ${what}` };
  if (typeof value === 'string') {
    if (!/^\d{1,20}$/.test(value))
      return { problem: `${what} is not a number of nanoseconds: ${describe(value)}` };
    const ms = value.length > 6 ? Number(value.slice(0, -6)) : 0;
    return ms === 0 ? { problem: `${what} is 0 (not set)` } : ms;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    return { problem: `${what} is not a number of nanoseconds: ${describe(value)}` };
  if (value === 0) return { problem: `${what} is 0 (not set)` };
  return Math.floor(value / 1e6);
}

/** A name for attribution (model, agent, request id...): a string, or a number's text; else null. */
export function label(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return numberText(value);
  return null;
}

/**
 * Cache tokens apart from the input count: when they exceed it, the input clearly excludes them
 * (Anthropic's way); otherwise they are part of it (the genai-prices and OpenTelemetry way).
 */
export function inclusiveInput(
  input: number | null,
  read: number | null,
  write5m: number | null,
  write1h: number | null,
  excludes: boolean,
): number | null {
  const cache = (read ?? 0) + (write5m ?? 0) + (write1h ?? 0);
  if (input === null) return cache > 0 ? cache : null;
  return excludes || cache > input ? input + cache : input;
}

/** Parse a line as a JSON object, or say why it is not one. */
export function jsonObject(line: string): Checked<Record<string, unknown>> {
  // JSON.parse only what it accepts (a rejected line costs V8 memory: core/json-syntax.ts).
  const problem = jsonProblem(line);
  if (problem !== null) return { problem: `not JSON: ${problem}` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).replace(
      /,? ".*" is not valid JSON$/s,
      '',
    );
    return { problem: `not JSON: ${detail.length > 80 ? `${detail.slice(0, 80)}…` : detail}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { problem: `not a JSON object: ${Array.isArray(value) ? 'an array' : describe(value)}` };
  return value as Record<string, unknown>;
}

/** Where each attribution field is looked for: the source's rename, else the format's defaults. */
export interface Lookup {
  agent: readonly string[];
  task: readonly string[];
  model: readonly string[];
  provider: readonly string[];
  requestId: readonly string[];
}

export function lookupOf(
  fields: Partial<Record<string, string>>,
  defaults: Record<RenameableField, readonly string[]>,
): Lookup {
  const names = (field: RenameableField): readonly string[] => {
    const renamed = Object.hasOwn(fields, field) ? fields[field] : undefined;
    return renamed === undefined ? defaults[field] : [renamed];
  };
  return {
    agent: names('agent'),
    task: names('task'),
    model: names('model'),
    provider: names('provider'),
    requestId: names('request_id'),
  };
}
