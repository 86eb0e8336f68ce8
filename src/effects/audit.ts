// The audit log: one JSON object per line, appended, never rewritten. Every decision and action
// goes here, so that after an incident the operator can see what the watchdog saw and did.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export function auditPath(stateDir: string): string {
  return path.join(stateDir, 'audit.jsonl');
}

/**
 * Append one event. Never through a symlink: the state folder may be writable by the app's user,
 * and a root watchdog appending through a planted link would write into any file. One write()
 * per line with O_APPEND, so concurrent writers never interleave within a line.
 * Throws the system error; the caller decides whether that fails the check.
 */
export function appendAudit(stateDir: string, event: string, fields: Record<string, unknown>, nowMs: number): void {
  const line = JSON.stringify({ ts: new Date(nowMs).toISOString(), event, pid: process.pid, ...fields });
  const fd = openSync(auditPath(stateDir), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}
