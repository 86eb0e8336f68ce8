// PLACEHOLDER until the dashboard's page is merged (issue 15, part 2 writes src/web/ with the
// dashboard's chart code): `replay --html` calls replayHtml(report). This one draws each series
// as an inline SVG line with its limits, and lists the crossings; self-contained, no outside
// address. Replace this file wholesale with the dashboard helper's replayHtml.
import type { ReplayJson, ReplaySeries } from '../replay/types.js';

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

function chart(series: ReplaySeries, fromMs: number, toMs: number): string {
  const w = 800;
  const h = 160;
  const limits = Object.values(series.limits).filter((v): v is number => typeof v === 'number');
  const top = Math.max(1e-9, ...limits, ...series.points.map((p) => p[1])) * 1.05;
  const span = Math.max(1, toMs - fromMs);
  const x = (ms: number): string => (((ms - fromMs) / span) * w).toFixed(1);
  const y = (v: number): string => (h - (v / top) * h).toFixed(1);
  const line = series.points.map(([ms, v]) => `${x(ms)},${y(v)}`).join(' ');
  const marks = limits
    .map((v) => `<line x1="0" x2="${w}" y1="${y(v)}" y2="${y(v)}" stroke="#c33" stroke-dasharray="4"/>`)
    .join('');
  const name = `${series.window}${series.scope === null ? '' : ` ${series.scope}`}${
    series.key === null
      ? ''
      : ` ${Object.entries(series.key)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`
  }`;
  return (
    `<h3>${escapeHtml(name)}</h3><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">` +
    `${marks}<polyline fill="none" stroke="#36c" points="${line}"/></svg>`
  );
}

export function replayHtml(report: ReplayJson): string {
  const fromMs = report.from === null ? 0 : Date.parse(report.from);
  const toMs = report.to === null ? fromMs + 1 : Date.parse(report.to);
  const rows = report.crossings
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.window)}</td><td>${escapeHtml(c.scope ?? '-')}</td><td>${c.level}</td>` +
        `<td>${c.at}</td><td>${c.spend_usd}</td><td>${c.followed_usd}</td>` +
        `<td>${c.ok_again_at ?? '-'}</td></tr>`,
    )
    .join('');
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>cost-watchdog replay</title></head><body>' +
    `<h1>cost-watchdog replay</h1><p>${escapeHtml(report.from ?? '-')} .. ${escapeHtml(report.to ?? '-')}: ` +
    `$${report.total_usd}</p>${report.series.map((s) => chart(s, fromMs, toMs)).join('')}` +
    '<table><tr><th>window</th><th>scope</th><th>level</th><th>at</th><th>spend</th><th>followed</th>' +
    `<th>ok again</th></tr>${rows}</table></body></html>\n`
  );
}
