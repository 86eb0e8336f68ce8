// The figures the timeline chart draws (src/web/chart-data.ts), for the dashboard (a window's
// spend from the spend per minute) and for the replay page (a chart per series, its crossings).
import { describe, expect, it } from 'vitest';
import {
  chartLimits,
  chartableWindows,
  dailyFromMinutes,
  dashboardChart,
  replayCharts,
  rollingFromMinutes,
  seriesLabel,
} from '../../src/web/chart-data.js';
import type { DashboardSnapshot } from '../../src/web/snapshot.js';
import { sampleReplay } from './replay-sample.js';

const M = 60_000;
const minutes = (values: number[], start = 100 * M): [number, number][] =>
  values.map((v, i) => [start + i * M, v]);

describe('rollingFromMinutes', () => {
  it.each([
    ['a 3-minute window', [1, 2, 3, 4, 0, 0, 0], 180, [1, 3, 6, 9, 7, 4, 0]],
    ['a 1-minute window is the minute itself', [1, 2, 3], 60, [1, 2, 3]],
    ['a window longer than the minutes', [1, 2, 3], 3600, [1, 3, 6]],
    ['90 s counts the minutes that end within it (2)', [1, 1, 1, 1], 90, [1, 2, 2, 2]],
    ['no minutes', [], 900, []],
    ['cents without a double’s error', [0.1, 0.2, 0.1], 900, [0.1, 0.3, 0.4]],
  ])('%s', (_what, values, seconds, expected) => {
    expect(rollingFromMinutes(minutes(values), seconds)).toEqual(expected);
  });

  it('skips a gap between minutes by time, not by count', () => {
    const gapped: [number, number][] = [
      [0, 1],
      [10 * M, 2],
      [11 * M, 3],
    ];
    expect(rollingFromMinutes(gapped, 300)).toEqual([1, 2, 5]);
  });
});

describe('dailyFromMinutes', () => {
  it.each([
    // today now 10, the last three minutes spent 1, 2, 3: back in time 10, 7, 5, 4 ...
    ['the day began before the minutes', [4, 1, 2, 3], 10, 0, [4, 5, 7, 10]],
    ['the day began at the third minute', [4, 1, 2, 3], 5, 102 * M, [null, null, 2, 5]],
    ['never below zero (a minute ahead of the day total)', [3, 5], 4, 0, [0, 4]],
  ])('%s', (_what, values, todayNow, dayStart, expected) => {
    expect(dailyFromMinutes(minutes(values), todayNow, dayStart)).toEqual(expected);
  });
});

describe('chartLimits', () => {
  it('lowest first, only those set', () => {
    expect(chartLimits({ kill: 8, warn: 3 })).toEqual([
      { level: 'warn', usd: 3 },
      { level: 'kill', usd: 8 },
    ]);
    expect(chartLimits({})).toEqual([]);
  });
});

function snapshot(windows: Record<string, { spend_usd: number; seconds?: number }>): DashboardSnapshot {
  return {
    generated_at: new Date(200 * M).toISOString(),
    check: null,
    status: {
      windows: Object.fromEntries(
        Object.entries(windows).map(([n, w]) => [
          n,
          {
            ...w,
            level: 'ok',
            limits: { warn: 3, emergency: 5 },
            top_models: [],
            top_agents: [],
            top_sources: [],
          },
        ]),
      ),
    } as unknown as DashboardSnapshot['status'],
    minutes: minutes([1, 0, 2, 0, 0], 196 * M),
    day_start_ms: 197 * M,
    display: { code: 'USD', rate: 1 },
    host: 'h',
  };
}

describe('dashboardChart', () => {
  it('a rolling window: its spend from the minutes, the minutes as bars, its limits', () => {
    const spec = dashboardChart(snapshot({ '3m': { spend_usd: 2, seconds: 180 } }), '3m');
    expect(spec?.xs).toEqual([196, 197, 198, 199, 200].map((m) => m * M));
    expect(spec?.line.values).toEqual([1, 1, 3, 2, 2]);
    expect(spec?.bars?.values).toEqual([1, 0, 2, 0, 0]);
    expect(spec?.limits).toEqual([
      { level: 'warn', usd: 3 },
      { level: 'emergency', usd: 5 },
    ]);
  });

  it('the daily window: today only, ending at what status says', () => {
    const spec = dashboardChart(snapshot({ daily: { spend_usd: 2.5 } }), 'daily');
    expect(spec?.line.values).toEqual([null, 0.5, 2.5, 2.5, 2.5]);
  });

  it('no such window, or a status that could not be made: no chart', () => {
    expect(dashboardChart(snapshot({}), '15m')).toBeNull();
    const failed = { ...snapshot({}), status: { status: 'UNKNOWN' as const, error: 'x' } };
    expect(dashboardChart(failed, '15m')).toBeNull();
    expect(chartableWindows(failed)).toEqual([]);
  });

  it('offers the windows the minutes can draw (not a rolling window longer than they are)', () => {
    const snap = snapshot({
      '3m': { spend_usd: 0, seconds: 180 },
      '1h': { spend_usd: 0, seconds: 3600 },
      daily: { spend_usd: 0 },
    });
    expect(chartableWindows(snap)).toEqual(['3m', 'daily']);
  });
});

describe('replayCharts', () => {
  const report = sampleReplay();
  const charts = replayCharts(report);

  it('one chart per series, titled by window and scope', () => {
    expect(charts.map((c) => c.title)).toEqual(['15m', 'daily', 'scope per-agent agent=research · 1h']);
    expect(seriesLabel({ window: '1h', scope: 's', key: null })).toBe('scope s · 1h');
  });

  it("each series' crossings as its marks, with the spend then and what followed", () => {
    expect(charts[0]?.marks.map((m) => [m.level, m.usd])).toEqual([
      ['warn', 3.15],
      ['emergency', 5.05],
    ]);
    expect(charts[0]?.marks[0]?.text).toBe('warn at 2026-03-02T10:23:00.000Z: $3.15, then $5.90 more');
    expect(charts[1]?.marks).toEqual([]);
    expect(charts[2]?.marks.map((m) => m.level)).toEqual(['warn']);
  });

  it("the config's windows get the spend per minute as bars on the same times; a scope does not", () => {
    const c = charts[0];
    expect(c?.bars).not.toBeNull();
    expect(c?.xs).toEqual([...c!.xs].sort((a, b) => a - b));
    expect(c?.xs.length).toBe(new Set(c?.xs).size);
    const bars = (c?.bars?.values ?? []).filter((v) => v !== null);
    expect(bars.reduce((s, v) => s + (v as number), 0)).toBeCloseTo(report.total_usd, 6);
    const line = c?.line.values.filter((v) => v !== null);
    expect(line).toEqual(report.series[0]?.points.map(([, v]) => v));
    expect(charts[2]?.bars).toBeNull();
    expect(charts[2]?.limits).toEqual([{ level: 'warn', usd: 4 }]);
  });
});
