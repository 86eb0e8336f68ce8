// The queue of unsent alerts (core/decide/pending.ts): which newer alert supersedes a queued one, what is
// kept when the queue is full, and what a remembered queue reads back as.
import { describe, expect, it } from 'vitest';
import {
  emptyAlertState,
  enqueuePending,
  keepPending,
  type PendingAlert,
  PENDING_LIMIT,
  supersedes,
} from '../../src/core/decide.js';
import { loadAlertState } from '../../src/core/saved/alerts.js';
import { slackEscape } from '../../src/core/alert-text.js';
import type { Level } from '../../src/core/levels.js';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

function alert(
  id: string,
  level: Level,
  climbs: string[],
  plain = true,
  atMs = T0,
  text = `:x: *cost-watchdog: ${level.toUpperCase()}: ${climbs.join(',')} spend*\n• more`,
): PendingAlert {
  return { id, text, created_ms: atMs, attempts: 0, level, climbs, ...(plain ? { plain: true } : {}) };
}

describe('supersedes: does a newer alert say all that a queued one would?', () => {
  const rows: [string, PendingAlert, PendingAlert, boolean][] = [
    [
      'kill 15m over a queued emergency 15m',
      alert('n', 'kill', ['15m']),
      alert('o', 'emergency', ['15m']),
      true,
    ],
    [
      'emergency 15m over a queued emergency 15m (same level, newer figures)',
      alert('n', 'emergency', ['15m']),
      alert('o', 'emergency', ['15m']),
      true,
    ],
    [
      'kill 15m and daily over a queued emergency 15m',
      alert('n', 'kill', ['15m', 'daily']),
      alert('o', 'emergency', ['15m']),
      true,
    ],
    [
      'not a lower level: warn 15m over emergency 15m',
      alert('n', 'warn', ['15m']),
      alert('o', 'emergency', ['15m']),
      false,
    ],
    [
      'not another window: kill daily over emergency 15m',
      alert('n', 'kill', ['daily']),
      alert('o', 'emergency', ['15m']),
      false,
    ],
    [
      'not when the queued one covers more windows',
      alert('n', 'kill', ['15m']),
      alert('o', 'emergency', ['15m', 'daily']),
      false,
    ],
    [
      'not a queued one that says more than climbs (a failure, a finding)',
      alert('n', 'kill', ['15m']),
      alert('o', 'emergency', ['15m'], false),
      false,
    ],
    [
      'not a queued one without climbs (a reminder, a recovery)',
      alert('n', 'kill', ['15m']),
      alert('o', 'ok', [], true),
      false,
    ],
    [
      'not a recovery over an emergency (the flag is still in force)',
      alert('n', 'ok', []),
      alert('o', 'emergency', ['15m']),
      false,
    ],
    [
      'not an alert saved before levels were kept',
      alert('n', 'kill', ['15m']),
      { text: 'old', created_ms: T0, attempts: 1, id: 'o' },
      false,
    ],
  ];
  it.each(rows)('%s', (_name, newer, older, expected) => expect(supersedes(newer, older)).toBe(expected));
});

