// The fleet end to end with `watch`: several watchdogs (real CLI processes, each with its own
// state folder) sharing one real redis-server. A fleet emergency made by one host reaches every
// `watch` host's flag through the fleet's pub/sub channel (their timed checks are hourly here, so
// nothing else could bring it), a `run` host learns it at its next run, a fleet kill kills every
// host's target, and `clear-emergency --fleet` on one host clears every host's flag, audited on
// each. Skipped (and said so) when redis-server is not installed: .ci/run installs it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Daemon, startWatch } from './daemon.js';
import { audit, type CliResult, ccLine, cli, flagFile, type Workspace, workspace } from './helpers.js';
import { alive, startTree, waitFor } from './procs.js';
import { REDIS_SERVER, RedisServer } from './redis-server.js';

if (REDIS_SERVER === null) console.warn('fleet-watch tests skipped: redis-server is not installed');

const FLEET = 'fleet-e2e';
/** Local limits far above the fleet's: whatever happens here is the fleet's doing. */
const LOCAL = 'limits:\n  15m: { warn: 50, emergency: 80, kill: 100 }\n';
const FLEET_LIMITS = '    15m: { warn: 2, emergency: 4, kill: 6 }\n';
const EMERGENCY_HEADLINE = 'ALERT EMERGENCY: fleet 15m spend';

interface Host {
  name: string;
  ws: Workspace;
  env: Record<string, string>;
  /** The CLI with this host's config and the fleet's Redis URL. */
  run(...args: string[]): CliResult;
}

function host(redis: RedisServer, name: string, options: { target?: boolean; fleet?: string } = {}): Host {
  const ws = workspace(
    `log: state/cost_log.jsonl\n${LOCAL}` +
      // Hourly: a `watch` host learns of the fleet's events from the channel, not from a timer.
      `watch:\n  schedule: "0 0 * * * *"\n` +
      (options.target === true ? 'target:\n  pid_file: state/app.pid\n  grace: 1s\n' : '') +
      `fleet:\n  name: ${options.fleet ?? FLEET}\n  host: ${name}\n  limits:\n${FLEET_LIMITS}`,
  );
  writeFileSync(ws.log, '');
  const env = { COST_WATCHDOG_REDIS_URL: redis.url };
  return {
    name,
    ws,
    env,
    run: (...args) => cli([...args, '-c', ws.config], { cwd: ws.dir, env }),
  };
}

function watch(h: Host): Promise<Daemon> {
  return startWatch(h.ws, h.env);
}

const hasFlag = (h: Host): boolean => existsSync(flagFile(h.ws));

function headlines(text: string, headline: string): number {
  return text.split('\n').filter((l) => l.includes(headline)).length;
}

/** The `flag_cleared` records a host's audit log holds. */
function clears(h: Host): Record<string, unknown>[] {
  return audit(h.ws).filter((e) => e.event === 'flag_cleared');
}

