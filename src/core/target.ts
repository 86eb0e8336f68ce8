// Which running processes are the target. Pure: the process list comes in, decisions go out.

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Kernel process name (comm): at most 15 characters on Linux. */
  name: string;
  /** Full command line. */
  cmd: string;
  /** Executable path, when known. */
  path: string;
  /**
   * Start time, epoch ms; null when unknown. From ps it is to the second and reads up to a second
   * early; for a PID file's process it comes from the kernel (see processStartMs), to ~10 ms.
   */
  startMs: number | null;
}

export interface TargetRule {
  processName: string | null;
  cmdline: string | null;
}

const COMM_MAX = 15;

function basename(p: string): string {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? p : p.slice(slash + 1);
}

/**
 * Exact name match: `my-agent` never matches `my-agent-2`. Linux keeps only 15 characters of a
 * name, so a longer name is matched against the executable's full name (path or argv[0]).
 */
export function matchesName(want: string, proc: ProcessInfo): boolean {
  if (want.length <= COMM_MAX && proc.name === want) return true;
  if (proc.path !== '' && basename(proc.path) === want) return true;
  const argv0 = proc.cmd.split(' ', 1)[0] ?? '';
  return argv0 !== '' && basename(argv0) === want;
}

export function matchesRule(rule: TargetRule, proc: ProcessInfo): boolean {
  if (rule.processName !== null) return matchesName(rule.processName, proc);
  if (rule.cmdline !== null) return new RegExp(rule.cmdline).test(proc.cmd);
  return false;
}

/** The processes never to be treated as a target: PID 1, the watchdog and its ancestors. */
export function protectedPids(selfPid: number, processes: readonly ProcessInfo[]): Set<number> {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const out = new Set<number>([1, selfPid]);
  let at = byPid.get(selfPid);
  for (let guard = 0; at !== undefined && guard < 1000; guard++) {
    out.add(at.ppid);
    at = byPid.get(at.ppid);
  }
  return out;
}

export type PidFileVerdict =
  | { trusted: true; pid: number }
  | { trusted: false; pid: number | null; reason: string };

/** A PID file's process may have started up to this long after the file was written. */
export const PID_FILE_TOLERANCE_MS = 1000;

/**
 * When a process started, epoch ms, from what Linux says of it: its start in clock ticks since
 * boot (/proc/<pid>/stat, field 22) and the time since boot now (/proc/uptime, in centiseconds).
 * Its age is uptime minus start: no boot time is needed (/proc/stat's `btime` is whole seconds,
 * which is why `ps` reads up to a second early). Null when the figures make no sense.
 */
export function processStartMs(
  nowMs: number,
  uptimeSec: number,
  startTicks: number,
  clockTicksPerSec: number,
): number | null {
  if (
    ![nowMs, uptimeSec, startTicks, clockTicksPerSec].every(Number.isFinite) ||
    startTicks < 0 ||
    clockTicksPerSec <= 0
  )
    return null;
  const ageMs = (uptimeSec - startTicks / clockTicksPerSec) * 1000;
  // A start read a little after the uptime (the two files are read one after the other) is now.
  return nowMs - Math.max(0, ageMs);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
}

/**
 * Is the process named by a PID file the target? Only when it is alive, matches the rule when one
 * is set, and started no more than a second after the PID file was written: a process that
 * started later got a reused PID and is somebody else. `pidFileMtimeMs` may carry a fraction
 * (the file's time is kept to the nanosecond).
 */
export function judgePidFile(
  content: string,
  pidFileMtimeMs: number,
  proc: ProcessInfo | undefined,
  rule: TargetRule,
  protectedSet: ReadonlySet<number>,
): PidFileVerdict {
  const text = content.trim();
  if (!/^\d+$/.test(text))
    return {
      trusted: false,
      pid: null,
      reason: `does not hold a PID (${JSON.stringify(text.slice(0, 20))})`,
    };
  const pid = Number(text);
  if (pid <= 0) return { trusted: false, pid, reason: 'holds PID 0' };
  if (proc === undefined)
    return {
      trusted: false,
      pid,
      reason: `names PID ${pid}, which is not running (a stale PID file): nothing signalled`,
    };
  if (protectedSet.has(pid))
    return { trusted: false, pid, reason: `PID ${pid} is PID 1, the watchdog or one of its ancestors` };
  if ((rule.processName !== null || rule.cmdline !== null) && !matchesRule(rule, proc)) {
    return {
      trusted: false,
      pid,
      reason: `PID ${pid} is "${proc.name}", not the configured target (PID reused?)`,
    };
  }
  if (proc.startMs !== null && proc.startMs > pidFileMtimeMs + PID_FILE_TOLERANCE_MS) {
    return {
      trusted: false,
      pid,
      reason:
        `PID ${pid} started after the PID file was written (${seconds(proc.startMs - pidFileMtimeMs)} ` +
        `later): the PID was reused by another process, which is spared`,
    };
  }
  return { trusted: true, pid };
}

/**
 * During the grace period: has the log gained more than `graceSpendMicro` since the kill
 * decision? Then waiting out the grace only costs money: SIGKILL now. Null figures (no limit
 * set, or the log could not be read) never cut the grace short.
 */
export function graceSpendExceeded(spentMicro: number | null, graceSpendMicro: number | null): boolean {
  return spentMicro !== null && graceSpendMicro !== null && spentMicro > graceSpendMicro;
}

/**
 * The roots and all their descendants, roots first, then each generation, never a protected PID
 * (the watchdog may be a descendant of the target's supervisor, never of the target, but a
 * protected PID is never signalled whatever the tree says).
 */
export function processTree(
  roots: readonly number[],
  processes: readonly ProcessInfo[],
  protectedSet: ReadonlySet<number>,
): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  const byPid = new Map<number, ProcessInfo>();
  for (const proc of processes) {
    byPid.set(proc.pid, proc);
    const list = children.get(proc.ppid);
    if (list === undefined) children.set(proc.ppid, [proc]);
    else list.push(proc);
  }
  const out: ProcessInfo[] = [];
  const seen = new Set<number>();
  let generation = roots.map((pid) => byPid.get(pid)).filter((p): p is ProcessInfo => p !== undefined);
  while (generation.length > 0) {
    const nextGeneration: ProcessInfo[] = [];
    for (const proc of generation) {
      if (seen.has(proc.pid) || protectedSet.has(proc.pid)) continue;
      seen.add(proc.pid);
      out.push(proc);
      for (const child of children.get(proc.pid) ?? []) nextGeneration.push(child);
    }
    generation = nextGeneration;
  }
  return out;
}
