// The fleet's pure parts, table-driven: where the Redis URL comes from and how it is shown (never
// its password), the fleet config section's errors, how a Redis error is classified (lost: local
// limits go on; refused: a fault to fix), and the settings every host of a fleet must share.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { settingsText } from '../../src/fleet/exchange.js';
import { FleetError, classify } from '../../src/fleet/link.js';
import { instanceOf } from '../../src/fleet/memory.js';
import { redact, redisUrlSource, shownUrl } from '../../src/fleet/url.js';
import { base, problems } from './config-support.js';

const ENV = 'COST_WATCHDOG_REDIS_URL';
const noFile = { urlEnv: ENV, urlFile: null };

describe('redisUrlSource', () => {
  it.each([
    ['plain', 'redis://127.0.0.1:6379', 'redis://127.0.0.1:6379', null],
    ['no port', 'redis://cache.internal', 'redis://cache.internal:6379', null],
    ['a database', 'redis://cache:6380/2', 'redis://cache:6380/2', null],
    ['a password', 'redis://:s3cret@cache:6379/0', 'redis://cache:6379/0', 's3cret'],
    ['user and password', 'redis://bot:p%40ss@cache:7000', 'redis://bot@cache:7000', 'p@ss'],
    ['TLS', 'rediss://:pw@redis.example.com:6380', 'rediss://redis.example.com:6380', 'pw'],
    ['spaces around', '  redis://cache:6379  ', 'redis://cache:6379', null],
  ])('%s', (_name, url, shown, password) => {
    const source = redisUrlSource(noFile, { [ENV]: url });
    expect(source).toEqual({ kind: 'url', url: url.trim(), from: `$${ENV}`, shown, password });
  });

  it.each([
    ['not a URL', 'cache 6379', 'does not hold a URL (expected redis://[:password@]host:6379[/db]'],
    ['http', 'http://cache:6379', 'holds a http: URL, expected redis:// or rediss:// (TLS)'],
    ['cluster', 'redis+cluster://cache:6379', 'holds a redis+cluster: URL, expected redis://'],
    ['no host', 'redis://:pw@:6379', 'does not hold a URL'],
    ['a database name', 'redis://cache:6379/main', 'holds a Redis URL whose database is not a number'],
  ])('broken: %s', (_name, url, problem) => {
    const source = redisUrlSource(noFile, { [ENV]: url });
    expect(source.kind).toBe('broken');
    if (source.kind !== 'broken') return;
    expect(source.from).toBe(`$${ENV}`);
    expect(source.problem).toContain(problem);
    expect(source.problem).not.toContain('pw');
  });

  it('no variable and no file: names both', () => {
    for (const env of [{}, { [ENV]: '' }, { [ENV]: '   ' }])
      expect(redisUrlSource(noFile, env)).toEqual({
        kind: 'broken',
        from: `$${ENV}`,
        problem:
          `no Redis URL: $${ENV} is not set and fleet.redis_url_file is not given (set one to ` +
          'redis://[:password@]host:6379[/db], or rediss:// for TLS)',
      });
  });

  it('a variable of its own name; the file when the variable is not set; the variable first', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cw-url-'));
    try {
      const file = path.join(dir, 'redis');
      writeFileSync(file, 'redis://:from-file@cache:6379\n');
      chmodSync(file, 0o600);
      const fleet = { urlEnv: 'FLEET_URL', urlFile: file };
      expect(redisUrlSource(fleet, {})).toMatchObject({ kind: 'url', from: file, password: 'from-file' });
      expect(redisUrlSource(fleet, { FLEET_URL: 'redis://other:1' })).toMatchObject({
        from: '$FLEET_URL',
        shown: 'redis://other:1',
      });
      chmodSync(file, 0o644);
      const open = redisUrlSource(fleet, {});
      expect(open.kind).toBe('broken');
      if (open.kind === 'broken') expect(open.problem).toContain('chmod 600');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shownUrl and redact', () => {
  it.each([
    ['redis://:pw@h:1/3', 'redis://h:1/3'],
    ['redis://u:pw@h', 'redis://u@h:6379'],
    ['rediss://h:6380/', 'rediss://h:6380'],
    ['redis://%75ser:pw@h:2', 'redis://user@h:2'],
  ])('shownUrl(%s) = %s', (url, shown) => expect(shownUrl(new URL(url))).toBe(shown));

  it.each([
    ['connect to redis://:hunter2@h:6379 failed', 'hunter2', 'connect to redis://:***@h:6379 failed'],
    ['rediss://u:hunter2@h and again hunter2', 'hunter2', 'rediss://u:***@h and again ***'],
    ['no URL, the word hunter2', 'hunter2', 'no URL, the word ***'],
    ['redis://:x@h with no password known', null, 'redis://:***@h with no password known'],
    ['nothing to hide', null, 'nothing to hide'],
    ['an empty password hides nothing', '', 'an empty password hides nothing'],
  ])('redact(%s)', (text, password, out) => expect(redact(text, password)).toBe(out));
});

describe('the fleet section', () => {
  const limits = { '15m': { warn: 3, emergency: 5 }, daily: { warn: 20 } };
  it.each<[string, Record<string, unknown>, string]>([
    [
      'bad name',
      { name: 'support bot', limits },
      'fleet.name: expected a name of letters, digits, ".", "_" or "-" (at most 64, starting with a ' +
        'letter or digit), got "support bot"',
    ],
    [
      'name in braces',
      { name: '{x}', limits },
      'fleet.name: expected a name of letters, digits, ".", "_" or "-" (at most 64, starting with a ' +
        'letter or digit), got "{x}"',
    ],
    [
      'no name',
      { limits },
      'fleet.name: required (expected the fleet\'s name, like "support-bot" (the same on every host))',
    ],
    [
      'bad host',
      { name: 'f', host: 'web 3', limits },
      'fleet.host: expected a host name of letters, digits, ".", "_" or "-", got "web 3"',
    ],
    [
      'missing limits',
      { name: 'f' },
      'fleet.limits: required (expected a mapping of windows to limits, like `15m: { warn: 3, ' +
        'emergency: 5, kill: 8 }`)',
    ],
    [
      'empty limits',
      { name: 'f', limits: {} },
      'fleet.limits: expected at least one window, like `15m: { warn: 3, emergency: 5, kill: 8 }`',
    ],
    [
      'the same window twice',
      { name: 'f', limits: { '15m': { warn: 3 }, '900s': { warn: 4 } } },
      'fleet.limits.900s: the same window as fleet.limits.15m',
    ],
    [
      'bad on_lost',
      { name: 'f', limits, on_lost: 'panic' },
      'fleet.on_lost: expected "local" (local limits only, alert "fleet view lost") or "emergency" ' +
        '(write the local flag while the fleet cannot be seen), got "panic"',
    ],
    [
      'timeout too short',
      { name: 'f', limits, timeout: '10ms' },
      'fleet.timeout: expected a duration between "50ms" and "30s", got "10ms"',
    ],
    [
      'timeout too long',
      { name: 'f', limits, timeout: '31s' },
      'fleet.timeout: expected a duration between "50ms" and "30s", got "31s"',
    ],
    [
      'silent_after 0',
      { name: 'f', limits, silent_after: '0s' },
      'fleet.silent_after: expected at least "1s", got "0s"',
    ],
  ])('%s', (_name, fleet, problem) => {
    expect(problems({ ...base, fleet })).toEqual([problem]);
  });

  it('a valid section has no problem', () => {
    expect(
      problems({ ...base, fleet: { name: 'support-bot', host: 'web-3', limits, timeout: '50ms' } }),
    ).toEqual([]);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'cw-fleet-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'watchdog.yaml');
  writeFileSync(
    file,
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3 }\n' +
      'fleet:\n  name: f\n  host: a\n  limits:\n    15m: { warn: 3 }\n',
  );
  const loadProblems = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(file, env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  };
  it.each<[string, NodeJS.ProcessEnv, string[]]>([
    [
      'a URL that is not redis://',
      { [ENV]: 'https://:pw@cache:6379' },
      [
        `fleet: $${ENV} holds a https: URL, expected redis:// or rediss:// (TLS) (Redis Cluster and ` +
          'Sentinel URLs are not supported)',
      ],
    ],
    [
      'no URL',
      {},
      [
        `fleet: no Redis URL: $${ENV} is not set and fleet.redis_url_file is not given (set one to ` +
          'redis://[:password@]host:6379[/db], or rediss:// for TLS)',
      ],
    ],
    ['a good URL', { [ENV]: 'redis://:pw@cache:6379' }, []],
  ])('at load: %s', (_name, env, expected) => {
    expect(loadProblems(env)).toEqual(expected);
  });
});

describe('classify', () => {
  const err = (message: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), extra);
  it.each<[string, unknown, 'lost' | 'refused', string]>([
    [
      'refused connection',
      err('connect ECONNREFUSED 127.0.0.1:6379', { code: 'ECONNREFUSED' }),
      'lost',
      'cannot reach Redis: connect ECONNREFUSED 127.0.0.1:6379',
    ],
    ['reset', err('read ECONNRESET', { code: 'ECONNRESET' }), 'lost', 'cannot reach Redis: read ECONNRESET'],
    [
      'socket closed',
      err('Socket closed unexpectedly'),
      'lost',
      'cannot reach Redis: Socket closed unexpectedly',
    ],
    [
      'unknown host',
      err('getaddrinfo ENOTFOUND cache.internal', { code: 'ENOTFOUND' }),
      'lost',
      'cannot resolve the Redis host: getaddrinfo ENOTFOUND cache.internal',
    ],
    ['our timeout', err('timed out', { name: 'TimeoutError' }), 'lost', 'Redis did not answer within 300 ms'],
    [
      'an abort',
      err('This operation was aborted', { name: 'AbortError' }),
      'lost',
      'Redis did not answer within 300 ms',
    ],
    ['connect timeout', err('Connection timeout'), 'lost', 'Redis did not answer within 300 ms'],
    [
      'loading',
      err('LOADING Redis is loading the dataset in memory'),
      'lost',
      'Redis cannot serve now: LOADING Redis is loading the dataset in memory',
    ],
    [
      'busy script',
      err('BUSY Redis is busy running a script.'),
      'lost',
      'Redis cannot serve now: BUSY Redis is busy running a script.',
    ],
    [
      'wrong password',
      err('WRONGPASS invalid username-password pair or user is disabled.'),
      'refused',
      'Redis refused the credentials (WRONGPASS/NOAUTH): check the password in the Redis URL',
    ],
    [
      'no auth',
      err('NOAUTH Authentication required.'),
      'refused',
      'Redis refused the credentials (WRONGPASS/NOAUTH): check the password in the Redis URL',
    ],
    [
      'ACL',
      err("NOPERM User bot has no permissions to run the 'evalsha' command"),
      'refused',
      'Redis refused a command to this user (NOPERM): NOPERM User bot has no permissions to run the ' +
        "'evalsha' command",
    ],
    [
      'self-signed',
      err('self-signed certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      'refused',
      'TLS to Redis failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
    ],
    [
      'TLS to a plain port',
      err('140000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number', {
        code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      }),
      'refused',
      'TLS to Redis failed: 140000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number ' +
        '(ERR_SSL_WRONG_VERSION_NUMBER)',
    ],
    [
      'a replica',
      err("READONLY You can't write against a read only replica."),
      'refused',
      "Redis answered with an error: READONLY You can't write against a read only replica.",
    ],
    [
      'a script error',
      err('ERR user_script:1: Script attempted to access nonexistent global variable'),
      'refused',
      'Redis answered with an error: ERR user_script:1: Script attempted to access nonexistent ' +
        'global variable',
    ],
    [
      'a password in the message',
      err('connect to redis://:hunter2@cache:6379 failed hunter2', { code: 'ECONNREFUSED' }),
      'lost',
      'cannot reach Redis: connect to redis://:***@cache:6379 failed *** (ECONNREFUSED)',
    ],
    ['a thrown string', 'boom', 'lost', 'cannot reach Redis: boom'],
  ])('%s', (_name, error, kind, message) => {
    const out = classify(error, 'hunter2', 300);
    expect(out).toBeInstanceOf(FleetError);
    expect([out.kind, out.message]).toEqual([kind, message]);
  });

  it('a FleetError passes through as it is', () => {
    const e = new FleetError('refused', 'as said');
    expect(classify(e, null, 1)).toBe(e);
  });
});

describe('settingsText', () => {
  it.each<
    [string, string, { name: string; seconds: number | null; limits: Record<string, number> }[], string]
  >([
    [
      'two windows',
      'UTC',
      [
        { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 } },
        { name: 'daily', seconds: null, limits: { warn: 20, emergency: 25, kill: 30 } },
      ],
      'timezone UTC; 15m warn 3 emergency 5 kill 8; daily warn 20 emergency 25 kill 30',
    ],
    [
      'only some levels',
      'Europe/Berlin',
      [{ name: '1h', seconds: 3600, limits: { emergency: 12.5 } }],
      'timezone Europe/Berlin; 1h emergency 12.5',
    ],
    [
      'cents',
      'America/New_York',
      [{ name: 'daily', seconds: null, limits: { warn: 0.1, kill: 0.3 } }],
      'timezone America/New_York; daily warn 0.1 kill 0.3',
    ],
  ])('%s', (_name, timezone, windows, text) => {
    expect(settingsText({ timezone }, { windows } as never)).toBe(text);
  });
});

describe('instanceOf', () => {
  it('the same for a state folder every time; another for another folder', () => {
    const a = mkdtempSync(path.join(tmpdir(), 'cw-inst-'));
    const b = mkdtempSync(path.join(tmpdir(), 'cw-inst-'));
    try {
      expect(instanceOf(a)).toMatch(/^[0-9a-f]{16}$/);
      expect(instanceOf(a)).toBe(instanceOf(a));
      expect(instanceOf(`${a}/.`)).toBe(instanceOf(a));
      expect(instanceOf(b)).not.toBe(instanceOf(a));
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
