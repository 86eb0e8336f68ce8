// The Redis client is loaded only when a config has `fleet:` (issue 14, item 7: "one-host figures
// unchanged when fleet is not configured: the client is not even loaded"). The proof: a copy of
// the built CLI (bin/, dist/) with every chunk holding node-redis's code deleted. A config without
// `fleet:` runs, shows its status, starts `watch` and validates on that copy as on the whole
// build; a config with `fleet:` fails on it (so the deleted chunks are the client, and nothing
// else needed them). The chunks are found by their content, not their names (those carry hashes).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  audit,
  ccLine,
  DEFAULT_LIMITS,
  flagFile,
  readJsonFile,
  type Workspace,
  workspace,
} from './helpers.js';
import { waitFor } from './procs.js';
import { REDIS_SERVER, RedisServer } from './redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** esbuild keeps each bundled CommonJS module's path: node-redis's code is under this one. */
const CLIENT_MARK = 'node_modules/@redis/client/';

interface Copy {
  bin: string;
  deleted: string[];
}

/** bin/ and dist/ (and package.json) in a temp folder, without the chunks that hold the client. */
function copyWithoutClient(): Copy {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-lazy-'));
  cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  // The one dependency left out of the bundle (the price table) is found as in an install.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const deleted: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.js') && readFileSync(file, 'utf8').includes(CLIENT_MARK)) {
        rmSync(file);
        deleted.push(path.relative(dir, file));
      }
    }
  };
  walk(path.join(dir, 'dist'));
  return { bin: path.join(dir, 'bin', 'cost-watchdog.js'), deleted };
}

const ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' };

