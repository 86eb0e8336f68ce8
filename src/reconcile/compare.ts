// The comparison itself: a provider's priced usage against the logs' spend for the same closed
// minutes. Models are compared one by one where the provider's name and the log's resolve to the
// same price-table model, and in total otherwise (with the logs' spend that names no model, or a
// model of no known provider: it may be this provider's). The logs get a minute of slack on either
// side (a call logged when it ended may fall in the next minute; clocks differ by seconds), so
// that a check never finds unlogged spend that is only late or early. Pure.
import type { PricedBucket } from './price.js';

/** The logs' spend of one minute (epoch minute): per canonical model, and in all (µ$). */
export interface LoggedMinute {
  models: Map<string, number>;
  total: number;
}

export interface CompareInput {
  /** The provider's type (`openai`): the logged models of this price-table provider are its. */
  providerType: string;
  buckets: readonly PricedBucket[];
  /** The closed minutes compared: [fromMinute, toMinute), epoch minutes. */
  fromMinute: number;
  toMinute: number;
  logged: ReadonlyMap<number, LoggedMinute>;
  /** The provider a canonical model belongs to (null: none known). */
  providerOf: (canonical: string) => string | null;
  tolerance: { usd: number; ratio: number };
  /** Minutes of slack the logs get on either side. */
  slackMinutes?: number;
}

export interface ModelGap {
  model: string;
  /** The provider's names for it, as it reported them. */
  names: string[];
  providerMicros: number;
  loggedMicros: number;
}

export interface Comparison {
  providerMicros: number;
  /** The logs' spend of this provider's models (and of none known) in the same minutes (no slack). */
  loggedMicros: number;
  /**
   * Provider spend the logs do not show, minute by minute (a minute's spend the logs show within
   * the slack explains it), summed over the window: it can be more than provider - logged.
   */
  unloggedMicros: number;
  /** Both tolerances exceeded. */
  over: boolean;
  /** Models with unlogged spend, the largest first. */
  models: ModelGap[];
  /** Minutes where the provider billed more than the logs show (epoch minutes, oldest first). */
  minutes: number[];
  /** Keys (project / workspace / API key) of the unlogged models' usage, the largest first (µ$). */
  keys: [key: string, micros: number][];
  /** The newest minute with usage reported by the provider (epoch minute), null when none. */
  lastUsageMinute: number | null;
}

const NO_MODEL = '(no model)';

/** Spend per minute of one group (a model, or the rest), as offsets from the first minute kept. */
class Minutes {
  readonly at: Float64Array;
  constructor(
    readonly first: number,
    length: number,
  ) {
    this.at = new Float64Array(length);
  }
  add(minute: number, micros: number): void {
    const i = minute - this.first;
    if (i >= 0 && i < this.at.length) this.at[i] = (this.at[i] as number) + micros;
  }
  sum(from: number, to: number): number {
    let total = 0;
    for (let m = from; m < to; m++) total += this.at[m - this.first] ?? 0;
    return total;
  }
}

/**
 * The provider's spend of each minute the logs do not show within `slack` minutes of it, in time
 * order (the logs' spend of a minute explains the provider's once: the earliest first). A minute
 * the provider has not reported yet (late) shows less than the logs: it explains nothing away,
 * and it never cancels another minute's gap. Adds each minute's gap into `gaps`.
 */
function unexplained(
  provider: Minutes,
  logged: Minutes,
  fromMinute: number,
  toMinute: number,
  slack: number,
  gaps: Map<number, number>,
): number {
  const pool = Float64Array.from(logged.at);
  let total = 0;
  for (let m = fromMinute; m < toMinute; m++) {
    let need = provider.at[m - provider.first] as number;
    for (let k = m - slack; k <= m + slack && need > 0; k++) {
      const i = k - logged.first;
      if (i < 0 || i >= pool.length) continue;
      const take = Math.min(need, pool[i] as number);
      pool[i] = (pool[i] as number) - take;
      need -= take;
    }
    if (need > 0) {
      total += need;
      gaps.set(m, (gaps.get(m) ?? 0) + need);
    }
  }
  return total;
}

