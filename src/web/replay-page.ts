// The page `replay --html` writes: the replay's JSON inside it as data, drawn by the dashboard's
// chart code (src/web/browser/replay.ts, chart.ts), one chart per window and scope with its limits
// and crossings, and the tables of crossings, storms and unpriced models. Self-contained: it
// opens from file:// and its Content-Security-Policy (a meta tag) forbids any outside address.
import type { DisplayCurrency } from '../core/money.js';
import type { ReplayJson } from '../replay/types.js';
import { pageHtml, pagePolicy } from './page.js';

/**
 * The whole page for `report` (what `replay --json` prints), ready to be written to a file; its
 * figures shown in `display` (cost.display_currency: the report's numbers stay USD).
 */
export function replayHtml(report: ReplayJson, display: DisplayCurrency = { code: 'USD', rate: 1 }): string {
  // Inside <script type="application/json"> only `</script` or `<!--` could end it: no `<` at all.
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const title = `cost-watchdog replay ${report.from ?? ''} to ${report.to ?? ''}`;
  return pageHtml(
    'replay',
    title,
    `<header><h1>cost-watchdog replay</h1><span id="summary" class="muted"></span></header><main>` +
      '<p class="muted">The config\'s limits applied to past logs as if the watchdog had run at every ' +
      'line: when each window would have reached warn, emergency or kill (the dots), its spend then, ' +
      'and the spend that followed until it was back at ok (what a kill then would have saved).</p>' +
      `<section id="charts" data-currency="${currencyAttr(display)}"></section>` +
      '<h2>Crossings</h2><div id="crossings"></div>' +
      '<h2>Retry storms</h2><div id="storms"></div><h2>Unpriced models</h2><div id="unpriced"></div>' +
      `</main><script type="application/json" id="replay-data">${data}</script>`,
    `<meta http-equiv="Content-Security-Policy" content="${pagePolicy('replay')}">`,
  );
}

/** `EUR 1.08`: a code of three capitals and a finite rate only (nothing else reaches the page). */
function currencyAttr(display: DisplayCurrency): string {
  const code = /^[A-Z]{3}$/.test(display.code) ? display.code : 'USD';
  const rate = Number.isFinite(display.rate) && display.rate > 0 && code !== 'USD' ? display.rate : 1;
  return `${code} ${rate}`;
}