describe.skipIf(REDIS_SERVER === null)('fleet with watch: one emergency, every host', () => {
  it(
    "a breach in one host's log writes every watch host's flag; one alert for the fleet; a run " +
      'host at its next run',
    async () => {
      const redis = await RedisServer.start();
      const [a, b, c] = [host(redis, 'web-a'), host(redis, 'web-b'), host(redis, 'cron-c')];
      const da = await watch(a);
      const db = await watch(b);
      expect(da.stderr()).toContain(
        `fleet ${FLEET} as host web-a (Redis at redis://127.0.0.1:${redis.port})`,
      );
      // Each daemon's first check has pushed (it is a member of the fleet) before the breach.
      await waitFor('both daemons to check once', () => da.stdout() !== '' && db.stdout() !== '');
      expect(c.run('run').code).toBe(0);

      a.ws.append(ccLine(4.5)); // the fleet's 15m: $4.50 >= emergency $4
      await waitFor("web-a's flag", () => hasFlag(a));
      await waitFor("web-b's flag (through the fleet's channel)", () => hasFlag(b));
      const flagB = JSON.parse(readFileSync(flagFile(b.ws), 'utf8')) as Record<string, unknown>;
      expect(flagB).toMatchObject({ window: 'fleet', level: 'emergency', triggered_by: 'watch' });
      expect(String(flagB.reason)).toContain(`fleet ${FLEET}: 15m spend $4.50`);
      // The timer host learns of it at its next run, not before.
      expect(hasFlag(c)).toBe(false);
      const r = c.run('run');
      expect(r.code, r.stderr).toBe(0);
      expect(hasFlag(c)).toBe(true);

      // Each watch host's check that wrote the flag has ended (its line is printed after its alerts).
      await waitFor('both checks to end', () =>
        [da, db].every((d) => d.stdout().includes('emergency flag written')),
      );
      const said = [da.stderr(), db.stderr(), r.stderr].map((t) => headlines(t, EMERGENCY_HEADLINE));
      expect(
        said.reduce((x, y) => x + y, 0),
        `alerts per host: ${said.join(', ')}`,
      ).toBe(1);
      expect(said[0]).toBe(1); // the host whose push crossed the limit says it
      expect(da.stdout()).toMatch(/fleet 15m \$4\.50 emergency/);

      for (const d of [da, db]) d.child.kill('SIGTERM');
      expect(await da.exited).toBe(0);
      expect(await db.exited).toBe(0);
    },
  );

  it("a fleet kill kills every host's target: watch hosts at once, a run host at its next run", async () => {
    const redis = await RedisServer.start();
    const a = host(redis, 'web-a', { target: true });
    const b = host(redis, 'web-b', { target: true });
    const c = host(redis, 'cron-c', { target: true });
    const hosts = [a, b, c];
    const tree = (h: Host) => startTree(path.join(h.ws.dir, 'state', 'app.pid'));
    const [ta, tb, tc] = [await tree(a), await tree(b), await tree(c)];
    const daemons = [await watch(a), await watch(b)];
    await waitFor('both daemons to check once', () => daemons.every((d) => d.stdout() !== ''));

    a.ws.append(ccLine(6.5)); // the fleet's 15m: $6.50 >= kill $6
    for (const [h, t] of [
      [a, ta],
      [b, tb],
    ] as const)
      await waitFor(`${h.name}'s target to be killed`, () =>
        [t.pid, ...t.children].every((pid) => !alive(pid)),
      );
    expect(alive(tc.pid)).toBe(true);
    const r = c.run('run');
    expect(r.code, r.stderr).toBe(0);
    for (const pid of [tc.pid, ...tc.children]) expect(alive(pid), `pid ${pid}`).toBe(false);
    for (const h of hosts) {
      expect(hasFlag(h), h.name).toBe(true);
      expect(
        audit(h.ws).some((e) => e.event === 'kill'),
        h.name,
      ).toBe(true);
    }
    // The fleet's kill is announced by one host; each other host says it killed its own target
    // (a daemon's alerts go out beside its checks: waited for).
    const said = () => [daemons[0]!.stderr(), daemons[1]!.stderr(), r.stderr];
    const announced = () => said().filter((text) => text.includes('ALERT KILL: fleet 15m spend')).length;
    const own = () => said().filter((text) => text.includes("killed its target for the fleet's kill")).length;
    await waitFor('the hosts to say the kill', () => announced() + own() >= 3);
    expect([announced(), own()]).toEqual([1, 2]);
    for (const d of daemons) d.child.kill('SIGTERM');
    for (const d of daemons) expect(await d.exited).toBe(0);
  });

  it('clear-emergency --fleet on one host clears every host, audited on each, said once', async () => {
    const redis = await RedisServer.start();
    const [a, b, c] = [host(redis, 'web-a'), host(redis, 'web-b'), host(redis, 'cron-c')];
    const da = await watch(a);
    const db = await watch(b);
    await waitFor('both daemons to check once', () => da.stdout() !== '' && db.stdout() !== '');
    a.ws.append(ccLine(4.5));
    await waitFor('both flags', () => hasFlag(a) && hasFlag(b));
    expect(c.run('run').code).toBe(0);
    expect(hasFlag(c)).toBe(true);

    // Still over: refused without --force, nothing cleared anywhere.
    const refused = b.run('clear-emergency', '--fleet', '--reason', 'too early');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'refusing to clear the fleet emergency: spend is still at emergency or above: fleet 15m $4.50',
    );
    // A clear of this host only is refused while the fleet emergency holds its flag, --force or not.
    for (const force of [[], ['--force']]) {
      const local = b.run('clear-emergency', '--reason', 'just this host', ...force);
      expect(local.code).toBe(1);
      expect(local.stderr).toContain(`a fleet emergency holds this host's flag: fleet ${FLEET}`);
      expect(local.stderr).toContain('clear-emergency --fleet');
    }
    expect([a, b, c].every(hasFlag)).toBe(true);
    expect(audit(b.ws).filter((e) => e.event === 'clear_refused')).toHaveLength(3);

    const cleared = b.run('clear-emergency', '--fleet', '--force', '--reason', 'retry loop fixed', '--json');
    expect(cleared.code, cleared.stderr).toBe(0);
    const json = JSON.parse(cleared.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      removed: true,
      forced: true,
      fleet: { name: FLEET, host: 'web-b', cleared: { level: 'emergency', window: '15m', by_host: 'web-a' } },
    });
    expect(hasFlag(b)).toBe(false);
    expect(headlines(cleared.stderr, 'ALERT FLEET EMERGENCY CLEARED by')).toBe(1);
    expect(cleared.stderr).toContain('on host web-b: retry loop fixed');
    await waitFor("web-a's flag to go (through the fleet's channel)", () => !hasFlag(a));
    await waitFor("web-a's audit", () => clears(a).length > 0);
    // The timer host clears its flag at its next run.
    expect(hasFlag(c)).toBe(true);
    const r = c.run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(hasFlag(c)).toBe(false);
    expect(r.stderr).toContain('the fleet emergency was cleared by');

    for (const h of [a, b, c]) {
      const records = clears(h);
      expect(records, h.name).toHaveLength(1);
      expect(records[0], h.name).toMatchObject({
        via: 'clear-emergency --fleet',
        fleet: FLEET,
        reason: 'retry loop fixed',
        forced: true,
        removed: true,
      });
    }
    // The clearing host's next check neither clears it again nor puts it back into Redis.
    const again = b.run('run');
    expect(again.code, again.stderr).toBe(0);
    expect(hasFlag(b)).toBe(false);
    expect(clears(b)).toHaveLength(1);
    expect(redis.cli('EXISTS', `cost-watchdog:{${FLEET}}:emergency`)).toBe('0');
    // Said once: the other hosts note it on stderr, without an alert of their own.
    for (const text of [da.stderr(), r.stderr, again.stderr])
      expect(headlines(text, 'FLEET EMERGENCY CLEARED')).toBe(0);

    for (const d of [da, db]) d.child.kill('SIGTERM');
    expect(await da.exited).toBe(0);
    expect(await db.exited).toBe(0);
  });

  it('clear-emergency --fleet without --force once the fleet spend has dropped: no ack', async () => {
    const redis = await RedisServer.start();
    const [a, b] = [host(redis, 'web-a'), host(redis, 'web-b')];
    // Spend that leaves the fleet's 15m window a few seconds from now.
    const agoSec = 893;
    const leavesAt = Date.now() + (900 - agoSec + 2) * 1000;
    a.ws.append(ccLine(4.5, agoSec));
    expect(a.run('run').code).toBe(0);
    expect(b.run('run').code).toBe(0);
    expect(hasFlag(a) && hasFlag(b)).toBe(true);
    await waitFor('the spend to leave the 15m window', () => Date.now() > leavesAt, 30_000);

    const r = a.run('clear-emergency', '--fleet', '--reason', 'spend is back to normal', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: true, forced: false, fleet: { acknowledged: {} } });
    expect(redis.cli('HLEN', `cost-watchdog:{${FLEET}}:ack`)).toBe('0');
    expect(b.run('run').code).toBe(0);
    expect(hasFlag(b)).toBe(false);
    expect(clears(b)).toMatchObject([{ via: 'clear-emergency --fleet', forced: false }]);
  });

  it(
    'clear-emergency --fleet is refused, nothing cleared, when Redis cannot be reached or there ' +
      'is no fleet',
    async () => {
      const redis = await RedisServer.start();
      const a = host(redis, 'web-a');
      a.ws.append(ccLine(4.5));
      expect(a.run('run').code).toBe(0);
      expect(hasFlag(a)).toBe(true);
      await redis.stop();

      const r = a.run('clear-emergency', '--fleet', '--force', '--reason', 'redis is down');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot clear the emergency of fleet ${FLEET}: Redis at redis://127.0.0.1:`);
      expect(r.stderr).toContain('Nothing was cleared');
      expect(r.stderr).not.toContain('    at ');
      expect(hasFlag(a)).toBe(true);
      expect(audit(a.ws).filter((e) => e.event === 'clear_failed')).toHaveLength(1);
      // Nor this host alone: it remembers the fleet emergency while Redis is away.
      const local = a.run('clear-emergency', '--force', '--reason', 'redis is down');
      expect(local.code).toBe(1);
      expect(local.stderr).toContain('cannot be reached');
      expect(local.stderr).toContain('clear-emergency --fleet');
      expect(hasFlag(a)).toBe(true);
      expect(clears(a)).toHaveLength(0);

      const lone = workspace(`log: state/cost_log.jsonl\n${LOCAL}`);
      const none = lone.run('clear-emergency', '--fleet', '--reason', 'no fleet here');
      expect(none.code).toBe(64);
      expect(none.stderr).toContain(`--fleet: no fleet is configured in ${lone.config}`);
    },
  );

  it(
    'clear-emergency --fleet after Redis restarted empty: the other hosts clear, and none ' + 'puts it back',
    async () => {
      const redis = await RedisServer.start();
      const [a, b] = [host(redis, 'web-a'), host(redis, 'web-b')];
      a.ws.append(ccLine(4.5));
      expect(a.run('run').code).toBe(0);
      expect(b.run('run').code).toBe(0);
      expect(hasFlag(a) && hasFlag(b)).toBe(true);
      await redis.restartEmpty();

      const r = a.run('clear-emergency', '--fleet', '--reason', 'redis was restarted', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ removed: true, fleet: { cleared: { by_host: 'web-a' } } });
      // web-b still holds it in fleet.json: its next run clears its flag instead of restoring it.
      const rb = b.run('run');
      expect(rb.code, rb.stderr).toBe(0);
      expect(hasFlag(b)).toBe(false);
      expect(clears(b)).toMatchObject([{ via: 'clear-emergency --fleet', reason: 'redis was restarted' }]);
      expect(redis.cli('EXISTS', `cost-watchdog:{${FLEET}}:emergency`)).toBe('0');
    },
  );

  it('watch starts while Redis is down and hears the fleet once it is up', async () => {
    const redis = await RedisServer.start();
    const [a, b] = [host(redis, 'web-a'), host(redis, 'web-b')];
    await redis.stop();
    const db = await watch(b);
    await waitFor('the fleet view lost', () => db.stderr().includes('FLEET VIEW LOST'));
    await redis.startAgain();
    a.ws.append(ccLine(4.5));
    expect(a.run('run').code).toBe(0);
    expect(hasFlag(a)).toBe(true);
    // Only the subscription, back by itself, can bring it: web-b's timed checks are hourly.
    await waitFor("web-b's flag (through the fleet's channel)", () => hasFlag(b));
    db.child.kill('SIGTERM');
    expect(await db.exited).toBe(0);
  });

  it("SIGHUP follows the config's new fleet: its events reach the host", async () => {
    const redis = await RedisServer.start();
    const b = host(redis, 'web-b');
    const db = await watch(b);
    const other = 'fleet-two';
    writeFileSync(b.ws.config, readFileSync(b.ws.config, 'utf8').replace(`name: ${FLEET}`, `name: ${other}`));
    db.child.kill('SIGHUP');
    await waitFor('the reload', () => db.stderr().includes(`SIGHUP: now in fleet ${other} as host web-b`));
    const c = host(redis, 'web-c', { fleet: other });
    c.ws.append(ccLine(4.5));
    expect(c.run('run').code).toBe(0);
    await waitFor(`web-b's flag for ${other}`, () => hasFlag(b));
    expect(readFileSync(flagFile(b.ws), 'utf8')).toContain(`fleet ${other}`);
    db.child.kill('SIGTERM');
    expect(await db.exited).toBe(0);
  });
});
