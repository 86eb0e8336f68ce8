// What Linux says about a process, from /proc. `kill(pid, 0)` alone is not enough: a zombie (dead,
// not yet reaped, common when PID 1 in a container does not reap) answers it as if alive.
import { readFileSync } from 'node:fs';
import { processStartMs } from '../core/target.js';

/**
 * Clock ticks per second of /proc's times (USER_HZ, `getconf CLK_TCK`): fixed at 100 by the Linux
 * ABI on every architecture Node runs on, whatever the kernel's own HZ.
 */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), X (dead), T, ... */
  state: string;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  startTicks: number;
  /** The first 15 characters of the process name. */
  comm: string;
}

export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (close < 0 || open < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  return {
    pid,
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    startTicks: Number(rest[19]),
    comm: text.slice(open + 1, close),
  };
}

/** Whether a process exists and is not a zombie. Without /proc, falls back to kill(pid, 0). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = procStat(pid);
  if (stat !== null) return stat.state !== 'Z' && stat.state !== 'X';
  if (hasProc()) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let procMounted: boolean | undefined;
function hasProc(): boolean {
  procMounted ??= procStat(process.pid) !== null;
  return procMounted;
}

/** Seconds since boot (/proc/uptime, to the centisecond); null without /proc. */
export function uptimeSeconds(): number | null {
  try {
    const value = Number.parseFloat(readFileSync('/proc/uptime', 'latin1'));
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * When a process started, epoch ms, to about 10 ms: from the kernel's start time and the uptime
 * (see core processStartMs). Null when it is gone or there is no /proc.
 */
export function startedAtMs(pid: number, nowMs: number = Date.now()): number | null {
  const stat = procStat(pid);
  if (stat === null) return null;
  const uptime = uptimeSeconds();
  return uptime === null ? null : processStartMs(nowMs, uptime, stat.startTicks, CLK_TCK);
}
