// The two pages with the timeline chart: the live dashboard that `watch` serves on GET / (its
// figures arrive from GET /events) and the page `replay --html` writes (its figures inside it).
// Both are self-contained: the script and the styles are inline (src/web/assets.ts), allowed by
// their hashes in a Content-Security-Policy that forbids everything else (no outside network).
import { createHash } from 'node:crypto';
import type { ReplayJson } from '../replay/types.js';
import { webAssets } from './assets.js';
import { PAGE_CSS } from './style.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `</script` cannot end the inline script early (in JS, `<\/` is the same as `</`). */
function inlineScript(script: string): string {
  return script.replace(/<\/(script)/gi, '<\\/$1');
}

interface Inline {
  script: string;
  style: string;
  /** What the policy allows, by hash: only these two. */
  scriptHash: string;
  styleHash: string;
}

let inline: Inline | null = null;

function inlined(): Inline {
  if (inline !== null) return inline;
  const assets = webAssets();
  const script = inlineScript(assets.script);
  const style = `${assets.css}\n${PAGE_CSS}`;
  inline = { script, style, scriptHash: sha256(script), styleHash: sha256(style) };
  return inline;
}

/** The policy of both pages: their own inline script and style, and (the dashboard) its events. */
export function pagePolicy(kind: 'dashboard' | 'replay'): string {
  const { scriptHash, styleHash } = inlined();
  return [
    "default-src 'none'",
    `script-src ${scriptHash}`,
    `style-src ${styleHash}`,
    'img-src data:',
    ...(kind === 'dashboard' ? ["connect-src 'self'", "frame-ancestors 'none'"] : []),
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

function page(kind: 'dashboard' | 'replay', title: string, body: string, meta = ''): string {
  const { script, style } = inlined();
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    meta +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">' +
    `<title>${escapeHtml(title)}</title><style>${style}</style></head>\n` +
    `<body data-page="${kind}">${body}\n<script>${script}</script></body></html>\n`
  );
}

let dashboard: string | null = null;

/** GET /: the same page every time (its figures come from /events). */
export function dashboardHtml(): string {
  dashboard ??= page(
    'dashboard',
    'cost-watchdog',
    '<header><h1>cost-watchdog <span id="host"></span></h1>' +
      '<span id="verdict" class="verdict">…</span><span id="live" class="live">connecting…</span></header>' +
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

/** The `replay --html` page: self-contained, opens from file:// (its policy in a meta tag). */
export function replayHtml(report: ReplayJson): string {
  // Inside <script type="application/json"> only `</script` or `<!--` could end it: no `<` at all.
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const title = `cost-watchdog replay ${report.from ?? ''} to ${report.to ?? ''}`;
  return page(
    'replay',
    title,
    `<header><h1>cost-watchdog replay</h1><span id="summary" class="muted"></span></header><main>` +
      '<p class="muted">The config\'s limits applied to past logs as if the watchdog had run at every ' +
      'line: when each window would have reached warn, emergency or kill (the dots), its spend then, ' +
      'and the spend that followed until it was back at ok (what a kill then would have saved).</p>' +
      '<section id="charts"></section><h2>Crossings</h2><div id="crossings"></div>' +
      '<h2>Retry storms</h2><div id="storms"></div><h2>Unpriced models</h2><div id="unpriced"></div>' +
      `</main><script type="application/json" id="replay-data">${data}</script>`,
    `<meta http-equiv="Content-Security-Policy" content="${pagePolicy('replay')}">`,
  );
}
