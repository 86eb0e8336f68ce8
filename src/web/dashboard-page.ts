// GET / of `watch`'s HTTP server: the live dashboard, the same page every time (its figures come
// from GET /events; the browser code is src/web/browser/dashboard.ts).
import { pageHtml } from './page.js';

let dashboard: string | null = null;

/** GET /: the same page every time (its figures come from /events). */
export function dashboardHtml(): string {
  dashboard ??= pageHtml(
    'dashboard',
    'cost-watchdog',
    '<header><h1>cost-watchdog <span id="host"></span></h1>' +
      '<span id="verdict" class="verdict">…</span><span id="live" class="live">connecting…</span>' +
      '<span id="currency" class="muted"></span></header>' +
      '<div id="disconnected" class="banner" hidden>Not connected to the watchdog: the figures below ' +
      'are not live (is `cost-watchdog watch` running?). Reconnecting…</div>' +
      '<div id="problem" class="banner" hidden></div><main>' +
      '<section><h2>Spend per window</h2><div id="windows" class="windows">' +
      '<p class="muted">Waiting for the first check…</p></div></section>' +
      '<section><h2>Spend over the last 6 hours</h2><label>window <select id="chart-window">' +
      '</select></label> <span id="chart-title" class="muted"></span><div id="chart" class="chart">' +
      '</div></section><section class="cols"><div><h2>Top spenders</h2><div id="tops"></div></div>' +
      '<div><h2>Watchdog</h2><dl id="facts"></dl></div></section>' +
      '<section id="scopes"></section><section id="warnings"></section></main>' +
      '<footer>Read-only. Updated after every check of <code>cost-watchdog watch</code>; the same ' +
      'figures as <code>status --json</code> (<a href="status.json">status.json</a>, ' +
      '<a href="metrics">metrics</a>).</footer>',
  );
  return dashboard;
}
