// The formats' one entry: a format by name, with the source's `fields:` renames.
import { claudeCode } from './claude-code.js';
import { litellm } from './litellm.js';
import { otelGenai } from './otel-genai.js';
import type { FormatName, LineFormat } from './types.js';

export type { FormatLine, FormatName, FormatRecord, LineFormat } from './types.js';
export { RENAMEABLE } from './types.js';

export const FORMAT_NAMES: readonly FormatName[] = ['claude-code', 'otel-genai', 'litellm'];

/**
 * The parser of one format. `fields` renames an attribution field (agent, task, model, provider,
 * request_id) to a key of the format: for otel-genai an attribute looked up on the span, then its
 * scope, then its resource; for claude-code and litellm a top-level key or a dotted path.
 */
export function lineFormat(name: FormatName, fields: Partial<Record<string, string>>): LineFormat {
  // A copy without a prototype: a config key like `__proto__` is then only a key.
  const own: Partial<Record<string, string>> = Object.create(null) as Partial<Record<string, string>>;
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string' && v !== '') own[k] = v;
  if (name === 'claude-code') return claudeCode(own);
  if (name === 'otel-genai') return otelGenai(own);
  return litellm(own);
}
