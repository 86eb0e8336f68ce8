// `watch` and appends that come close together: chokidar drops a file's change events for 50 ms
// after one it emits, so a line appended in that time must still be counted at once (not at the
// next timed check). The timed checks are hourly here: only file events can bring the figures.
import { describe, expect, it } from 'vitest';
import { startWatch } from './daemon.js';
import { ccLine, DEFAULT_LIMITS, workspace } from './helpers.js';
import { waitFor } from './procs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch: lines appended within 50 ms of each other', () => {
  it('counts the second line of every pair without waiting for a timed check', async () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}watch:\n  schedule: "0 0 * * * *"\n`);
    ws.append('');
    const d = await startWatch(ws, {}, ['--json']);
    const spendSeen = (): number[] =>
      d
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map(
          (l) =>
            (JSON.parse(l) as { windows?: Record<string, { spend_usd: number }> }).windows?.['15m']
              ?.spend_usd ?? -1,
        );
    await waitFor('the first check', () => spendSeen().length > 0, 30_000);
    let expected = 0;
    for (let pair = 1; pair <= 5; pair++) {
      // Costs in whole cents: each total is exact.
      ws.append(ccLine(0.01));
      await sleep(30);
      ws.append(ccLine(0.02));
      expected = Math.round((expected + 0.03) * 100) / 100;
      await waitFor(`pair ${pair} counted (${expected})`, () => spendSeen().includes(expected), 10_000);
    }
    expect(spendSeen().at(-1)).toBe(0.15);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });
});
