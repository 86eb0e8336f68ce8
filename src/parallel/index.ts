// The two-thread full read of a large log, behind one call. The check starts it before reading
// the whole log and stops it after; nothing else of src/parallel/ is imported from outside it.
//   helper.ts    the main thread's side: when to help, the split, the worker file (one place)
//   worker.ts    the worker thread (bundled alone into dist/parallel-worker.js)
//   protocol.ts  the job and the messages between the two
//   merge.ts     pure: the worker's part taken in as if read here
//   build-id.ts  which build this code is of: a worker of another build is never run
import type { PriceLookup } from '../core/prices.js';
import type { SpendScanner } from '../core/scan.js';
import { type Say, ScanHelper } from './helper.js';
import type { HelperJob } from './protocol.js';

/** What the worker needs to count as the main thread does: the check's settings. */
export type ParallelJob = Omit<HelperJob, 'start' | 'end'>;

export interface ParallelScan {
  /** The worker's part was taken in (the log was read with two threads). */
  readonly used: boolean;
  /** Stop the worker (call after reading, whatever happened). */
  stop(): void;
}

export interface ParallelOptions {
  /** COST_WATCHDOG_THREADS=1: one thread; COST_WATCHDOG_HELPER_MIN_BYTES: the size to help from. */
  env?: NodeJS.ProcessEnv;
  /** Where a reason for one thread goes (no worker file, one of another build): stderr. */
  say?: Say;
}

const note: Say = (problem) =>
  process.stderr.write(`cost-watchdog: note: the log was read with one thread: ${problem}\n`);

/**
 * When `scanner` is about to read the whole of a large log (job.file): start a worker thread for
 * its second part and hook it into the scanner, so that the reader takes that part from the
 * worker when it gets there. Null when one thread reads it all (a small log, one core,
 * COST_WATCHDOG_THREADS=1, or no usable worker file: then said). The result is the same either way.
 */
export function startParallelScan(
  scanner: SpendScanner,
  lookup: PriceLookup,
  job: ParallelJob,
  options: ParallelOptions = {},
): ParallelScan | null {
  const helper = ScanHelper.start(job, options.say ?? note, options.env ?? process.env);
  helper?.attach(scanner, lookup);
  return helper;
}
