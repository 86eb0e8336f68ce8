// One summary per day, whoever sends it (`watch` at alerts.daily_summary, a timer's `summary`,
// a person): the day is claimed by creating its marker file exclusively (O_EXCL) BEFORE sending,
// so that of two at once only one sends. The marker says `sending`, then `sent`. A send that
// fails on every channel removes the marker, so that a later try sends. A claim left by a
// process that died mid-send (or older than STALE_MS) is taken over. No lock: `watch` claims
// while its own check may hold the state folder's lock.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { summarySentDate, summarySentFile } from '../effects/state-paths.js';
import { host } from '../effects/identity.js';
import { isAlive } from '../effects/proc.js';
import { pruneStateFiles, readJson, writeFileAtomic } from '../effects/store.js';

/** A claim still `sending` after this long is taken over (a send takes at most ~10 s). */
export const STALE_MS = 10 * 60_000;
/** Markers are kept this many days, then pruned. */
export const MARKER_DAYS = 40;

export interface Marker {
  date: string;
  status: 'sending' | 'sent';
  at: string;
  pid: number;
  host: string;
  /** The command that sent it: watch or summary. */
  by: string;
  /** The channels that answered (empty: printed only, no channel configured). */
  channels?: string[];
}

export type ClaimSeen =
  | { kind: 'sent'; marker: Marker }
  | { kind: 'busy'; marker: Marker }
  | { kind: 'stale'; marker: Marker | null };

/**
 * What a marker found at claim time means. Pure: `alive` says whether a pid of this host lives.
 * A marker that cannot be read (not JSON, a link) is stale: taken over, never trusted as sent.
 */
export function judgeMarker(
  value: unknown,
  nowMs: number,
  thisHost: string,
  alive: (pid: number) => boolean,
): ClaimSeen {
  const m = value as Partial<Marker> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    (m.status !== 'sending' && m.status !== 'sent') ||
    typeof m.at !== 'string' ||
    Number.isNaN(Date.parse(m.at)) ||
    typeof m.pid !== 'number'
  )
    return { kind: 'stale', marker: null };
  const marker = m as Marker;
  if (marker.status === 'sent') return { kind: 'sent', marker };
  const dead = marker.host === thisHost && !alive(marker.pid);
  if (dead || nowMs - Date.parse(marker.at) > STALE_MS) return { kind: 'stale', marker };
  return { kind: 'busy', marker };
}

export type Claim =
  | { kind: 'claimed'; marker: Marker; file: string }
  | { kind: 'sent'; marker: Marker }
  | { kind: 'busy'; marker: Marker };

function createExclusive(file: string, marker: Marker): boolean {
  let fd: number;
  try {
    fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(marker)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Take a stale marker away, only if it is still the one judged stale: moved aside first (one
 * mover wins), put back (link: never over a new one) when another process replaced it meanwhile.
 */
function takeAway(file: string, seenAt: string | null): void {
  const aside = `${file}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone already: another process took it
  }
  const read = readJson(aside);
  const at = read.kind === 'ok' ? (read.value as Partial<Marker> | null)?.at : undefined;
  if (seenAt !== null && at !== seenAt) {
    try {
      linkSync(aside, file);
    } catch {
      // a new claim is there: it stands
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // already gone
  }
}

/** Claim `date` for sending (`force`: even when it was sent). Throws the system error. */
export function claimDay(stateDir: string, date: string, nowMs: number, by: string, force: boolean): Claim {
  const file = summarySentFile(stateDir, date);
  const marker: Marker = {
    date,
    status: 'sending',
    at: new Date(nowMs).toISOString(),
    pid: process.pid,
    host: host(),
    by,
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file, marker)) return { kind: 'claimed', marker, file };
    const read = readJson(file);
    if (read.kind === 'missing') continue;
    const seen = judgeMarker(read.kind === 'ok' ? read.value : null, nowMs, host(), isAlive);
    if (!force && (seen.kind === 'sent' || seen.kind === 'busy')) return seen;
    takeAway(file, seen.kind === 'stale' && seen.marker === null ? null : (seen.marker?.at ?? null));
  }
  throw new Error(`${file} keeps coming back: another process is claiming the same day`);
}

/** The day was sent: the marker says so (and to which channels). */
export function markSent(file: string, marker: Marker, channels: string[]): void {
  writeFileAtomic(file, `${JSON.stringify({ ...marker, status: 'sent', channels })}\n`, 0o644, false);
}

/** Sending failed everywhere: the claim goes, if it is still ours, so that a later try sends. */
export function releaseClaim(file: string, marker: Marker): void {
  const read = readJson(file);
  const held = read.kind === 'ok' ? (read.value as Partial<Marker> | null) : null;
  if (held?.pid !== marker.pid || held.at !== marker.at) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Markers of days older than MARKER_DAYS before `today` go. */
export function pruneMarkers(stateDir: string, oldest: string): void {
  pruneStateFiles(
    stateDir,
    (name) => {
      const date = summarySentDate(name);
      return date !== null && date < oldest;
    },
    null,
  );
}
