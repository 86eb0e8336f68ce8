// OpenAI's organization usage and costs (Admin API, `Authorization: Bearer <admin key>`):
//   GET /v1/organization/usage/completions  start_time, end_time (Unix s, [start, end)),
//       bucket_width=1m|1d, group_by[], project_ids[], api_key_ids[], models[], limit, page
//   GET /v1/organization/costs              1d buckets, amount {value, currency}
// input_tokens already includes the cached and cache-write tokens (the price table's convention).
// docs/providers.md says where each field and limit is documented.
import type { DailyCost, ProviderClient, ProviderConfig, UsageRow } from '../types.js';
import {
  type Bucket,
  type Context,
  closedRows,
  count,
  amount as decimal,
  dayOf,
  dayRange,
  drain,
  optionalString,
  type Query,
  results,
  shape,
  usageReads,
} from './pages.js';

const USAGE_PATH = '/v1/organization/usage/completions';
const COSTS_PATH = '/v1/organization/costs';
/** The documented maximum `limit` per bucket width (1m: 1440, 1d: 31; costs: 180). */
const LIMIT_1M = 1440;
const LIMIT_1D = 31;
const LIMIT_COSTS = 180;

export function openaiClient(provider: ProviderConfig, key: string, keyFrom: string): ProviderClient {
  const ctx: Context = { provider, key, keyFrom, headers: { Authorization: `Bearer ${key}` } };
  const filters = (): Query => {
    const q: Query = [];
    if (provider.scopeIds.length > 0) q.push(['project_ids', provider.scopeIds]);
    if (provider.apiKeyIds.length > 0) q.push(['api_key_ids', provider.apiKeyIds]);
    if (provider.models.length > 0) q.push(['models', provider.models]);
    return q;
  };
  const groupBy = (): string[] => [
    'model',
    'project_id',
    'batch',
    'service_tier',
    ...(provider.apiKeyIds.length > 0 ? ['api_key_id'] : []),
  ];

  async function read(fromMs: number, toMs: number, width: '1m' | '1d', limit: number, signal: AbortSignal) {
    const query: Query = [
      ['start_time', fromMs / 1000],
      ['end_time', toMs / 1000],
      ['bucket_width', width],
      ['group_by', groupBy()],
      ...filters(),
      ['limit', limit],
    ];
    const drained = await drain(ctx, USAGE_PATH, query, signal);
    return { rows: closedRows(provider.name, drained, fromMs, toMs, { times, row: usageRow }), drained };
  }

  return {
    ...usageReads(read, { minutes: LIMIT_1M, days: LIMIT_1D }),
    async dailyCosts(fromDay, toDay, signal): Promise<DailyCost[]> {
      const { fromMs, toMs, days } = dayRange(fromDay, toDay);
      const query: Query = [
        ['start_time', fromMs / 1000],
        ['end_time', toMs / 1000],
        ['bucket_width', '1d'],
      ];
      if (provider.scopeIds.length > 0) query.push(['project_ids', provider.scopeIds]);
      if (provider.apiKeyIds.length > 0) query.push(['api_key_ids', provider.apiKeyIds]);
      query.push(['limit', Math.min(days, LIMIT_COSTS)]);
      const drained = await drain(ctx, COSTS_PATH, query, signal);
      const byDay = new Map<string, number>();
      for (const bucket of drained.buckets) {
        const { startMs, endMs } = times(provider.name, bucket);
        if (endMs > drained.providerNowMs || startMs < fromMs || startMs >= toMs) continue;
        const day = dayOf(startMs);
        let usd = byDay.get(day) ?? 0;
        for (const [i, r] of results(provider.name, bucket).entries()) {
          const at = `${bucket.at} results[${i}]`;
          const a = r.amount as Record<string, unknown> | null | undefined;
          if (a === null || typeof a !== 'object')
            throw shape(provider.name, at, 'amount', '{value, currency}', a);
          const currency = a.currency ?? 'usd';
          if (typeof currency !== 'string' || currency.toLowerCase() !== 'usd')
            throw shape(provider.name, at, 'amount.currency', '"usd"', currency);
          usd += decimal(provider.name, at, 'amount.value', a.value);
        }
        byDay.set(day, usd);
      }
      return [...byDay].map(([day, usd]) => ({ day, usd }));
    },
  };
}

function times(name: string, bucket: Bucket): { startMs: number; endMs: number } {
  const start = bucket.raw.start_time;
  const end = bucket.raw.end_time;
  const s = typeof start === 'string' && /^\d+$/.test(start) ? Number(start) : start;
  const e = typeof end === 'string' && /^\d+$/.test(end) ? Number(end) : end;
  if (typeof s !== 'number' || !Number.isSafeInteger(s))
    throw shape(name, bucket.at, 'start_time', 'Unix seconds', start);
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e <= s)
    throw shape(name, bucket.at, 'end_time', 'Unix seconds after start_time', end);
  return { startMs: s * 1000, endMs: e * 1000 };
}

function usageRow(name: string, at: string, minuteMs: number, r: Record<string, unknown>): UsageRow {
  const inputTokens = count(name, at, 'input_tokens', r.input_tokens, null);
  const cachedTokens = count(name, at, 'input_cached_tokens', r.input_cached_tokens);
  const cacheWriteTokens = count(name, at, 'input_cache_write_tokens', r.input_cache_write_tokens);
  if (cachedTokens + cacheWriteTokens > inputTokens)
    throw shape(name, at, 'input_cached_tokens', `at most input_tokens (${inputTokens})`, cachedTokens);
  const projectId = optionalString(name, at, 'project_id', r.project_id);
  const apiKeyId = optionalString(name, at, 'api_key_id', r.api_key_id);
  if (r.batch !== undefined && r.batch !== null && typeof r.batch !== 'boolean')
    throw shape(name, at, 'batch', 'true, false or null', r.batch);
  const tier = optionalString(name, at, 'service_tier', r.service_tier);
  return {
    minuteMs,
    model: optionalString(name, at, 'model', r.model),
    key: projectId ?? apiKeyId,
    inputTokens,
    cachedTokens,
    cacheWriteTokens,
    cacheWrite1hTokens: 0,
    outputTokens: count(name, at, 'output_tokens', r.output_tokens, null),
    // Flex processing: "Tokens are priced at Batch API rates" (OpenAI's flex processing guide).
    batch: r.batch === true || tier === 'flex',
    serviceTier: tier,
    requests:
      r.num_model_requests === undefined || r.num_model_requests === null
        ? null
        : count(name, at, 'num_model_requests', r.num_model_requests),
  };
}
