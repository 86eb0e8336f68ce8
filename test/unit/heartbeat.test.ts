import { describe, expect, it } from 'vitest';
import {
  emptyHeartbeatAlertState,
  type HeartbeatAlertState,
  type HeartbeatFound,
  heartbeatAlertText,
  type HeartbeatState,
  judgeHeartbeat,
  notifyDue,
  pingDue,
  pingUrlFor,
  planHeartbeatAlert,
} from '../../src/core/heartbeat.js';
import { loadHeartbeatAlertState } from '../../src/core/saved/heartbeat.js';

const T0 = 1_800_000_000_000;
const MIN = 60_000;
const MAX = 5 * MIN;

function beat(agoMs: number, ok = true, error: string | null = null): HeartbeatFound {
  return { kind: 'ok', timeMs: T0 - agoMs, ok, mode: 'run', pid: 42, error };
}

describe('judgeHeartbeat: the verdict and its exit code', () => {
  const rows: [string, HeartbeatFound, HeartbeatState, number, RegExp][] = [
    ['fresh', beat(31_000), 'fresh', 0, /^last check 31s ago \(run, pid 42\), within the 5m allowed$/],
    ['exactly max age is still fresh', beat(MAX), 'fresh', 0, /within/],
    [
      'one ms over max age is stale',
      beat(MAX + 1),
      'stale',
      2,
      /older than the 5m allowed: the watchdog has stopped checking/,
    ],
    ['an hour old', beat(60 * MIN), 'stale', 2, /last check 1h ago/],
    [
      'fresh but the check failed',
      beat(10_000, false, 'log unreadable'),
      'failing',
      1,
      /could not do its job: log unreadable/,
    ],
    ['stale and failed: stale wins', beat(10 * MIN, false, 'x'), 'stale', 2, /older than/],
    ['never written', { kind: 'missing' }, 'missing', 2, /never completed a check/],
    ['not JSON', { kind: 'corrupt', reason: 'not JSON' }, 'unknown', 3, /heartbeat unreadable: not JSON/],
    [
      'permission denied',
      { kind: 'unreadable', reason: 'EACCES' },
      'unknown',
      3,
      /cannot read the heartbeat: EACCES/,
    ],
    ['a few seconds ahead (clock jitter) is fresh', beat(-5_000), 'fresh', 0, /last check 0ms ago/],
    ['far in the future cannot be believed', beat(-10 * MIN), 'unknown', 3, /10m in the future/],
  ];
  it.each(rows)('%s', (_name, found, state, code, summary) => {
    const verdict = judgeHeartbeat(found, T0, MAX);
    expect(verdict.state).toBe(state);
    expect(verdict.code).toBe(code);
    expect(verdict.summary).toMatch(summary);
  });

  it('gives the age only when it is known', () => {
    expect(judgeHeartbeat(beat(31_000), T0, MAX).ageMs).toBe(31_000);
    expect(judgeHeartbeat({ kind: 'missing' }, T0, MAX).ageMs).toBeNull();
  });
});

describe('planHeartbeatAlert: once down, once recovered', () => {
  const fresh = judgeHeartbeat(beat(1000), T0, MAX);
  const stale = judgeHeartbeat(beat(10 * MIN), T0, MAX);
  const missing = judgeHeartbeat({ kind: 'missing' }, T0, MAX);
  const failing = judgeHeartbeat(beat(1000, false, 'x'), T0, MAX);
  const unknown = judgeHeartbeat({ kind: 'corrupt', reason: 'x' }, T0, MAX);
  const down = (state: 'failing' | 'stale' | 'missing', announced = true): HeartbeatAlertState => ({
    version: 1,
    down: { state, since_ms: T0 - MIN, announced },
  });

  const rows: [
    string,
    HeartbeatAlertState,
    ReturnType<typeof judgeHeartbeat>,
    string | null,
    HeartbeatAlertState['down'],
  ][] = [
    ['fresh, nothing before: silence', emptyHeartbeatAlertState(), fresh, null, null],
    [
      'goes stale: alert',
      emptyHeartbeatAlertState(),
      stale,
      'down',
      { state: 'stale', since_ms: T0, announced: true },
    ],
    [
      'still stale: silence',
      down('stale'),
      stale,
      null,
      { state: 'stale', since_ms: T0 - MIN, announced: true },
    ],
    [
      'stale, alert never sent: alert again',
      down('stale', false),
      stale,
      'down',
      { state: 'stale', since_ms: T0 - MIN, announced: true },
    ],
    ['recovers: alert', down('stale'), fresh, 'recovered', null],
    ['recovers before the alert went out: silence', down('stale', false), fresh, null, null],
    [
      'missing: alert',
      emptyHeartbeatAlertState(),
      missing,
      'down',
      { state: 'missing', since_ms: T0, announced: true },
    ],
    [
      'missing after stale (same badness): silence',
      down('stale'),
      missing,
      null,
      { state: 'missing', since_ms: T0 - MIN, announced: true },
    ],
    [
      'failing: alert',
      emptyHeartbeatAlertState(),
      failing,
      'down',
      { state: 'failing', since_ms: T0, announced: true },
    ],
    [
      'failing, then stale (worse): alert',
      down('failing'),
      stale,
      'down',
      { state: 'stale', since_ms: T0 - MIN, announced: true },
    ],
    [
      'stale, then failing (better): silence',
      down('stale'),
      failing,
      null,
      { state: 'failing', since_ms: T0 - MIN, announced: true },
    ],
    [
      'unknown changes nothing',
      down('stale'),
      unknown,
      null,
      { state: 'stale', since_ms: T0 - MIN, announced: true },
    ],
    ['unknown from nothing: silence', emptyHeartbeatAlertState(), unknown, null, null],
  ];
  it.each(rows)('%s', (_name, previous, verdict, alert, nextDown) => {
    const plan = planHeartbeatAlert(previous, verdict, T0);
    expect(plan.alert).toBe(alert);
    expect(plan.next.down).toEqual(nextDown);
    if (plan.alert === 'down') expect(plan.unsent.down?.announced).toBe(false);
    if (plan.alert === 'recovered') expect(plan.unsent).toEqual(previous);
  });

  it('a sequence: one alert down, none while down, one on recovery, none after', () => {
    let state = emptyHeartbeatAlertState();
    const said: (string | null)[] = [];
    for (const verdict of [fresh, stale, stale, missing, stale, fresh, fresh]) {
      const plan = planHeartbeatAlert(state, verdict, T0);
      said.push(plan.alert);
      state = plan.next;
    }
    expect(said).toEqual([null, 'down', null, null, null, 'recovered', null]);
  });

  it('loads only what it wrote', () => {
    expect(loadHeartbeatAlertState({ version: 1, down: null })).toEqual(emptyHeartbeatAlertState());
    expect(loadHeartbeatAlertState(down('stale'))).toEqual(down('stale'));
    for (const bad of [
      null,
      1,
      {},
      { version: 2, down: null },
      { version: 1 },
      { version: 1, down: { state: 'odd', since_ms: 1, announced: true } },
      { version: 1, down: { state: 'stale', since_ms: '1', announced: true } },
    ]) {
      expect(loadHeartbeatAlertState(bad)).toBeNull();
    }
  });
});

