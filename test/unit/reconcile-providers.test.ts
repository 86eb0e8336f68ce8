// The provider clients (src/reconcile/providers/) against the providers' documented example
// responses (test/fixtures/providers/) and the loopback stand-ins: what each row means, which
// query each provider is sent, pagination drained and capped, the open bucket dropped, late
// minutes, clock skew, and the admin key read like the alert channels' secrets.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseRetryAfter, redact } from '../../src/reconcile/http.js';
import { readAdminKey } from '../../src/reconcile/key.js';
import { clientFor } from '../../src/reconcile/providers/index.js';
import { MAX_PAGES, queryString } from '../../src/reconcile/providers/pages.js';
import type { UsageRow } from '../../src/reconcile/types.js';
import {
  anthropicStandIn,
  configFor,
  minuteOf,
  openaiStandIn,
  type ProviderStandIn,
  type ProviderType,
  failure,
} from '../e2e/provider-standins.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/providers/', import.meta.url));
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
const LAST_PAGE = {
  openai: JSON.stringify({ object: 'page', data: [], has_more: false, next_page: null }),
  anthropic: JSON.stringify({ data: [], has_more: false, next_page: null }),
};
const signal = (): AbortSignal => new AbortController().signal;
const standIn = (type: ProviderType): Promise<ProviderStandIn> =>
  type === 'openai' ? openaiStandIn() : anthropicStandIn();

const row = (over: Partial<UsageRow>): UsageRow => ({
  minuteMs: 0,
  model: null,
  key: null,
  inputTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  batch: false,
  serviceTier: null,
  requests: null,
  ...over,
});

describe('the documented example responses parse', () => {
  it("OpenAI usage/completions (today's example): input includes cached and cache writes", async () => {
    const s = await openaiStandIn();
    s.fault(
      { kind: 'raw', body: fixture('openai-usage-completions.json') },
      { kind: 'raw', body: LAST_PAGE.openai },
    );
    const rows = await clientFor(configFor(s), s.adminKey).dailyUsage('2024-11-01', '2024-11-01', signal());
    expect(rows).toEqual([
      row({
        minuteMs: 1730419200_000,
        inputTokens: 1000,
        cachedTokens: 400,
        cacheWriteTokens: 100,
        outputTokens: 500,
        requests: 5,
      }),
    ]);
    // has_more: true, so its next_page was followed as `page`.
    expect(s.usageRequests().map((r) => r.query.get('page'))).toEqual([
      null,
      'page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=',
    ]);
  });

  it('OpenAI usage/completions (the earlier example, no input_cache_write_tokens)', async () => {
    const s = await openaiStandIn();
    s.fault(
      { kind: 'raw', body: fixture('openai-usage-completions-older.json') },
      { kind: 'raw', body: LAST_PAGE.openai },
    );
    const rows = await clientFor(configFor(s), s.adminKey).dailyUsage('2024-11-01', '2024-11-01', signal());
    expect(rows).toEqual([
      row({ minuteMs: 1730419200_000, inputTokens: 1000, cachedTokens: 800, outputTokens: 500, requests: 5 }),
    ]);
  });

  it('OpenAI completions usage object (every group field set): project, model, tier', async () => {
    const s = await openaiStandIn();
    const result = JSON.parse(fixture('openai-usage-completions-result.json')) as unknown;
    const body = {
      object: 'page',
      data: [{ object: 'bucket', start_time: 1730419200, end_time: 1730419260, results: [result] }],
      has_more: false,
      next_page: null,
    };
    s.fault({ kind: 'raw', body: JSON.stringify(body) });
    const read = await clientFor(configFor(s), s.adminKey).usage(1730419200_000, 1730419260_000, signal());
    expect(read.rows).toEqual([
      row({
        minuteMs: 1730419200_000,
        model: 'gpt-4o-mini-2024-07-18',
        key: 'proj_abc',
        inputTokens: 5000,
        cachedTokens: 1800,
        cacheWriteTokens: 200,
        outputTokens: 1000,
        serviceTier: 'default',
        requests: 5,
      }),
    ]);
    expect(read.pages).toBe(1);
  });

  it('OpenAI costs: amount.value in USD', async () => {
    const s = await openaiStandIn();
    s.fault({ kind: 'raw', body: fixture('openai-costs.json') });
    const costs = await clientFor(configFor(s), s.adminKey).dailyCosts('2024-11-01', '2024-11-01', signal());
    expect(costs).toEqual([{ day: '2024-11-01', usd: 0.06 }]);
  });

  it('Anthropic usage_report/messages: uncached + cache reads + both writes are the input', async () => {
    const s = await anthropicStandIn();
    s.fault(
      { kind: 'raw', body: fixture('anthropic-usage-report.json') },
      { kind: 'raw', body: LAST_PAGE.anthropic },
    );
    const rows = await clientFor(configFor(s), s.adminKey).dailyUsage('2025-08-01', '2025-08-01', signal());
    expect(rows).toEqual([
      row({
        minuteMs: Date.parse('2025-08-01T00:00:00Z'),
        model: 'claude-sonnet-4-20250514',
        key: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ',
        inputTokens: 1500 + 200 + 500 + 1000,
        cachedTokens: 200,
        cacheWriteTokens: 500,
        cacheWrite1hTokens: 1000,
        outputTokens: 500,
        serviceTier: 'standard',
      }),
    ]);
    expect(s.usageRequests().map((r) => r.query.get('page'))).toEqual([
      null,
      'page_MjAyNS0wNS0xNFQwMDowMDowMFo=',
    ]);
  });

  it('Anthropic cost_report: amount is cents as a decimal string', async () => {
    const s = await anthropicStandIn();
    s.fault(
      { kind: 'raw', body: fixture('anthropic-cost-report.json') },
      { kind: 'raw', body: LAST_PAGE.anthropic },
    );
    const costs = await clientFor(configFor(s), s.adminKey).dailyCosts('2025-08-01', '2025-08-01', signal());
    expect(costs).toHaveLength(1);
    expect(costs[0]?.day).toBe('2025-08-01');
    expect(costs[0]?.usd).toBeCloseTo(1.2378912, 9);
  });
});

