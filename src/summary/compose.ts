// The daily summary of one local date: how far each window went (the daily total from the
// ledger, a rolling window's peak as seen at checks), who spent (the checkpoint's attribution
// of that day), what was done (the audit log), and the flag now; as JSON (`summary --json`, a
// webhook's `summary`) and as a few lines of text (Slack, stdout). Pure: the facts come in.
import type { AttributionState } from '../core/attribution.js';
import { slackEscape } from '../core/alert-text.js';
import { type Level, levelOf, type WindowSpec } from '../core/levels.js';
import { dollarsOf, limitsText, usd } from '../core/money.js';
import type { DayActions } from './audit-day.js';
import type { Peak } from './book.js';

/** Names per top list, and alerts / kills listed in the text (the JSON has up to LIST_MAX). */
export const TOP_COUNT = 5;
const TEXT_LIST = 5;
export const LIST_MAX = 100;

export interface SummaryFacts {
  date: string;
  timezone: string;
  host: string;
  generatedAtMs: number;
  /** The day's bounds (epoch ms, config timezone). */
  startMs: number;
  endMs: number;
  windows: readonly WindowSpec[];
  /** What checks saw that day (summary.json); undefined: no check recorded anything that day. */
  peaks: Record<string, Peak> | undefined;
  /** The day's total from the ledger (µ$); null when the ledger no longer holds that day. */
  dailyMicros: number | null;
  attribution: AttributionState | null;
  /** Scope label -> spend that day (USD), as recorded at checks. */
  scopes: Record<string, number> | undefined;
  actions: DayActions;
  flag: { active: boolean; unknown?: string; since?: string; reason?: string; level?: string };
  notes: string[];
}

export interface SummaryWindow {
  window: string;
  /** The peak (daily: the total); null when nothing recorded it. */
  peak_usd: number | null;
  /** When a check saw the peak (rolling windows); null for the daily total. */
  at: string | null;
  level: Level | null;
  limits: { warn?: number; emergency?: number; kill?: number };
  seen: 'ledger' | 'checks' | 'not recorded';
}

export interface Named {
  name: string;
  usd: number;
}

export interface SummaryJson {
  version: 1;
  date: string;
  timezone: string;
  host: string;
  generated_at: string;
  windows: SummaryWindow[];
  top: { models: Named[]; agents: Named[]; sources: Named[]; scopes: Named[] };
  alerts: { count: number; list: DayActions['alerts'] };
  kills: { count: number; list: DayActions['kills'] };
  flags: { written: number; cleared: DayActions['flagsCleared'] };
  flag_now: { active: boolean; since: string | null; reason: string | null; unknown: string | null };
  notes: string[];
}

function topOf(sums: Map<string, number>, count = TOP_COUNT): Named[] {
  return [...sums]
    .filter(([, micros]) => micros > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([name, micros]) => ({ name, usd: dollarsOf(micros) }));
}

/** The day's spend per model, agent and source (µ$ summed over its day bucket and its minutes). */
export function dayTops(
  state: AttributionState | null,
  date: string,
  startMs: number,
  endMs: number,
): { models: Named[]; agents: Named[]; sources: Named[] } {
  const dims = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  const add = (i: number, named: unknown): void => {
    if (named === null || typeof named !== 'object') return;
    const into = dims[i] as Map<string, number>;
    for (const [name, micros] of Object.entries(named as Record<string, unknown>))
      if (typeof micros === 'number' && Number.isFinite(micros) && micros > 0)
        into.set(name, (into.get(name) ?? 0) + micros);
  };
  if (state !== null) {
    const day = state.days[date];
    if (Array.isArray(day)) for (let i = 0; i < day.length; i++) add(i, day[i]);
    for (const [minute, ...named] of state.minutes)
      if (minute * 60_000 >= startMs && minute * 60_000 < endMs)
        for (let i = 0; i < named.length; i++) add(i, named[i]);
  }
  return {
    models: topOf(dims[0] as Map<string, number>),
    agents: topOf(dims[1] as Map<string, number>),
    sources: topOf(dims[2] as Map<string, number>),
  };
}

