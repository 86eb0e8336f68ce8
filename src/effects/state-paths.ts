// Every file of the state folder, named in one place. The folder is the config's state_dir (or
// systemd's StateDirectory=); each function takes it and returns the file's full path.
import path from 'node:path';

/** The check's place in the log and the figures recomputed so far (check/checkpoint.ts). */
export function checkpointFile(stateDir: string): string {
  return path.join(stateDir, 'checkpoint.json');
}

/** What was alerted, acknowledged and still waits to be sent (check/alert-state.ts). */
export function alertsFile(stateDir: string): string {
  return path.join(stateDir, 'alerts.json');
}

/** Proof that a check completed (effects/heartbeat.ts). */
export function heartbeatFile(stateDir: string): string {
  return path.join(stateDir, 'heartbeat.json');
}

/** What `check-heartbeat` last alerted, so that it alerts once per trouble. */
export function heartbeatAlertFile(stateDir: string): string {
  return path.join(stateDir, 'heartbeat-alert.json');
}

/** When `notify` last announced each unit or message. */
export function notifyFile(stateDir: string): string {
  return path.join(stateDir, 'notify.json');
}

/** The fleet's memory on this host: its session with Redis, a loss, the emergency held (src/fleet/). */
export function fleetFile(stateDir: string): string {
  return path.join(stateDir, 'fleet.json');
}

/** What the providers' usage APIs said, and when they were last read (src/reconcile/). */
export function reconcileFile(stateDir: string): string {
  return path.join(stateDir, 'reconcile.json');
}

/** The metrics' counters, kept across runs (src/metrics/). */
export function metricsFile(stateDir: string): string {
  return path.join(stateDir, 'metrics.json');
}

/** The audit log, one JSON object per line, appended (effects/audit.ts). */
export function auditFile(stateDir: string): string {
  return path.join(stateDir, 'audit.jsonl');
}

/** The lock that keeps two checks from acting at once (effects/store.ts). */
export function lockFile(stateDir: string): string {
  return path.join(stateDir, 'lock');
}

/** Retry-storm ids seen once, as raw doubles beside the checkpoint (check/storm-ids.ts). */
const STORM_IDS_PREFIX = 'storm-ids.';
/** The call shapes seen once (lines without ids), kept the same way in files of their own. */
export const SHAPE_IDS_PREFIX = 'shape-ids.';
const STORM_IDS_SUFFIX = '.bin';

/** The files of ids seen once, as a pattern for messages. */
export function stormIdsPattern(stateDir: string, prefix = STORM_IDS_PREFIX): string {
  return `${path.join(stateDir, prefix)}*${STORM_IDS_SUFFIX}`;
}

/** A new, unused name for a file of ids seen once (a new name each time it is written). */
export function newStormIdsName(nowMs: number, random: number, prefix = STORM_IDS_PREFIX): string {
  return `${prefix}${nowMs.toString(36)}${Math.floor(random * 1e6).toString(36)}` + `${STORM_IDS_SUFFIX}`;
}

/** A name the checkpoint may give for its file of ids: in the folder itself, not a path. */
export function isStormIdsRef(name: string, prefix = STORM_IDS_PREFIX): boolean {
  return name.startsWith(prefix) && !name.includes('/');
}

/** A file of the folder that is a file of ids seen once (to prune). */
export function isStormIdsFile(name: string, prefix = STORM_IDS_PREFIX): boolean {
  return name.startsWith(prefix) && name.endsWith(STORM_IDS_SUFFIX);
}

export function stormIdsFile(stateDir: string, name: string): string {
  return path.join(stateDir, name);
}

/** The places of many log files, beside the checkpoint (check/places.ts). */
const PLACES_PREFIX = 'places.';
const PLACES_SUFFIX = '.json';

/** A new, unused name for a file of places (a new name each time one is written: never rewritten). */
export function newPlacesName(nowMs: number, random: number): string {
  return `${PLACES_PREFIX}${nowMs.toString(36)}${Math.floor(random * 1e6).toString(36)}${PLACES_SUFFIX}`;
}

export function isPlacesFile(name: string): boolean {
  return name.startsWith(PLACES_PREFIX) && name.endsWith(PLACES_SUFFIX) && !name.includes('/');
}

export function placesFile(stateDir: string, name: string): string {
  return path.join(stateDir, name);
}

/** The daily summary's book: per date, the windows' peaks seen at checks (src/summary/book.ts). */
export function summaryFile(stateDir: string): string {
  return path.join(stateDir, 'summary.json');
}

/** A day's summary claimed or sent (created exclusively: one summary per day, src/summary/send.ts). */
const SUMMARY_SENT_PREFIX = 'summary-sent.';

export function summarySentFile(stateDir: string, date: string): string {
  return path.join(stateDir, `${SUMMARY_SENT_PREFIX}${date}.json`);
}

/** The date of a file of the folder that marks a day's summary (to prune), or null. */
export function summarySentDate(name: string): string | null {
  const m = /^summary-sent\.(\d{4}-\d{2}-\d{2})\.json$/.exec(name);
  return m === null ? null : (m[1] as string);
}

/** The prepaid balance's top-ups, recorded by `cost-watchdog balance --add` (effects/balance-store.ts). */
export function balanceFile(stateDir: string): string {
  return path.join(stateDir, 'balance.json');
}
