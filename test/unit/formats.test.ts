// The formats agents already write (src/sources/formats/): the published shapes in, exact records
// out; lines that are not billed calls skipped; lines that do not fit the format malformed, with
// the reason. Fixtures: test/fixtures/formats/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FormatLine, type FormatRecord, lineFormat } from '../../src/sources/formats/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'formats');
const lines = (file: string): string[] =>
  readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

const SESSION1 = 'claude-code/projects/-home-dev-shop/5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10.jsonl';
const SESSION2 = 'claude-code/projects/-home-dev-shop/9e2d4b61-7c85-4a39-b0f2-6d3e1a8c5f47.jsonl';

const base: FormatRecord = {
  timeMs: 0,
  cost: null,
  inputTokens: null,
  outputTokens: null,
  cacheReadTokens: null,
  cacheWrite5mTokens: null,
  cacheWrite1hTokens: null,
  model: null,
  provider: null,
  agent: null,
  task: null,
  requestId: null,
  dedupeKey: null,
};
const rec = (r: Partial<FormatRecord>): FormatRecord => ({ ...base, ...r });
const records = (...r: Partial<FormatRecord>[]): FormatLine => ({ kind: 'records', records: r.map(rec) });
const SKIP: FormatLine = { kind: 'skip' };

describe('claude-code: the session files', () => {
  const format = lineFormat('claude-code', {});
  const s1 = lines(SESSION1).map((l) => format.parse(l));
  const s2 = lines(SESSION2).map((l) => format.parse(l));
  const first = {
    timeMs: Date.parse('2026-11-30T09:00:04.512Z'),
    // Anthropic's input_tokens exclude the cache: 4 + 12000 written.
    inputTokens: 12004,
    outputTokens: 120,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 12000,
    cacheWrite1hTokens: 0,
    model: 'claude-sonnet-4-5-20250929',
    provider: 'anthropic',
    agent: '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10',
    requestId: 'req_011CVa1b2c3d4e5f6g7h8i9j',
    dedupeKey: 'msg_01A1b2C3d4E5f6G7h8I9j0K1:req_011CVa1b2c3d4e5f6g7h8i9j',
  };
  const split = {
    timeMs: Date.parse('2026-11-30T09:00:12.250Z'),
    inputTokens: 6 + 12000 + 3000,
    outputTokens: 450,
    cacheReadTokens: 12000,
    cacheWrite5mTokens: 1000,
    cacheWrite1hTokens: 2000,
    model: 'claude-sonnet-4-5-20250929',
    provider: 'anthropic',
    requestId: 'req_011CVb2c3d4e5f6g7h8i9j0k',
    dedupeKey: 'msg_01B2c3D4e5F6g7H8i9J0k1L2:req_011CVb2c3d4e5f6g7h8i9j0k',
  };
  it('skips the summary and the user turns, and reads each assistant turn (twice logged: same key)', () => {
    expect(s1).toEqual([
      SKIP,
      SKIP,
      // the response streamed: its first snapshot has 8 output tokens, the last 120
      records({ ...first, outputTokens: 8 }),
      records({ ...first, timeMs: Date.parse('2026-11-30T09:00:04.980Z') }),
      SKIP,
      records({ ...split, agent: '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10' }),
    ]);
  });
  it('reads the resumed session: the copied turn has the same dedupe key, costUSD is read', () => {
    expect(s2).toEqual([
      SKIP,
      records({ ...split, agent: '9e2d4b61-7c85-4a39-b0f2-6d3e1a8c5f47' }),
      SKIP,
      records({
        timeMs: Date.parse('2026-11-30T10:15:20.000Z'),
        cost: 0.1234,
        inputTokens: 10 + 500 + 15000,
        outputTokens: 800,
        cacheReadTokens: 15000,
        // No cache_creation split: every write at the 5-minute rate.
        cacheWrite5mTokens: 500,
        model: 'claude-opus-4-1-20250805',
        provider: 'anthropic',
        agent: '9e2d4b61-7c85-4a39-b0f2-6d3e1a8c5f47',
        requestId: 'req_011CVc3d4e5f6g7h8i9j0k1l',
        dedupeKey: 'msg_01C3d4E5f6G7h8I9j0K1l2M3:req_011CVc3d4e5f6g7h8i9j0k1l',
      }),
    ]);
  });
  it('renames fields to top-level keys or dotted paths', () => {
    const renamed = lineFormat('claude-code', { agent: 'cwd', task: 'gitBranch', request_id: 'uuid' });
    const got = renamed.parse(lines(SESSION1)[2] as string);
    expect(got).toEqual(
      records({
        ...first,
        outputTokens: 8,
        agent: '/home/dev/shop',
        task: 'main',
        requestId: '1b5f7a2c-3e4d-4c6b-9f0a-2b3c4d5e6f70',
      }),
    );
    const deep = lineFormat('claude-code', { agent: 'message.usage.service_tier' });
    expect(deep.parse(lines(SESSION1)[2] as string)).toEqual(
      records({ ...first, outputTokens: 8, agent: 'standard' }),
    );
  });
});

