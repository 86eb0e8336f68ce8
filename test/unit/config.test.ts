import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, loadConfig, resolveConfig } from '../../src/config/index.js';
import type { ConfigError } from '../../src/errors.js';
import { base, FILE, problems } from './config-support.js';

describe('config errors name the key path and what was expected', () => {
  const cases: [string, unknown, string[]][] = [
    [
      'a word for a number',
      { ...base, limits: { '15m': { warn: 'lots' } } },
      ['limits.15m.warn: expected a number (USD), got "lots"'],
    ],
    [
      'no time between reminders',
      { ...base, alerts: { reminder: '0s' } },
      ['alerts.reminder: expected at least "1s", got "0s"'],
    ],
    [
      'an unknown alerts key',
      { ...base, alerts: { remind: '1h' } },
      ['alerts.remind: unknown key (expected one of: reminder, channels, daily_summary)'],
    ],
    [
      'a stop timeout of nothing',
      { ...base, target: { pid_file: 'x', stop_timeout: '0s' } },
      ['target.stop_timeout: expected at least "1s", got "0s"'],
    ],
    [
      'negative limit',
      { ...base, limits: { daily: { kill: -1 } } },
      [
        'limits.daily.kill: expected a limit of at least 0.000001 (one micro-dollar), got -1: a ' +
          'limit of 0 is reached with nothing spent; leave the key out for no limit at that level',
      ],
    ],
    [
      'a limit of 0 (reached with nothing spent)',
      { ...base, limits: { '15m': { emergency: 0 } } },
      [
        'limits.15m.emergency: expected a limit of at least 0.000001 (one micro-dollar), got 0: a ' +
          'limit of 0 is reached with nothing spent; leave the key out for no limit at that level',
      ],
    ],
    [
      'a limit below a micro-dollar (rounds to 0)',
      { ...base, limits: { '15m': { kill: 0.0000004 } } },
      [
        'limits.15m.kill: expected a limit of at least 0.000001 (one micro-dollar), got 4e-7: a ' +
          'limit of 0 is reached with nothing spent; leave the key out for no limit at that level',
      ],
    ],
    [
      'limits out of order',
      { ...base, limits: { '15m': { warn: 10, emergency: 5 } } },
      ['limits.15m: warn (10) is above emergency (5): expected warn <= emergency <= kill'],
    ],
    [
      'empty window',
      { ...base, limits: { '15m': {} } },
      ['limits.15m: set at least one of warn, emergency, kill'],
    ],
    [
      'unknown window',
      { ...base, limits: { weekly: { kill: 1 } } },
      [
        'limits.weekly: unknown window "weekly": expected "daily", "balance", or a rolling window ' +
          'named by its duration, like "15m" or "1h"',
      ],
    ],
    [
      'window too long',
      { ...base, limits: { '2d': { kill: 1 } } },
      [
        'limits.2d: rolling window "2d": expected whole seconds from 1s to 24h (use "daily" for ' +
          'the calendar day)',
      ],
    ],
    [
      'same window twice',
      { ...base, limits: { '15m': { kill: 1 }, '900s': { kill: 2 } } },
      ['limits.900s: the same window as limits.15m'],
    ],
    [
      'typo in a limit',
      { ...base, limits: { '15m': { wran: 3 } } },
      [
        'limits.15m.wran: unknown key (expected one of: warn, emergency, kill)',
        'limits.15m: set at least one of warn, emergency, kill',
      ],
    ],
    [
      'unknown top-level key',
      { ...base, limts: {} },
      [
        expect.stringMatching(
          new RegExp(
            String.raw`^limts: unknown key \(expected one of: log, format, sources, state_file, flag_file, ` +
              'state_dir, timezone, limits_currency, limits, target, cost, app_state, retry_storm, storms, ' +
              'burn_rate, silence, slack, alerts, heartbeat, watch, fields, scopes, fleet, ' +
              String.raw`metrics, http, reconcile\)$`,
          ),
        ),
      ],
    ],
    [
      'missing log',
      { limits: base.limits },
      ['log: required (the cost log: a path, a glob, or a list of them; or `sources:`)'],
    ],
    ['missing limits', { log: 'x' }, [expect.stringMatching(/^limits: required/)]],
    [
      'bad time zone',
      { ...base, timezone: 'Mars/Olympus' },
      ['timezone: unknown time zone "Mars/Olympus": expected an IANA name like "UTC" or "Europe/Berlin"'],
    ],
    [
      'bare number for a duration',
      { ...base, target: { pid_file: 'a.pid', grace: 10 } },
      ['target.grace: expected a duration like "30s", "15m" or "1h", got 10'],
    ],
    [
      'bad duration',
      { ...base, heartbeat: { max_age: 'soon' } },
      ['heartbeat.max_age: expected a duration like "30s", "15m" or "1h", got "soon"'],
    ],
    [
      'zero heartbeat age',
      { ...base, heartbeat: { max_age: '0s' } },
      ['heartbeat.max_age: expected at least "1s", got "0s"'],
    ],
    ['empty field name', { ...base, fields: { time: '' } }, ['fields.time: expected a key name, got ""']],
    [
      'a number in a list of field names',
      { ...base, fields: { time: ['ts', 3] } },
      ['fields.time: expected a list of key names, but item 2 is 3'],
    ],
    [
      'empty list of field names',
      { ...base, fields: { time: [] } },
      ['fields.time: expected a key name or a list of key names, got []'],
    ],
    [
      'bad policy',
      { ...base, cost: { policy: 'cheapest' } },
      ['cost.policy: expected one of reported, estimated, max, got "cheapest"'],
    ],
    [
      'webhook URL in the config',
      { ...base, slack: { webhook_url: 'https://hooks.slack.com/x' } },
      [expect.stringMatching(/^slack\.webhook_url: not allowed in the config file/)],
    ],
    [
      'bad regex',
      { ...base, target: { cmdline: 'python (' } },
      ['target.cmdline: not a valid regular expression: "python ("'],
    ],
    [
      'name and pattern both',
      { ...base, target: { process_name: 'a', cmdline: 'b' } },
      ['target: set process_name (an exact name) or cmdline (a pattern), not both'],
    ],
    [
      'bad ping url',
      { ...base, heartbeat: { ping_url: 'ftp://x' } },
      ['heartbeat.ping_url: expected an http(s) URL, got "ftp://x"'],
    ],
    [
      'unknown field name',
      { ...base, fields: { price: 'usd' } },
      [
        'fields.price: unknown key (expected one of: time, cost, input_tokens, output_tokens, ' +
          'cached_tokens, model, provider, agent, task, request_id, fingerprint, currency)',
      ],
    ],
    [
      'field rename of the wrong type',
      { ...base, fields: { cost: 5 } },
      ['fields.cost: expected a key name or a list of key names, got 5'],
    ],
    ['a list at the top', [1, 2], ['(top level): expected a mapping, got a list']],
    [
      'a number for a window',
      { ...base, limits: { '15m': 3 } },
      ['limits.15m: expected a mapping like `{ warn: 3, emergency: 5, kill: 8 }`, got 3'],
    ],
    [
      'a target with no way to find it',
      { ...base, target: { grace: '10s' } },
      [
        'target: set pid_file and/or one of process_name, cmdline (or leave target out: then ' +
          'nothing can be killed)',
      ],
    ],
    [
      'an empty required value',
      { ...base, log: null },
      ['log: expected a file path, a glob or a list of them, got null'],
    ],
    [
      'a price as a word',
      { ...base, cost: { prices: { 'my-ft': { input: 'cheap', output: 1 } } } },
      ['cost.prices.my-ft.input: expected USD per million tokens, got "cheap"'],
    ],
    [
      'a price without output',
      { ...base, cost: { prices: { 'my-ft': { input: 1 } } } },
      ['cost.prices.my-ft.output: required (expected USD per million tokens)'],
    ],
    [
      'a negative unpriced rate',
      { ...base, cost: { unpriced_per_million_tokens: -1 } },
      ['cost.unpriced_per_million_tokens: expected USD per million tokens >= 0, got -1'],
    ],
    [
      'a line limit of 0',
      { ...base, cost: { max_line_usd: 0 } },
      ['cost.max_line_usd: expected USD > 0, got 0'],
    ],
    [
      'a line limit beyond exact micro-dollars',
      { ...base, cost: { max_line_usd: 1e10 } },
      ['cost.max_line_usd: expected USD (at most 1000000000)'],
    ],
    [
      'a line limit as a word',
      { ...base, cost: { max_line_usd: 'lots' } },
      ['cost.max_line_usd: expected USD (the most one log line can cost), got "lots"'],
    ],
    [
      'a storm of one',
      { ...base, retry_storm: { count: 1 } },
      ['retry_storm.count: expected a whole number of sightings, 2 or more'],
    ],
    [
      'a storm keyed by something else',
      { ...base, retry_storm: { key: 'task' } },
      ['retry_storm.key: expected request_id or fingerprint, got "task"'],
    ],
    [
      'a storm level of ok',
      { ...base, retry_storm: { level: 'ok' } },
      ['retry_storm.level: expected one of warn, emergency, kill, got "ok"'],
    ],
    [
      'retry_storm as a word',
      { ...base, retry_storm: 'yes' },
      [
        'retry_storm: expected a mapping like `{ count: 5, window: 15m, level: emergency }`, or ' +
          'off, got "yes"',
      ],
    ],
    [
      'burn windows the wrong way round',
      { ...base, burn_rate: { short: '1h', long: '5m' } },
      ['burn_rate.short: 1h is not shorter than burn_rate.long (5m)'],
    ],
    [
      'a burn factor of 1',
      { ...base, burn_rate: { factor: 1 } },
      ['burn_rate.factor: expected a number above 1'],
    ],
    [
      'silence after a word',
      { ...base, silence: { after: 'a while' } },
      ['silence.after: expected a duration like "30s", "15m" or "1h", got "a while"'],
    ],
    [
      'an app figure for a window not configured',
      { ...base, app_state: { windows: { '1h': 'cost_1hour' } } },
      ['app_state.windows.1h: not a configured window (expected one of: 15m, daily)'],
    ],
    [
      'an unknown app_state key',
      { ...base, app_state: { tolerance: 1 } },
      [
        'app_state.tolerance: unknown key (expected one of: windows, updated_at, emergency, ' +
          'tolerance_usd, tolerance_percent, stale_after)',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, raw, expected) => {
    expect(problems(raw)).toEqual(expected);
  });
});

describe('cost truth settings', () => {
  it(
    "defaults: policy max, the unpriced rate, storms on, burn rate on, silence off, the tracker's " +
      'state names',
    () => {
      const config = resolveConfig(
        {
          ...base,
          limits: { '5m': { warn: 1 }, '15m': { kill: 8 }, '1h': { kill: 20 }, daily: { kill: 30 } },
        },
        FILE,
      );
      expect(config.cost).toEqual({
        policy: 'max',
        prices: {},
        unpricedPerMillion: 75,
        maxLineUsd: 10_000,
        currencyRates: { USD: 1 },
        display: { code: 'USD', rate: 1 },
        limitsCurrency: { code: 'USD', rate: 1 },
      });
      expect(config.retryStorm).toEqual({
        key: 'request_id',
        count: 5,
        windowMs: 900_000,
        level: 'emergency',
      });
      expect(config.burnRate).toEqual({ factor: 10, shortMs: 300_000, longMs: 3_600_000 });
      expect(config.silenceAfterMs).toBeNull();
      expect(config.appState).toEqual({
        windows: { '5m': 'cost_5min', '15m': 'cost_15min', '1h': 'cost_1hour', daily: 'cost_daily' },
        updatedAt: 'updated_at',
        emergency: ['emergency_mode', 'emergency'],
        toleranceUsd: 0.5,
        tolerancePercent: 10,
        staleAfterMs: 300_000,
      });
    },
  );

  it('off turns storms and burn rate off; silence takes a duration; names are configurable', () => {
    const config = resolveConfig(
      {
        ...base,
        retry_storm: 'off',
        burn_rate: false,
        silence: { after: '30m' },
        app_state: {
          windows: { '15m': 'spent_15m' },
          updated_at: 'ts',
          emergency: 'paused',
          tolerance_usd: 1,
          tolerance_percent: 5,
          stale_after: '2m',
        },
        cost: {
          policy: 'estimated',
          prices: { 'my-ft': { input: 3, output: 12 } },
          unpriced_per_million_tokens: 100,
          max_line_usd: 500,
        },
      },
      FILE,
    );
    expect(config.retryStorm).toBeNull();
    expect(config.burnRate).toBeNull();
    expect(config.silenceAfterMs).toBe(1_800_000);
    expect(config.appState).toEqual({
      windows: { '15m': 'spent_15m' },
      updatedAt: 'ts',
      emergency: ['paused'],
      toleranceUsd: 1,
      tolerancePercent: 5,
      staleAfterMs: 120_000,
    });
    expect(config.cost).toEqual({
      policy: 'estimated',
      prices: { 'my-ft': { input: 3, output: 12, cached: null, cacheWrite: null, cacheWrite1h: null } },
      unpricedPerMillion: 100,
      maxLineUsd: 500,
      currencyRates: { USD: 1 },
      display: { code: 'USD', rate: 1 },
      limitsCurrency: { code: 'USD', rate: 1 },
    });
  });
});

describe('config resolution', () => {
  it('resolves relative paths against the config folder and fills defaults', () => {
    const config = resolveConfig({ ...base, target: { pid_file: 'state/app.pid' } }, FILE);
    expect(config.log).toBe('/etc/cost-watchdog/state/cost_log.jsonl');
    expect(config.flagFile).toBe('/etc/cost-watchdog/state/cost_emergency.flag');
    expect(config.stateDir).toBe('/etc/cost-watchdog/.cost-watchdog');
    expect(config.target?.pidFile).toBe('/etc/cost-watchdog/state/app.pid');
    expect(config.target?.graceMs).toBe(10_000);
    expect(config.timezone).toBe('UTC');
    expect(config.cost.policy).toBe('max');
    expect(config.slack.webhookUrlEnv).toBe('SLACK_WEBHOOK_URL');
    expect(config.heartbeat.maxAgeMs).toBe(300_000);
    // 15m and daily are always reported
    expect(config.windows.map((w) => w.name)).toEqual(['15m', 'daily']);
  });

  it('orders rolling windows by length and keeps absolute paths', () => {
    const config = resolveConfig(
      {
        log: '/var/log/app/cost.jsonl',
        limits: { daily: { kill: 30 }, '1h': { kill: 12 }, '15m': { kill: 8 } },
        fields: { time: 'created_at', cost: ['usd', 'price'] },
      },
      FILE,
    );
    expect(config.log).toBe('/var/log/app/cost.jsonl');
    expect(config.windows.map((w) => [w.name, w.seconds])).toEqual([
      ['15m', 900],
      ['1h', 3600],
      ['daily', null],
    ]);
    expect(config.fields).toEqual({ time: ['created_at'], cost: ['usd', 'price'] });
  });

  it('takes an empty optional section as not set', () => {
    const config = resolveConfig(
      { ...base, target: null, slack: null, heartbeat: null, cost: null, fields: null, state_file: null },
      FILE,
    );
    expect(config.target).toBeNull();
    expect(config.slack.webhookUrlEnv).toBe('SLACK_WEBHOOK_URL');
    expect(config.heartbeat.maxAgeMs).toBe(300_000);
    expect(config.stateFile).toBeNull();
  });

  it('picks -c, then $COST_WATCHDOG_CONFIG, then ./watchdog.yaml', () => {
    expect(configPath('a.yaml', { COST_WATCHDOG_CONFIG: '/x/b.yaml' }, '/cwd')).toBe('/cwd/a.yaml');
    expect(configPath(undefined, { COST_WATCHDOG_CONFIG: '/x/b.yaml' }, '/cwd')).toBe('/x/b.yaml');
    expect(configPath(undefined, {}, '/cwd')).toBe('/cwd/watchdog.yaml');
  });
});

describe('loadConfig from files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (text: string): string[] => {
    const file = path.join(dir, 'watchdog.yaml');
    writeFileSync(file, text);
    try {
      loadConfig(file);
      return [];
    } catch (error) {
      return [...(error as ConfigError).problems];
    }
  };
  it('reports YAML syntax errors with line and column', () => {
    expect(load('log: a\nlimits: {15m: {warn: 3}\n')[0]).toMatch(/^line \d+, column \d+: not valid YAML/);
  });
  it('refuses duplicate keys', () => {
    expect(load('log: a\nlog: b\nlimits: {15m: {warn: 3}}\n')[0]).toMatch(
      /not valid YAML: Map keys must be unique/,
    );
  });
  it('says an empty file is empty', () => {
    expect(load('')[0]).toMatch(/the file is empty/);
  });
  it('names a missing file and how to create one', () => {
    expect(() => loadConfig(path.join(dir, 'nope.yaml'))).toThrow(
      /no such file \(write a starter one with `cost-watchdog init/,
    );
  });
  it('accepts the shipped example', () => {
    expect(() => loadConfig(path.resolve('watchdog.example.yaml'))).not.toThrow();
  });
});
