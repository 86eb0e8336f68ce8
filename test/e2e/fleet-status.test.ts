// What operators see of a fleet: `status` (text, --json, its verdict), `run` (text, --json) and
// `validate`, against a real redis-server, with two or three watchdogs (each its own folder,
// config and state folder) as the hosts. Skipped only when redis-server is not installed
// (.ci/run installs it).
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import type { StatusJson } from '../../src/commands/render/status-json.js';
import { type CliResult, ccLine, cli, workspace, type Workspace } from './helpers.js';
import { waitFor } from './procs.js';
import { REDIS_SERVER, RedisServer } from './redis-server.js';

const FLEET_LIMITS = `    15m:   { warn: 5, emergency: 10, kill: 20 }
    daily: { warn: 50, emergency: 100 }`;

interface Host {
  ws: Workspace;
  name: string;
  /** The CLI in this host's folder, with the fleet's Redis URL in its environment. */
  cli(...args: string[]): CliResult;
  status(): { code: number | null; json: StatusJson; stdout: string };
  run(): { code: number | null; json: RunJson; stderr: string };
}

function host(
  name: string,
  url: () => string,
  options: { limits?: string; extra?: string; fleetExtra?: string } = {},
): Host {
  const ws = workspace(
    `log: state/cost_log.jsonl
limits:
  15m:   { warn: 300, emergency: 500, kill: 800 }
  daily: { warn: 2000, emergency: 2500, kill: 3000 }
${options.extra ?? ''}fleet:
  name: support-bot
  host: ${name}
  timeout: 2s
${options.fleetExtra ?? ''}  limits:
${options.limits ?? FLEET_LIMITS}
`,
  );
  const run = (...args: string[]) =>
    cli([...args, '-c', ws.config], { cwd: ws.dir, env: { COST_WATCHDOG_REDIS_URL: url() } });
  return {
    ws,
    name,
    cli: run,
    status: () => {
      const r = run('status', '--json');
      return { code: r.code, json: JSON.parse(r.stdout) as StatusJson, stdout: r.stdout };
    },
    run: () => {
      const r = run('run', '--json');
      return { code: r.code, json: JSON.parse(r.stdout) as RunJson, stderr: r.stderr };
    },
  };
}

/** A pattern of one line: strings are matched as they are, regular expressions as patterns. */
function line(...parts: (string | RegExp)[]): RegExp {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(parts.map((p) => (typeof p === 'string' ? literal(p) : p.source)).join(''), 'm');
}

/** Three hosts that each pushed their spend once: $1.734567, $2.000001 and $0.000003. */
async function threeHosts(): Promise<{ redis: RedisServer; a: Host; b: Host; c: Host }> {
  const redis = await RedisServer.start();
  const [a, b, c] = ['web-a', 'web-b', 'web-c'].map((n) => host(n, () => redis.url)) as [Host, Host, Host];
  a.ws.append(ccLine(1.234567) + ccLine(0.5));
  b.ws.append(ccLine(2.000001));
  c.ws.append(ccLine(0.000003));
  for (const h of [a, b, c]) {
    const r = h.run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.fleet?.reachable, r.stderr).toBe(true);
  }
  return { redis, a, b, c };
}

describe('a fleet without fleet:', () => {
  it('has no fleet key in status --json nor in run --json', () => {
    const ws = workspace();
    ws.append(ccLine(1));
    const run = ws.runJson();
    expect(run.code, run.stderr).toBe(0);
    expect('fleet' in run.json).toBe(false);
    const status = ws.status();
    expect(status.code).toBe(0);
    expect('fleet' in status.json).toBe(false);
    expect(ws.run('status').stdout).not.toMatch(/fleet/);
  });
});

