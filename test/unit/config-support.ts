// Shared by the config table tests: a minimal valid config and the problems a raw config gives.
import { resolveConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

export const FILE = '/etc/cost-watchdog/watchdog.yaml';
export const base = { log: 'state/cost_log.jsonl', limits: { '15m': { warn: 3, emergency: 5, kill: 8 } } };

/** The one-line problems resolving `raw` gives (none when it is valid). */
export function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw, FILE);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
