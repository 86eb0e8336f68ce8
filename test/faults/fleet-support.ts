// Helpers for the fleet fault rows: a host is a temp folder with its own watchdog.yaml, log and
// state folder, checked by the real CLI (`cost-watchdog run`, as a timer would) with the fleet's
// URL in $COST_WATCHDOG_REDIS_URL; what the fleet holds is read back from the host's audit log
// (`fleet_push`: the windows as Redis summed them) and from the real redis-server (redis-cli).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CliResult, audit, cli, cliAsync, workspace, type Workspace } from '../e2e/helpers.js';
import type { RedisServer } from '../e2e/redis-server.js';

export interface HostOptions {
  fleet: string;
  host: string;
  /** The host's config timezone (default UTC). */
  timezone?: string;
  /** The fleet.limits block, two-space indented under `limits:` (default 15m 3/5, daily 20/25). */
  fleetLimits?: string;
  /** The local limits block (default far above the fleet's). */
  localLimits?: string;
  /** More keys of the fleet section, one per line (`on_lost: emergency`). */
  fleetExtra?: string[];
}

export const FLEET_LIMITS = '    15m: { warn: 3, emergency: 5 }\n    daily: { warn: 20, emergency: 25 }\n';
const LOCAL_LIMITS = '  15m: { warn: 100, emergency: 200 }\n  daily: { warn: 400, emergency: 500 }\n';

export interface Host {
  name: string;
  ws: Workspace;
  url: string;
  /** `run` with the fleet's URL (or another one) in the environment. */
  run(env?: Record<string, string>): CliResult;
  runAsync(env?: Record<string, string>): Promise<CliResult>;
  append(text: string): void;
  /** The fleet's windows (USD) as the host's last push saw them: {15m, daily}. */
  lastPush(): { '15m': number; daily: number; resynced: boolean; hosts: number };
  fleetJson: string;
  checkpoint: string;
  audit(): Record<string, unknown>[];
}

export function fleetHost(server: { url: string }, options: HostOptions): Host {
  const ws = workspace(
    `log: state/cost_log.jsonl\ntimezone: ${options.timezone ?? 'UTC'}\n` +
      `limits:\n${options.localLimits ?? LOCAL_LIMITS}` +
      `fleet:\n  name: ${options.fleet}\n  host: ${options.host}\n` +
      `  limits:\n${options.fleetLimits ?? FLEET_LIMITS}` +
      // A bound that a loaded CI machine cannot reach by CPU starvation alone (the default 1s can:
      // six CLIs started at once on two cores), unless the row is about the bound.
      [
        ...(options.fleetExtra ?? []),
        ...((options.fleetExtra ?? []).some((l) => l.startsWith('timeout:')) ? [] : ['timeout: 10s']),
      ]
        .map((l) => `  ${l}\n`)
        .join(''),
  );
  const envOf = (env?: Record<string, string>) => env ?? { COST_WATCHDOG_REDIS_URL: server.url };
  return {
    name: options.host,
    ws,
    url: server.url,
    run: (env) => cli(['run', '-c', ws.config], { cwd: ws.dir, env: envOf(env) }),
    runAsync: (env) => cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: envOf(env) }),
    append: (text) => ws.append(text),
    lastPush: () => {
      const push = audit(ws)
        .filter((r) => r.event === 'fleet_push')
        .at(-1) as
        | { windows: Record<string, { spend_usd: number }>; resynced?: boolean; hosts: number }
        | undefined;
      if (push === undefined) throw new Error(`host ${options.host} has not pushed`);
      return {
        '15m': push.windows['15m']!.spend_usd,
        daily: push.windows.daily!.spend_usd,
        resynced: push.resynced === true,
        hosts: push.hosts,
      };
    },
    fleetJson: path.join(ws.stateDir, 'fleet.json'),
    checkpoint: path.join(ws.stateDir, 'checkpoint.json'),
    audit: () => (existsSync(path.join(ws.stateDir, 'audit.jsonl')) ? audit(ws) : []),
  };
}

/** The UTC date of `ms`, as the fleet's day keys name it (the hosts here use timezone UTC). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Each host's µ$ on today's date (UTC), as Redis holds them. */
export function dayParts(server: RedisServer, fleet: string, nowMs = Date.now()): Record<string, number> {
  const out = server.cli('HGETALL', `cost-watchdog:{${fleet}}:d:${utcDay(nowMs)}`);
  const words = out === '' ? [] : out.split('\n');
  const parts: Record<string, number> = {};
  for (let i = 0; i + 1 < words.length; i += 2) parts[words[i]!] = Number(words[i + 1]);
  return parts;
}

/** The fleet's µ$ over every minute hash it holds (each second once, whatever its host). */
export function minuteTotal(server: RedisServer, fleet: string): number {
  const keys = server.cli('--scan', '--pattern', `cost-watchdog:{${fleet}}:m:*`);
  let total = 0;
  for (const key of keys === '' ? [] : keys.split('\n')) total += Number(server.cli('HGET', key, 't'));
  return total;
}

/** Lines of a "FLEET VIEW LOST" (or any) notice in a command's stderr. */
export function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * Wait (polling) until now is not within 20 minutes of a UTC midnight, so that "today" holds still
 * for lines dated up to 17 minutes back or 2 minutes ahead.
 */
export async function clearOfMidnight(): Promise<void> {
  for (;;) {
    const intoDay = Date.now() % 86_400_000;
    if (intoDay > 1_200_000 && intoDay < 86_400_000 - 1_200_000) return;
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/** The fingerprint the push script compares (exchange.ts: sha256 of settingsText, 16 hex). */
export function fingerprintOf(settings: string): string {
  return createHash('sha256').update(settings).digest('hex').slice(0, 16);
}

/** libfaketime (Debian's faketime package), or null where it is not installed. */
export const LIBFAKETIME = (() => {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']) {
    const lib = path.join(dir, 'faketime', 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  return null;
})();

/** The environment of a host whose clock is `offset` off ("+2m", "-2m"), with the fleet's URL. */
export function skewedEnv(url: string, offset: string): Record<string, string> {
  return { COST_WATCHDOG_REDIS_URL: url, LD_PRELOAD: LIBFAKETIME as string, FAKETIME: offset };
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}
