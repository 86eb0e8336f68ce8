// Killing the target: the optional stop command first (for supervised apps), then the whole
// process tree: SIGTERM to every process, up to `grace` for them to go (cut short when the log
// shows they go on spending: target.grace_spend), SIGKILL to every survivor, then a check that
// each is gone. A zombie is dead. A PID is signalled only while it is
// still the same process (same start time in /proc), so a PID reused during the grace period is
// never hit.
//
// tree-kill is not used: it finds the tree again at the moment it signals (so children whose
// parent died of the SIGTERM are no longer in the tree when SIGKILL comes), and it stops at the
// first refused signal (EPERM), leaving the rest of the tree untouched.
import { spawn } from 'node:child_process';
import { graceSpendExceeded, processTree, type ProcessInfo, protectedPids } from '../core/target.js';
import { isAlive, procStat } from './proc.js';
import { listProcesses } from './target.js';

export interface SignalRecord {
  pid: number;
  name: string;
  signal: 'SIGTERM' | 'SIGKILL';
  /** `sent`, `gone` (exited before the signal), or the error code (EPERM, ...). */
  result: string;
}

export interface KillReport {
  /** Every process of the tree, roots first. */
  tree: { pid: number; ppid: number; name: string }[];
  signals: SignalRecord[];
  /** Gone after SIGTERM. */
  exited: number[];
  /** Gone after SIGKILL. */
  killed: number[];
  /** Signals refused: not ours to kill (run the watchdog as the app's user or root). */
  refused: number[];
  /** Still alive at the end. */
  survivors: number[];
  /** The grace period was cut short: the log gained this much after the kill decision. */
  graceCut: { spentMicro: number; afterMs: number } | null;
  ok: boolean;
}

/** Spend during the grace period: a meter, and what it may reach (micro-dollars) before SIGKILL. */
export interface GraceSpend {
  spentMicro(): number | null;
  limitMicro: number;
}

const POLL_MS = 50;
const AFTER_KILL_WAIT_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A process's identity: its start time. Null when it is gone (or there is no /proc). */
function startOf(pid: number): number | null {
  return procStat(pid)?.startTicks ?? null;
}

function stillSame(pid: number, start: number | null): boolean {
  if (!isAlive(pid)) return false;
  return start === null || startOf(pid) === start;
}

function signal(pid: number, sig: 'SIGTERM' | 'SIGKILL'): string {
  try {
    process.kill(pid, sig);
    return 'sent';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ESRCH' ? 'gone' : code;
  }
}

/** The tree the roots head, as it would be signalled (for --dry-run and for the kill itself). */
export function planTree(roots: readonly number[], processes: readonly ProcessInfo[]): ProcessInfo[] {
  return processTree(roots, processes, protectedPids(process.pid, processes));
}

/**
 * `onSignal` hears of each signal as it is sent (the audit log records it then: a watchdog that
 * dies during the grace period still leaves the record of its SIGTERM).
 */
export async function killTree(
  roots: readonly number[],
  processes: readonly ProcessInfo[],
  graceMs: number,
  spend: GraceSpend | null = null,
  onSignal: (record: SignalRecord) => void = () => undefined,
): Promise<KillReport> {
  const tree = planTree(roots, processes);
  const start = new Map<number, number | null>(tree.map((p) => [p.pid, startOf(p.pid)]));
  const names = new Map<number, string>(tree.map((p) => [p.pid, p.name]));
  const signals: SignalRecord[] = [];
  const refused = new Set<number>();
  const exited: number[] = [];
  const killed: number[] = [];
  const send = (pid: number, sig: 'SIGTERM' | 'SIGKILL'): boolean => {
    const result = stillSame(pid, start.get(pid) ?? null) ? signal(pid, sig) : 'gone';
    const record: SignalRecord = { pid, name: names.get(pid) ?? '?', signal: sig, result };
    signals.push(record);
    onSignal(record);
    if (result !== 'sent' && result !== 'gone') refused.add(pid);
    return result === 'sent';
  };

  /**
   * Watch `pids` until all are gone, `ms` have passed or `enough()` says so; the gone go to
   * `gone`, the rest come back.
   */
  const watch = async (
    pids: number[],
    ms: number,
    gone: number[],
    enough: () => boolean = () => false,
  ): Promise<number[]> => {
    const deadline = Date.now() + ms;
    let left = pids;
    for (;;) {
      left = left.filter((pid) => {
        if (stillSame(pid, start.get(pid) ?? null)) return true;
        gone.push(pid);
        return false;
      });
      if (left.length === 0 || Date.now() >= deadline || enough()) return left;
      await sleep(POLL_MS);
    }
  };

  let graceCut: KillReport['graceCut'] = null;
  const termAt = Date.now();
  const spentTooMuch = (): boolean => {
    if (spend === null) return false;
    const spent = spend.spentMicro();
    if (!graceSpendExceeded(spent, spend.limitMicro)) return false;
    graceCut = { spentMicro: spent as number, afterMs: Date.now() - termAt };
    return true;
  };
  const waiting = await watch(
    tree.filter((p) => send(p.pid, 'SIGTERM')).map((p) => p.pid),
    graceMs,
    exited,
    spentTooMuch,
  );

  // Children forked during the grace period belong to the tree too.
  let survivors = waiting;
  if (survivors.length > 0) {
    try {
      const now = await listProcesses();
      for (const proc of planTree(survivors, now)) {
        if (!start.has(proc.pid)) {
          start.set(proc.pid, startOf(proc.pid));
          names.set(proc.pid, proc.name);
          survivors.push(proc.pid);
        }
      }
    } catch {
      // the survivors known are still killed
    }
    survivors = await watch(
      survivors.filter((pid) => send(pid, 'SIGKILL')),
      AFTER_KILL_WAIT_MS,
      killed,
    );
  }
  const alive = [
    ...new Set([...survivors, ...[...refused].filter((pid) => stillSame(pid, start.get(pid) ?? null))]),
  ].sort((a, b) => a - b);
  return {
    tree: tree.map((p) => ({ pid: p.pid, ppid: p.ppid, name: p.name })),
    signals,
    exited,
    killed,
    refused: [...refused].sort((a, b) => a - b),
    survivors: alive,
    graceCut,
    ok: alive.length === 0,
  };
}

export interface CommandReport {
  command: string;
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  /** stdout and stderr together, at most 4 KiB (the end is kept). */
  output: string;
  duration_ms: number;
  error?: string;
  ok: boolean;
}

const OUTPUT_KEEP = 4096;

/** Run the stop command through /bin/sh with a timeout; its own process group dies with it. */
export function runStopCommand(
  command: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandReport> {
  const started = Date.now();
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    } catch (error) {
      resolve({
        command,
        exit_code: null,
        signal: null,
        timed_out: false,
        output: '',
        duration_ms: 0,
        error: (error as Error).message,
        ok: false,
      });
      return;
    }
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({
        command,
        exit_code: null,
        signal: null,
        timed_out: false,
        output,
        duration_ms: Date.now() - started,
        error: error.message,
        ok: false,
      });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({
        command,
        exit_code: code,
        signal: sig,
        timed_out: timedOut,
        output: output.trim(),
        duration_ms: Date.now() - started,
        ok: code === 0 && !timedOut,
      });
    });
  });
}
