// The shell of the two pages with the timeline chart: the live dashboard that `watch` serves on
// GET / (dashboard-page.ts) and the page `replay --html` writes (replay-page.ts). Both are
// self-contained: the script and the styles are inline (src/web/assets.ts), allowed by their
// hashes in a Content-Security-Policy that forbids everything else (no outside network).
import { createHash } from 'node:crypto';
import { webAssets } from './assets.js';
import { PAGE_CSS } from './style.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export function escapeHtml(text: string): string {
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

/** A whole page: its title, its body (HTML), its script and style inline; `meta`: more of its head. */
export function pageHtml(kind: 'dashboard' | 'replay', title: string, body: string, meta = ''): string {
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
