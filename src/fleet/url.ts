// Where the fleet's Redis URL is: `fleet.redis_url_env` (default $COST_WATCHDOG_REDIS_URL), then
// `fleet.redis_url_file`, held like a key (effects/secret-file.ts). The URL may carry a password:
// it is never printed, logged or alerted; `shown` is what messages name instead.
import type { FleetConfig } from '../config/sections/fleet.js';
import { readSecretFile } from '../effects/secret-file.js';

export type RedisUrlSource =
  | { kind: 'url'; url: string; from: string; shown: string; password: string | null }
  | { kind: 'broken'; from: string; problem: string };

export function redisUrlSource(
  fleet: Pick<FleetConfig, 'urlEnv' | 'urlFile'>,
  env: NodeJS.ProcessEnv,
): RedisUrlSource {
  const fromEnv = env[fleet.urlEnv];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return checked(fromEnv.trim(), `$${fleet.urlEnv}`);
  if (fleet.urlFile === null)
    return {
      kind: 'broken',
      from: `$${fleet.urlEnv}`,
      problem:
        `no Redis URL: $${fleet.urlEnv} is not set and fleet.redis_url_file is not given (set one ` +
        'to redis://[:password@]host:6379[/db], or rediss:// for TLS)',
    };
  const read = readSecretFile(fleet.urlFile, process.geteuid?.(), {
    holds: 'the Redis URL',
    key: 'fleet.redis_url_file',
    risk: "use the fleet's Redis with its password: change the fleet's spend or clear its emergency",
  });
  if (!read.ok) return { kind: 'broken', from: fleet.urlFile, problem: read.problem };
  return checked(read.text.trim(), fleet.urlFile);
}

function checked(url: string, from: string): RedisUrlSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {
      kind: 'broken',
      from,
      problem: 'does not hold a URL (expected redis://[:password@]host:6379[/db], or rediss:// for TLS)',
    };
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return {
      kind: 'broken',
      from,
      problem:
        `holds a ${parsed.protocol.replace(/:$/, '')}: URL, expected redis:// or rediss:// (TLS)` +
        ' (Redis Cluster and Sentinel URLs are not supported)',
    };
  if (parsed.hostname === '') return { kind: 'broken', from, problem: 'holds a Redis URL without a host' };
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    return { kind: 'broken', from, problem: 'holds a Redis URL whose database is not a number' };
  const password = parsed.password === '' ? null : decodeURIComponent(parsed.password);
  return { kind: 'url', url, from, shown: shownUrl(parsed), password };
}

/** The URL as messages show it: scheme, user, host, port and database; never the password. */
export function shownUrl(parsed: URL): string {
  const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
  const port = parsed.port === '' ? ':6379' : `:${parsed.port}`;
  const db = parsed.pathname === '' || parsed.pathname === '/' ? '' : parsed.pathname;
  return `${parsed.protocol}//${user}${parsed.hostname}${port}${db}`;
}

/** A message with the password (and any URL that carries one) taken out. */
export function redact(text: string, password: string | null): string {
  let out = text.replace(/(rediss?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@');
  if (password !== null && password.length > 0) out = out.split(password).join('***');
  return out;
}
