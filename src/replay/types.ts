// What `replay` computes and prints with --json (DESIGN.md "Operator surfaces"), and what its
// --html page (src/web/, the dashboard's chart code) draws. Dollars here (the output's edge).
import type { Shape } from '../core/storms/shapes.js';
import type { Level } from '../core/levels.js';

export type ReplayLevel = Exclude<Level, 'ok'>;

export interface ReplayCrossing {
  /** The window's name (`15m`, `daily`, ...). */
  window: string;
  /** The scope's name, or null for the config's own windows. */
  scope: string | null;
  /** Under an `each` scope: the value's fields ({agent: "research"}); else null. */
  key: Record<string, string> | null;
  level: ReplayLevel;
  /** When the line that crossed was dated (ISO); for a line out of order, the newest line time before it. */
  at: string;
  /** The window's spend then. */
  spend_usd: number;
  /** Spend from the crossing until that window is next back at ok: what a kill then would have saved. */
  followed_usd: number;
  /** When that window was next back at ok (ISO), or null when it never was within the replay. */
  ok_again_at: string | null;
}

export interface ReplayStorm {
  /** The repeated request id or fingerprint. */
  id: string;
  count: number;
  spend_usd: number;
  first_at: string;
  last_at: string;
  level: Level;
  /**
   * Only for a re-run without ids (docs/cost-truth.md#re-runs-without-ids): the call shape billed
   * again and again; `id` is then the shape in words.
   */
  shape?: Shape;
}

export interface ReplayUnpriced {
  model: string;
  lines: number;
  tokens: number;
  /** What those lines were counted at (the unpriced rate of cost.unpriced_per_million_tokens). */
  spend_usd: number;
}

/** One window (of the config, or of a scope instance) over the replay, for the timeline chart. */
export interface ReplaySeries {
  window: string;
  scope: string | null;
  key: Record<string, string> | null;
  /** The rolling window's length, or null for the calendar day. */
  seconds: number | null;
  limits: Partial<Record<ReplayLevel, number>>;
  /** [epoch ms, window spend in USD] at the end of each minute with spend (and where it fell back). */
  points: [number, number][];
}

export interface ReplayJson {
  /** The first and last line's time replayed (ISO), or the --from / --to given; null: no line. */
  from: string | null;
  to: string | null;
  total_usd: number;
  /** Lines read: records counted, malformed, outside --from/--to. */
  lines: { records: number; malformed: number; outside: number };
  crossings: ReplayCrossing[];
  storms: ReplayStorm[];
  unpriced: ReplayUnpriced[];
  /** Spend per minute over the replay: [minute start epoch ms, USD], minutes with spend. */
  minutes: [number, number][];
  series: ReplaySeries[];
}
