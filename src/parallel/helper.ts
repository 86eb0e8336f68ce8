// The main thread's side of a two-thread full read of a large log: with two cores, the second
// half of the file is read by a worker thread (worker.ts) while this thread reads the first half,
// and what the worker counted is then taken in as if read here (absorbPart, merge.ts). Used only
// when the whole log must be read (no checkpoint, or a rebuild) and it is large; anything
// unexpected (no worker file, one of another build, the worker failed, the file changed under
// it) and this thread reads that half itself, as it would without a helper.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { ModelRates, PriceLookup } from '../core/prices.js';
import type { SpendScanner } from '../core/scan.js';
import { packageFile } from '../install.js';
import { BUILD_ID, buildIdOfFile } from './build-id.js';
import { absorbPart } from './merge.js';
import {
  ANSWERS,
  DONE,
  type HelperAnswer,
  type HelperJob,
  type PriceAnswer,
  type PriceQuestion,
  type WorkerData,
} from './protocol.js';

/** The worker's code, at the package root (scripts/build.mjs writes it): found only when built. */
export const WORKER_FILE = 'dist/parallel-worker.js';

/** Below this many bytes to read, one thread is quicker than starting a second. */
export const HELPER_MIN_BYTES = 48 * 1024 * 1024;
/** The worker's share: less than half, for the time it takes to start (0.42 measured best of 0.38-0.46). */
const HELPER_SHARE = 0.42;
/** How long to wait for the worker before reading its part here (it reads at ~200 MB/s). */
const HELPER_WAIT_MS = 120_000;

/** The first line start at or after `at` (the byte after a newline), or -1. */
function lineStartAfter(file: string, at: number, size: number): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    for (let pos = at; pos < size; ) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - pos), pos);
      if (n <= 0) return -1;
      const nl = buffer.subarray(0, n).indexOf(10);
      if (nl >= 0) return pos + nl + 1;
      pos += n;
    }
    return -1;
  } finally {
    closeSync(fd);
  }
}

/** The last line start at or before `size` (the byte after the last newline), or -1. */
function lastLineEnd(file: string, size: number): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size, 1024 * 1024));
    const from = size - buffer.length;
    const n = readSync(fd, buffer, 0, buffer.length, from);
    const nl = buffer.subarray(0, n).lastIndexOf(10);
    return nl < 0 ? -1 : from + nl + 1;
  } finally {
    closeSync(fd);
  }
}

/** Says why the read is on one thread, when something is wrong with the helper (stderr). */
export type Say = (problem: string) => void;

/**
 * The one place the worker's code is looked for: this build's worker file, or what was not
 * found or not right (a sentence). It exists only in a build (dist/): from source, there is none.
 */
export function locateWorker(): { file: string } | { problem: string } {
  const file = packageFile(WORKER_FILE);
  if (file === null)
    return {
      problem:
        `no ${WORKER_FILE} beside a package.json above ${path.dirname(fileURLToPath(import.meta.url))} ` +
        '(it exists only in a build: npm run build)',
    };
  let id: string;
  try {
    id = buildIdOfFile(file);
  } catch (error) {
    return { problem: `cannot read ${file}: ${(error as Error).message}` };
  }
  if (id !== BUILD_ID) return { problem: otherBuild(file, id) };
  return { file };
}

function otherBuild(file: string, id: string): string {
  return (
    `${file} is of another build (${id}; this program is ${BUILD_ID}): ` +
    'rebuild (npm run build) or reinstall, then restart a running watch'
  );
}

export class ScanHelper {
  private worker: Worker | null;
  private readonly signal: Int32Array;
  private readonly port: MessageChannel['port1'];
  private final: HelperAnswer | null = null;
  /** The helper's part was taken in (the check read the log with two threads). */
  used = false;
  private lookup: PriceLookup | null = null;

  private constructor(
    readonly job: HelperJob,
    private readonly identity: { dev: number; ino: number },
    private readonly say: Say,
    private readonly script: string,
    worker: Worker,
    signal: Int32Array,
    port: MessageChannel['port1'],
  ) {
    this.worker = worker;
    this.signal = signal;
    this.port = port;
  }

