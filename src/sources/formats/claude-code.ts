// Claude Code / Agent SDK session JSONL (~/.claude/projects/<project>/<session>.jsonl): one JSON
// object a line; assistant turns carry the API's `message.usage`. Shape as ccusage reads it
// (https://github.com/ryoppippi/ccusage, rust/crates/ccusage/src/types.rs: UsageEntry) and as the
// Anthropic Messages API reports usage (input_tokens excludes cache_read_input_tokens and
// cache_creation_input_tokens; cache_creation splits writes into ephemeral_5m / ephemeral_1h).
import type { FormatLine, FormatRecord, LineFormat, RenameableField } from './types.js';
import {
  at,
  costValue,
  describe,
  inclusiveInput,
  isoTime,
  isProblem,
  jsonObject,
  label,
  malformed,
  own,
  SKIP,
  tokenCount,
} from './values.js';

/** Where each attribution field is, unless `fields:` says otherwise. */
const DEFAULTS: Record<RenameableField, string | null> = {
  agent: 'sessionId',
  task: null,
  model: 'message.model',
  provider: null,
  request_id: 'requestId',
};

/**
 * One API response: Claude Code writes it once per content block as it streams, and again into a
 * resumed session's file (ccusage dedupes by the same pair). Gateways that are not Anthropic's
 * write no requestId: then message.id alone, unique per response
 * (https://github.com/ccusage/ccusage/pull/985).
 */
function dedupeKeyOf(messageId: string, requestId: string | null): string {
  return requestId === null ? messageId : `${messageId}:${requestId}`;
}

export function claudeCode(fields: Partial<Record<string, string>>): LineFormat {
  const path = (field: RenameableField): string | null =>
    (Object.hasOwn(fields, field) ? fields[field] : undefined) ?? DEFAULTS[field];
  const paths = {
    agent: path('agent'),
    task: path('task'),
    model: path('model'),
    provider: path('provider'),
    requestId: path('request_id'),
  };
  return {
    name: 'claude-code',
    parse(line: string): FormatLine {
      const object = jsonObject(line);
      if (isProblem(object)) return malformed(object.problem);
      const message = own(object, 'message');
      const usage = own(message, 'usage');
      // User turns, summaries, file snapshots: no API call billed on this line.
      if (usage === undefined || usage === null) return SKIP;
      if (typeof usage !== 'object' || Array.isArray(usage))
        return malformed(`"message.usage" is not an object: ${describe(usage)}`);
      const time = isoTime(own(object, 'timestamp'), '"timestamp"');
      if (isProblem(time)) return malformed(time.problem);
      const count = (key: string, value: unknown = own(usage, key)) =>
        tokenCount(value, `"message.usage.${key}"`);
      const input = count('input_tokens');
      const output = count('output_tokens');
      const read = count('cache_read_input_tokens');
      const writes = count('cache_creation_input_tokens');
      const split = own(usage, 'cache_creation');
      const w5 = tokenCount(
        own(split, 'ephemeral_5m_input_tokens'),
        '"message.usage.cache_creation.ephemeral_5m_input_tokens"',
      );
      const w1 = tokenCount(
        own(split, 'ephemeral_1h_input_tokens'),
        '"message.usage.cache_creation.ephemeral_1h_input_tokens"',
      );
      const cost = costValue(own(object, 'costUSD'), '"costUSD"');
      for (const v of [input, output, read, writes, w5, w1, cost])
        if (isProblem(v)) return malformed(v.problem);
      const n = (v: typeof input): number | null => v as number | null;
      // The split, when given, says which writes cost 1.25x and which 2x; writes it does not
      // cover are priced at the 5-minute rate (never dropped).
      const write1h = n(w1);
      let write5m = n(w5);
      const total = n(writes);
      if (write5m === null && write1h === null) write5m = total;
      else if (total !== null && total > (write5m ?? 0) + (write1h ?? 0)) write5m = total - (write1h ?? 0);
      const messageId = label(own(message, 'id'));
      const requestId = paths.requestId === null ? null : label(at(object, paths.requestId));
      const record: FormatRecord = {
        timeMs: time,
        cost: n(cost),
        inputTokens: inclusiveInput(n(input), n(read), write5m, write1h, true),
        outputTokens: n(output),
        cacheReadTokens: n(read),
        cacheWrite5mTokens: write5m,
        cacheWrite1hTokens: write1h,
        model: paths.model === null ? null : label(at(object, paths.model)),
        // Claude Code calls Anthropic's API (or Bedrock / Vertex, whose model names the price
        // table also knows without a provider).
        provider: paths.provider === null ? 'anthropic' : label(at(object, paths.provider)),
        agent: paths.agent === null ? null : label(at(object, paths.agent)),
        task: paths.task === null ? null : label(at(object, paths.task)),
        requestId,
        dedupeKey: messageId === null ? null : dedupeKeyOf(messageId, label(own(object, 'requestId'))),
      };
      return { kind: 'records', records: [record] };
    },
  };
}