export function composeSummary(facts: SummaryFacts): SummaryJson {
  const windows = facts.windows.map((w): SummaryWindow => {
    const limits = Object.fromEntries(
      Object.entries(w.limits).filter(([, v]) => v !== undefined),
    ) as SummaryWindow['limits'];
    if (w.seconds === null && facts.dailyMicros !== null) {
      const total = dollarsOf(facts.dailyMicros);
      return {
        window: w.name,
        peak_usd: total,
        at: null,
        level: levelOf(total, w.limits),
        limits,
        seen: 'ledger',
      };
    }
    const peak = facts.peaks?.[w.name];
    if (peak === undefined)
      return {
        window: w.name,
        peak_usd: facts.peaks === undefined ? null : 0,
        at: null,
        level: facts.peaks === undefined ? null : 'ok',
        limits,
        seen: facts.peaks === undefined ? 'not recorded' : 'checks',
      };
    return {
      window: w.name,
      peak_usd: peak.usd,
      at: w.seconds === null ? null : peak.at,
      level: levelOf(peak.usd, w.limits),
      limits,
      seen: 'checks',
    };
  });
  const tops = dayTops(facts.attribution, facts.date, facts.startMs, facts.endMs);
  const scopes = topOf(new Map(Object.entries(facts.scopes ?? {}).map(([k, v]) => [k, Math.round(v * 1e6)])));
  return {
    version: 1,
    date: facts.date,
    timezone: facts.timezone,
    host: facts.host,
    generated_at: new Date(facts.generatedAtMs).toISOString(),
    windows,
    top: { ...tops, scopes },
    alerts: { count: facts.actions.alerts.length, list: facts.actions.alerts.slice(0, LIST_MAX) },
    kills: { count: facts.actions.kills.length, list: facts.actions.kills.slice(0, LIST_MAX) },
    flags: { written: facts.actions.flagsWritten, cleared: facts.actions.flagsCleared.slice(0, LIST_MAX) },
    flag_now: {
      active: facts.flag.active,
      since: facts.flag.since ?? null,
      reason: facts.flag.reason ?? null,
      unknown: facts.flag.unknown ?? null,
    },
    notes: facts.notes,
  };
}

/** HH:MM of an instant in a time zone. */
export function clockOf(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '?';
  try {
    return new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(ms);
  } catch {
    return iso.slice(11, 16);
  }
}

function namedText(list: Named[]): string {
  return list.map((n) => `${n.name} ${usd(n.usd)}`).join(', ');
}

function listed<T>(items: T[], count: number, words: (item: T) => string): string {
  const shown = items.slice(0, TEXT_LIST).map(words).join('; ');
  return count > TEXT_LIST ? `${shown}; and ${count - TEXT_LIST} more` : shown;
}

/** The summary in plain lines: a headline, then one line per part. */
export function summaryLines(s: SummaryJson): string[] {
  const tz = s.timezone;
  const lines = [`daily summary for ${s.date} (${tz}) on ${s.host}`];
  for (const w of s.windows) {
    const limits = limitsText(w.limits);
    if (w.peak_usd === null) {
      lines.push(`  ${w.window}: not recorded (no check recorded that day) (${limits})`);
      continue;
    }
    const figure =
      w.at === null
        ? `${w.seen === 'ledger' ? 'total' : 'peak'} ${usd(w.peak_usd)}`
        : `peak ${usd(w.peak_usd)} at ${clockOf(w.at, tz)}`;
    lines.push(`  ${w.window}: ${figure} (${limits}): ${w.level ?? 'ok'}`);
  }
  const tops = [
    ['models', s.top.models],
    ['agents', s.top.agents],
    ['logs', s.top.sources],
    ['scopes', s.top.scopes],
  ] as const;
  const shown = tops
    .filter(([, list]) => list.length > 0)
    .map(([name, list]) => `${name}: ${namedText(list)}`);
  lines.push(`  top spenders: ${shown.length > 0 ? shown.join(' | ') : 'none (no spend recorded that day)'}`);
  const alert = (a: DayActions['alerts'][number]): string => `${clockOf(a.at, tz)} ${a.what}`;
  const kill = (k: DayActions['kills'][number]): string =>
    `${clockOf(k.at, tz)} ${k.result}${k.by !== undefined ? ` by ${k.by}: ${k.reason ?? ''}` : ''}`;
  const alerts =
    s.alerts.count === 0 ? 'none' : `${s.alerts.count} (${listed(s.alerts.list, s.alerts.count, alert)})`;
  const kills =
    s.kills.count === 0 ? 'none' : `${s.kills.count} (${listed(s.kills.list, s.kills.count, kill)})`;
  lines.push(`  alerts: ${alerts}`);
  lines.push(`  kills: ${kills}; flags written: ${s.flags.written}, cleared: ${s.flags.cleared.length}`);
  const f = s.flag_now;
  lines.push(
    f.unknown !== null
      ? `  emergency flag now: cannot tell (${f.unknown})`
      : f.active
        ? `  emergency flag now: IN FORCE${f.since !== null ? ` since ${f.since}` : ''}` +
          `${f.reason !== null ? ` (${f.reason})` : ''}`
        : '  emergency flag now: not in force',
  );
  for (const note of s.notes) lines.push(`  note: ${note}`);
  return lines;
}

/** For Slack: a chart emoji, the headline in bold, bullets; text from the log escaped. */
export function summarySlackText(s: SummaryJson): string {
  const [head = '', ...rest] = summaryLines(s).map(slackEscape);
  return [`:bar_chart: *cost-watchdog: ${head}*`, ...rest.map((l) => l.replace(/^ {2}/, '• '))].join('\n');
}
