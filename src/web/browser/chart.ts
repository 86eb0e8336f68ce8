// The timeline chart of both pages (the dashboard and `replay --html`), drawn by uPlot
// (github.com/leeoniya/uPlot, MIT): a window's spend as a line on the left axis with its limits
// across the chart and the points where they were reached, and spend per minute as bars on the
// right axis. It draws a ChartSpec (../chart-data.ts) and knows nothing of where it came from.
import uPlot from 'uplot';
import { usd, usdWhole } from '../../core/money.js';
import type { ChartSpec } from '../chart-data.js';

export const LEVEL_COLORS = { warn: '#b7791f', emergency: '#dd5a1e', kill: '#c0182b' } as const;
const LINE = '#2563c9';
const BARS = 'rgba(100, 130, 190, 0.35)';

export interface Timeline {
  update(spec: ChartSpec): void;
  destroy(): void;
}

function money(v: number): string {
  return v >= 100 ? usdWhole(v) : usd(v);
}

/** The line axis reaches the lowest limit at least, so that the chart says how far spend is from it. */
function lineTop(spec: ChartSpec): number {
  let top = 0;
  for (const v of spec.line.values) if (v !== null && v > top) top = v;
  for (const m of spec.marks) if (m.usd > top) top = m.usd;
  const lowest = spec.limits[0]?.usd ?? 0;
  return Math.max(top, lowest) * 1.15 || 1;
}

/** Limits above the chart's top, said in a line over it. */
export function limitsBeyond(spec: ChartSpec): string {
  const top = lineTop(spec);
  const beyond = spec.limits.filter((l) => l.usd > top);
  return beyond.length === 0
    ? ''
    : `above the chart: ${beyond.map((l) => `${l.level} ${usd(l.usd)}`).join(', ')}`;
}

function data(spec: ChartSpec): uPlot.AlignedData {
  const xs = spec.xs.map((x) => x / 1000);
  return spec.bars === null ? [xs, spec.line.values] : [xs, spec.line.values, spec.bars.values];
}

export function timeline(parent: HTMLElement, first: ChartSpec, height = 260): Timeline {
  let spec = first;
  const note = document.createElement('div');
  note.className = 'chart-note';
  parent.append(note);
  const drawOver = (u: uPlot): void => {
    const ctx = u.ctx;
    const { left, top, width, height: h } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, h);
    ctx.clip();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.lineWidth = devicePixelRatio;
    // uPlot leaves the alignment of the last axis it labelled.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    for (const l of spec.limits) {
      const y = u.valToPos(l.usd, 'usd', true);
      if (y < top) continue;
      ctx.strokeStyle = LEVEL_COLORS[l.level];
      ctx.fillStyle = LEVEL_COLORS[l.level];
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.fillText(`${l.level} ${usd(l.usd)}`, left + 4 * devicePixelRatio, y - 3 * devicePixelRatio);
    }
    ctx.setLineDash([]);
    for (const m of spec.marks) {
      const x = u.valToPos(m.atMs / 1000, 'x', true);
      const y = u.valToPos(m.usd, 'usd', true);
      ctx.strokeStyle = LEVEL_COLORS[m.level];
      ctx.fillStyle = LEVEL_COLORS[m.level];
      ctx.globalAlpha = 0.5;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + h);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.arc(x, y, 4 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
  };
  const series: uPlot.Series[] = [
    {},
    {
      label: spec.line.label,
      scale: 'usd',
      stroke: LINE,
      width: 2,
      spanGaps: true,
      points: { show: false },
      value: (_u, v) => (v === null || v === undefined ? '–' : usd(v)),
    },
  ];
  const axes: uPlot.Axis[] = [{}, { scale: 'usd', values: (_u, ticks) => ticks.map(money), size: 64 }];
  if (spec.bars !== null) {
    series.push({
      label: spec.bars.label,
      scale: 'perMinute',
      fill: BARS,
      stroke: BARS,
      paths: uPlot.paths.bars?.({ size: [0.9, 12, 1] }),
      points: { show: false },
      value: (_u, v) => (v === null || v === undefined ? '–' : usd(v)),
    });
    axes.push({
      scale: 'perMinute',
      side: 1,
      grid: { show: false },
      values: (_u, ticks) => ticks.map(money),
      size: 64,
    });
  }
  const width = (): number => Math.max(320, parent.clientWidth);
  const plot = new uPlot(
    {
      width: width(),
      height,
      scales: {
        x: { time: true },
        usd: { range: () => [0, lineTop(spec)] },
        perMinute: { range: (_u, _min, max) => [0, (max || 0.01) * 1.5] },
      },
      series,
      axes,
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [drawOver] },
    },
    data(spec),
    parent,
  );
  note.textContent = limitsBeyond(spec);
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  resize.observe(parent);
  return {
    update(next) {
      spec = next;
      note.textContent = limitsBeyond(spec);
      plot.setData(data(spec));
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
