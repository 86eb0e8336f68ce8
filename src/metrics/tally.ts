// Alerts sent and failed per channel, counted in this process until the next check takes them
// into the persisted counters (`cost_watchdog_alerts_total{channel,result}`, src/metrics/). The
// sender of `watch` sends beside the checks, so its counts reach the counters at the next check.
export type AlertResult = 'sent' | 'failed' | 'dropped';

const tally = new Map<string, number>();

/** Count `n` alerts of `channel` (slack, webhook, pagerduty or a channel's name) with `result`. */
export function tallyAlert(channel: string, result: AlertResult, n = 1): void {
  if (n <= 0) return;
  const key = `${channel}\u0000${result}`;
  tally.set(key, (tally.get(key) ?? 0) + n);
}

/** What was counted since the last drain, as [channel, result, n]; the tally is emptied. */
export function drainTally(): [string, AlertResult, number][] {
  const out = peekTally();
  tally.clear();
  return out;
}

/** What was counted since the last drain, left in place. */
export function peekTally(): [string, AlertResult, number][] {
  return [...tally].map(([key, n]) => {
    const [channel, result] = key.split('\u0000') as [string, AlertResult];
    return [channel, result, n];
  });
}
