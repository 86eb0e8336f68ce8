// Figures a check's result gives to the commands that print or alert them.
import type { Config } from '../config/index.js';
import type { AlertFacts } from '../core/alert-text.js';
import type { CheckResult } from './types.js';

/** The top spenders of a window, for the alert. */
export function topsOf(config: Config, result: CheckResult, windowName: string | null): AlertFacts['tops'] {
  const window = config.windows.find((w) => w.name === windowName) ?? config.windows[0];
  if (window === undefined) return null;
  return {
    window: window.name,
    models: result.attribution.top(window.seconds, 'model'),
    agents: result.attribution.top(window.seconds, 'agent'),
    sources: result.attribution.top(window.seconds, 'source'),
  };
}

export function round6(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
