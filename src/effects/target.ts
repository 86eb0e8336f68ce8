// Finding the target's processes: the PID file and the process list (ps-list), judged by
// core/target.ts. Read-only: killing is a separate effect.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { judgePidFile, matchesRule, type ProcessInfo, protectedPids } from '../core/target.js';
import { isAlive, procStat, startedAtMs } from './proc.js';

export interface TargetFinding {
  configured: boolean;
  running: boolean;
  pids: number[];
  /** Why a PID file was not trusted, or the process list could not be read. */
  notes: string[];
  /** The process list could not be read: whether the target runs is not known. */
  error: string | null;
  /** The process list the finding was made from (live processes only). */
  processes: ProcessInfo[];
}

export async function listProcesses(): Promise<ProcessInfo[]> {
  const { default: psList } = await import('ps-list');
  const list = await psList({ all: true });
  return list.map((p) => ({
    pid: p.pid,
    ppid: p.ppid,
    // The kernel's name (comm), what `pgrep -x`, `ps -C` and `killall` match: ps-list's own `name`
    // is the executable's (`dash` for a shell script, `python3.11` for a Python process that
    // renamed itself). It falls back to that when /proc cannot say (gone, or no /proc).
    name: procStat(p.pid)?.comm ?? p.name,
    cmd: p.cmd ?? '',
    path: p.path ?? '',
    startMs: p.startTime instanceof Date ? p.startTime.getTime() : null,
  }));
}

/**
 * A PID file's content and time. Opened without blocking and refused unless a regular file: a
 * named pipe (or a device) put in its place must not hang the watchdog. Only its start is read.
 * The time is kept to the microsecond (from the nanoseconds): it is compared with a start time
 * known to ~10 ms, against a tolerance of one second.
 */
function readPidFile(file: string): { content: string; mtimeMs: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new Error('not a regular file');
    const buffer = Buffer.alloc(Math.min(Number(st.size), 4096));
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return { content: buffer.subarray(0, n).toString('utf8'), mtimeMs: Number(st.mtimeNs / 1000n) / 1000 };
  } finally {
    closeSync(fd);
  }
}

export async function findTarget(config: Config): Promise<TargetFinding> {
  const target = config.target;
  if (
    target === null ||
    (target.pidFile === null && target.processName === null && target.cmdline === null)
  ) {
    return { configured: false, running: false, pids: [], notes: [], error: null, processes: [] };
  }
  const notes: string[] = [];
  let processes: ProcessInfo[];
  try {
    processes = await listProcesses();
  } catch (error) {
    const message = `cannot list processes: ${(error as Error).message}`;
    return { configured: true, running: false, pids: [], notes: [message], error: message, processes: [] };
  }
  // ps can list a zombie; it is dead.
  processes = processes.filter((p) => isAlive(p.pid));
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const guard = protectedPids(process.pid, processes);
  const rule = { processName: target.processName, cmdline: target.cmdline };
  const pids = new Set<number>();
  if (target.pidFile !== null) {
    try {
      const { content, mtimeMs } = readPidFile(target.pidFile);
      const pidText = content.trim();
      const listed = /^\d+$/.test(pidText) ? byPid.get(Number(pidText)) : undefined;
      // ps gives the start to the second, read up to a second early: the kernel's is exact.
      const exact = listed === undefined ? null : startedAtMs(listed.pid);
      const proc = listed === undefined ? undefined : { ...listed, startMs: exact ?? listed.startMs };
      const verdict = judgePidFile(content, mtimeMs, proc, rule, guard);
      if (verdict.trusted) pids.add(verdict.pid);
      else notes.push(`PID file ${target.pidFile} ${verdict.reason}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        notes.push(`cannot read PID file ${target.pidFile}: ${(error as Error).message}`);
    }
  }
  if (rule.processName !== null || rule.cmdline !== null) {
    for (const proc of processes) if (!guard.has(proc.pid) && matchesRule(rule, proc)) pids.add(proc.pid);
  }
  const sorted = [...pids].sort((a, b) => a - b);
  return { configured: true, running: sorted.length > 0, pids: sorted, notes, error: null, processes };
}