  /**
   * Start a helper for the second part of `file` when the whole of it is about to be read and
   * it is large enough; null otherwise (or when a worker cannot be started). A worker file that
   * is missing or of another build is said (`say`), and never run.
   */
  static start(job: Omit<HelperJob, 'start' | 'end'>, say: Say, env: NodeJS.ProcessEnv): ScanHelper | null {
    if (env.COST_WATCHDOG_THREADS === '1' || availableParallelism() < 2) return null;
    let size: number;
    let identity: { dev: number; ino: number };
    try {
      const st = fstatOf(job.file);
      size = st.size;
      identity = { dev: st.dev, ino: st.ino };
    } catch {
      return null;
    }
    const minimum =
      env.COST_WATCHDOG_HELPER_MIN_BYTES !== undefined
        ? Number(env.COST_WATCHDOG_HELPER_MIN_BYTES)
        : HELPER_MIN_BYTES;
    if (!(size >= minimum)) return null;
    const located = locateWorker();
    if ('problem' in located) {
      say(located.problem);
      return null;
    }
    let start: number;
    let end: number;
    try {
      start = lineStartAfter(job.file, Math.floor(size * (1 - HELPER_SHARE)), size);
      end = lastLineEnd(job.file, size);
    } catch {
      return null;
    }
    if (start < 0 || end <= start) return null;
    const signal = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const full: HelperJob = { ...job, start, end };
    try {
      const workerData: WorkerData = { job: full, signal, port: port2, buildId: BUILD_ID };
      const worker = new Worker(located.file, {
        workerData,
        transferList: [port2],
        stdout: false,
        stderr: false,
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      // A helper is never a reason to stay alive, nor to crash: failures are read as "no help".
      worker.unref();
      worker.on('error', () => {
        Atomics.store(signal, DONE, 2);
        Atomics.notify(signal, DONE);
      });
      return new ScanHelper(full, identity, say, located.file, worker, signal, port1);
    } catch {
      port1.close();
      return null;
    }
  }

  /** Set the scanner's hooks (see LineSink.claim): the reader takes the helper's part from it. */
  attach(scanner: SpendScanner, lookup: PriceLookup): void {
    this.lookup = lookup;
    scanner.claimFrom = this.job.start;
    scanner.poll = () => this.poll();
    scanner.claim = (fd, at, linesBefore) => {
      // Another file read first (a rotated one) is not the helper's: it reads that one itself.
      const st = fstatSync(fd);
      if (st.dev !== this.identity.dev || st.ino !== this.identity.ino || at !== this.job.start) return null;
      const answer = this.wait();
      if (answer === null) return null;
      if (!answer.ok) {
        // Checked by the worker too: the file may have been replaced since locateWorker read it.
        if (answer.otherBuild !== undefined) this.say(otherBuild(this.script, answer.otherBuild));
        return null;
      }
      if (st.dev !== answer.dev || st.ino !== answer.ino || st.size < this.job.end) return null;
      absorbPart(scanner, answer, linesBefore, (offset, length) => {
        const bytes = Buffer.alloc(length);
        readSync(fd, bytes, 0, length, offset);
        return bytes.toString('latin1');
      });
      this.used = true;
      return { lines: answer.lines, end: this.job.end };
    };
  }

  /** Answer the worker's price questions; keep its final answer when it has come. */
  poll(): void {
    if (this.worker === null) return;
    for (;;) {
      const received = receiveMessageOnPort(this.port);
      if (received === undefined) return;
      const message = received.message as PriceQuestion | HelperAnswer;
      if ('ask' in message) {
        let rates: ModelRates | null = null;
        try {
          rates = this.lookup?.(message.model, message.provider) ?? null;
        } catch {
          rates = null;
        }
        this.port.postMessage({ answer: message.ask, rates } satisfies PriceAnswer);
        Atomics.add(this.signal, ANSWERS, 1);
        Atomics.notify(this.signal, ANSWERS);
      } else {
        this.final = message;
      }
    }
  }

  private wait(): HelperAnswer | null {
    if (this.worker === null) return this.final;
    const deadline = Date.now() + HELPER_WAIT_MS;
    while (this.final === null && Atomics.load(this.signal, DONE) === 0 && Date.now() < deadline) {
      Atomics.wait(this.signal, DONE, 0, 2);
      this.poll();
    }
    this.poll();
    this.stop();
    return this.final;
  }

  /** Stop the worker (it is done, or its help is no longer wanted). */
  stop(): void {
    if (this.worker !== null) {
      void this.worker.terminate();
      this.worker = null;
    }
    this.port.close();
  }
}

/** A regular file's size and identity (never opened here: a named pipe would block the open). */
function fstatOf(file: string): { size: number; dev: number; ino: number } {
  const st = statSync(file);
  if (!st.isFile()) throw new Error('not a regular file');
  return st;
}
