// The audit log: one JSON object per line, appended, never rewritten. Every decision and action
// goes here, so that after an incident the operator can see what the watchdog saw and did.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export function auditPath(stateDir: string): string {
  return path.join(stateDir, 'audit.jsonl');
}

/**
 * Append one event. Never through a symlink: the state folder may be writable by the app's user,
 * and a root watchdog appending through a planted link would write into any file. One write()
 * per line with O_APPEND, so concurrent writers never interleave within a line. Only into a
 * regular file with no other name: a hard link planted there would have it append to the file the
 * link shares (a symlink is refused by O_NOFOLLOW), and a FIFO would block the check (O_NONBLOCK).
 * Throws the system error; the caller decides whether that fails the check.
 */
export function appendAudit(
  stateDir: string,
  event: string,
  fields: Record<string, unknown>,
  nowMs: number,
): void {
  const line = JSON.stringify({ ts: new Date(nowMs).toISOString(), event, pid: process.pid, ...fields });
  const file = auditPath(stateDir);
  const fd = openSync(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    0o644,
  );
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file: not appended (remove it)`);
    if (st.nlink > 1)
      throw new Error(
        `${file} has ${st.nlink} names (a hard link planted there?): not appended (remove it; the next line starts a new one)`,
      );
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}
