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
  /** Start time, epoch ms, to the second; null when unknown. */
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

/**
 * Is the process named by a PID file the target? Only when it is alive, matches the rule when one
 * is set, and started no more than a second after the PID file was written: a process that
 * started later got a reused PID and is somebody else.
 */
export function judgePidFile(
  content: string,
  pidFileMtimeMs: number,
  proc: ProcessInfo | undefined,
  rule: TargetRule,
  protectedSet: ReadonlySet<number>,
): PidFileVerdict {
  const text = content.trim();
  if (!/^\d+$/.test(text)) return { trusted: false, pid: null, reason: `does not hold a PID (${JSON.stringify(text.slice(0, 20))})` };
  const pid = Number(text);
  if (pid <= 0) return { trusted: false, pid, reason: 'holds PID 0' };
  if (proc === undefined) return { trusted: false, pid, reason: `PID ${pid} is not running` };
  if (protectedSet.has(pid)) return { trusted: false, pid, reason: `PID ${pid} is PID 1, the watchdog or one of its ancestors` };
  if ((rule.processName !== null || rule.cmdline !== null) && !matchesRule(rule, proc)) {
    return { trusted: false, pid, reason: `PID ${pid} is "${proc.name}", not the configured target (PID reused?)` };
  }
  if (proc.startMs !== null && proc.startMs > pidFileMtimeMs + 1000) {
    return { trusted: false, pid, reason: `PID ${pid} started after the PID file was written: the PID was reused by another process` };
  }
  return { trusted: true, pid };
}

/**
 * The roots and all their descendants, roots first, then each generation, never a protected PID
 * (the watchdog may be a descendant of the target's supervisor, never of the target, but a
 * protected PID is never signalled whatever the tree says).
 */
export function processTree(roots: readonly number[], processes: readonly ProcessInfo[], protectedSet: ReadonlySet<number>): ProcessInfo[] {
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
