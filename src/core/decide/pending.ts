// The queue of alerts not sent yet: bounded (by age, then by level), and a newer alert that says
// all a queued one would takes its place. Pure.
import { levelRank } from '../levels.js';
import type { PendingAlert } from './state.js';

export const PENDING_LIMIT = 20;
export const PENDING_MAX_AGE_MS = 24 * 3_600_000;

/** The channel of a pending alert: slack unless it names another. */
export function channelOf(p: PendingAlert): string {
  return p.channel ?? 'slack';
}

function rankOf(p: PendingAlert): number {
  return p.level === undefined ? levelRank('warn') : levelRank(p.level);
}

/**
 * The unsent alerts worth keeping: none older than a day, and at most PENDING_LIMIT: beyond it the
 * lowest level goes first, the oldest of it first (a kill alert outlives a pile of warnings).
 * `keep` (the one being sent) is never dropped. Order is kept.
 */
export function keepPending(
  pending: readonly PendingAlert[],
  nowMs: number,
  keep: string | null = null,
): { kept: PendingAlert[]; dropped: number } {
  // Each channel keeps its own PENDING_LIMIT: a webhook that is down does not push out Slack's.
  const names = [...new Set(pending.map(channelOf))];
  if (names.length > 1) {
    const keptSet = new Set<PendingAlert>();
    for (const name of names)
      for (const p of keepOne(
        pending.filter((q) => channelOf(q) === name),
        nowMs,
        keep,
      ).kept)
        keptSet.add(p);
    const kept = pending.filter((p) => keptSet.has(p));
    return { kept, dropped: pending.length - kept.length };
  }
  return keepOne(pending, nowMs, keep);
}

function keepOne(
  pending: readonly PendingAlert[],
  nowMs: number,
  keep: string | null,
): { kept: PendingAlert[]; dropped: number } {
  const fresh = pending.filter(
    (p) => nowMs - p.created_ms < PENDING_MAX_AGE_MS || (keep !== null && p.id === keep),
  );
  const out = new Set<PendingAlert>();
  if (fresh.length > PENDING_LIMIT) {
    const order = fresh.map((p, i) => ({ p, i })).filter(({ p }) => keep === null || p.id !== keep);
    order.sort((a, b) => rankOf(a.p) - rankOf(b.p) || a.i - b.i);
    for (const { p } of order.slice(0, fresh.length - PENDING_LIMIT)) out.add(p);
  }
  const kept = fresh.filter((p) => !out.has(p));
  return { kept, dropped: pending.length - kept.length };
}

/** Does `newer` say all that `older` (not sent yet) would: the same windows' climbs, at a level as high? */
export function supersedes(newer: PendingAlert, older: PendingAlert): boolean {
  if (older.plain !== true || newer.level === undefined || older.level === undefined) return false;
  if (channelOf(newer) !== channelOf(older)) return false;
  const climbs = older.climbs ?? [];
  if (climbs.length === 0 || levelRank(newer.level) < levelRank(older.level)) return false;
  return climbs.every((w) => (newer.climbs ?? []).includes(w));
}

/** The first line of a Slack text, without its emoji and bold: "EMERGENCY: 15m spend ...". */
function headlineOf(text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.replace(/^:[a-z_]+: \*(?:cost-watchdog: )?/, '').replace(/\*$/, '');
}

/**
 * Queue a new alert behind the unsent ones. A queued alert that the new one supersedes is taken
 * out (never `busy`, the one being sent now), and the new one says what it replaces, so that nothing
 * said is lost: a queued "EMERGENCY 15m" becomes a line of the newer "KILL 15m". Then bounded.
 */
export function enqueuePending(
  queue: readonly PendingAlert[],
  item: PendingAlert,
  nowMs: number,
  busy: string | null = null,
): { queue: PendingAlert[]; replaced: PendingAlert[]; dropped: number } {
  const replaced = queue.filter((q) => (busy === null || q.id !== busy) && supersedes(item, q));
  let merged = item;
  if (replaced.length > 0) {
    const notes = replaced.flatMap((r) => [
      `• replaces an alert not sent in time (${new Date(r.created_ms).toISOString()}): ${headlineOf(r.text)}`,
      ...r.text.split('\n').filter((l) => l.startsWith('• replaces an alert not sent in time')),
    ]);
    merged = { ...item, text: [item.text, ...notes].join('\n') };
    if (item.payload !== undefined) merged.payload = { ...item.payload, text: merged.text };
  }
  const kept = keepPending([...queue.filter((q) => !replaced.includes(q)), merged], nowMs, busy);
  return { queue: kept.kept, replaced, dropped: kept.dropped };
}
