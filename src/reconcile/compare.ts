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
  /** The logs' spend of this provider's models (and of none known) in the same minutes. */
  loggedMicros: number;
  /** Provider spend the logs do not show (with the slack), summed over the window. */
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

export function compareUsage(input: CompareInput): Comparison {
  const { fromMinute, toMinute, providerType } = input;
  const slack = input.slackMinutes ?? 1;
  const provider = new Map<string, { micros: number; names: Set<string> }>();
  const providerPerMinute = new Map<number, number>();
  let providerMicros = 0;
  let lastUsageMinute: number | null = null;
  for (const b of input.buckets) {
    if (b.minute < fromMinute || b.minute >= toMinute || b.micros <= 0) continue;
    providerMicros += b.micros;
    const held = provider.get(b.model) ?? { micros: 0, names: new Set<string>() };
    held.micros += b.micros;
    held.names.add(b.raw);
    provider.set(b.model, held);
    providerPerMinute.set(b.minute, (providerPerMinute.get(b.minute) ?? 0) + b.micros);
    if (lastUsageMinute === null || b.minute > lastUsageMinute) lastUsageMinute = b.minute;
  }

  // The logs' spend: this provider's models, and spend that could be anyone's (no model, or a
  // model of no known provider). With and without the slack.
  const mine = (model: string): 'mine' | 'anyone' | 'other' => {
    if (model === NO_MODEL) return 'anyone';
    const of = input.providerOf(model);
    return of === null ? 'anyone' : of === providerType ? 'mine' : 'other';
  };
  const loggedModels = new Map<string, number>();
  let loggedAnyone = 0;
  let loggedMicros = 0;
  const loggedPerMinute = new Map<number, number>();
  for (const [minute, spend] of input.logged) {
    const inWindow = minute >= fromMinute && minute < toMinute;
    const inSlack = minute >= fromMinute - slack && minute < toMinute + slack;
    if (!inSlack) continue;
    let named = 0;
    let minuteMine = 0;
    for (const [model, micros] of spend.models) {
      named += micros;
      const whose = mine(model);
      if (whose === 'other') continue;
      minuteMine += micros;
      if (whose === 'mine') loggedModels.set(model, (loggedModels.get(model) ?? 0) + micros);
      else loggedAnyone += micros;
    }
    const unnamed = Math.max(0, spend.total - named);
    loggedAnyone += unnamed;
    minuteMine += unnamed;
    if (inWindow) loggedMicros += minuteMine;
    loggedPerMinute.set(minute, minuteMine);
  }

  // Model by model where both sides name it; the rest in total.
  const gaps: ModelGap[] = [];
  let unlogged = 0;
  let restProvider = 0;
  const restModels: ModelGap[] = [];
  for (const [model, held] of provider) {
    const logged = loggedModels.get(model);
    if (logged === undefined) {
      restProvider += held.micros;
      restModels.push({ model, names: [...held.names].sort(), providerMicros: held.micros, loggedMicros: 0 });
      continue;
    }
    if (held.micros > logged) {
      unlogged += held.micros - logged;
      gaps.push({ model, names: [...held.names].sort(), providerMicros: held.micros, loggedMicros: logged });
    }
  }
  let restLogged = loggedAnyone;
  for (const [model, micros] of loggedModels) if (!provider.has(model)) restLogged += micros;
  if (restProvider > restLogged) {
    unlogged += restProvider - restLogged;
    gaps.push(...restModels);
  }
  gaps.sort((a, b) => b.providerMicros - b.loggedMicros - (a.providerMicros - a.loggedMicros));

  const over =
    unlogged > Math.round(input.tolerance.usd * 1e6) && unlogged > input.tolerance.ratio * providerMicros;

  const minutes = [...providerPerMinute]
    .filter(([minute, micros]) => {
      let near = 0;
      for (let m = minute - slack; m <= minute + slack; m++) near += loggedPerMinute.get(m) ?? 0;
      return micros > near;
    })
    .map(([minute]) => minute)
    .sort((a, b) => a - b);

  const gapModels = new Set(gaps.map((g) => g.model));
  const keys = new Map<string, number>();
  for (const b of input.buckets) {
    if (b.minute < fromMinute || b.minute >= toMinute || b.key === null || !gapModels.has(b.model)) continue;
    keys.set(b.key, (keys.get(b.key) ?? 0) + b.micros);
  }

  return {
    providerMicros,
    loggedMicros,
    unloggedMicros: unlogged,
    over,
    models: gaps,
    minutes,
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
