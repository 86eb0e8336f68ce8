// The page `replay --html` writes: the replay's JSON (in the page, as data) drawn with the
// dashboard's chart, one chart per window and scope, and its tables. Opens from file://.
import { usd } from '../../core/money.js';
import type { ReplayJson } from '../../replay/types.js';
import { replayCharts, seriesLabel } from '../chart-data.js';
import { timeline } from './chart.js';
import { byId, fill, h } from './dom.js';

function table(head: string[], rows: (string | Node)[][], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

export function showReplay(report: ReplayJson): void {
  fill(
    byId('summary'),
    `${report.from ?? '–'} to ${report.to ?? '–'}: ${usd(report.total_usd)} spent, ` +
      `${report.lines.records} line(s) counted, ${report.lines.malformed} malformed, ` +
      `${report.lines.outside} outside --from/--to; ${report.crossings.length} crossing(s).`,
  );
  const charts = byId('charts');
  const specs = replayCharts(report);
  if (specs.length === 0) charts.append(h('p', { class: 'muted' }, 'No window to draw.'));
  for (const spec of specs) {
    const box = h('div', { class: 'chart' });
    charts.append(h('section', { class: 'series' }, h('h3', {}, spec.title), box));
    timeline(box, spec, 220);
  }
  fill(
    byId('crossings'),
    table(
      ['series', 'level', 'at', 'spend then', 'followed', 'back at ok'],
      report.crossings.map((c) => [
        seriesLabel(c),
        h('span', { class: `badge level-${c.level}` }, c.level.toUpperCase()),
        c.at,
        usd(c.spend_usd),
        usd(c.followed_usd),
        c.ok_again_at ?? 'never (within the replay)',
      ]),
      'No limit was reached.',
    ),
  );
  fill(
    byId('storms'),
    table(
      ['id', 'count', 'spend', 'first', 'last', 'level'],
      report.storms.map((s) => [s.id, String(s.count), usd(s.spend_usd), s.first_at, s.last_at, s.level]),
      'No retry storm.',
    ),
  );
  fill(
    byId('unpriced'),
    table(
      ['model', 'lines', 'tokens', 'counted at'],
      report.unpriced.map((u) => [u.model, String(u.lines), String(u.tokens), usd(u.spend_usd)]),
      'Every model was priced.',
    ),
  );
}
