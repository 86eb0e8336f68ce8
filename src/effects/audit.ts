// The audit log: one JSON object per line, appended, never rewritten. Every decision and action
// goes here, so that after an incident the operator can see what the watchdog saw and did.
// `appendAudit` writes one line; an `Auditor` is how a command records (and holds routine lines).
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { auditFile } from './state-paths.js';

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
  const file = auditFile(stateDir);
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
        `${file} has ${st.nlink} names (a hard link planted there?): not appended (remove it; the ` +
          `next line starts a new one)`,
      );
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Audit lines: a failure to append one never stops an action; it is remembered, said on stderr,
 * and fails the command at the end (a watchdog that cannot keep its record says so).
 */
export class Auditor {
  failed: string | null = null;
  /**
   * Routine lines (`check`, `decision`) held back, with their time, until `release` says whether
   * they are worth keeping. Any other line (an action) writes them out at once, before itself:
   * what was done is never held, so a watchdog killed mid-check leaves its record.
   */
  private held: { event: string; fields: Record<string, unknown>; atMs: number }[] | null = null;
  constructor(
    private readonly stateDir: string,
    private readonly now: () => number,
  ) {}

  /** Hold the lines recorded from now on, until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Still holding: nothing but routine lines recorded since `hold`. */
  get holding(): boolean {
    return this.held !== null;
  }

  /** Append the held lines in order (`keep`), or drop them; recording goes straight out again. */
  release(keep: boolean): void {
    const held = this.held ?? [];
    this.held = null;
    if (keep) for (const h of held) this.append(h.event, h.fields, h.atMs);
  }

  record(event: string, fields: Record<string, unknown>): void {
    if (this.held !== null) {
      if (event === 'check' || event === 'decision') {
        this.held.push({ event, fields, atMs: this.now() });
        return;
      }
      this.release(true);
    }
    this.append(event, fields, this.now());
  }

  private append(event: string, fields: Record<string, unknown>, atMs: number): void {
    try {
      appendAudit(this.stateDir, event, fields, atMs);
    } catch (error) {
      if (this.failed === null) {
        this.failed = `cannot append to the audit log in ${this.stateDir}: ${(error as Error).message}`;
        process.stderr.write(`cost-watchdog: ${this.failed}\n`);
      }
    }
  }
}
