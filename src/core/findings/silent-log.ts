// A blind spot: the target runs but its cost log has stopped growing. Pure.
import { formatDuration } from '../duration.js';
import { type Finding, findingKey } from './finding.js';

/** The target runs but the log has not grown for `afterMs`: the app's accounting may be broken. */
export function silentLog(
  targetRunning: boolean,
  logWrittenMs: number | null,
  nowMs: number,
  afterMs: number,
  logPath: string,
): Finding | null {
  if (!targetRunning || logWrittenMs === null || nowMs - logWrittenMs < afterMs) return null;
  return {
    key: findingKey('silent-log'),
    kind: 'silent-log',
    text:
      `cost log silent while the app runs — its accounting may be broken (${logPath} has not grown ` +
      `for ${formatDuration(nowMs - logWrittenMs)})`,
  };
}