describe.each(['openai', 'anthropic'] as const)('%s against its stand-in', (type) => {
  const now = (): number => minuteOf(Date.now());

  it('asks for 1-minute buckets by model and key, with the configured filters, in one page', async () => {
    const s = await standIn(type);
    const to = now();
    const from = to - 15 * 60_000;
    const scope = type === 'openai' ? 'proj_abc' : 'wrkspc_1';
    s.addUsage(
      { minuteMs: from, model: 'm-1', scope, input: 1000, cached: 200, output: 100 },
      { minuteMs: from, model: 'm-1', scope, input: 500, output: 50 },
      { minuteMs: from + 60_000, model: 'm-2', scope, input: 10, output: 1, batch: true },
      { minuteMs: from + 60_000, model: 'm-2', scope: 'other', input: 99_999, output: 99_999 },
      { minuteMs: to - 60_000, model: 'm-1', scope, input: 7, output: 7 },
    );
    const config = configFor(s, { scopeIds: [scope], models: ['m-1', 'm-2'] });
    const read = await clientFor(config, s.adminKey).usage(from, to, signal());
    expect(read.pages).toBe(1);
    expect(read.fromMs).toBe(from);
    expect(read.toMs).toBe(to);
    const sorted = [...read.rows].sort((a, b) => a.minuteMs - b.minuteMs);
    expect(
      sorted.map((r) => [(r.minuteMs - from) / 60_000, r.model, r.key, r.inputTokens, r.outputTokens]),
    ).toEqual([
      [0, 'm-1', scope, 1500, 150],
      [1, 'm-2', scope, 10, 1],
      [14, 'm-1', scope, 7, 7],
    ]);
    expect(sorted[0]?.cachedTokens).toBe(200);
    expect(sorted[1]?.batch).toBe(true);
    expect(sorted[1]?.serviceTier).toBe(type === 'openai' ? 'default' : 'batch');
    expect(sorted[0]?.requests).toBe(type === 'openai' ? 2 : null);

    const [request] = s.usageRequests();
    const q = request?.query as URLSearchParams;
    expect(q.get('bucket_width')).toBe('1m');
    expect(q.get('limit')).toBe('15');
    if (type === 'openai') {
      expect(q.get('start_time')).toBe(String(from / 1000));
      expect(q.get('end_time')).toBe(String(to / 1000));
      expect(q.getAll('group_by[]')).toEqual(['model', 'project_id', 'batch', 'service_tier']);
      expect(q.getAll('project_ids[]')).toEqual([scope]);
      expect(request?.headers.authorization).toBe(`Bearer ${s.adminKey}`);
    } else {
      expect(q.get('starting_at')).toBe(new Date(from).toISOString().replace('.000Z', 'Z'));
      expect(q.get('ending_at')).toBe(new Date(to).toISOString().replace('.000Z', 'Z'));
      expect(q.getAll('group_by[]')).toEqual(['model', 'workspace_id', 'service_tier']);
      expect(q.getAll('workspace_ids[]')).toEqual([scope]);
      expect(request?.headers['x-api-key']).toBe(s.adminKey);
      expect(request?.headers['anthropic-version']).toBe('2023-06-01');
    }
    expect(q.getAll('models[]')).toEqual(['m-1', 'm-2']);
    expect(request?.headers['user-agent']).toMatch(/^cost-watchdog\//);
  });

  it('groups by API key too when api_key_ids are configured', async () => {
    const s = await standIn(type);
    const to = now();
    s.addUsage({ minuteMs: to - 60_000, model: 'm', apiKeyId: 'key_1', input: 3, output: 4 });
    const read = await clientFor(configFor(s, { apiKeyIds: ['key_1'] }), s.adminKey).usage(
      to - 120_000,
      to,
      signal(),
    );
    expect(read.rows.map((r) => [r.key, r.inputTokens])).toEqual([['key_1', 3]]);
    const q = s.usageRequests()[0]?.query as URLSearchParams;
    expect(q.getAll('group_by[]')).toContain('api_key_id');
    expect(q.getAll('api_key_ids[]')).toEqual(['key_1']);
  });

  it('follows has_more / next_page to the end (4 pages of 4 buckets for 15 minutes)', async () => {
    const s = await standIn(type);
    s.pageSize = 4;
    const to = now();
    const from = to - 15 * 60_000;
    for (let m = 0; m < 15; m++)
      s.addUsage({ minuteMs: from + m * 60_000, model: 'm', input: m + 1, output: 1 });
    const read = await clientFor(configFor(s), s.adminKey).usage(from, to, signal());
    expect(read.pages).toBe(4);
    expect(read.rows.map((r) => r.inputTokens).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    expect(s.usageRequests().map((r) => r.query.get('page') === null)).toEqual([true, false, false, false]);
  });

  it(`stops after ${MAX_PAGES} pages of a provider that keeps saying has_more`, async () => {
    const s = await standIn(type);
    s.pageSize = 1;
    const to = now();
    const f = await failure(clientFor(configFor(s), s.adminKey).usage(to - 6 * 3_600_000, to, signal()));
    expect(f.kind).toBe('shape');
    expect(f.message).toContain(`still said has_more after ${MAX_PAGES} pages`);
    expect(s.usageRequests()).toHaveLength(MAX_PAGES);
  });

  it("never uses the bucket still open on the provider's clock", async () => {
    const s = await standIn(type);
    const open = now();
    s.addUsage(
      { minuteMs: open - 60_000, model: 'm', input: 1, output: 1 },
      { minuteMs: open, model: 'm', input: 1000, output: 1000 },
    );
    // Asked up to the end of the open minute: the stand-in serves it (as the providers do).
    const read = await clientFor(configFor(s), s.adminKey).usage(open - 60_000, open + 60_000, signal());
    expect(read.rows.map((r) => r.minuteMs)).toEqual([open - 60_000]);
  });

  it("reports the clock skew from the Date header, and closes buckets by the provider's clock", async () => {
    const s = await standIn(type);
    s.clockOffsetMs = -3 * 60_000;
    const to = now();
    const from = to - 10 * 60_000;
    for (let m = 0; m < 10; m++) s.addUsage({ minuteMs: from + m * 60_000, model: 'm', input: 1, output: 1 });
    const read = await clientFor(configFor(s), s.adminKey).usage(from, to, signal());
    expect(read.skewMs).toBeGreaterThan(-3 * 60_000 - 2000);
    expect(read.skewMs).toBeLessThan(-3 * 60_000 + 1000);
    // The provider is 3 minutes behind: its last 3 or 4 minutes of our window are not closed yet.
    const providerNow = Date.now() + s.clockOffsetMs;
    expect(read.rows.every((r) => r.minuteMs + 60_000 <= providerNow)).toBe(true);
    expect(read.rows.length).toBeGreaterThanOrEqual(6);
    expect(read.rows.length).toBeLessThanOrEqual(7);

    s.clockOffsetMs = 5 * 60_000;
    const ahead = await clientFor(configFor(s), s.adminKey).usage(from, to, signal());
    expect(ahead.skewMs).toBeGreaterThan(5 * 60_000 - 2000);
    expect(ahead.rows).toHaveLength(10);

    s.sendDate = false;
    const undated = await clientFor(configFor(s), s.adminKey).usage(from, to, signal());
    expect(undated.skewMs).toBeNull();
  });

  it('sees a minute reported late on a later read of the same window', async () => {
    const s = await standIn(type);
    const to = now();
    const from = to - 5 * 60_000;
    s.addUsage(
      { minuteMs: from, model: 'm', input: 1, output: 1 },
      { minuteMs: from + 60_000, model: 'm', input: 50, output: 5, lateReads: 1 },
    );
    const client = clientFor(configFor(s), s.adminKey);
    expect((await client.usage(from, to, signal())).rows.map((r) => r.inputTokens)).toEqual([1]);
    const second = (await client.usage(from, to, signal())).rows.map((r) => r.inputTokens);
    expect(second.sort((a, b) => a - b)).toEqual([1, 50]);
    expect(s.usageReads).toBe(2);
  });

  it('daily usage and costs: 1-day buckets, the open day left out', async () => {
    const s = await standIn(type);
    const today = new Date().toISOString().slice(0, 10);
    const dayMs = Date.parse(`${today}T00:00:00Z`);
    const yesterday = new Date(dayMs - 86_400_000).toISOString().slice(0, 10);
    s.addUsage(
      { minuteMs: dayMs - 3_600_000, model: 'm', input: 100, output: 10 },
      { minuteMs: dayMs - 7_200_000, model: 'm', input: 100, output: 10 },
      { minuteMs: dayMs + 60_000, model: 'm', input: 5, output: 5 },
    );
    s.addCost(
      { day: yesterday, usd: 1.25 },
      { day: yesterday, usd: 0.5, scope: 'x' },
      { day: today, usd: 9 },
    );
    if (type === 'anthropic') s.addCost({ day: yesterday, usd: 4, costType: 'web_search' });
    const client = clientFor(configFor(s), s.adminKey);
    const rows = await client.dailyUsage(yesterday, today, signal());
    expect(rows.map((r) => [r.minuteMs, r.inputTokens, r.outputTokens])).toEqual([
      [dayMs - 86_400_000, 200, 20],
    ]);
    const costs = await client.dailyCosts(yesterday, today, signal());
    expect(costs.map((c) => c.day)).toEqual([yesterday]);
    // Anthropic: token costs only (web search is not in the usage report the table prices).
    expect(costs[0]?.usd).toBeCloseTo(1.75, 9);
    const q = s.costRequests()[0]?.query as URLSearchParams;
    expect(q.get('bucket_width')).toBe('1d');
    expect(q.get('limit')).toBe('2');
  });
});

describe('OpenAI service tiers', () => {
  it('OpenAI flex usage is priced as batch (Batch API rates)', async () => {
    const s = await openaiStandIn();
    const to = minuteOf(Date.now());
    s.addUsage({ minuteMs: to - 60_000, model: 'm', input: 3, output: 4, serviceTier: 'flex' });
    const read = await clientFor(configFor(s), s.adminKey).usage(to - 60_000, to, signal());
    expect(read.rows.map((r) => [r.serviceTier, r.batch])).toEqual([['flex', true]]);
  });
});

describe('defensive parsing', () => {
  const bucket = (results: unknown[]): string =>
    JSON.stringify({
      object: 'page',
      data: [{ object: 'bucket', start_time: 1730419200, end_time: 1730419260, results }],
      has_more: false,
      next_page: null,
    });

  it.each([
    [
      'numbers as numeric strings',
      { input_tokens: '1200', output_tokens: '30', num_model_requests: '2' },
      1200,
    ],
    ['unknown fields ignored', { input_tokens: 5, output_tokens: 1, brand_new_field: { x: 1 } }, 5],
    ['cached and write counts null', { input_tokens: 5, output_tokens: 1, input_cached_tokens: null }, 5],
  ])('%s', async (_, result, input) => {
    const s = await openaiStandIn();
    s.fault({ kind: 'raw', body: bucket([result]) });
    const read = await clientFor(configFor(s), s.adminKey).usage(1730419200_000, 1730419260_000, signal());
    expect(read.rows[0]?.inputTokens).toBe(input);
  });

  it.each([
    ['a word for a count', { input_tokens: 'lots', output_tokens: 1 }, 'results[0] input_tokens'],
    ['a negative count', { input_tokens: 5, output_tokens: -1 }, 'results[0] output_tokens'],
    ['a missing count', { output_tokens: 1 }, 'results[0] input_tokens'],
    [
      'more cached than input',
      { input_tokens: 5, input_cached_tokens: 9, output_tokens: 1 },
      'input_cached_tokens',
    ],
    ['a model that is a number', { input_tokens: 5, output_tokens: 1, model: 4 }, 'results[0] model'],
  ])('%s is a shape failure naming the field', async (_, result, field) => {
    const s = await openaiStandIn();
    s.fault({ kind: 'raw', body: bucket([result]) });
    const f = await failure(
      clientFor(configFor(s), s.adminKey).usage(1730419200_000, 1730419260_000, signal()),
    );
    expect(f.kind).toBe('shape');
    expect(f.message).toContain(field);
    expect(f.message).toMatch(/^openai: /);
  });

  it('Anthropic: amounts as numbers too; a non-USD currency is a shape failure', async () => {
    const s = await anthropicStandIn();
    const day = (amount: unknown, currency = 'USD') =>
      JSON.stringify({
        data: [
          {
            starting_at: '2025-08-01T00:00:00Z',
            ending_at: '2025-08-02T00:00:00Z',
            results: [{ amount, currency, cost_type: 'tokens', workspace_id: null }],
          },
        ],
        has_more: false,
        next_page: null,
      });
    s.fault({ kind: 'raw', body: day(250) }, { kind: 'raw', body: day('12.5', 'EUR') });
    const client = clientFor(configFor(s), s.adminKey);
    expect(await client.dailyCosts('2025-08-01', '2025-08-01', signal())).toEqual([
      { day: '2025-08-01', usd: 2.5 },
    ]);
    const f = await failure(client.dailyCosts('2025-08-01', '2025-08-01', signal()));
    expect(f.kind).toBe('shape');
    expect(f.message).toContain('currency');
  });

  it('Anthropic: the workspace filter of the cost report is applied here (it takes none)', async () => {
    const s = await anthropicStandIn();
    s.addCost(
      { day: '2025-08-01', usd: 1, scope: 'wrkspc_1' },
      { day: '2025-08-01', usd: 7, scope: 'wrkspc_2' },
    );
    const costs = await clientFor(configFor(s, { scopeIds: ['wrkspc_1'] }), s.adminKey).dailyCosts(
      '2025-08-01',
      '2025-08-01',
      signal(),
    );
    expect(costs).toEqual([{ day: '2025-08-01', usd: 1 }]);
    expect(s.costRequests()[0]?.query.getAll('group_by[]')).toEqual(['workspace_id', 'description']);
  });
});

describe('small parts', () => {
  it.each([
    ['7', 7000],
    [' 0 ', 0],
    ['1.5', 1500],
    ['Wed, 02 Dec 2026 16:00:30 GMT', 30_000],
    ['Wed, 02 Dec 2026 15:59:00 GMT', 0],
    ['soon', null],
    ['-1', null],
    [null, null],
  ])('Retry-After %j is %j ms', (header, ms) => {
    expect(parseRetryAfter(header, Date.parse('2026-12-02T16:00:00Z'))).toBe(ms);
  });

  it("arrays go as name[]= (both SDKs and Anthropic's docs); everything else plain", () => {
    expect(
      queryString([
        ['start_time', 60],
        ['group_by', ['model', 'project_id']],
        ['ending_at', '2025-01-01T00:00:00Z'],
      ]),
    ).toBe('start_time=60&group_by[]=model&group_by[]=project_id&ending_at=2025-01-01T00%3A00%3A00Z');
  });

  it('redact cuts every copy of the key', () => {
    expect(redact('a sk-x-123 b sk-x-123', 'sk-x-123')).toBe('a <admin key> b <admin key>');
  });

  it('a whole-minute window is asked for', async () => {
    const s = await openaiStandIn();
    await expect(clientFor(configFor(s), s.adminKey).usage(1000, 61_000, signal())).rejects.toThrow(
      RangeError,
    );
  });
});

describe('readAdminKey', () => {
  const provider = (keyFile: string | null) => ({
    name: 'openai',
    type: 'openai' as const,
    keyEnv: 'OPENAI_ADMIN_KEY',
    keyFile,
  });
  const folder = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cw-key-'));
    chmodSync(dir, 0o700);
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  it('the variable wins, trimmed', () => {
    expect(readAdminKey(provider('/nonexistent'), { OPENAI_ADMIN_KEY: ' sk-admin-1 \n' })).toEqual({
      kind: 'set',
      key: 'sk-admin-1',
      from: '$OPENAI_ADMIN_KEY',
    });
  });

  it('none set and no file: none, naming the variable', () => {
    const key = readAdminKey(provider(null), { OPENAI_ADMIN_KEY: '  ' });
    expect(key.kind).toBe('none');
    expect(key.kind !== 'set' && key.problem).toContain('$OPENAI_ADMIN_KEY is not set');
  });

  it('a file held like a key is read; one others can read is refused; an empty one is broken', () => {
    const dir = folder();
    const file = path.join(dir, 'openai.key');
    writeFileSync(file, 'sk-admin-from-file\n', { mode: 0o600 });
    expect(readAdminKey(provider(file), {})).toEqual({ kind: 'set', key: 'sk-admin-from-file', from: file });
    chmodSync(file, 0o644);
    const open = readAdminKey(provider(file), {}, 0);
    expect(open.kind).toBe('broken');
    expect(open.kind === 'broken' && open.problem).toContain('chmod 600');
    expect(JSON.stringify(open)).not.toContain('sk-admin-from-file');
    writeFileSync(file, '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(readAdminKey(provider(file), {})).toEqual({ kind: 'broken', from: file, problem: 'is empty' });
  });

  it('a file of two lines or with spaces is broken, without quoting it; a missing file is broken', () => {
    const dir = folder();
    const file = path.join(dir, 'k');
    writeFileSync(file, 'sk-admin-secret-line\nsecond-secret-line\n', { mode: 0o600 });
    const two = readAdminKey(provider(file), {});
    expect(two.kind).toBe('broken');
    expect(JSON.stringify(two)).not.toMatch(/secret-line/);
    const missing = readAdminKey(provider(path.join(dir, 'none')), {});
    expect(missing.kind === 'broken' && missing.problem).toContain('does not exist');
  });
});