function on(copy: Copy, ws: Workspace, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [copy.bin, ...args, '-c', ws.config], {
    cwd: ws.dir,
    env: { ...ENV, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FLEET = `fleet:
  name: lazy
  host: lazy-1
  limits:
    15m: { warn: 100, emergency: 200 }
`;

let copy: Copy;
beforeAll(() => {
  copy = copyWithoutClient();
  return () => rmSync(path.dirname(path.dirname(copy.bin)), { recursive: true, force: true });
});

describe('the Redis client is not loaded without fleet:', () => {
  it('the build puts node-redis in chunks of its own, which the copy lacks', () => {
    expect(copy.deleted.length).toBeGreaterThan(0);
    // The main bundle does not hold the client: it is only in chunks loaded on demand.
    expect(copy.deleted.every((file) => file.startsWith(path.join('dist', 'chunks')))).toBe(true);
    for (const file of copy.deleted) expect(existsSync(path.join(ROOT, file))).toBe(true);
  });

  it('run, status, validate and watch work on the copy for a config without fleet:', async () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}`);
    ws.append(ccLine(1.25) + ccLine(0.5));

    const run = on(copy, ws, ['run', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).windows['15m'].spend_usd).toBeCloseTo(1.75, 6);

    // A breach acts as on the whole build: the flag is written, without the client.
    ws.append(ccLine(4));
    const breach = on(copy, ws, ['run', '--json']);
    expect(breach.code).toBe(0);
    expect(JSON.parse(breach.stdout).windows['15m'].level).toBe('emergency');
    expect(existsSync(flagFile(ws))).toBe(true);

    const status = on(copy, ws, ['status', '--json']);
    expect(status.code).not.toBeNull();
    expect(JSON.parse(status.stdout).windows['15m'].spend_usd).toBeCloseTo(5.75, 6);
    expect(status.stderr).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND|internal error/);

    const validate = on(copy, ws, ['validate']);
    expect(validate.stderr).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND|internal error/);
    expect(validate.code).toBe(0);

    // watch: starts, makes its first check (the heartbeat), and stops cleanly on SIGTERM.
    const heartbeat = path.join(ws.stateDir, 'heartbeat.json');
    rmSync(heartbeat);
    const child = spawn(process.execPath, [copy.bin, 'watch', '-c', ws.config], { cwd: ws.dir, env: ENV });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor('watch to start on the copy', () => err.includes('watching ') || child.exitCode !== null);
      await waitFor('its first check', () => existsSync(heartbeat) || child.exitCode !== null);
      expect(child.exitCode).toBeNull();
      expect((readJsonFile(heartbeat) as { mode: string }).mode).toBe('watch');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND|internal error/);
    expect(audit(ws).some((r) => r.event === 'fleet_push')).toBe(false);
  });

  it('the same copy fails for a config with fleet: (the deleted chunks are the client)', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}${FLEET}`);
    ws.append(ccLine(1.25));
    // Nothing listens there: the whole build would say "fleet view lost" and exit 0.
    const r = on(copy, ws, ['run', '--json'], { COST_WATCHDOG_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    // Node names the missing chunk: one of those deleted.
    expect(copy.deleted.some((file) => r.stderr.includes(path.basename(file)))).toBe(true);
  });

  it.skipIf(REDIS_SERVER === null)(
    'the whole build runs the same fleet config and pushes to a real Redis',
    async () => {
      const redis = await RedisServer.start();
      const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}${FLEET}`);
      ws.append(ccLine(1.25));
      const whole: Copy = { bin: path.join(ROOT, 'bin', 'cost-watchdog.js'), deleted: [] };
      const full = on(whole, ws, ['run', '--json'], { COST_WATCHDOG_REDIS_URL: redis.url });
      expect(full.stderr).toBe('');
      expect(full.code).toBe(0);
      expect(JSON.parse(full.stdout).windows['15m'].spend_usd).toBeCloseTo(1.25, 6);
      const pushes = audit(ws).filter((e) => e.event === 'fleet_push');
      expect(pushes.length).toBe(1);
      expect(pushes[0]?.fleet).toBe('lazy');
      expect(redis.cli('HLEN', 'cost-watchdog:{lazy}:hosts')).toBe('1');

      // Every push moves the session on (a Redis from an older save then asks for a resync):
      // fleet.json holds the one Redis acknowledged last.
      const memory = path.join(ws.stateDir, 'fleet.json');
      const session = (): string => JSON.parse(readFileSync(memory, 'utf8')).session;
      const first = session();
      expect(JSON.parse(redis.cli('HGET', 'cost-watchdog:{lazy}:hosts', 'lazy-1')).session).toBe(first);
      ws.append(ccLine(0.5));
      const again = on(whole, ws, ['run', '--json'], { COST_WATCHDOG_REDIS_URL: redis.url });
      expect(again.code).toBe(0);
      const pushed = audit(ws).filter((e) => e.event === 'fleet_push');
      expect(pushed.length).toBe(2);
      expect(pushed[1]?.resynced).toBeUndefined();
      // The host's days in Redis hold both lines (1.75 $ in µ$), summed over the days' keys.
      const days = redis.cli('KEYS', 'cost-watchdog:{lazy}:d:*').split('\n');
      expect(days.reduce((sum, key) => sum + Number(redis.cli('HGET', key, 'lazy-1')), 0)).toBe(1_750_000);
      expect(session()).not.toBe(first);
      expect(JSON.parse(redis.cli('HGET', 'cost-watchdog:{lazy}:hosts', 'lazy-1')).session).toBe(session());
      // Redis restarted empty: the next push is a full one, and the total is right again.
      await redis.restartEmpty();
      const resync = on(whole, ws, ['run', '--json'], { COST_WATCHDOG_REDIS_URL: redis.url });
      expect(resync.code).toBe(0);
      expect(audit(ws).filter((e) => e.event === 'fleet_push')[2]?.resynced).toBe(true);
      const after = redis.cli('KEYS', 'cost-watchdog:{lazy}:d:*').split('\n');
      expect(after.reduce((sum, key) => sum + Number(redis.cli('HGET', key, 'lazy-1')), 0)).toBe(1_750_000);
    },
  );
});
