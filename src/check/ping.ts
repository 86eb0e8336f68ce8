// The dead-man's-switch ping after a check (heartbeat.ping_url).
import type { Config } from '../config/index.js';
import { Auditor } from '../effects/audit.js';

/**
 * Tell the dead-man's-switch how the check went (heartbeat.ping_url). Bounded, never throws; a
 * failed ping is said on stderr and in the audit log, and changes nothing else. `signal`: a newer
 * ping takes this one's place (`watch` keeps at most one in flight), and that is not a failure.
 */
export async function pingAfterCheck(
  config: Config,
  checkOk: boolean,
  now: () => number,
  signal?: AbortSignal,
): Promise<void> {
  const url = config.heartbeat.pingUrl;
  if (url === null) return;
  const { ping, PING_TIMEOUT_MS } = await import('../effects/ping.js');
  const outcome = await ping(url, checkOk, PING_TIMEOUT_MS, signal);
  if (outcome.ok || outcome.superseded === true) return;
  process.stderr.write(
    `cost-watchdog: note: dead-man's-switch ping to ${outcome.target} failed (` +
      `${outcome.error ?? 'unknown'}); the check itself is not affected\n`,
  );
  new Auditor(config.stateDir, now).record('ping_failed', {
    target: outcome.target,
    check_ok: checkOk,
    error: outcome.error ?? 'unknown',
  });
}
