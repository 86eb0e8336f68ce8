// `reconcile:` and `storms:` in the config: what each key resolves to, and what a wrong value is
// told (the key path and what was expected). Table-driven, no files.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import { base, FILE, problems } from './config-support.js';

const openai = { type: 'openai' };

describe('reconcile: wrong values name the key', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no providers', { providers: [] }, /^reconcile\.providers: expected at least one provider/],
    ['providers missing', {}, /^reconcile\.providers: /],
    [
      'every under 10s',
      { every: '5s', providers: [openai] },
      /^reconcile\.every: expected a duration of "10s" to "24h", got "5s"$/,
    ],
    [
      'window over 6h',
      { window: '7h', providers: [openai] },
      /^reconcile\.window: expected a duration of "2m" to "6h", got "7h"$/,
    ],
    [
      'an unknown type',
      { providers: [{ type: 'gemini' }] },
      /^reconcile\.providers\[0\]\.type: expected `type: openai` or `type: anthropic`/,
    ],
    [
      'a base_url with /v1',
      { providers: [{ type: 'openai', base_url: 'http://127.0.0.1:9/v1' }] },
      /^reconcile\.providers\[0\]\.base_url: expected the address without "\/v1"/,
    ],
    [
      'a base_url that is no URL',
      { providers: [{ type: 'openai', base_url: 'api.openai.com' }] },
      /^reconcile\.providers\[0\]\.base_url: expected an http\(s\) URL/,
    ],
    [
      'workspace_ids on openai',
      { providers: [{ type: 'openai', workspace_ids: ['w'] }] },
      /^reconcile\.providers\[0\]\.workspace_ids: unknown key/,
    ],
    [
      'a tolerance ratio over 1',
      { providers: [openai], tolerance: { ratio: 2 } },
      /^reconcile\.tolerance\.ratio: expected a share from 0 to 1/,
    ],
    [
      'an unlogged_level of ok',
      { providers: [openai], unlogged_level: 'ok' },
      /^reconcile\.unlogged_level: expected one of warn, emergency, kill, got "ok"$/,
    ],
    [
      'a timeout of 2m',
      { providers: [{ type: 'openai', timeout: '2m' }] },
      /^reconcile\.providers\[0\]\.timeout: expected a timeout of "1s" to "60s"/,
    ],
    [
      'a daily_check time of 25:00',
      { providers: [openai], daily_check: { after: '25:00' } },
      /^reconcile\.daily_check\.after: expected a time of day/,
    ],
    [
      'two providers of one name',
      { providers: [openai, { type: 'openai', name: 'openai' }] },
      /^reconcile\.providers\[1\]\.name: "openai" is used twice/,
    ],
  ];
  it.each(cases)('%s', (_name, reconcile, message) => {
    const found = problems({ ...base, reconcile });
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
  });
});

describe('reconcile: what a config resolves to', () => {
  it('defaults: every 5m, window 15m, tolerance $1 and 10 %, emergency, the daily check at 02:00 UTC', () => {
    const config = resolveConfig(
      { ...base, reconcile: { providers: [openai, { type: 'anthropic' }, openai] } },
      FILE,
    );
    expect(config.reconcile).toMatchObject({
      everyMs: 300_000,
      windowMs: 900_000,
      tolerance: { usd: 1, ratio: 0.1 },
      unloggedLevel: 'emergency',
      dailyCheck: { ratio: 0.1, minUsd: 1, afterMs: 2 * 3_600_000 },
    });
    expect(config.reconcile?.providers.map((p) => [p.name, p.keyEnv, p.baseUrl])).toEqual([
      ['openai', 'OPENAI_ADMIN_KEY', 'https://api.openai.com'],
      ['anthropic', 'ANTHROPIC_ADMIN_KEY', 'https://api.anthropic.com'],
      ['openai-2', 'OPENAI_ADMIN_KEY_2', 'https://api.openai.com'],
    ]);
  });

  it('filters, a key file, a base_url without its trailing slash, daily_check off', () => {
    const config = resolveConfig(
      {
        ...base,
        reconcile: {
          providers: [
            {
              type: 'anthropic',
              workspace_ids: ['wrkspc_1'],
              api_key_ids: ['apikey_1'],
              admin_key_file: 'keys/a',
              base_url: 'http://127.0.0.1:8080/',
            },
          ],
          daily_check: 'off',
        },
      },
      FILE,
    );
    const p = config.reconcile?.providers[0];
    expect(p).toMatchObject({
      scopeIds: ['wrkspc_1'],
      apiKeyIds: ['apikey_1'],
      baseUrl: 'http://127.0.0.1:8080',
    });
    expect(p?.keyFile?.endsWith('/keys/a')).toBe(true);
    expect(config.reconcile?.dailyCheck).toBeNull();
  });

  it('reconcile is off unless configured', () => {
    expect(resolveConfig(base, FILE).reconcile).toBeNull();
  });
});

describe('storms: the shape detector', () => {
  it.each([
    ['the default', {}, { count: 3, level: 'warn', windowMs: 900_000, withIds: false }],
    [
      'its own window and level',
      { storms: { shape_count: 4, shape_level: 'emergency', shape_window: '5m' } },
      { count: 4, level: 'emergency', windowMs: 300_000, withIds: false },
    ],
    [
      'the retry storm window',
      { retry_storm: { window: '30m' } },
      { count: 3, level: 'warn', windowMs: 1_800_000, withIds: false },
    ],
    [
      'with ids',
      { storms: { shape_with_ids: true } },
      { count: 3, level: 'warn', windowMs: 900_000, withIds: true },
    ],
    ['off', { storms: 'off' }, null],
    ['shape_count off', { storms: { shape_count: 'off' } }, null],
  ])('%s', (_name, extra, expected) => {
    expect(resolveConfig({ ...base, ...extra }, FILE).shapeStorm).toEqual(expected);
  });

  it('a shape_count of 1 is refused', () => {
    expect(problems({ ...base, storms: { shape_count: 1 } })).toEqual([
      'storms.shape_count: expected a whole number of calls of the same shape, 2 or more, or off',
    ]);
  });
});
