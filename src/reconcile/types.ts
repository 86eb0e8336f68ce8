// The shapes reconciling passes along (issue 16): what a provider's usage API said (UsageRow, per
// minute, model and key), what its cost endpoint said (DailyCost), and why a read failed
// (ProviderFailure). Types only.
import type { ProviderConfig } from '../config/sections/reconcile.js';

export type { ProviderConfig };

/** Token usage of one bucket (1 minute), one model, one key / project / workspace, as the provider said. */
export interface UsageRow {
  /** The bucket's start, epoch ms (a whole minute, UTC). */
  minuteMs: number;
  /** The provider's model name (often dated, like `gpt-4o-2024-08-06`); null when not grouped by model. */
  model: string | null;
  /**
   * The key the usage is grouped under: OpenAI's project_id (else api_key_id), Anthropic's
   * workspace_id (else api_key_id); null when none (Anthropic's default workspace is null).
   */
  key: string | null;
  /**
   * Input tokens in the price table's convention: all of them, cached reads and cache writes
   * included (OpenAI's input_tokens; Anthropic's uncached + cache reads + cache writes).
   */
  inputTokens: number;
  /** Of inputTokens, read from the cache. */
  cachedTokens: number;
  /** Of inputTokens, written to the cache: Anthropic's 5-minute writes; OpenAI's input_cache_write_tokens. */
  cacheWriteTokens: number;
  /** Of inputTokens, written to the 1-hour cache (Anthropic; 0 for OpenAI). */
  cacheWrite1hTokens: number;
  outputTokens: number;
  /**
   * Billed at half price: batch usage (OpenAI `batch: true`, Anthropic `service_tier: batch`), and
   * OpenAI's flex tier, which OpenAI prices at Batch API rates.
   */
  batch: boolean;
  /**
   * The provider's service tier when it says: OpenAI `default`, `flex`, `priority`, ...; Anthropic
   * `standard`, `batch`, `priority`. (Priority and flex are priced differently from the base rates.)
   */
  serviceTier: string | null;
  /** Requests in the bucket when the provider says (OpenAI num_model_requests); null otherwise. */
  requests: number | null;
}

/** What one read of a provider's usage API returned: every page, drained. */
export interface UsageRead {
  rows: UsageRow[];
  /** The minutes asked for: [fromMs, toMs), whole minutes. */
  fromMs: number;
  toMs: number;
  /** Pages read (has_more / next_page followed to the end). */
  pages: number;
  /**
   * The provider's clock minus ours, ms, from the HTTP `Date` header of its last response (null
   * when it sent none). Buckets are dated by the provider's clock.
   */
  skewMs: number | null;
}

/** One day of the provider's own cost report, in USD. */
export interface DailyCost {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  usd: number;
}

export type FailureKind = 'auth' | 'rate' | 'server' | 'timeout' | 'shape' | 'network' | 'key';

/** Why a provider could not be read. Its text never holds the admin key. */
export class ProviderFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** The HTTP status, when there was one. */
    readonly status: number | null = null,
    /** A 429's Retry-After, ms (null: none sent). */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ProviderFailure';
  }
}

/** A provider's reader: src/reconcile/providers/{openai,anthropic}.ts. */
export interface ProviderClient {
  /**
   * Usage in 1-minute buckets from `fromMs` to `toMs` (whole minutes, [from, to)), grouped by
   * model and key, restricted by the provider's configured filters; every page followed (at most
   * MAX_PAGES). A bucket still open on the provider's clock (its Date header) is left out. Throws
   * ProviderFailure; a window that is not whole minutes throws RangeError. Bounded by the
   * provider's timeout (each request) and `signal`.
   */
  usage(fromMs: number, toMs: number, signal: AbortSignal): Promise<UsageRead>;
  /**
   * The provider's cost report per UTC day from `fromDay` to `toDay` (inclusive, YYYY-MM-DD); days
   * still open on the provider's clock are left out. Throws ProviderFailure.
   */
  dailyCosts(fromDay: string, toDay: string, signal: AbortSignal): Promise<DailyCost[]>;
  /**
   * Usage per UTC day (1-day buckets, grouped by model), for pricing a whole day against
   * dailyCosts. Rows carry the day's start as minuteMs; the open day is left out. Throws
   * ProviderFailure.
   */
  dailyUsage(fromDay: string, toDay: string, signal: AbortSignal): Promise<UsageRow[]>;
}
