// The browser code of the dashboard and of `replay --html` (src/web/browser/, with uPlot) bundled
// by esbuild into one IIFE script, and uPlot's stylesheet: both inlined into each page (src/web/page.ts),
// so that a page needs nothing from anywhere else (the dashboard's CSP forbids it; the replay page
// opens from file://). Used by scripts/build.mjs (compiled into dist/ as constants) and by
// vitest.config.ts (the same constants for the unit tests, which run the sources).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** {script, css, metafile}: the page script (minified IIFE) and uPlot's CSS. */
export function webBundle() {
  const out = buildSync({
    absWorkingDir: root,
    entryPoints: ['src/web/browser/main.ts'],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Browsers of the last few years (CSP hashes, EventSource, ResizeObserver).
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const script = out.outputFiles[0].text.trim();
  const css = readFileSync(path.join(root, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8').trim();
  return { script, css, metafile: out.metafile };
}

/** The esbuild / vite `define` entries that carry the bundle into src/web/assets.ts. */
export function webDefines(bundle = webBundle()) {
  return {
    __COST_WATCHDOG_WEB_SCRIPT__: JSON.stringify(bundle.script),
    __COST_WATCHDOG_WEB_CSS__: JSON.stringify(bundle.css),
  };
}
