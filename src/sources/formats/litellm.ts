// LiteLLM's StandardLoggingPayload (kwargs["standard_logging_object"], one for every successful
// and failed call: https://docs.litellm.ai/docs/proxy/logging_spec) written as JSON lines.
// prompt_tokens is cache-inclusive (LiteLLM adds Anthropic's cache reads and writes to it); the
// cache counts themselves are in metadata.usage_object, the call's Usage as LiteLLM built it.
import type { FormatLine, FormatRecord, LineFormat, RenameableField } from './types.js';
import {
  at,
  costValue,
  epochSeconds,
  inclusiveInput,
  isProblem,
  jsonObject,
  label,
  malformed,
  own,
  tokenCount,
  lookupOf,
} from './values.js';

/** Where each attribution field is (dotted paths; the first present wins), unless `fields:` says. */
const DEFAULTS: Record<RenameableField, readonly string[]> = {
  // A LiteLLM proxy attributes spend to virtual keys and teams: the key's alias names the app.
  agent: ['metadata.user_api_key_alias', 'metadata.user_api_key_team_alias'],
  task: [],
  model: ['model'],
  provider: ['custom_llm_provider'],
  request_id: ['id'],
};

export function litellm(fields: Partial<Record<string, string>>): LineFormat {
  const lookup = lookupOf(fields, DEFAULTS);
  return {
    name: 'litellm',
    parse(line: string): FormatLine {
      const object = jsonObject(line);
      if (isProblem(object)) return malformed(object.problem);
      const find = (list: readonly string[]): string | null => {
        for (const path of list) {
          const v = label(at(object, path));
          if (v !== null) return v;
        }
        return null;
      };
      const end = own(object, 'endTime');
      const time = epochSeconds(end ?? own(object, 'startTime'), '"endTime"');
      if (isProblem(time)) return malformed(time.problem);
      const cost = costValue(own(object, 'response_cost'), '"response_cost"');
      const usage = own(own(object, 'metadata'), 'usage_object');
      const details = own(usage, 'prompt_tokens_details');
      const split = own(details, 'cache_creation_token_details');
      const input = tokenCount(own(object, 'prompt_tokens'), '"prompt_tokens"');
      const output = tokenCount(own(object, 'completion_tokens'), '"completion_tokens"');
      const readAnthropic = tokenCount(
        own(usage, 'cache_read_input_tokens'),
        '"metadata.usage_object.cache_read_input_tokens"',
      );
      const readOpenai = tokenCount(
        own(details, 'cached_tokens'),
        '"metadata.usage_object.prompt_tokens_details.cached_tokens"',
      );
      const writes = tokenCount(
        own(usage, 'cache_creation_input_tokens'),
        '"metadata.usage_object.cache_creation_input_tokens"',
      );
      const w1 = tokenCount(own(split, 'ephemeral_1h_input_tokens'), '"ephemeral_1h_input_tokens"');
      for (const v of [cost, input, output, readAnthropic, readOpenai, writes, w1])
        if (isProblem(v)) return malformed(v.problem);
      const n = (v: typeof input): number | null => v as number | null;
      if (input === null && output === null && cost === null)
        return malformed('no "response_cost" and no token counts ("prompt_tokens", "completion_tokens")');
      const read = n(readAnthropic) ?? n(readOpenai);
      const write1h = n(w1) !== null && n(w1) !== 0 ? Math.min(n(w1) as number, n(writes) ?? Infinity) : null;
      const write5m = n(writes) === null ? null : (n(writes) as number) - (write1h ?? 0);
      // A hit of LiteLLM's own cache made no provider call: its tokens were not billed again.
      const cacheHit = own(object, 'cache_hit') === true;
      const record: FormatRecord = {
        timeMs: time,
        cost: n(cost),
        inputTokens: cacheHit ? null : inclusiveInput(n(input), read, write5m, write1h, false),
        outputTokens: cacheHit ? null : n(output),
        cacheReadTokens: cacheHit ? null : read,
        cacheWrite5mTokens: cacheHit ? null : write5m,
        cacheWrite1hTokens: cacheHit ? null : write1h,
        model: find(lookup.model),
        provider: find(lookup.provider),
        agent: find(lookup.agent),
        task: find(lookup.task),
        requestId: find(lookup.requestId),
        dedupeKey: null,
      };
      return { kind: 'records', records: [record] };
    },
  };
}
