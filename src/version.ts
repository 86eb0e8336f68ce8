// Set by the build (scripts/build.mjs) from package.json; tests that import src/ see the fallback.
declare const __COST_WATCHDOG_VERSION__: string | undefined;

export const VERSION: string =
  typeof __COST_WATCHDOG_VERSION__ === 'string' ? __COST_WATCHDOG_VERSION__ : '0.0.0-dev';
