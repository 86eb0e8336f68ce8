// The pages' script and stylesheet (src/web/browser/ and uPlot, bundled by scripts/web-bundle.mjs),
// compiled in as constants by scripts/build.mjs (and by vitest.config.ts for the unit tests): the
// pages carry them inline and the package reads no file at run time to serve them.
declare const __COST_WATCHDOG_WEB_SCRIPT__: string;
declare const __COST_WATCHDOG_WEB_CSS__: string;

export interface WebAssets {
  /** The pages' script (an IIFE: it looks at `<body data-page>` to know which page it is on). */
  script: string;
  /** uPlot's stylesheet. */
  css: string;
}

export function webAssets(): WebAssets {
  return { script: __COST_WATCHDOG_WEB_SCRIPT__, css: __COST_WATCHDOG_WEB_CSS__ };
}