describe.skipIf(REDIS_SERVER === null)('fleet on a real Redis: status, run, validate', () => {
  it('status --json: the fleet windows and each host part, exact to the micro-dollar', async () => {
    const { redis, a } = await threeHosts();
    const { code, json } = a.status();
    expect(code).toBe(0);
    expect(json.status).toBe('OK');
    // This host's own windows are its own spend only.
    expect(json.windows['15m']?.spend_usd).toBe(1.734567);
    const fleet = json.fleet;
    expect(fleet).toBeDefined();
    expect(fleet).toMatchObject({
      name: 'support-bot',
      host: 'web-a',
      redis: redis.url,
      reachable: true,
      windows: {
        '15m': { spend_usd: 3.734571, level: 'ok', limits: { warn: 5, emergency: 10, kill: 20 } },
        daily: { spend_usd: 3.734571, level: 'ok', limits: { warn: 50, emergency: 100 } },
      },
      emergency: { active: false },
    });
    expect('error' in (fleet ?? {})).toBe(false);
    expect(fleet?.hosts.map((h) => [h.host, h.spend_usd, h.silent])).toEqual([
      ['web-a', { '15m': 1.734567, daily: 1.734567 }, false],
      ['web-b', { '15m': 2.000001, daily: 2.000001 }, false],
      ['web-c', { '15m': 0.000003, daily: 0.000003 }, false],
    ]);
    for (const h of fleet?.hosts ?? []) {
      expect(h.last_push_age_seconds).toBeGreaterThanOrEqual(0);
      expect(h.last_push_age_seconds).toBeLessThan(120);
    }

    // The text: the fleet windows under the host's, then who and where, and each host.
    const text = a.cli('status');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(
      line(
        /^/,
        'COST-WATCHDOG OK - no limit reached | ',
        /.*/,
        "'fleet_spend_15m'=3.734571;5;10;0 'fleet_spend_daily'=3.734571;50;100;0",
        /$/,
      ),
    );
    expect(text.stdout).toMatch(
      /^ {2}fleet 15m +\$3\.73 {2}ok .* warn \$5\.00 \/ emergency \$10\.00 \/ kill \$20\.00$/m,
    );
    expect(text.stdout).toMatch(/^ {2}fleet daily +\$3\.73 {2}ok /m);
    expect(text.stdout).toContain(
      `  fleet            support-bot (host web-a, 3 host(s)), Redis at ${redis.url}\n`,
    );
    expect(text.stdout).toContain('  fleet emergency  none\n');
    expect(text.stdout).toMatch(
      /^ {2}fleet hosts {6}web-a {2}15m \$1\.73, daily \$1\.73 {2}pushed \d+s ago \(this host\)$/m,
    );
    expect(text.stdout).toMatch(/^ {19}web-b {2}15m \$2\.00, daily \$2\.00 {2}pushed \d+s ago$/m);
    expect(text.stdout).toMatch(/^ {19}web-c {2}15m \$0\.000003, daily \$0\.000003 {2}pushed \d+s ago$/m);
  });

  it('run: the fleet windows after the host windows, and run --json fleet', async () => {
    const { redis, a } = await threeHosts();
    a.ws.append(ccLine(0.25));
    const text = a.cli('run');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^15m +\$1\.98 {2}ok /m);
    expect(text.stdout).toMatch(
      /^fleet 15m +\$3\.98 {2}ok {9}\(warn \$5\.00 \/ emergency \$10\.00 \/ kill \$20\.00\)$/m,
    );
    expect(text.stdout).toMatch(/^fleet daily +\$3\.98 {2}ok /m);
    expect(text.stdout).toContain('fleet support-bot: 3 host(s); no fleet emergency\n');
    // The fleet lines come after the host's windows, before what was read.
    const lines = text.stdout.split('\n');
    expect(lines.findIndex((l) => l.startsWith('fleet 15m'))).toBeGreaterThan(
      lines.findIndex((l) => l.startsWith('daily')),
    );
    a.ws.append(ccLine(0.000001));
    const r = a.run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.fleet).toEqual({
      name: 'support-bot',
      host: 'web-a',
      redis: redis.url,
      reachable: true,
      windows: {
        '15m': { spend_usd: 3.984572, level: 'ok', limits: { warn: 5, emergency: 10, kill: 20 } },
        daily: { spend_usd: 3.984572, level: 'ok', limits: { warn: 50, emergency: 100 } },
      },
      emergency: { active: false },
      hosts: 3,
    });
  });

  it('verdict: a fleet at warn is WARNING; a fleet emergency is CRITICAL on every host', async () => {
    const { redis, a, b } = await threeHosts();
    // The fleet at $5.734571: over its warn limit ($5), every host under its own.
    b.ws.append(ccLine(2));
    expect(b.run().code).toBe(0);
    const warned = a.cli('status');
    expect(warned.code).toBe(1);
    expect(warned.stdout.split('\n')[0]).toMatch(
      /^COST-WATCHDOG WARNING - fleet 15m \$5\.73 >= warn \$5\.00 \| /,
    );
    expect(a.status().json).toMatchObject({
      status: 'WARNING',
      level: 'ok',
      fleet: { windows: { '15m': { spend_usd: 5.734571, level: 'warn' } }, emergency: { active: false } },
    });

    // Over the fleet's emergency limit ($10) by web-b's spend: web-a has not checked since, its
    // own spend is low and its flag is not written yet; its status is CRITICAL all the same.
    b.ws.append(ccLine(4.5));
    const pushed = b.run();
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.json.fleet?.emergency).toMatchObject({ active: true, level: 'emergency', by: 'web-b' });
    const { code, json } = a.status();
    expect(code).toBe(2);
    expect(json.status).toBe('CRITICAL');
    expect(json.emergency.active).toBe(false);
    const e = json.fleet?.emergency;
    expect(e).toEqual({
      active: true,
      level: 'emergency',
      window: '15m',
      spend_usd: 10.234571,
      limit_usd: 10,
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      by: 'web-b',
    });
    expect(Math.abs(Date.parse(e?.since ?? '') - Date.now())).toBeLessThan(120_000);
    const text = a.cli('status');
    expect(text.code).toBe(2);
    const clock = (e?.since ?? '').slice(11, 19);
    expect(text.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^COST-WATCHDOG CRITICAL - fleet support-bot emergency: 15m \\$10\\.23 >= emergency \\$10\\.00, ` +
          `since ${clock} UTC by host web-b \\| `,
      ),
    );
    expect(text.stdout).toContain(
      `  fleet emergency  EMERGENCY 15m $10.23 >= emergency $10.00, since ${clock} UTC by host web-b ` +
        '(every host sets its flag at its next check; clear-emergency --fleet ends it)\n',
    );
    const run = a.cli('run');
    expect(run.stdout).toContain(
      `fleet support-bot: 3 host(s); FLEET EMERGENCY since ${clock} UTC by host web-b (15m $10.23 >= ` +
        'emergency $10.00)\n',
    );

    // Redis gone: web-b still holds its flag for the fleet emergency it remembers; CRITICAL.
    await redis.stop();
    const blind = b.status();
    expect(blind.code).toBe(2);
    expect(blind.json.fleet).toMatchObject({
      reachable: false,
      error: expect.stringMatching(/^cannot reach Redis: .*ECONNREFUSED/),
      windows: {},
      hosts: [],
      emergency: { active: true, level: 'emergency', window: '15m', by: 'web-b', remembered: true },
    });
  });

  it('Redis stopped: status still answers, WARNING, reachable false with the reason', async () => {
    const { redis, a } = await threeHosts();
    await redis.stop();
    const { code, json } = a.status();
    expect(code).toBe(1);
    expect(json.status).toBe('WARNING');
    expect(json.windows['15m']?.spend_usd).toBe(1.734567);
    expect(json.fleet).toEqual({
      name: 'support-bot',
      host: 'web-a',
      redis: redis.url,
      reachable: false,
      error: expect.stringMatching(/^cannot reach Redis: .*ECONNREFUSED/),
      windows: {},
      emergency: { active: false },
      hosts: [],
    });
    const text = a.cli('status');
    expect(text.code).toBe(1);
    const first = text.stdout.split('\n')[0] ?? '';
    expect(first).toMatch(
      /^COST-WATCHDOG WARNING - fleet support-bot: fleet view lost: cannot reach Redis: /,
    );
    // Perfdata: the fleet's figures cannot be determined (U), the host's own are there.
    expect(first).toMatch(
      /'spend_15m'=1\.734567;300;500;0 .*'fleet_spend_15m'=U;5;10;0 'fleet_spend_daily'=U;50;100;0$/,
    );
    expect(text.stdout).toMatch(
      line(
        /^/,
        '  fleet            support-bot (host web-a): fleet view lost: cannot reach Redis: ',
        /.*/,
        ` (Redis at ${redis.url}); this host's own limits still apply`,
        /$/,
      ),
    );
    expect(text.stdout).not.toMatch(/^ {2}fleet 15m/m);
    expect(text.stdout).not.toContain('fleet hosts');

    // run: local limits go on (exit 0), and it says so under its windows.
    a.ws.append(ccLine(0.5));
    const run = a.cli('run');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^15m +\$2\.23 {2}ok /m);
    expect(run.stdout).not.toMatch(/^fleet 15m/m);
    expect(run.stdout).toMatch(
      line(
        /^/,
        'fleet support-bot: view lost: cannot reach Redis: ',
        /.*ECONNREFUSED.*/,
        ` (Redis at ${redis.url})`,
        /$/,
      ),
    );
    const json2 = a.run();
    expect(json2.code).toBe(0);
    expect(json2.json.fleet).toEqual({
      name: 'support-bot',
      host: 'web-a',
      redis: redis.url,
      reachable: false,
      error: expect.stringMatching(/^cannot reach Redis: /),
      windows: {},
      emergency: { active: false },
      hosts: 0,
    });
  });

  it('a host that stops pushing is shown silent', async () => {
    const redis = await RedisServer.start();
    const [a, b] = ['web-a', 'web-b'].map((n) =>
      host(n, () => redis.url, { fleetExtra: '  silent_after: 2s\n' }),
    );
    for (const h of [a, b] as Host[]) {
      h.ws.append(ccLine(1));
      expect(h.run().code).toBe(0);
    }
    // web-b stays quiet; web-a keeps checking until web-b is over fleet.silent_after.
    const seen = await waitFor('web-b to be silent', () => {
      (a as Host).run();
      const hosts = (a as Host).status().json.fleet?.hosts ?? [];
      return hosts.find((h) => h.host === 'web-b' && h.silent) ?? null;
    });
    expect(seen.last_push_age_seconds).toBeGreaterThanOrEqual(2);
    const text = (a as Host).cli('status');
    expect(text.stdout).toMatch(
      /^ {19}web-b {2}15m \$1\.00, daily \$1\.00 {2}pushed \d+s ago {2}SILENT: its watchdog may be down$/m,
    );
    expect(text.stdout).toMatch(/^ {2}fleet hosts {6}web-a .*\(this host\)/m);
  });

  it('validate: the fleet, its Redis and the hosts seen', async () => {
    const { redis, a } = await threeHosts();
    const r = a.cli('validate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ {2}fleet {7}support-bot as host web-a; Redis at ${redis.url.replace(/[/.]/g, '\\$&')} ` +
          '\\(from \\$COST_WATCHDOG_REDIS_URL\\) answered in \\d+ ms$',
        'm',
      ),
    );
    expect(r.stdout).toContain(
      '              15m warn $5.00 / emergency $10.00 / kill $20.00; daily warn $50.00 / emergency ' +
        '$100.00 for all the hosts together; on_lost local; timeout 2s; a host is silent after 5m\n',
    );
    expect(r.stdout).toMatch(
      line(
        /^ {14}/,
        'hosts seen: web-a (this host, pushed ',
        /\d+s/,
        ' ago), web-b (pushed ',
        /\d+s/,
        ' ago), web-c (pushed ',
        /\d+s ago\)$/,
      ),
    );
    const json = JSON.parse(a.cli('validate', '--json').stdout) as {
      fleet: { name: string; host: string; redis: string; from: string; hosts: { host: string }[] };
    };
    expect(json.fleet).toMatchObject({
      name: 'support-bot',
      host: 'web-a',
      redis: redis.url,
      from: '$COST_WATCHDOG_REDIS_URL',
    });
    expect(json.fleet.hosts.map((h) => h.host)).toEqual(['web-a', 'web-b', 'web-c']);

    // A new host, before its first push: valid, and the others are seen.
    const d = host('web-d', () => redis.url);
    const fresh = d.cli('validate');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(/hosts seen: web-a \(pushed \d+s ago\), web-b/);
  });

  it('validate: a wrong or missing password is exit 78 with the reason, never the password', async () => {
    const redis = await RedisServer.start({ password: 'the-right-one' });
    const wrong = `redis://:n0t-Th1s-0ne@127.0.0.1:${redis.port}`;
    const a = host('web-a', () => wrong);
    const r = a.cli('validate');
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `cost-watchdog: ${a.ws.config}: fleet: Redis refused the credentials (WRONGPASS/NOAUTH): check the ` +
        `password in the Redis URL (Redis at redis://127.0.0.1:${redis.port} (from ` +
        '$COST_WATCHDOG_REDIS_URL))\n',
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain('n0t-Th1s-0ne');
    const none = host('web-b', () => `redis://127.0.0.1:${redis.port}`).cli('validate');
    expect(none.code).toBe(78);
    expect(none.stderr).toMatch(/fleet: Redis refused the credentials \(WRONGPASS\/NOAUTH\)/);
    // The right one: valid. status with the wrong one: WARNING, the reason, no password either.
    expect(host('web-c', () => redis.url).cli('validate').code).toBe(0);
    a.ws.append(ccLine(1));
    const status = a.cli('status', '--json');
    expect(status.code).toBe(1);
    expect((JSON.parse(status.stdout) as StatusJson).fleet).toMatchObject({
      reachable: false,
      error: 'Redis refused the credentials (WRONGPASS/NOAUTH): check the password in the Redis URL',
      redis: `redis://127.0.0.1:${redis.port}`,
    });
    expect(status.stdout).not.toContain('n0t-Th1s-0ne');
  });

  it('validate: Redis that does not answer is exit 78, saying what every check would do', async () => {
    const redis = await RedisServer.start();
    const a = host('web-a', () => redis.url, { fleetExtra: '  on_lost: emergency\n' });
    await redis.stop();
    const r = a.cli('validate');
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      line(
        /^/,
        `cost-watchdog: ${a.ws.config}: fleet: cannot reach Redis: `,
        /.*ECONNREFUSED.*/,
        ` (Redis at ${redis.url} (from $COST_WATCHDOG_REDIS_URL)): start Redis or fix the URL; every ` +
          'check would write the emergency flag (fleet.on_lost: emergency) until it answers',
        /\n$/,
      ),
    );
  });

  it('validate: other limits or another timezone than a host that pushed lately is exit 78', async () => {
    const { redis } = await threeHosts();
    const limits = host('web-x', () => redis.url, {
      limits: `    15m:   { warn: 5, emergency: 12, kill: 20 }\n    daily: { warn: 50, emergency: 100 }`,
    });
    const r = limits.cli('validate');
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    const problems = r.stderr.trim().split('\n');
    // One line per host with the other settings, each naming it and both settings.
    expect(problems.map((l) => /host (web-\w)/.exec(l)?.[1])).toEqual(['web-a', 'web-b', 'web-c']);
    expect(problems[0]).toMatch(
      line(
        /^/,
        `cost-watchdog: ${limits.ws.config}: fleet: host web-a of fleet support-bot (pushed `,
        /\d+s/,
        ' ago) has other fleet settings: timezone UTC; 15m warn 5 emergency 10 kill 20; daily warn 50 ' +
          'emergency 100; this config has: timezone UTC; 15m warn 5 emergency 12 kill 20; daily warn 50 ' +
          'emergency 100. Every host of a fleet needs the same timezone and fleet.limits: this host would ' +
          'be refused while a host with the other settings pushes (within fleet.silent_after, 5m)',
        /$/,
      ),
    );
    // What validate foretold is what the push does: refused, and the run fails.
    limits.ws.append(ccLine(1));
    const pushed = limits.run();
    expect(pushed.code).toBe(1);
    expect(pushed.json.fleet?.reachable).toBe(false);
    expect(pushed.json.fleet?.error).toMatch(/^host web-\w \(seen .* ago\) has other fleet settings/);
    // status: Redis answers, and says this host's pushes are refused (WARNING, the reason).
    const status = limits.status();
    expect(status.code).toBe(1);
    expect(status.json.fleet).toMatchObject({
      reachable: true,
      refused: {
        since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        reason: expect.stringMatching(/^host web-\w \(seen .* ago\) has other fleet settings/),
      },
    });
    // The refused host is listed, marked refused (its spend is not counted).
    expect(status.json.fleet?.hosts.map((h) => [h.host, h.refused])).toEqual([
      ['web-a', false],
      ['web-b', false],
      ['web-c', false],
      ['web-x', true],
    ]);
    const text = limits.cli('status');
    expect(text.stdout.split('\n')[0]).toMatch(
      line(
        /^/,
        "COST-WATCHDOG WARNING - fleet support-bot: this host's pushes are refused since ",
        /\S+ UTC: host web-\w /,
      ),
    );
    expect(text.stdout).toMatch(
      line(
        /^/,
        "  fleet refused    this host's pushes since ",
        /\S+: host web-\w .*/,
        '; the fleet does not count its spend until that is fixed',
        /$/,
      ),
    );

    const zone = host('web-y', () => redis.url, { extra: 'timezone: Europe/Paris\n' });
    const z = zone.cli('validate');
    expect(z.code).toBe(78);
    expect(z.stderr).toContain('this config has: timezone Europe/Paris; 15m warn 5 emergency 10 kill 20');
  });
});