const usageLine = (usage: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    type: 'assistant',
    sessionId: 's',
    timestamp: '2026-11-30T09:00:00Z',
    requestId: 'r',
    message: { id: 'm', model: 'claude-sonnet-4-5', usage },
    ...extra,
  });

describe('claude-code: lines that do not fit', () => {
  const format = lineFormat('claude-code', {});
  it.each([
    ['not JSON', '{"type":"assistant",', /^not JSON: /],
    ['an array', '[1,2]', /^not a JSON object: an array$/],
    ['usage not an object', usageLine(7), /^"message\.usage" is not an object: 7$/],
    ['no timestamp', usageLine({ input_tokens: 1 }, { timestamp: undefined }), /^no "timestamp"$/],
    [
      'bad timestamp',
      usageLine({ input_tokens: 1 }, { timestamp: 'yesterday' }),
      /not an ISO 8601 time: "yesterday"/,
    ],
    [
      'negative tokens',
      usageLine({ input_tokens: -5, output_tokens: 1 }),
      /"message\.usage\.input_tokens" is negative: -5/,
    ],
    ['fractional tokens', usageLine({ input_tokens: 1.5 }), /is not a whole number: 1\.5/],
    ['absurd tokens', usageLine({ output_tokens: 1e15 }), /"message\.usage\.output_tokens" is absurd/],
    ['tokens as text', usageLine({ output_tokens: 'many' }), /is not a number: "many"/],
    ['negative cost', usageLine({ output_tokens: 1 }, { costUSD: -1 }), /^"costUSD" is negative: -1$/],
    [
      'cost as text',
      usageLine({ output_tokens: 1 }, { costUSD: '0.5' }),
      /^"costUSD" is not a number: "0\.5"$/,
    ],
    [
      'bad split',
      usageLine({ output_tokens: 1, cache_creation: { ephemeral_1h_input_tokens: -1 } }),
      /ephemeral_1h_input_tokens" is negative/,
    ],
  ])('%s', (_, line, reason) => {
    const got = format.parse(line);
    expect(got.kind).toBe('malformed');
    expect((got as { reason: string }).reason).toMatch(reason);
  });
  it('without a requestId (a gateway that is not Anthropic), message.id alone is the dedupe key', () => {
    const got = format.parse(usageLine({ output_tokens: 1 }, { requestId: undefined }));
    expect((got as { records: FormatRecord[] }).records[0]?.dedupeKey).toBe('m');
    const none = format.parse(usageLine({ output_tokens: 1 }, { message: { usage: { output_tokens: 1 } } }));
    expect((none as { records: FormatRecord[] }).records[0]?.dedupeKey).toBeNull();
  });
  it('a line without message.usage is skipped, not malformed', () => {
    expect(format.parse(JSON.stringify({ type: 'user', message: { role: 'user', content: 'hi' } }))).toEqual(
      SKIP,
    );
    expect(format.parse(JSON.stringify({ type: 'summary', summary: 'x', leafUuid: 'y' }))).toEqual(SKIP);
    expect(format.parse(usageLine(null))).toEqual(SKIP);
  });
  it('hostile names: never crash, never pollute a prototype', () => {
    const long = 'x'.repeat(100_000);
    const line =
      `{"__proto__":{"polluted":1},"sessionId":"${long}","timestamp":"2026-11-30T09:00:00Z",` +
      `"message":{"model":"\\u0000\\u001b[31m","usage":{"output_tokens":1,"constructor":5}}}`;
    const got = lineFormat('claude-code', { task: '__proto__.polluted', provider: 'constructor' }).parse(
      line,
    );
    expect(got).toEqual(
      records({
        timeMs: Date.parse('2026-11-30T09:00:00Z'),
        outputTokens: 1,
        model: '\u0000\u001b[31m',
        agent: long,
        task: '1',
        provider: null,
      }),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const renames = JSON.parse('{"__proto__":"sessionId","agent":"cwd"}') as Record<string, string>;
    expect(lineFormat('claude-code', renames).parse(line)).toMatchObject({ kind: 'records' });
  });
});

describe('otel-genai: the file exporter lines', () => {
  const format = lineFormat('otel-genai', {});
  const [batch, noUsage] = lines('otel-genai/traces.jsonl') as [string, string];
  const openai = {
    // endTimeUnixNano 1796029201234567890: truncated to the ms, exactly.
    timeMs: 1796029201234,
    inputTokens: 1200,
    outputTokens: 300,
    model: 'gpt-4o-mini-2024-07-18',
    provider: 'openai',
    requestId: 'chatcmpl-AbC123',
  };
  const anthropic = {
    timeMs: 1796029203999,
    // cache counts are part of input_tokens (the conventions' SHOULD)
    inputTokens: 2000,
    outputTokens: 90,
    cacheReadTokens: 1500,
    cacheWrite5mTokens: 400,
    model: 'claude-sonnet-4-5',
    provider: 'anthropic',
  };
  it('one record per usage span, across services; the span without usage is left out', () => {
    expect(format.parse(batch)).toEqual(records(openai, anthropic));
  });
  it('a line of spans without usage is skipped', () => {
    expect(format.parse(noUsage)).toEqual(SKIP);
  });
  it('fields: looked up on the span, then the scope, then the resource', () => {
    const mapped = lineFormat('otel-genai', { agent: 'service.name', task: 'gen_ai.operation.name' });
    expect(mapped.parse(batch)).toEqual(
      records(
        { ...openai, agent: 'research-agent', task: 'chat' },
        { ...anthropic, agent: 'support-bot', task: 'chat' },
      ),
    );
    const scoped = lineFormat('otel-genai', { agent: 'telemetry.sdk.language' });
    expect((scoped.parse(batch) as { records: FormatRecord[] }).records.map((r) => r.agent)).toEqual([
      'python',
      null,
    ]);
  });
  const span = (attrs: unknown[], extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: {},
              spans: [{ name: 'chat', endTimeUnixNano: '1796029201000000000', attributes: attrs, ...extra }],
            },
          ],
        },
      ],
    });
  const int = (key: string, v: unknown) => ({ key, value: { intValue: v } });
  it.each([
    ['metrics, not traces', '{"resourceMetrics":[]}', /"resourceMetrics", not traces/],
    ['no resourceSpans', '{"foo":1}', /^no "resourceSpans"/],
    ['resourceSpans not a list', '{"resourceSpans":{}}', /"resourceSpans" is not a list/],
    ['attributes not a list', span({} as unknown as unknown[]), /spans\[0\]\.attributes is not a list/],
    [
      'negative tokens',
      span([int('gen_ai.usage.input_tokens', '-3')]),
      /gen_ai\.usage\.input_tokens is negative: -3/,
    ],
    ['tokens not a number', span([int('gen_ai.usage.output_tokens', 'x1')]), /is not a number: "x1"/],
    ['absurd tokens', span([int('gen_ai.usage.output_tokens', '99999999999999')]), /is absurd/],
    [
      'no end time',
      span([int('gen_ai.usage.output_tokens', 1)], { endTimeUnixNano: undefined }),
      /no .*endTimeUnixNano/,
    ],
    [
      'end time 0',
      span([int('gen_ai.usage.output_tokens', 1)], { endTimeUnixNano: '0' }),
      /endTimeUnixNano is 0/,
    ],
    [
      'end time text',
      span([int('gen_ai.usage.output_tokens', 1)], { endTimeUnixNano: 'soon' }),
      /not a number of nanoseconds/,
    ],
  ])('%s', (_, line, reason) => {
    const got = format.parse(line);
    expect(got.kind).toBe('malformed');
    expect((got as { reason: string }).reason).toMatch(reason);
  });
  it('endTimeUnixNano as a number, intValue as a number or a doubleValue, older gen_ai names', () => {
    const got = format.parse(
      span(
        [
          { key: 'gen_ai.usage.prompt_tokens', value: { doubleValue: 10 } },
          int('gen_ai.usage.completion_tokens', 2),
          { key: 'gen_ai.system', value: { stringValue: 'openai' } },
          { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
        ],
        { endTimeUnixNano: 1796029201999000000 },
      ),
    );
    expect(got).toEqual(
      records({
        timeMs: 1796029201999,
        inputTokens: 10,
        outputTokens: 2,
        provider: 'openai',
        model: 'gpt-4o',
      }),
    );
  });
  it('cache reads above input_tokens: the input excluded them, so they are added', () => {
    const got = format.parse(
      span([
        int('gen_ai.usage.input_tokens', 5),
        int('gen_ai.usage.cache_read.input_tokens', 100),
        int('gen_ai.usage.output_tokens', 1),
      ]),
    );
    expect(got).toEqual(
      records({ timeMs: 1796029201000, inputTokens: 105, cacheReadTokens: 100, outputTokens: 1 }),
    );
  });
});

