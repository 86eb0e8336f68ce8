import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckQueue } from '../../src/daemon/check-queue.js';

/** A check that takes `ms` (of fake time) and records what it was run for, and whether two overlapped. */
function recorder(ms: number) {
  const runs: string[][] = [];
  let active = 0;
  let overlapped = false;
  const run = async (reasons: string[]): Promise<void> => {
    active++;
    if (active > 1) overlapped = true;
    runs.push(reasons);
    await new Promise((resolve) => setTimeout(resolve, ms));
    active--;
  };
  return { runs, run, overlapped: () => overlapped };
}

describe('CheckQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('folds a burst of events into one check, the debounce after the first event', async () => {
    const r = recorder(5);
    const q = new CheckQueue({ debounceMs: 20, run: r.run });
    q.request('log');
    await vi.advanceTimersByTimeAsync(10);
    q.request('log');
    q.request('flag');
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(r.runs).toEqual([['log', 'flag']]);
  });

  it('is not starved by events that never pause', async () => {
    const r = recorder(1);
    const q = new CheckQueue({ debounceMs: 20, run: r.run });
    for (let t = 0; t < 100; t += 5) {
      q.request('log');
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(r.runs.length).toBeGreaterThanOrEqual(4);
  });

  it('never runs two checks at once; a request during a check gets one more check after it', async () => {
    const r = recorder(100);
    const q = new CheckQueue({ debounceMs: 20, run: r.run });
    q.request('start', true);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual([['start']]);
    q.request('log');
    q.request('schedule', true);
    q.request('log');
    await vi.advanceTimersByTimeAsync(99);
    expect(r.runs.length).toBe(1);
    await vi.advanceTimersByTimeAsync(25);
    expect(r.runs).toEqual([['start'], ['log', 'schedule']]);
    await vi.advanceTimersByTimeAsync(500);
    expect(r.runs.length).toBe(2);
    expect(r.overlapped()).toBe(false);
  });

  it('an immediate request skips the debounce', async () => {
    const r = recorder(1);
    const q = new CheckQueue({ debounceMs: 1000, run: r.run });
    q.request('log');
    q.request('schedule', true);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual([['log', 'schedule']]);
  });

  it('stop: waits for the check in progress, then starts no more', async () => {
    const r = recorder(100);
    const q = new CheckQueue({ debounceMs: 20, run: r.run });
    q.request('start', true);
    await vi.advanceTimersByTimeAsync(1);
    q.request('log');
    let stopped = false;
    void q.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(60);
    expect(stopped).toBe(true);
    q.request('log', true);
    await vi.advanceTimersByTimeAsync(100);
    expect(r.runs).toEqual([['start']]);
  });

  it('stop when idle resolves at once and cancels a pending check', async () => {
    const r = recorder(1);
    const q = new CheckQueue({ debounceMs: 20, run: r.run });
    q.request('log');
    await q.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(r.runs).toEqual([]);
  });
});
