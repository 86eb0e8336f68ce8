// The audit log's lines of one day, read from its end backwards (the log only grows: yesterday
// is near the end, and a log of many months is not read whole). Also the file logrotate leaves
// beside it (`audit.jsonl.1`, or `audit.jsonl-YYYYMMDD` with dateext), when that is plain text:
// a rotation at midnight puts yesterday there. Read defensively: never through a symlink, only
// regular files, a line that is not JSON skipped (audit-day.ts), a file that cannot be read said.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { auditFile } from '../effects/state-paths.js';
import { actionsOf, type DayActions } from './audit-day.js';

const CHUNK = 1 << 20;
/** Lines are appended nearly in time order (a few processes): read this far before the day too. */
const SLACK_MS = 3_600_000;

/**
 * Lines from the end of one file back until they are older than `fromMs` (less the slack), in the
 * file's order (pushed onto `into`); a problem in words, or null.
 */
function readBack(file: string, into: string[], fromMs: number): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return `${file}: ${code === 'ELOOP' ? 'a symbolic link (not read)' : (error as Error).message}`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return `${file}: not a regular file (not read)`;
    let end = st.size;
    let tail = Buffer.alloc(0);
    const chunks: string[][] = [];
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const buf = Buffer.alloc(end - start);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      let data = Buffer.concat([buf.subarray(0, got), tail]);
      // The first line of a chunk may be cut: keep it for the next chunk back (unless at the start).
      const cut = start === 0 ? -1 : data.indexOf(0x0a);
      tail = cut < 0 ? Buffer.alloc(0) : data.subarray(0, cut);
      data = cut < 0 ? data : data.subarray(cut + 1);
      let oldest = Number.POSITIVE_INFINITY;
      const lines = data.toString('utf8').split('\n');
      for (const line of lines) {
        const ts = /^\{"ts":"([^"]+)"/.exec(line);
        if (ts !== null) oldest = Math.min(oldest, Date.parse(ts[1] as string));
      }
      chunks.push(lines);
      if (oldest < fromMs - SLACK_MS) break;
      end = start;
    }
    for (const lines of chunks.reverse()) for (const line of lines) into.push(line);
    return null;
  } catch (error) {
    return `${file}: ${(error as Error).message}`;
  } finally {
    closeSync(fd);
  }
}

/** The files logrotate made of the audit log that hold text (not .gz), newest first. */
function rotated(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n === 'audit.jsonl.1' || /^audit\.jsonl-\d{8,10}$/.test(n))
    .sort((a, b) => (a === 'audit.jsonl.1' ? -1 : b === 'audit.jsonl.1' ? 1 : a < b ? 1 : -1))
    .slice(0, 2)
    .map((n) => path.join(stateDir, n));
}

/** What was done in [fromMs, toMs), and the problems met reading the log (never fatal). */
export function readDayActions(
  stateDir: string,
  fromMs: number,
  toMs: number,
): { actions: DayActions; problems: string[] } {
  const problems: string[] = [];
  const lines: string[] = [];
  // Oldest first: the rotated files, then the log itself.
  for (const file of [...rotated(stateDir).reverse(), auditFile(stateDir)]) {
    const problem = readBack(file, lines, fromMs);
    if (problem !== null) problems.push(`audit log ${problem}`);
  }
  return { actions: actionsOf(lines, fromMs, toMs), problems };
}