describe('litellm: the standard logging payload', () => {
  const format = lineFormat('litellm', {});
  const got = lines('litellm/standard_logging.jsonl').map((l) => format.parse(l));
  it('reads each payload: cost, tokens (cache-inclusive), cache counts, key alias as agent', () => {
    expect(got).toEqual([
      records({
        timeMs: 1796029201750,
        cost: 0.00435,
        inputTokens: 1000,
        outputTokens: 250,
        cacheReadTokens: 400,
        model: 'gpt-4o',
        provider: 'openai',
        agent: 'research-agent',
        requestId: 'chatcmpl-9f8e7d6c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
      }),
      records({
        timeMs: 1796029265000,
        cost: 0.02265,
        inputTokens: 22000,
        outputTokens: 500,
        cacheReadTokens: 18000,
        cacheWrite5mTokens: 500,
        cacheWrite1hTokens: 1500,
        model: 'claude-sonnet-4-5-20250929',
        provider: 'anthropic',
        // no key alias: the team's
        agent: 'support',
        requestId: 'chatcmpl-2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
      }),
      // LiteLLM's own cache answered: no provider call, no tokens billed.
      records({
        timeMs: 1796029300010,
        cost: 0,
        model: 'gpt-4o',
        provider: 'openai',
        agent: 'research-agent',
        requestId: 'chatcmpl-3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f',
      }),
      records({
        timeMs: 1796029400500,
        cost: 0,
        inputTokens: 0,
        outputTokens: 0,
        model: 'gpt-4o',
        provider: 'openai',
        agent: 'research-agent',
        requestId: 'chatcmpl-4d5e6f7a-8b9c-4d0e-1f2a-3b4c5d6e7f80',
      }),
    ]);
  });
  it('renames to dotted paths', () => {
    const mapped = lineFormat('litellm', { agent: 'metadata.user_api_key_user_id', task: 'model_group' });
    const first = mapped.parse(lines('litellm/standard_logging.jsonl')[0] as string) as {
      records: FormatRecord[];
    };
    expect([first.records[0]?.agent, first.records[0]?.task]).toEqual(['u-42', 'gpt-4o']);
  });
  it.each([
    ['no time', '{"response_cost":0.1}', /^no "endTime"$/],
    ['time as an object', '{"endTime":{},"response_cost":0.1}', /"endTime" is not an epoch time: an object/],
    ['negative cost', '{"endTime":1796029201.5,"response_cost":-0.1}', /"response_cost" is negative/],
    ['cost as text', '{"endTime":1796029201.5,"response_cost":"0.1"}', /"response_cost" is not a number/],
    [
      'nothing to count',
      '{"endTime":1796029201.5,"model":"gpt-4o"}',
      /no "response_cost" and no token counts/,
    ],
    ['negative tokens', '{"endTime":1796029201.5,"prompt_tokens":-1}', /"prompt_tokens" is negative/],
    ['not JSON', 'litellm: call ok', /^not JSON: /],
  ])('%s', (_, line, reason) => {
    const r = format.parse(line);
    expect(r.kind).toBe('malformed');
    expect((r as { reason: string }).reason).toMatch(reason);
  });
});
