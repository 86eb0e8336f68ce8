// The figures the timeline chart draws, for both pages that draw it (the live dashboard and the
// `replay --html` page): what the chart code (browser/chart.ts) gets is a ChartSpec, whatever it
// shows. Pure, so that the sums drawn are tested without a browser.
import { usd } from '../core/money.js';
import type { ReplayCrossing, ReplayJson, ReplayLevel, ReplaySeries } from '../replay/types.js';
import type { DashboardSnapshot } from './snapshot.js';

export const LIMIT_LEVELS: readonly ReplayLevel[] = ['warn', 'emergency', 'kill'];

export interface ChartSpec {
  title: string;
  /** The x positions, epoch ms, ascending. */
  xs: number[];
  /** The window's spend at each x (null: no point there). */
  line: { label: string; values: (number | null)[] };
  /** Spend per minute at each x, drawn as bars on an axis of their own; null: none. */
  bars: { label: string; values: (number | null)[] } | null;
  /** Drawn across the chart on the line's axis. */
  limits: { level: ReplayLevel; usd: number }[];
  /** Points where a limit was reached (the replay's crossings). */
  marks: { atMs: number; level: ReplayLevel; usd: number; text: string }[];
}

/** The limits of a window as the chart draws them, lowest first. */
export function chartLimits(limits: Partial<Record<ReplayLevel, number>>): ChartSpec['limits'] {
  return LIMIT_LEVELS.flatMap((level) => {
    const value = limits[level];
    return value === undefined ? [] : [{ level, usd: value }];
  });
}

/**
 * A rolling window's spend at the end of each minute, from the spend per minute: the sum of the
 * minutes that end inside the `seconds` before that minute's end. Minutes are [start ms, USD].
 */
export function rollingFromMinutes(minutes: readonly [number, number][], seconds: number): number[] {
  const out: number[] = [];
  let from = 0;
  let sum = 0;
  for (let i = 0; i < minutes.length; i++) {
    const [start, spend] = minutes[i] as [number, number];
    sum += spend;
    const end = start + 60_000;
    while (from <= i && (minutes[from] as [number, number])[0] + 60_000 <= end - seconds * 1000) {
      sum -= (minutes[from] as [number, number])[1];
      from++;
    }
    out.push(Math.max(0, round6(sum)));
  }
  return out;
}

/**
 * The calendar day's spend at the end of each minute: today's total now less what was spent in
 * the minutes after; null before the day began (the chart shows today only).
 */
export function dailyFromMinutes(
  minutes: readonly [number, number][],
  todayNow: number,
  dayStartMs: number,
): (number | null)[] {
  const out: (number | null)[] = new Array(minutes.length).fill(null);
  let after = 0;
  for (let i = minutes.length - 1; i >= 0; i--) {
    const [start, spend] = minutes[i] as [number, number];
    if (start + 60_000 <= dayStartMs) break;
    out[i] = Math.max(0, round6(todayNow - after));
    after += spend;
  }
  return out;
}

/** The windows the dashboard's chart can show: those whose spend it can draw from the minutes. */
export function chartableWindows(snapshot: DashboardSnapshot): string[] {
  if (!('windows' in snapshot.status)) return [];
  const span = snapshot.minutes.length * 60;
  return Object.entries(snapshot.status.windows)
    .filter(([, w]) => !('left_usd' in w))
    .filter(([, w]) => !('seconds' in w) || w.seconds === undefined || w.seconds <= span || span === 0)
    .map(([name]) => name);
}

/** The dashboard's chart: spend per minute as bars, and the chosen window's spend with its limits. */
export function dashboardChart(snapshot: DashboardSnapshot, windowName: string): ChartSpec | null {
  if (!('windows' in snapshot.status)) return null;
  const w = snapshot.status.windows[windowName];
  // The prepaid balance is not drawn from the minutes (it reaches back to its since).
  if (w === undefined || 'left_usd' in w) return null;
  const xs = snapshot.minutes.map(([start]) => start);
  const values =
    w.seconds === undefined
      ? dailyFromMinutes(snapshot.minutes, w.spend_usd, snapshot.day_start_ms)
      : rollingFromMinutes(snapshot.minutes, w.seconds);
  return {
    title: `${windowName} window (line, left axis) and spend per minute (bars, right axis)`,
    xs,
    line: { label: `${windowName} spend`, values },
    bars: { label: 'per minute', values: snapshot.minutes.map(([, spend]) => spend) },
    limits: chartLimits(w.limits),
    marks: [],
  };
}

/** `window` or `scope agent=research · 15m`. */
export function seriesLabel(s: {
  window: string;
  scope: string | null;
  key: Record<string, string> | null;
}): string {
  if (s.scope === null) return s.window;
  const key = Object.entries(s.key ?? {})
    .map(([f, v]) => ` ${f}=${v}`)
    .join('');
  return `scope ${s.scope}${key} · ${s.window}`;
}

function sameSeries(c: ReplayCrossing, s: ReplaySeries): boolean {
  return (
    c.window === s.window &&
    c.scope === s.scope &&
    JSON.stringify(c.key ?? {}) === JSON.stringify(s.key ?? {})
  );
}

/**
 * One chart per series of the replay: the window's spend over time with its limits and where
 * they were reached; the config's own windows also get the spend per minute as bars.
 */
export function replayCharts(report: ReplayJson): ChartSpec[] {
  return report.series.map((s) => {
    const withBars = s.scope === null && report.minutes.length > 0;
    const at = new Map<number, { line: number | null; bar: number | null }>();
    for (const [x, v] of s.points) at.set(x, { line: v, bar: null });
    if (withBars)
      for (const [x, v] of report.minutes) {
        const seen = at.get(x);
        if (seen === undefined) at.set(x, { line: null, bar: v });
        else seen.bar = v;
      }
    const xs = [...at.keys()].sort((a, b) => a - b);
    const label = seriesLabel(s);
    return {
      title: label,
      xs,
      line: { label: `${label} spend`, values: xs.map((x) => at.get(x)?.line ?? null) },
      bars: withBars ? { label: 'per minute', values: xs.map((x) => at.get(x)?.bar ?? null) } : null,
      limits: chartLimits(s.limits),
      marks: report.crossings
        .filter((c) => sameSeries(c, s))
        .map((c) => ({
          atMs: Date.parse(c.at),
          level: c.level,
          usd: c.spend_usd,
          text: `${c.level} at ${c.at}: ${usd(c.spend_usd)}, then ${usd(c.followed_usd)} more`,
        })),
    };
  });
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
