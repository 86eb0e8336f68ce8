// What a line of a log in one of the formats agents already write becomes (DESIGN.md "Sources").
// Pure: the parsers turn a decoded line into records; src/sources/format-sink.ts counts them.

export interface FormatRecord {
  /** Epoch milliseconds. */
  timeMs: number;
  /** USD as logged (Claude Code's costUSD, LiteLLM's response_cost), else null. */
  cost: number | null;
  /**
   * All input tokens, cache reads and writes included (the convention of @pydantic/genai-prices
   * and OpenTelemetry's gen_ai.usage.input_tokens): each parser normalizes to it, so Anthropic's
   * input_tokens (which exclude both) arrive here with the cache tokens added.
   */
  inputTokens: number | null;
  outputTokens: number | null;
  /** Input tokens read from the provider's cache (part of inputTokens). */
  cacheReadTokens: number | null;
  /** Input tokens written to the cache at the default (5-minute) rate (part of inputTokens). */
  cacheWrite5mTokens: number | null;
  /** Input tokens written to the 1-hour cache (part of inputTokens). */
  cacheWrite1hTokens: number | null;
  /** Set by the dedupe of copies only: the whole call's input tokens, for its price tier. */
  tierInputTokens?: number;
  model: string | null;
  provider: string | null;
  agent: string | null;
  task: string | null;
  requestId: string | null;
  /** claude-code: `${message.id}:${requestId}` when both present; else null. */
  dedupeKey: string | null;
}

export type FormatLine =
  /** One or more (OTLP: one per usage span). */
  | { kind: 'records'; records: FormatRecord[] }
  /** Not a billed call (a user turn, a summary, a line of spans without usage). */
  | { kind: 'skip' }
  /** Does not fit the format: why, plainly. */
  | { kind: 'malformed'; reason: string };

export interface LineFormat {
  name: string;
  parse(line: string): FormatLine;
}

export type FormatName = 'claude-code' | 'otel-genai' | 'litellm';

/** The attribution fields a source's `fields:` map may rename to a key of the format. */
export const RENAMEABLE = ['agent', 'task', 'model', 'provider', 'request_id'] as const;
export type RenameableField = (typeof RENAMEABLE)[number];
