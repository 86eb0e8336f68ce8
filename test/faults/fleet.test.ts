// Fault rows: the fleet (one budget over many hosts on Redis). Every host is a temp folder with
// its own watchdog.yaml, log and state folder, checked by the real CLI (`cost-watchdog run`, as a
// timer would) against a real redis-server (test/e2e/redis-server.ts); the fleet's figures are
// asserted exactly, in whole µ$, from what each push saw (`fleet_push` in the audit log) and from
// what Redis holds. Skipped, and said so, where redis-server is not installed.
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:tls';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PUSH_SCRIPT } from '../../src/fleet/scripts.js';
import { alertsIn, flagFile } from '../e2e/helpers.js';
import { REDIS_SERVER, RedisServer, freePort } from '../e2e/redis-server.js';
import { lineAt } from './money-and-clock-support.js';
import {
  LIBFAKETIME,
  clearOfMidnight,
  count,
  dayParts,
  fleetHost,
  minuteTotal,
  readJson,
  skewedEnv,
  utcDay,
} from './fleet-support.js';

if (REDIS_SERVER === null) console.warn('fleet fault rows skipped: redis-server is not installed');

const LOST = 'FLEET VIEW LOST';
const BACK = 'fleet view back';

describe.skipIf(REDIS_SERVER === null)('fleet', () => {
  beforeAll(clearOfMidnight, 1_300_000);

  it('exactly-once: two hosts, reruns, fleet.json or checkpoint.json lost, a push retried', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'once', host: 'a' });
    const b = fleetHost(server, { fleet: 'once', host: 'b' });
    const now = Date.now();
    a.append(lineAt(now - 60_000, 1.250001) + lineAt(now - 30_000, 0.5));
    b.append(lineAt(now - 20_000, 0.25) + lineAt(now - 10_000, 0.000002));
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 1.750001, daily: 1.750001, resynced: true, hosts: 1 });
    expect(b.run().code).toBe(0);
    expect(b.lastPush()).toEqual({ '15m': 2.000003, daily: 2.000003, resynced: true, hosts: 2 });
    const settled = { a: 1_750_001, b: 250_002 };
    expect(dayParts(server, 'once')).toEqual(settled);
    expect(minuteTotal(server, 'once')).toBe(2_000_003);

    // The same hosts again, no new lines: nothing added.
    for (const host of [a, b, a]) {
      expect(host.run().code).toBe(0);
      expect(host.lastPush()).toEqual({ '15m': 2.000003, daily: 2.000003, resynced: false, hosts: 2 });
    }

    // fleet.json deleted: the session is unknown, the host resyncs at its absolute values.
    rmSync(a.fleetJson);
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 2.000003, daily: 2.000003, resynced: true, hosts: 2 });

    // checkpoint.json deleted: the whole log is read again and pushed again, at the same values.
    rmSync(a.checkpoint);
    const rebuilt = a.run();
    expect(rebuilt.code).toBe(0);
    expect(a.lastPush()['15m']).toBe(2.000003);
    expect(a.lastPush().daily).toBe(2.000003);
    expect(
      a
        .audit()
        .filter((r) => r.event === 'check')
        .at(-1)?.rebuilt,
    ).toBeDefined();
    // Both gone at once.
    rmSync(a.checkpoint);
    rmSync(a.fleetJson);
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 2.000003, daily: 2.000003, resynced: true, hosts: 2 });
    expect(dayParts(server, 'once')).toEqual(settled);

    // A crash after the push and before the checkpoint is saved: the next run reads the same new
    // lines again and pushes them again (the checkpoint from before the run is put back).
    copyFileSync(a.checkpoint, `${a.checkpoint}.before`);
    a.append(lineAt(Date.now() - 5000, 0.100007));
    expect(a.run().code).toBe(0);
    expect(a.lastPush()['15m']).toBe(2.10001);
    copyFileSync(`${a.checkpoint}.before`, a.checkpoint);
    const again = a.run();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('read 1 new line');
    expect(a.lastPush()).toEqual({ '15m': 2.10001, daily: 2.10001, resynced: false, hosts: 2 });
    expect(dayParts(server, 'once')).toEqual({ a: 1_850_008, b: 250_002 });

    // One push sent twice (a retry after a lost reply): the script applied twice, same payload.
    const me = JSON.parse(server.cli('HGET', 'cost-watchdog:{once}:hosts', 'a')) as {
      fp: string;
      settings: string;
    };
    const sec = Math.floor(Date.now() / 1000) - 3;
    const payload = JSON.stringify({
      p: 'cost-watchdog:{once}:',
      host: 'c',
      instance: 'retry-instance',
      session: 's1',
      full: true,
      new_session: 's1',
      fp: me.fp,
      settings: me.settings,
      secs: [[sec, 400_000]],
      days: [[utcDay(sec * 1000), 400_000]],
      today: utcDay(sec * 1000),
      windows: [
        ['15m', 900, 3_000_000, 5_000_000, -1],
        ['daily', 0, 20_000_000, 25_000_000, -1],
      ],
      roll_ttl: 1800,
      silent_ms: 300_000,
      drop_ms: 172_800_000,
      day_ttl: 259_200,
      new_id: 'e1',
      mode: 'check',
      version: 'test',
    });
    const first = JSON.parse(server.cli('EVAL', PUSH_SCRIPT, '0', payload)) as { windows: unknown[] };
    const second = JSON.parse(server.cli('EVAL', PUSH_SCRIPT, '0', payload)) as { windows: unknown[] };
    expect(first.windows).toEqual([
      ['15m', '2500010', 0],
      ['daily', '2500010', 0],
    ]);
    expect(second.windows).toEqual(first.windows);
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 2.50001, daily: 2.50001, resynced: false, hosts: 3 });
    expect(dayParts(server, 'once')).toEqual({ a: 1_850_008, b: 250_002, c: 400_000 });
    expect(minuteTotal(server, 'once')).toBe(2_500_010);
  }, 120_000);

  it('six hosts pushing at once: exact sums, each rise of the fleet level said by one host', async () => {
    const server = await RedisServer.start();
    const hosts = [0, 1, 2, 3, 4, 5].map((i) => fleetHost(server, { fleet: 'many', host: `h${i}` }));
    const now = Date.now();
    for (const [i, h] of hosts.entries()) h.append(lineAt(now - 30_000, 0.100001 * (i + 1)));
    const first = await Promise.all(hosts.map((h) => h.runAsync()));
    expect(first.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Math.max(...hosts.map((h) => h.lastPush()['15m']))).toBe(2.100021);
    // Each host $0.5 more, at once: the fleet goes from $2.100021 to $5.100021 (emergency $5).
    for (const h of hosts) h.append(lineAt(Date.now() - 5000, 0.5));
    expect((await Promise.all(hosts.map((h) => h.runAsync()))).map((r) => r.code)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
    expect(Math.max(...hosts.map((h) => h.lastPush()['15m']))).toBe(5.100021);
    for (const h of hosts) expect(h.run().code).toBe(0);
    for (const h of hosts) expect(h.lastPush()).toMatchObject({ '15m': 5.100021, daily: 5.100021, hosts: 6 });
    expect(minuteTotal(server, 'many')).toBe(5_100_021);
    // Each change of the fleet's level is in exactly one host's decision.
    const said = hosts.flatMap((h) =>
      h
        .audit()
        .filter((r) => r.event === 'decision')
        .flatMap((r) => (r.events as string[]).filter((e) => e.includes(':fleet 15m:'))),
    );
    expect(new Set(said).size).toBe(said.length);
    expect(said.filter((e) => e.endsWith(':emergency'))).toHaveLength(1);
    // One fleet emergency, the same on every host, each with its flag.
    const ids = hosts.map((h) => (readJson(h.fleetJson).emergency as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
    for (const h of hosts) expect(existsSync(flagFile(h.ws))).toBe(true);
  }, 120_000);

  it('Redis stopped between runs: local limits act, exit 0, lost and back said once each', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, {
      fleet: 'stop',
      host: 'a',
      localLimits: '  15m: { warn: 1, emergency: 2 }\n  daily: { warn: 100, emergency: 200 }\n',
    });
    const b = fleetHost(server, { fleet: 'stop', host: 'b', fleetExtra: ['on_lost: emergency'] });
    const now = Date.now();
    a.append(lineAt(now - 20_000, 0.75));
    b.append(lineAt(now - 20_000, 0.125));
    expect(a.run().code).toBe(0);
    expect(b.run().code).toBe(0);
    expect(b.lastPush()['15m']).toBe(0.875);

    await server.stop();
    // a: a local emergency while the fleet is away: the local flag, exit 0, the loss said once.
    a.append(lineAt(Date.now() - 5000, 1.5));
    const blind = a.run();
    expect(blind.code).toBe(0);
    expect(count(blind.stderr, LOST)).toBe(1);
    expect(blind.stderr).toContain('cannot reach Redis');
    expect(blind.stderr).toContain("only this host's own limits apply until it is back");
    expect(blind.stdout).toMatch(/15m\s+\$2\.25\s+EMERGENCY/);
    expect(existsSync(flagFile(a.ws))).toBe(true);
    const still = a.run();
    expect(still.code).toBe(0);
    expect(count(still.stderr, LOST)).toBe(0);
    expect(readJson(a.fleetJson).lost).toMatchObject({ kind: 'lost' });
    const decision = a
      .audit()
      .filter((r) => r.event === 'decision')
      .at(-1) as { fleet: { lost: string } };
    expect(decision.fleet.lost).toMatch(/^cannot reach Redis: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(a.audit().filter((r) => r.event === 'fleet' && String(r.text).includes(LOST))).toHaveLength(1);

    // b: on_lost: emergency: the local flag is written while blind, at $0.125 of local spend.
    const bBlind = b.run();
    expect(bBlind.code).toBe(0);
    expect(count(bBlind.stderr, LOST)).toBe(1);
    expect(bBlind.stderr).toContain('fleet.on_lost is emergency');
    expect(existsSync(flagFile(b.ws))).toBe(true);
    expect(readFileSync(flagFile(b.ws), 'utf8')).toContain('cannot be seen');
    expect(count(b.run().stderr, LOST)).toBe(0);

    // Back (empty): said once, and the totals are whole again after each host's next run.
    await server.startAgain();
    const backA = a.run();
    expect(backA.code).toBe(0);
    expect(count(backA.stderr, BACK)).toBe(1);
    expect(a.lastPush()).toEqual({ '15m': 2.25, daily: 2.25, resynced: true, hosts: 1 });
    expect(count(a.run().stderr, BACK)).toBe(0);
    const backB = b.run();
    expect(count(backB.stderr, BACK)).toBe(1);
    expect(b.lastPush()['15m']).toBe(2.375);
    expect(count(b.run().stderr, BACK)).toBe(0);
    expect(readJson(a.fleetJson).lost).toBeNull();
    // a's flag is its own window's (still at emergency): it stays.
    expect(existsSync(flagFile(a.ws))).toBe(true);
  }, 120_000);

  it('Redis restarted empty: totals whole after one check per host; a fleet emergency put back', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'empty', host: 'a' });
    const b = fleetHost(server, { fleet: 'empty', host: 'b' });
    const now = Date.now();
    a.append(lineAt(now - 40_000, 1.250003));
    b.append(lineAt(now - 30_000, 0.75));
    a.run();
    b.run();
    expect(b.lastPush()['15m']).toBe(2.000003);

    await server.restartEmpty();
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 1.250003, daily: 1.250003, resynced: true, hosts: 1 });
    expect(b.run().code).toBe(0);
    expect(b.lastPush()).toEqual({ '15m': 2.000003, daily: 2.000003, resynced: true, hosts: 2 });
    expect(dayParts(server, 'empty')).toEqual({ a: 1_250_003, b: 750_000 });

    // A fleet emergency ($5 over 15m): b's spend takes the fleet to $5.000003.
    b.append(lineAt(Date.now() - 5000, 3));
    const made = b.run();
    expect(made.code).toBe(0);
    expect(b.lastPush()['15m']).toBe(5.000003);
    expect(alertsIn(made.stderr).join('\n')).toContain('fleet 15m');
    expect(existsSync(flagFile(b.ws))).toBe(true);
    expect(a.run().code).toBe(0);
    expect(existsSync(flagFile(a.ws))).toBe(true);
    const held = readJson(a.fleetJson).emergency as { id: string; spend: number; by: string };
    expect(held).toMatchObject({ spend: 5_000_003, by: 'b', level: 'emergency', window: '15m' });

    // Redis empty again: a pushes its $1.250003 (below the limit), and puts the emergency back.
    await server.restartEmpty();
    const restored = a.run();
    expect(restored.code).toBe(0);
    expect(a.lastPush()['15m']).toBe(1.250003);
    expect(count(restored.stderr, 'was missing from Redis: put back from host a')).toBe(1);
    expect(JSON.parse(server.cli('GET', 'cost-watchdog:{empty}:emergency'))).toMatchObject({ id: held.id });
    expect(existsSync(flagFile(a.ws))).toBe(true);
    expect(count(a.run().stderr, 'was missing from Redis')).toBe(0);
    // b (its session lost too) resyncs and honours the same emergency.
    expect(b.run().code).toBe(0);
    expect(b.lastPush()['15m']).toBe(5.000003);
    expect((readJson(b.fleetJson).emergency as { id: string }).id).toBe(held.id);
  }, 120_000);

  it('a cleared fleet emergency is not put back; each host removes its flag once', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'cleared', host: 'a' });
    const b = fleetHost(server, { fleet: 'cleared', host: 'b' });
    a.append(lineAt(Date.now() - 20_000, 2.5));
    b.append(lineAt(Date.now() - 10_000, 2.5));
    a.run();
    b.run();
    a.run();
    expect(a.lastPush()['15m']).toBe(5);
    expect(existsSync(flagFile(a.ws)) && existsSync(flagFile(b.ws))).toBe(true);
    const id = (readJson(a.fleetJson).emergency as { id: string }).id;
    // clear-emergency --fleet, forced (the spend is still at emergency): the clear script itself.
    const { CLEAR_SCRIPT } = await import('../../src/fleet/scripts.js');
    const clear = JSON.stringify({
      p: 'cost-watchdog:{cleared}:',
      by: 'ops',
      host: 'b',
      reason: 'test',
      forced: true,
      ack: { '15m': 2 },
    });
    expect(JSON.parse(server.cli('EVAL', CLEAR_SCRIPT, '0', clear))).toMatchObject({ cleared: { id } });
    const r = a.run();
    expect(r.code).toBe(0);
    expect(existsSync(flagFile(a.ws))).toBe(false);
    expect(readJson(a.fleetJson).emergency).toBeNull();
    expect(server.cli('EXISTS', 'cost-watchdog:{cleared}:emergency')).toBe('0');
    expect(a.audit().filter((x) => x.event === 'flag_cleared')).toHaveLength(1);
    expect(a.run().code).toBe(0);
    expect(a.audit().filter((x) => x.event === 'flag_cleared')).toHaveLength(1);
  }, 120_000);

  it('Redis frozen (SIGSTOP): run returns within fleet.timeout and says the view was lost', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'slow', host: 'a', fleetExtra: ['timeout: 300ms'] });
    a.append(lineAt(Date.now() - 5000, 0.5));
    expect(a.run().code).toBe(0);
    server.freeze();
    try {
      a.append(lineAt(Date.now() - 4000, 0.25));
      const started = Date.now();
      const r = a.run();
      const took = Date.now() - started;
      expect(r.code).toBe(0);
      expect(took).toBeLessThan(10_000);
      expect(count(r.stderr, LOST)).toBe(1);
      expect(r.stderr).toContain('Redis did not answer within 300 ms');
      expect(r.stdout).toMatch(/15m\s+\$0\.75\s+ok/);
    } finally {
      server.thaw();
    }
    const back = a.run();
    expect(count(back.stderr, BACK)).toBe(1);
    expect(a.lastPush()['15m']).toBe(0.75);
  }, 60_000);

  it('wrong password, TLS, a URL that is not redis://, no URL', async () => {
    const server = await RedisServer.start({ password: 's3cret-pw' });
    const a = fleetHost(server, { fleet: 'auth', host: 'a' });
    a.append(lineAt(Date.now() - 5000, 0.5));
    const wrong = `redis://:other-pw-77@127.0.0.1:${server.port}`;
    const r = a.run({ COST_WATCHDOG_REDIS_URL: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Redis refused the credentials (WRONGPASS/NOAUTH)');
    expect(r.stderr).toContain(`Redis at redis://127.0.0.1:${server.port}`);
    expect(r.stderr).not.toContain('at Object.');
    const r2 = a.run({ COST_WATCHDOG_REDIS_URL: wrong });
    expect(r2.code).toBe(1);
    const right = a.run();
    expect(right.code).toBe(0);
    expect(a.lastPush()['15m']).toBe(0.5);
    const stateFiles = readdirSync(a.ws.stateDir).map((f) =>
      readFileSync(path.join(a.ws.stateDir, f), 'utf8'),
    );
    expect(readdirSync(a.ws.stateDir)).toEqual(expect.arrayContaining(['audit.jsonl', 'fleet.json']));
    for (const text of [
      r.stdout,
      r.stderr,
      r2.stdout,
      r2.stderr,
      right.stdout,
      right.stderr,
      ...stateFiles,
    ]) {
      expect(text).not.toContain('other-pw-77');
      expect(text).not.toContain('s3cret-pw');
    }

    // rediss:// against a TLS server whose certificate is not trusted: refused, exit 1, a TLS reason.
    const tls = await selfSignedTlsServer();
    const t = await a.runAsync({ COST_WATCHDOG_REDIS_URL: `rediss://127.0.0.1:${tls.port}` });
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/TLS to Redis failed: .*(self[- ]signed|DEPTH_ZERO_SELF_SIGNED_CERT)/i);

    // rediss:// against the plain server: it never answers a TLS hello, so the view is lost.
    const tlsHost = fleetHost(server, { fleet: 'auth', host: 't', fleetExtra: ['timeout: 1s'] });
    tlsHost.append(lineAt(Date.now() - 5000, 0.25));
    const plain = tlsHost.run({ COST_WATCHDOG_REDIS_URL: `rediss://:s3cret-pw@127.0.0.1:${server.port}` });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain(LOST);
    expect(plain.stderr).toContain(
      'no TLS handshake (if the server at this port does not speak TLS, use redis:// rather than rediss://)',
    );
    expect(plain.stderr).not.toContain('s3cret-pw');

    const http = a.run({ COST_WATCHDOG_REDIS_URL: `http://127.0.0.1:${server.port}` });
    expect(http.code).toBe(78);
    expect(http.stderr).toContain(
      '$COST_WATCHDOG_REDIS_URL holds a http: URL, expected redis:// or rediss://',
    );
    const none = a.run({});
    expect(none.code).toBe(78);
    expect(none.stderr).toContain(
      '$COST_WATCHDOG_REDIS_URL is not set and fleet.redis_url_file is not given',
    );
  }, 60_000);

  it('a Redis that refuses the scripts: an ACL user without EVAL, a read-only replica', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'acl', host: 'a' });
    a.append(lineAt(Date.now() - 5000, 0.5));
    server.cli('ACL', 'SETUSER', 'bot', 'on', '>bot-pw-1', '~*', '&*', '+@all', '-eval', '-evalsha');
    const noperm = a.run({ COST_WATCHDOG_REDIS_URL: `redis://bot:bot-pw-1@127.0.0.1:${server.port}` });
    expect(noperm.code).toBe(1);
    expect(noperm.stderr).toContain('Redis refused a command to this user (NOPERM)');
    expect(noperm.stderr).toContain(`Redis at redis://bot@127.0.0.1:${server.port}`);
    expect(noperm.stderr).not.toContain('bot-pw-1');
    // A replica (of a master that is not there) refuses the writes of the push.
    server.cli('REPLICAOF', '127.0.0.1', String(await freePort()));
    const replica = a.run();
    expect(replica.code).toBe(1);
    expect(replica.stderr).toContain('Redis answered with an error: READONLY');
    expect(existsSync(flagFile(a.ws))).toBe(false);
    server.cli('REPLICAOF', 'NO', 'ONE');
    const back = a.run();
    expect(back.code).toBe(0);
    expect(count(back.stderr, BACK)).toBe(1);
    expect(a.lastPush()).toEqual({ '15m': 0.5, daily: 0.5, resynced: true, hosts: 1 });
  }, 60_000);

  it('other settings, or a second watchdog as the same host, are refused naming the other host', async () => {
    const server = await RedisServer.start();
    const a = fleetHost(server, { fleet: 'set', host: 'a' });
    a.append(lineAt(Date.now() - 5000, 0.5));
    expect(a.run().code).toBe(0);

    const berlin = fleetHost(server, { fleet: 'set', host: 'b', timezone: 'Europe/Berlin' });
    const tz = berlin.run();
    expect(tz.code).toBe(1);
    expect(tz.stderr).toContain('host a (seen');
    expect(tz.stderr).toContain(
      'has other fleet settings: timezone UTC; 15m warn 3 emergency 5; daily warn 20 emergency 25; ' +
        'this host has: timezone Europe/Berlin; 15m warn 3 emergency 5; daily warn 20 emergency 25',
    );
    const limits = fleetHost(server, {
      fleet: 'set',
      host: 'c',
      fleetLimits: '    15m: { warn: 3, emergency: 6 }\n    daily: { warn: 20, emergency: 25 }\n',
    });
    const lim = limits.run();
    expect(lim.code).toBe(1);
    expect(lim.stderr).toContain(
      'this host has: timezone UTC; 15m warn 3 emergency 6; daily warn 20 emergency 25',
    );
    expect(lim.stderr).toContain('host a (seen');

    const twin = fleetHost(server, { fleet: 'set', host: 'a' });
    twin.append(lineAt(Date.now() - 5000, 9));
    const t = twin.run();
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('another watchdog pushes as host a');
    expect(t.stderr).toContain('give each host its own fleet.host');
    // None of them added anything.
    expect(a.run().code).toBe(0);
    expect(a.lastPush()).toEqual({ '15m': 0.5, daily: 0.5, resynced: false, hosts: 1 });
    expect(dayParts(server, 'set')).toEqual({ a: 500_000 });
  }, 60_000);

  it('one host set up otherwise cannot keep the others out: most hosts settle the settings', async () => {
    const server = await RedisServer.start();
    // The first to push (after Redis started empty) has a kill limit of its own.
    const odd = fleetHost(server, {
      fleet: 'most',
      host: 'odd',
      fleetLimits: '    15m: { warn: 3, emergency: 5, kill: 7 }\n    daily: { warn: 20, emergency: 25 }\n',
    });
    odd.append(lineAt(Date.now() - 5000, 0.25));
    expect(odd.run().code).toBe(0);
    const good = ['g1', 'g2', 'g3'].map((host) => fleetHost(server, { fleet: 'most', host }));
    for (const g of good) g.append(lineAt(Date.now() - 5000, 0.5));
    // One against one, the settings in force win the tie: g1 is refused (and still counted as seen).
    const first = good[0]!.run();
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('host odd (seen');
    // Two against one: g2 is accepted, and says once that a host is refused.
    const second = good[1]!.run();
    expect(second.code).toBe(0);
    expect(count(second.stderr, 'host g1 is REFUSED: it has other fleet settings')).toBe(1);
    expect(good[2]!.run().code).toBe(0);
    expect(good[0]!.run().code).toBe(0);
    // The odd one is refused now, said once by the next host to push (what it pushed before stays).
    const late = odd.run();
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('has other fleet settings');
    const noticed = good[1]!.run();
    expect(count(noticed.stderr, 'host odd is REFUSED')).toBe(1);
    expect(count(good[2]!.run().stderr, 'host odd is REFUSED')).toBe(0);
    expect(good[1]!.lastPush()).toMatchObject({ '15m': 1.75, hosts: 4 });
    // Refused, the odd host still honours the fleet emergency: its flag is written too.
    good[0]!.append(lineAt(Date.now() - 4000, 4));
    expect(good[0]!.run().code).toBe(0);
    expect(existsSync(flagFile(good[0]!.ws))).toBe(true);
    expect(existsSync(flagFile(odd.ws))).toBe(false);
    const refused = odd.run();
    expect(refused.code).toBe(1);
    expect(existsSync(flagFile(odd.ws))).toBe(true);
  }, 60_000);

  it('clock skew of ±2 minutes: the fleet window counts both; a host behind leaves it early', async () => {
    const server = await RedisServer.start();
    const ahead = fleetHost(server, { fleet: 'skew', host: 'ahead' });
    const behind = fleetHost(server, { fleet: 'skew', host: 'behind' });
    const now = Date.now();
    // The host 2 min ahead dates its lines 2 min in the future; the host behind, 2 min in the past.
    ahead.append(lineAt(now + 120_000, 1.000001));
    behind.append(lineAt(now - 120_000, 0.500002));
    // Behind by 2 min, a call made 14 min ago is dated 16 min ago: out of the fleet's 15m already.
    behind.append(lineAt(now - 16 * 60_000, 0.25));
    expect(ahead.run().code).toBe(0);
    expect(behind.run().code).toBe(0);
    expect(behind.lastPush()).toEqual({ '15m': 1.500003, daily: 1.750003, resynced: true, hosts: 2 });
    // 2 min ahead is within the local 5 min of tolerance: counted now, not held as a future line.
    const check = ahead.audit().find((r) => r.event === 'check') as Record<string, unknown>;
    expect([check.new_lines, check.future_lines]).toEqual([1, undefined]);
    expect(ahead.run().code).toBe(0);
    expect(ahead.lastPush()['15m']).toBe(1.500003);
    expect(dayParts(server, 'skew')).toEqual({ ahead: 1_000_001, behind: 750_002 });
  }, 60_000);

  it(LIBFAKETIME === null
    ? 'clock skew of ±2 minutes under a real skewed clock: NOT EXERCISED (libfaketime not installed)'
    : 'clock skew of ±2 minutes under a real skewed clock (libfaketime): exact fleet figures', async () => {
    if (LIBFAKETIME === null) {
      // Debian's faketime (.ci/run installs it); the skew is still tested by the lines' dates above.
      expect(existsSync('/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1')).toBe(false);
      return;
    }
    const server = await RedisServer.start();
    const ahead = fleetHost(server, { fleet: 'faked', host: 'ahead' });
    const behind = fleetHost(server, { fleet: 'faked', host: 'behind' });
    const now = Date.now();
    // Each app dates its lines by its own host's clock, as the watchdog beside it reads them.
    // ahead (+2 min): a call just made, and one its clock dates 16 min ago (14 min in truth).
    ahead.append(lineAt(now + 120_000 - 1000, 1.000001) + lineAt(now + 120_000 - 16 * 60_000, 0.25));
    // behind (-2 min): a call just made, and one its clock dates 14.5 min ago (16.5 in truth).
    behind.append(lineAt(now - 120_000 - 1000, 0.500002) + lineAt(now - 120_000 - 870_000, 0.125));
    const a = ahead.run(skewedEnv(server.url, '+2m'));
    const b = behind.run(skewedEnv(server.url, '-2m'));
    expect([a.code, b.code]).toEqual([0, 0]);
    // Each host's own 15m is by its own clock: ahead leaves out the call it dates 16 min ago,
    // behind counts the one it dates 14.5 min ago. Nothing is "in the future" for either.
    const own = (h: typeof ahead) =>
      h.audit().find((r) => r.event === 'check') as {
        windows: Record<string, { spend_usd: number }>;
        future_lines?: number;
      };
    expect(own(ahead).windows['15m']!.spend_usd).toBe(1.000001);
    expect(own(ahead).windows.daily!.spend_usd).toBe(1.250001);
    expect(own(behind).windows['15m']!.spend_usd).toBe(0.625002);
    for (const h of [ahead, behind]) expect(own(h).future_lines).toBeUndefined();
    // The fleet's 15m is by Redis's clock: ahead's call of 14 min ago counts, behind's of 16.5
    // min ago does not (a host behind by d leaves the window d early; one ahead, d late).
    expect(behind.lastPush()).toEqual({ '15m': 1.750003, daily: 1.875003, resynced: true, hosts: 2 });
    expect(ahead.run(skewedEnv(server.url, '+2m')).code).toBe(0);
    expect(ahead.lastPush()['15m']).toBe(1.750003);
    expect(dayParts(server, 'faked')).toEqual({ ahead: 1_250_001, behind: 625_002 });
  }, 60_000);

  it('a host silent past silent_after is said once by another host, and "pushes again" once', async () => {
    const server = await RedisServer.start();
    const extra = ['silent_after: 2s'];
    const a = fleetHost(server, { fleet: 'quiet', host: 'a', fleetExtra: extra });
    const b = fleetHost(server, { fleet: 'quiet', host: 'b', fleetExtra: extra });
    a.append(lineAt(Date.now() - 5000, 0.5));
    b.append(lineAt(Date.now() - 5000, 0.25));
    a.run();
    b.run();
    const SILENT = 'host a has not pushed for';
    let said = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = b.run();
      expect(r.code).toBe(0);
      if (r.stderr.includes(SILENT)) {
        said = r.stderr;
        break;
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(count(said, SILENT)).toBe(1);
    expect(said).toContain('what it pushed still counts');
    expect(b.lastPush()['15m']).toBe(0.75);
    const next = b.run();
    expect(count(next.stderr, SILENT)).toBe(0);
    const back = a.run();
    expect(count(back.stderr, 'host a pushes again')).toBe(1);
    expect(count(a.run().stderr, 'host a pushes again')).toBe(0);
    const total = [...b.audit(), ...a.audit()].filter((r) => r.event === 'fleet');
    expect(total.filter((r) => String(r.text).includes(SILENT))).toHaveLength(1);
    expect(total.filter((r) => String(r.text).includes('pushes again'))).toHaveLength(1);
  }, 60_000);
});

/** A TLS server on 127.0.0.1 with a fresh self-signed certificate (openssl), closed at the end. */
async function selfSignedTlsServer(): Promise<{ port: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-tls-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (s) => s.end());
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port };
}