describe('enqueuePending', () => {
  it(
    'a queued unsent emergency alert is replaced by a newer kill alert for the same window, which ' +
      'says what it replaces',
    () => {
      const queued = alert(
        'e',
        'emergency',
        ['15m'],
        true,
        T0 - 5000,
        ':rotating_light: *cost-watchdog: EMERGENCY: 15m spend $5.10 crossed the emergency limit ' +
          '$5.00*\n• 15m: $5.10',
      );
      const r = enqueuePending([queued], alert('k', 'kill', ['15m'], true, T0), T0);
      expect(r.replaced.map((p) => p.id)).toEqual(['e']);
      expect(r.queue.map((p) => p.id)).toEqual(['k']);
      expect(r.queue[0]?.text).toMatch(
        new RegExp(
          String.raw`\n• replaces an alert not sent in time ` +
            String.raw`\(2027-01-15T07:59:55\.000Z\): EMERGENCY: 15m spend \$5\.10 crossed ` +
            String.raw`the emergency limit \$5\.00$`,
        ),
      );
    },
  );
  it('never replaces the alert being sent right now', () => {
    const r = enqueuePending([alert('e', 'emergency', ['15m'])], alert('k', 'kill', ['15m']), T0, 'e');
    expect(r.queue.map((p) => p.id)).toEqual(['e', 'k']);
    expect(r.replaced).toEqual([]);
  });
  it('what a replaced alert had itself replaced is carried on', () => {
    const first = enqueuePending(
      [alert('w', 'emergency', ['15m'], true, T0 - 2000)],
      alert('e', 'emergency', ['15m'], true, T0 - 1000),
      T0,
    ).queue;
    const second = enqueuePending(first, alert('k', 'kill', ['15m']), T0).queue;
    expect(second).toHaveLength(1);
    expect(second[0]?.text.match(/replaces an alert not sent in time/g)).toHaveLength(2);
  });
  it('keeps other alerts in order, and stays bounded', () => {
    let queue: PendingAlert[] = [];
    for (let i = 0; i < 30; i++)
      queue = enqueuePending(queue, alert(`f${i}`, 'warn', [], false, T0 + i), T0 + 30).queue;
    expect(queue).toHaveLength(PENDING_LIMIT);
    expect(queue.map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => `f${i + 10}`));
  });
});

describe('keepPending: what is kept when there are too many', () => {
  it('drops the lowest level first, the oldest of it first; keeps the order', () => {
    const queue = [
      alert('k0', 'kill', ['15m'], true, T0 - 100),
      ...Array.from({ length: 20 }, (_, i) => alert(`w${i}`, 'warn', [], false, T0 - 50 + i)),
      alert('e0', 'emergency', ['daily'], true, T0),
    ];
    const { kept, dropped } = keepPending(queue, T0);
    expect(dropped).toBe(2);
    expect(kept[0]?.id).toBe('k0');
    expect(kept.at(-1)?.id).toBe('e0');
    expect(kept.some((p) => p.id === 'w0' || p.id === 'w1')).toBe(false);
  });
  it('drops what is older than a day, but never the one being sent', () => {
    const queue = [
      alert('old', 'kill', ['15m'], true, T0 - 25 * HOUR),
      alert('busy', 'warn', [], false, T0 - 25 * HOUR),
      alert('new', 'warn', [], false, T0),
    ];
    expect(keepPending(queue, T0, 'busy').kept.map((p) => p.id)).toEqual(['busy', 'new']);
  });
});

describe('loadAlertState: the pending queue and its owner', () => {
  it('gives an alert saved before ids an id of its own, keeps valid fields, drops bad ones', () => {
    const state = loadAlertState({
      ...emptyAlertState(),
      pending: [
        { text: 'a', created_ms: T0, attempts: 2 },
        { text: 'b', created_ms: T0, attempts: 0, id: 'x', level: 'panic', climbs: [1], plain: 'yes' },
        { text: 3 },
      ],
      pending_owner: { pid: 42, start: 7, host: 'h' },
    });
    expect(state?.pending).toEqual([
      { text: 'a', created_ms: T0, attempts: 2, id: `saved-${T0}-0` },
      { text: 'b', created_ms: T0, attempts: 0, id: 'x' },
    ]);
    expect(state?.pending_owner).toEqual({ pid: 42, start: 7, host: 'h' });
  });
  it('an owner that is not well formed is no owner', () => {
    expect(
      loadAlertState({ ...emptyAlertState(), pending_owner: { pid: '42', host: 'h' } })?.pending_owner,
    ).toBeNull();
  });
});

describe('slackEscape: text from the log cannot ping', () => {
  const rows: [string, string][] = [
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here|here>', '&lt;!here|here&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['@here', '@\u200bhere'],
    ['@channel and @everyone', '@\u200bchannel and @\u200beveryone'],
    ['@HERE', '@\u200bHERE'],
    ['user@heresy.example', 'user@heresy.example'],
    ['a&b', 'a&amp;b'],
  ];
  it.each(rows)('%s', (input, output) => expect(slackEscape(input)).toBe(output));
});
