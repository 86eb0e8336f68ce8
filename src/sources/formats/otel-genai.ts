// OTLP/JSON traces as the OpenTelemetry Collector's file exporter writes them: one TracesData a
// line (https://opentelemetry.io/docs/specs/otel/protocol/file-exporter/), resourceSpans[] ->
// scopeSpans[] -> spans[], attributes as [{ key, value: { stringValue | intValue | doubleValue
// | boolValue } }] (intValue is int64: a string in protobuf JSON). Spans that carry the GenAI
// semantic conventions' usage (https://opentelemetry.io/docs/specs/semconv/gen-ai/) count; the
// rest (HTTP, database, tool spans) are not billed calls.
import type { FormatLine, FormatRecord, LineFormat, RenameableField } from './types.js';
import {
  describe,
  inclusiveInput,
  isProblem,
  jsonObject,
  label,
  malformed,
  own,
  SKIP,
  tokenCount,
  unixNanosToMs,
  lookupOf,
} from './values.js';

const INPUT = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens'];
const OUTPUT = ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens'];
const CACHE_READ = ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens'];
const CACHE_WRITE = ['gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens'];

/** Attribute names each field goes by (in order), unless `fields:` names one. */
const DEFAULTS: Record<RenameableField, readonly string[]> = {
  agent: [],
  task: [],
  model: ['gen_ai.response.model', 'gen_ai.request.model'],
  // gen_ai.system before semantic conventions 1.37.
  provider: ['gen_ai.provider.name', 'gen_ai.system'],
  request_id: ['gen_ai.response.id'],
};

type Attributes = Map<string, unknown>;
const NONE: Attributes = new Map();

/** An attribute list as a map of plain values; a problem when it is not a list of {key, value}. */
function attributes(list: unknown, where: string): Attributes | string {
  if (list === undefined || list === null) return NONE;
  if (!Array.isArray(list)) return `${where}.attributes is not a list: ${describe(list)}`;
  const out: Attributes = new Map();
  for (const entry of list) {
    const key = own(entry, 'key');
    if (typeof key !== 'string') return `${where}.attributes has an entry without a string "key"`;
    const value = own(entry, 'value');
    let plain: unknown;
    for (const kind of ['stringValue', 'intValue', 'doubleValue', 'boolValue']) {
      plain = own(value, kind);
      if (plain !== undefined) break;
    }
    // The first of a repeated key wins, as OTLP says keys are unique.
    if (!out.has(key)) out.set(key, plain);
  }
  return out;
}

export function otelGenai(fields: Partial<Record<string, string>>): LineFormat {
  const lookup = lookupOf(fields, DEFAULTS);
  return {
    name: 'otel-genai',
    parse(line: string): FormatLine {
      const object = jsonObject(line);
      if (isProblem(object)) return malformed(object.problem);
      const resourceSpans = own(object, 'resourceSpans');
      if (resourceSpans === undefined) {
        const other = ['resourceMetrics', 'resourceLogs'].find((k) => own(object, k) !== undefined);
        return malformed(
          other === undefined
            ? 'no "resourceSpans" (not OTLP/JSON traces)'
            : `"${other}", not traces: this format reads a file exporter's traces`,
        );
      }
      if (!Array.isArray(resourceSpans)) return malformed('"resourceSpans" is not a list');
      const records: FormatRecord[] = [];
      for (const [r, rs] of resourceSpans.entries()) {
        const rWhere = `resourceSpans[${r}]`;
        const resource = attributes(own(own(rs, 'resource'), 'attributes'), `${rWhere}.resource`);
        if (typeof resource === 'string') return malformed(resource);
        const scopeSpans = own(rs, 'scopeSpans') ?? [];
        if (!Array.isArray(scopeSpans)) return malformed(`${rWhere}.scopeSpans is not a list`);
        for (const [s, ss] of scopeSpans.entries()) {
          const sWhere = `${rWhere}.scopeSpans[${s}]`;
          const scope = attributes(own(own(ss, 'scope'), 'attributes'), `${sWhere}.scope`);
          if (typeof scope === 'string') return malformed(scope);
          const spans = own(ss, 'spans') ?? [];
          if (!Array.isArray(spans)) return malformed(`${sWhere}.spans is not a list`);
          for (const [k, span] of spans.entries()) {
            const where = `${sWhere}.spans[${k}]`;
            const attrs = attributes(own(span, 'attributes'), where);
            if (typeof attrs === 'string') return malformed(attrs);
            const first = (keys: readonly string[]): [unknown, string] => {
              for (const key of keys) {
                const v = attrs.get(key);
                if (v !== undefined && v !== null) return [v, key];
              }
              return [undefined, keys[0] ?? ''];
            };
            const [inV, inKey] = first(INPUT);
            const [outV, outKey] = first(OUTPUT);
            // A span without usage is not a model call (or not one that reports its tokens).
            if (inV === undefined && outV === undefined) continue;
            const [readV, readKey] = first(CACHE_READ);
            const [writeV, writeKey] = first(CACHE_WRITE);
            const input = tokenCount(inV, `${where} ${inKey}`);
            const output = tokenCount(outV, `${where} ${outKey}`);
            const read = tokenCount(readV, `${where} ${readKey}`);
            const write = tokenCount(writeV, `${where} ${writeKey}`);
            // The whole line is refused when one usage span is broken: loud, never a silent part.
            for (const v of [input, output, read, write]) if (isProblem(v)) return malformed(v.problem);
            const end = own(span, 'endTimeUnixNano');
            const time = unixNanosToMs(end ?? own(span, 'startTimeUnixNano'), `${where} endTimeUnixNano`);
            if (isProblem(time)) return malformed(time.problem);
            const n = (v: typeof input): number | null => v as number | null;
            // A field is looked up on the span, then its scope, then its resource (service.name).
            const find = (keys: readonly string[]): string | null => {
              for (const map of [attrs, scope, resource])
                for (const key of keys) {
                  const v = label(map.get(key));
                  if (v !== null) return v;
                }
              return null;
            };
            records.push({
              timeMs: time,
              cost: null,
              // The conventions say the cache counts SHOULD be included in input_tokens.
              inputTokens: inclusiveInput(n(input), n(read), n(write), null, false),
              outputTokens: n(output),
              cacheReadTokens: n(read),
              cacheWrite5mTokens: n(write),
              cacheWrite1hTokens: null,
              model: find(lookup.model),
              provider: find(lookup.provider),
              agent: find(lookup.agent),
              task: find(lookup.task),
              requestId: find(lookup.requestId),
              dedupeKey: null,
            });
          }
        }
      }
      return records.length === 0 ? SKIP : { kind: 'records', records };
    },
  };
}
