// An unknown key in any section is named with the keys that section allows, the same way in
// every section: also under retry_storm and burn_rate, whose schemas sit inside z.preprocess
// (for `off`).
import { describe, expect, it } from 'vitest';
import { base, problems } from './config-support.js';

describe('an unknown key lists the keys its section allows', () => {
  const cases: [string, unknown, string][] = [
    [
      'retry_storm',
      { ...base, retry_storm: { cuont: 5 } },
      'retry_storm.cuont: unknown key (expected one of: key, count, window, level)',
    ],
    [
      'burn_rate',
      { ...base, burn_rate: { ratio: 10 } },
      'burn_rate.ratio: unknown key (expected one of: factor, short, long)',
    ],
    [
      'target',
      { ...base, target: { pid_file: 'x', pidfile: 'y' } },
      'target.pidfile: unknown key (expected one of: pid_file, process_name, cmdline, grace, grace_spend, ' +
        'stop_command, stop_timeout)',
    ],
    [
      'cost',
      { ...base, cost: { mode: 'max' } },
      'cost.mode: unknown key (expected one of: policy, prices, unpriced_per_million_tokens, ' +
        'max_line_usd, currency_rates, display_currency, limits_currency)',
    ],
    [
      'cost.prices.<model>',
      { ...base, cost: { prices: { m: { input: 1, output: 2, cache: 0.1 } } } },
      'cost.prices.m.cache: unknown key (expected one of: input, output, cached, cache_write, ' +
        'cache_write_1h)',
    ],
    ['silence', { ...base, silence: { for: '5m' } }, 'silence.for: unknown key (expected one of: after)'],
    [
      'slack',
      { ...base, slack: { channel: '#x' } },
      'slack.channel: unknown key (expected one of: webhook_url_env, webhook_url_file)',
    ],
    [
      'heartbeat',
      { ...base, heartbeat: { url: 'http://x' } },
      'heartbeat.url: unknown key (expected one of: max_age, ping_url)',
    ],
    [
      'watch',
      { ...base, watch: { cron: '* * * * *' } },
      'watch.cron: unknown key (expected one of: schedule)',
    ],
  ];
  it.each(cases)('%s', (_name, raw, expected) => {
    expect(problems(raw)).toEqual([expected]);
  });
});