export function compareUsage(input: CompareInput): Comparison {
  const { fromMinute, toMinute, providerType } = input;
  const slack = input.slackMinutes ?? 1;
  const first = fromMinute - slack;
  const length = toMinute - fromMinute + 2 * slack;
  const minutes = (): Minutes => new Minutes(first, length);

  // The provider's spend per model and minute, inside the window.
  const provider = new Map<string, { minutes: Minutes; micros: number; names: Set<string> }>();
  let providerMicros = 0;
  let lastUsageMinute: number | null = null;
  for (const b of input.buckets) {
    if (b.minute < fromMinute || b.minute >= toMinute || b.micros <= 0) continue;
    providerMicros += b.micros;
    let held = provider.get(b.model);
    if (held === undefined) {
      held = { minutes: minutes(), micros: 0, names: new Set<string>() };
      provider.set(b.model, held);
    }
    held.minutes.add(b.minute, b.micros);
    held.micros += b.micros;
    held.names.add(b.raw);
    if (lastUsageMinute === null || b.minute > lastUsageMinute) lastUsageMinute = b.minute;
  }

  // The logs' spend per minute: this provider's models one by one, and what could be anyone's
  // (no model, or a model of no known provider), with the slack on either side.
  const whose = (model: string): 'mine' | 'anyone' | 'other' => {
    if (model === NO_MODEL) return 'anyone';
    const of = input.providerOf(model);
    return of === null ? 'anyone' : of === providerType ? 'mine' : 'other';
  };
  const loggedModels = new Map<string, Minutes>();
  const anyone = minutes();
  let loggedMicros = 0;
  for (const [minute, spend] of input.logged) {
    if (minute < first || minute >= first + length) continue;
    const inWindow = minute >= fromMinute && minute < toMinute;
    let named = 0;
    for (const [model, micros] of spend.models) {
      named += micros;
      const w = whose(model);
      if (w === 'other') continue;
      if (inWindow) loggedMicros += micros;
      if (w === 'anyone') {
        anyone.add(minute, micros);
        continue;
      }
      let held = loggedModels.get(model);
      if (held === undefined) {
        held = minutes();
        loggedModels.set(model, held);
      }
      held.add(minute, micros);
    }
    const unnamed = Math.max(0, spend.total - named);
    anyone.add(minute, unnamed);
    if (inWindow) loggedMicros += unnamed;
  }

  // Model by model where both sides name it; the rest together: the provider's models the logs do
  // not name, against the logs' spend that could be anyone's and this provider's models it did
  // not report.
  const gaps: ModelGap[] = [];
  const gapMinutes = new Map<number, number>();
  let unlogged = 0;
  const restProvider = minutes();
  const restModels: ModelGap[] = [];
  for (const [model, held] of provider) {
    const logged = loggedModels.get(model);
    if (logged === undefined) {
      for (let i = 0; i < length; i++)
        restProvider.at[i] = (restProvider.at[i] as number) + (held.minutes.at[i] as number);
      restModels.push({ model, names: [...held.names].sort(), providerMicros: held.micros, loggedMicros: 0 });
      continue;
    }
    const gap = unexplained(held.minutes, logged, fromMinute, toMinute, slack, gapMinutes);
    if (gap > 0) {
      unlogged += gap;
      gaps.push({
        model,
        names: [...held.names].sort(),
        providerMicros: held.micros,
        loggedMicros: held.micros - gap,
      });
    }
  }
  if (restModels.length > 0) {
    const restLogged = minutes();
    restLogged.at.set(anyone.at);
    for (const [model, logged] of loggedModels)
      if (!provider.has(model))
        for (let i = 0; i < length; i++)
          restLogged.at[i] = (restLogged.at[i] as number) + (logged.at[i] as number);
    const gap = unexplained(restProvider, restLogged, fromMinute, toMinute, slack, gapMinutes);
    if (gap > 0) {
      unlogged += gap;
      // The rest's gap is shared out over its models by their share of the provider's spend.
      const restTotal = restModels.reduce((sum, m) => sum + m.providerMicros, 0);
      for (const m of restModels) {
        const share = Math.round((gap * m.providerMicros) / restTotal);
        if (share > 0) gaps.push({ ...m, loggedMicros: m.providerMicros - share });
      }
    }
  }
  gaps.sort((a, b) => b.providerMicros - b.loggedMicros - (a.providerMicros - a.loggedMicros));
  unlogged = Math.round(unlogged);

  const over =
    unlogged > Math.round(input.tolerance.usd * 1e6) && unlogged > input.tolerance.ratio * providerMicros;

  const gapModels = new Set(gaps.map((g) => g.model));
  const keys = new Map<string, number>();
  for (const b of input.buckets) {
    if (b.minute < fromMinute || b.minute >= toMinute || b.key === null || !gapModels.has(b.model)) continue;
    if (!gapMinutes.has(b.minute)) continue;
    keys.set(b.key, (keys.get(b.key) ?? 0) + b.micros);
  }

  return {
    providerMicros,
    loggedMicros,
    unloggedMicros: unlogged,
    over,
    models: gaps,
    minutes: [...gapMinutes.keys()].sort((a, b) => a - b),
    keys: [...keys].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    lastUsageMinute,
  };
}

/** Minutes as ranges in words: "12:03-12:09, 12:12 UTC". */
export function minuteRanges(minutes: readonly number[], most = 4): string {
  const ranges: [number, number][] = [];
  for (const m of minutes) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && m === last[1] + 1) last[1] = m;
    else ranges.push([m, m]);
  }
  const clock = (m: number): string => new Date(m * 60_000).toISOString().slice(11, 16);
  const shown = ranges
    .slice(0, most)
    .map(([a, b]) => (a === b ? clock(a) : `${clock(a)}-${clock(b)}`))
    .join(', ');
  const more = ranges.length > most ? ` and ${ranges.length - most} more` : '';
  return ranges.length === 0 ? '' : `${shown}${more} UTC`;
}