describe('heartbeatAlertText', () => {
  it('says down, what to check, and how long it was down on recovery', () => {
    const stale = judgeHeartbeat(beat(10 * MIN), T0, MAX);
    expect(heartbeatAlertText('down', stale, 'web-1', null, T0)).toMatch(
      /^WATCHDOG DOWN: cost-watchdog on web-1: last check 10m ago .*spend is NOT being watched/,
    );
    expect(heartbeatAlertText('down', stale, 'web-1', null, T0)).toContain(
      '`systemctl status cost-watchdog.timer cost-watchdog-watch.service`, or cron',
    );
    expect(heartbeatAlertText('down', stale, 'web-1', null, T0, 'cost-watchdog-shop')).toContain(
      '`systemctl status cost-watchdog-shop.timer cost-watchdog-shop-watch.service`, or cron',
    );
    const failing = judgeHeartbeat(beat(1000, false, 'log unreadable'), T0, MAX);
    expect(heartbeatAlertText('down', failing, 'web-1', null, T0)).toMatch(
      /^WATCHDOG FAILING: .*log unreadable/,
    );
    const fresh = judgeHeartbeat(beat(1000), T0, MAX);
    expect(heartbeatAlertText('recovered', fresh, 'web-1', T0 - 12 * MIN, T0)).toMatch(
      /^RECOVERED: cost-watchdog on web-1 is checking again after 12m/,
    );
  });
});

describe('pingUrlFor: the healthchecks.io convention', () => {
  const rows: [string, boolean, string][] = [
    ['https://hc-ping.com/abc-123', true, 'https://hc-ping.com/abc-123'],
    ['https://hc-ping.com/abc-123', false, 'https://hc-ping.com/abc-123/fail'],
    ['https://hc-ping.com/abc-123/', false, 'https://hc-ping.com/abc-123/fail'],
    ['https://hc.example/ping/key/slug?create=1', false, 'https://hc.example/ping/key/slug/fail?create=1'],
    ['http://127.0.0.1:8080/p', false, 'http://127.0.0.1:8080/p/fail'],
  ];
  it.each(rows)('%s ok=%s', (url, ok, expected) => {
    expect(pingUrlFor(url, ok)).toBe(expected);
  });
});

describe('notifyDue: a failed unit announced once per reminder, unless it recovered in between', () => {
  const HOUR = 60 * MIN;
  const rows: [string, number | undefined, number | null, boolean][] = [
    ['never announced', undefined, null, true],
    ['announced a minute ago, no good check since', T0 - MIN, null, false],
    ['announced a minute ago, the last good check before it', T0 - MIN, T0 - 2 * MIN, false],
    ['announced a minute ago, a good check since: a new failure', T0 - MIN, T0 - 30_000, true],
    ['announced an hour ago: the reminder is due', T0 - HOUR, null, true],
    ['announced "in the future" (the clock went back)', T0 + MIN, null, true],
  ];
  it.each(rows)('%s', (_name, last, good, due) => {
    expect(notifyDue(last, T0, HOUR, good)).toBe(due);
  });
});

describe('pingDue: watch pings on a change of outcome, else at most every minute', () => {
  const rows: [string, { atMs: number; ok: boolean } | null, boolean, boolean][] = [
    ['the first check', null, true, true],
    ['the first check failed', null, false, true],
    ['good again 5 s after a good ping', { atMs: T0 - 5_000, ok: true }, true, false],
    ['good a minute after a good ping', { atMs: T0 - MIN, ok: true }, true, true],
    ['failed 5 s after a good ping: at once', { atMs: T0 - 5_000, ok: true }, false, true],
    ['good 5 s after a failed ping: at once', { atMs: T0 - 5_000, ok: false }, true, true],
    ['still failing 5 s later', { atMs: T0 - 5_000, ok: false }, false, false],
  ];
  it.each(rows)('%s', (_name, last, ok, due) => {
    expect(pingDue(last, ok, T0, MIN)).toBe(due);
  });
});
