// What follows every check that was not a dry run, still under the state folder's lock: the
// metrics textfile and counters (src/metrics/), the day's window peaks for the daily summary
// (src/summary/). Nothing here may fail the check: a problem is returned, said and recorded.
import type { Config } from '../config/index.js';
import { updateMetrics } from '../metrics/index.js';
import { recordPeaks } from '../summary/record.js';
import type { CheckOutcome, Mode } from './types.js';

export interface CheckTiming {
  mode: Mode;
  startedMs: number;
  finishedMs: number;
  /** checkSucceeded(outcome). */
  ok: boolean;
}

/** Run after a check; returns the problems met (said on stderr by the caller, never fatal). */
export async function afterCheck(
  config: Config,
  outcome: CheckOutcome,
  timing: CheckTiming,
): Promise<string[]> {
  const problems: string[] = [];
  const peaks = recordPeaks(config, outcome);
  if (peaks !== null) problems.push(peaks);
  problems.push(...(await updateMetrics(config, outcome, timing)));
  return problems;
}
