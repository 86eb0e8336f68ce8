import { describe, expect, it } from 'vitest';
import { DEFAULT_GRACE_SPEND_USD, resolveConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/cost-watchdog/watchdog.yaml';
const base = { log: 'state/cost_log.jsonl', limits: { '15m': { kill: 8 } } };

function graceSpend(target: Record<string, unknown>): number | null | string[] {
  try {
    return (
      resolveConfig({ ...base, target: { pid_file: 'app.pid', ...target } }, FILE).target?.graceSpendUsd ??
      null
    );
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe('target.grace_spend', () => {
  const cases: [string, Record<string, unknown>, number | null | string[]][] = [
    ['left out: the default', {}, DEFAULT_GRACE_SPEND_USD],
    ['a dollar amount', { grace_spend: 0.25 }, 0.25],
    ['0: SIGKILL at the first cent', { grace_spend: 0 }, 0],
    ['off', { grace_spend: 'off' }, null],
    ['false', { grace_spend: false }, null],
    ['negative', { grace_spend: -1 }, ['target.grace_spend: expected a number >= 0 (USD), got -1']],
    ['a word', { grace_spend: 'lots' }, ['target.grace_spend: expected a number (USD), got "lots"']],
  ];
  it.each(cases)('%s', (_name, target, expected) => {
    expect(graceSpend(target)).toEqual(expected);
  });

  it('the default is ten cents', () => {
    expect(DEFAULT_GRACE_SPEND_USD).toBe(0.1);
  });
});
