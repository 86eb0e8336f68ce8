// Anthropic's usage and cost reports (Admin API, `x-api-key: <admin key>`, `anthropic-version:
// 2023-06-01`):
//   GET /v1/organizations/usage_report/messages  starting_at, ending_at (RFC 3339), bucket_width=1m|1d,
//       group_by[], workspace_ids[], api_key_ids[], models[], limit, page
//   GET /v1/organizations/cost_report            1d buckets, amount in cents as a decimal string
// Anthropic counts input apart: uncached + cache reads + cache writes (5-minute and 1-hour) make
// the price table's input tokens. docs/providers.md says where each field is documented.
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

const USAGE_PATH = '/v1/organizations/usage_report/messages';
const COSTS_PATH = '/v1/organizations/cost_report';
export const ANTHROPIC_VERSION = '2023-06-01';
/** The documented maximum `limit` per bucket width (1m: 1440 minutes, 1d: 31 days; cost report: 31). */
const LIMIT_1M = 1440;
const LIMIT_1D = 31;

export function anthropicClient(provider: ProviderConfig, key: string, keyFrom: string): ProviderClient {
  const ctx: Context = {
    provider,
    key,
    keyFrom,
    headers: { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION },
  };
  const groupBy = (): string[] => [
    'model',
    'workspace_id',
    'service_tier',
    ...(provider.apiKeyIds.length > 0 ? ['api_key_id'] : []),
  ];

  async function read(fromMs: number, toMs: number, width: '1m' | '1d', limit: number, signal: AbortSignal) {
    const query: Query = [
      ['starting_at', iso(fromMs)],
      ['ending_at', iso(toMs)],
      ['bucket_width', width],
      ['group_by', groupBy()],
    ];
    if (provider.scopeIds.length > 0) query.push(['workspace_ids', provider.scopeIds]);
    if (provider.apiKeyIds.length > 0) query.push(['api_key_ids', provider.apiKeyIds]);
    if (provider.models.length > 0) query.push(['models', provider.models]);
    query.push(['limit', limit]);
    const drained = await drain(ctx, USAGE_PATH, query, signal);
    return { rows: closedRows(provider.name, drained, fromMs, toMs, { times, row: usageRow }), drained };
  }

  return {
    ...usageReads(read, { minutes: LIMIT_1M, days: LIMIT_1D }),
    async dailyCosts(fromDay, toDay, signal): Promise<DailyCost[]> {
      const { fromMs, toMs, days } = dayRange(fromDay, toDay);
      // The cost report takes no workspace filter: grouped by workspace and filtered here; grouped
      // by description so that only token costs count (web search and code execution are not in
      // the usage report, so the price table never prices them).
      const query: Query = [
        ['starting_at', iso(fromMs)],
        ['ending_at', iso(toMs)],
        ['bucket_width', '1d'],
        ['group_by', ['workspace_id', 'description']],
        ['limit', Math.min(days, LIMIT_1D)],
      ];
      const drained = await drain(ctx, COSTS_PATH, query, signal);
      const scope = new Set(provider.scopeIds);
      const byDay = new Map<string, number>();
      for (const bucket of drained.buckets) {
        const { startMs, endMs } = times(provider.name, bucket);
        if (endMs > drained.providerNowMs || startMs < fromMs || startMs >= toMs) continue;
        const day = dayOf(startMs);
        let cents = byDay.get(day) ?? 0;
        for (const [i, r] of results(provider.name, bucket).entries()) {
          const at = `${bucket.at} results[${i}]`;
          const currency = r.currency ?? 'USD';
          if (typeof currency !== 'string' || currency.toUpperCase() !== 'USD')
            throw shape(provider.name, at, 'currency', '"USD"', currency);
          const workspace = optionalString(provider.name, at, 'workspace_id', r.workspace_id);
          if (scope.size > 0 && (workspace === null || !scope.has(workspace))) continue;
          const costType = optionalString(provider.name, at, 'cost_type', r.cost_type);
          if (costType !== null && costType !== 'tokens') continue;
          cents += decimal(provider.name, at, 'amount', r.amount);
        }
        byDay.set(day, cents);
      }
      return [...byDay].map(([day, cents]) => ({ day, usd: cents / 100 }));
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function times(name: string, bucket: Bucket): { startMs: number; endMs: number } {
  const start = bucket.raw.starting_at;
  const end = bucket.raw.ending_at;
  const s = typeof start === 'string' ? Date.parse(start) : Number.NaN;
  const e = typeof end === 'string' ? Date.parse(end) : Number.NaN;
  if (Number.isNaN(s)) throw shape(name, bucket.at, 'starting_at', 'an RFC 3339 time', start);
  if (Number.isNaN(e) || e <= s)
    throw shape(name, bucket.at, 'ending_at', 'an RFC 3339 time after starting_at', end);
  return { startMs: s, endMs: e };
}

function usageRow(name: string, at: string, minuteMs: number, r: Record<string, unknown>): UsageRow {
  const uncached = count(name, at, 'uncached_input_tokens', r.uncached_input_tokens, null);
  const cached = count(name, at, 'cache_read_input_tokens', r.cache_read_input_tokens);
  const creation = r.cache_creation;
  if (
    creation !== undefined &&
    creation !== null &&
    (typeof creation !== 'object' || Array.isArray(creation))
  )
    throw shape(name, at, 'cache_creation', 'an object', creation);
  const c = (creation ?? {}) as Record<string, unknown>;
  // An earlier form of the report had the two writes flat (cache_creation_5m_input_tokens).
  const write5m = count(
    name,
    at,
    'cache_creation.ephemeral_5m_input_tokens',
    c.ephemeral_5m_input_tokens ?? r.cache_creation_5m_input_tokens,
  );
  const write1h = count(
    name,
    at,
    'cache_creation.ephemeral_1h_input_tokens',
    c.ephemeral_1h_input_tokens ?? r.cache_creation_1h_input_tokens,
  );
  const tier = optionalString(name, at, 'service_tier', r.service_tier);
  const workspace = optionalString(name, at, 'workspace_id', r.workspace_id);
  const apiKey = optionalString(name, at, 'api_key_id', r.api_key_id);
  return {
    minuteMs,
    model: optionalString(name, at, 'model', r.model),
    key: workspace ?? apiKey,
    inputTokens: uncached + cached + write5m + write1h,
    cachedTokens: cached,
    cacheWriteTokens: write5m,
    cacheWrite1hTokens: write1h,
    outputTokens: count(name, at, 'output_tokens', r.output_tokens, null),
    batch: tier === 'batch',
    serviceTier: tier,
    requests: null,
  };
}
