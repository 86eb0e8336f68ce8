// Clocks that disagree: lines dated in the future, or a log whose newest line is far older than its
// last write. Pure.
import { formatDuration } from '../duration.js';
import { type Finding, findingKey } from './finding.js';

/** How far the newest line may be dated before the log's last write before that is reported. */
export const BEHIND_TOLERANCE_MS = 5 * 60_000;

/**
 * Clocks that disagree: lines from the future (counted as now) in this check, or a log whose
 * newest line is far older than its last write. `newestMs` is the newest line time counted (0:
 * none); a log of 0 bytes (just rotated by copytruncate) is not judged.
 */
export function clockFindings(
  newFuture: number,
  newestMs: number,
  logWrittenMs: number | null,
  logBytes = 1,
): Finding[] {
  const out: Finding[] = [];
  if (newFuture > 0) {
    out.push({
      key: findingKey('future-lines'),
      kind: 'future-lines',
      text:
        `${newFuture} line${newFuture === 1 ? '' : 's'} dated more than 5 minutes in the future ` +
        `(clock skew?) were counted as now`,
    });
  }
  if (
    newestMs > 0 &&
    logBytes > 0 &&
    logWrittenMs !== null &&
    logWrittenMs - newestMs > BEHIND_TOLERANCE_MS
  ) {
    out.push({
      key: findingKey('log-behind'),
      kind: 'log-behind',
      text:
        `the log's newest line is dated ${formatDuration(logWrittenMs - newestMs)} before the log ` +
        `was last written: the app's clock may be behind, or it logs late (lines count at their own ` +
        `time)`,
    });
  }
  return out;
}
