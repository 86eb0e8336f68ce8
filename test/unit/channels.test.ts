// The alert channels' pure parts: the versioned webhook payload, its HMAC signature, what an alert
// means to PagerDuty (trigger / resolve, dedup keys, severities), which channel wants which alert,
// redaction of secrets, and the pending queue kept per channel.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { channelWants } from '../../src/channels/index.js';
import { redact } from '../../src/channels/http.js';
import { retryAfterMs } from '../../src/effects/retry.js';
import { type AlertPayload, buildPayload, PAYLOAD_VERSION, payloadBody } from '../../src/channels/payload.js';
import { changeUrl, eventBody } from '../../src/channels/pagerduty.js';
import { clip, dedupKey, pagerdutyEvents, severityOf } from '../../src/channels/pagerduty-events.js';
import { signature } from '../../src/channels/webhook.js';
import type { AlertFacts } from '../../src/core/alert-text.js';
import {
  enqueuePending,
  keepPending,
  type PendingAlert,
  PENDING_LIMIT,
  supersedes,
} from '../../src/core/decide.js';
import { loadAlertState } from '../../src/core/saved/alerts.js';
import type { AlertEvent } from '../../src/core/types.js';
import type { Level } from '../../src/core/levels.js';

const AT = '2026-12-02T12:00:00.000Z';

function facts(events: AlertEvent[], extra: Partial<AlertFacts> = {}): AlertFacts {
  return {
    host: 'web-1',
    atIso: AT,
    by: 'run',
    events,
    windows: [
      { name: '15m', seconds: 900, limits: { warn: 3, emergency: 5, kill: 8 }, spend: 6, level: 'emergency' },
      { name: 'daily', seconds: null, limits: { warn: 20 }, spend: 6, level: 'ok' },
    ],
    tops: null,
    flag: { kind: 'written', file: '/srv/app/state/cost_emergency.flag' },
    kill: null,
    ...extra,
  };
}

function ev(kind: AlertEvent['kind'], window: string, level: Level, previous: Level = 'ok'): AlertEvent {
  return { kind, window, level, previous, spend: 6, limit: kind === 'recovery' ? null : 5 };
}

function payloadOf(f: AlertFacts, level: Level, fleet: string | null = null): AlertPayload {
  return buildPayload({ kind: 'alert', level, text: '', facts: f }, { id: 'a1', host: 'x', atMs: 0, fleet });
}

describe('the webhook payload (version 1)', () => {
  it('carries the facts of an alert in a documented shape', () => {
    const p = payloadOf(facts([ev('enter', '15m', 'emergency')]), 'emergency');
    expect(p).toMatchObject({
      version: PAYLOAD_VERSION,
      kind: 'alert',
      id: 'a1',
      level: 'emergency',
      host: 'web-1',
      at: AT,
      by: 'run',
      headline: 'EMERGENCY: 15m spend $6.00 crossed the emergency limit $5.00',
      windows: {
        '15m': { spend_usd: 6, level: 'emergency', limits: { warn: 3, emergency: 5, kill: 8 } },
        daily: { spend_usd: 6, level: 'ok', limits: { warn: 20 } },
      },
      events: [
        { kind: 'enter', window: '15m', level: 'emergency', previous: 'ok', spend_usd: 6, limit_usd: 5 },
      ],
      flag: { state: 'written', file: '/srv/app/state/cost_emergency.flag' },
      kill: null,
      scope: null,
      fleet: null,
    });
    expect(p.text.split('\n')[0]).toBe(p.headline);
    expect(p.text).not.toMatch(/:rotating_light:|\*/); // plain text, no Slack markup
    expect(version1Keys(p)).toEqual(Object.keys(p).sort());
  });

  it('a test message has no windows, events, flag or kill', () => {
    const p = buildPayload(
      { kind: 'test', level: 'ok', text: 'hello' },
      { id: 't', host: 'h', atMs: Date.parse(AT), by: 'notify' },
    );
    expect(p).toMatchObject({
      kind: 'test',
      text: 'hello',
      headline: 'hello',
      host: 'h',
      at: AT,
      by: 'notify',
    });
    expect(p.windows).toEqual({});
    expect(p.events).toEqual([]);
    expect(p.flag).toBeNull();
    expect(p.kill).toBeNull();
  });

  it('the body sent adds sent_at, and the signature is HMAC-SHA256 of exactly that body', () => {
    const p = payloadOf(facts([ev('enter', '15m', 'emergency')]), 'emergency');
    const body = payloadBody(p, Date.parse(AT) + 1500);
    expect(JSON.parse(body)).toMatchObject({ sent_at: '2026-12-02T12:00:01.500Z', id: 'a1' });
    const sig = signature('topsecret', body);
    expect(sig).toBe(`sha256=${createHmac('sha256', 'topsecret').update(body).digest('hex')}`);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    // A known vector (RFC 4231 test case 2), so that the header is what receivers compute.
    expect(signature('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(signature('other', body)).not.toBe(sig);
  });
});

function version1Keys(_p: AlertPayload): string[] {
  return [
    'version',
    'kind',
    'id',
    'level',
    'host',
    'at',
    'by',
    'text',
    'headline',
    'windows',
    'events',
    'flag',
    'kill',
    'scope',
    'fleet',
  ].sort();
}

describe('PagerDuty: what an alert means', () => {
  const rows: [string, AlertFacts, Level, string | null, unknown[]][] = [
    [
      'a warn triggers its window as a warning',
      facts([ev('enter', '15m', 'warn')]),
      'warn',
      null,
      [
        {
          action: 'trigger',
          dedupKey: 'cost-watchdog:web-1:15m',
          severity: 'warning',
          group: '15m',
          class: 'enter',
        },
      ],
    ],
    [
      'an emergency is an error, a kill is critical, one incident per window',
      facts([ev('escalate', '15m', 'kill', 'emergency'), ev('enter', 'daily', 'emergency')]),
      'kill',
      null,
      [
        { action: 'trigger', dedupKey: 'cost-watchdog:web-1:15m', severity: 'critical' },
        { action: 'trigger', dedupKey: 'cost-watchdog:web-1:daily', severity: 'error' },
      ],
    ],
    [
      'a warn back to ok resolves its window',
      facts([ev('recovery', '15m', 'ok', 'warn')]),
      'ok',
      null,
      [{ action: 'resolve', dedupKey: 'cost-watchdog:web-1:15m' }],
    ],
    [
      'an emergency back to ok does not resolve: the flag is still in force',
      facts([ev('recovery', '15m', 'ok', 'emergency')]),
      'ok',
      null,
      [],
    ],
    [
      'a person clearing the flag resolves every window of the host, the flag, the rest',
      facts([], {
        by: 'clear-emergency',
        headline: 'EMERGENCY CLEARED by ops: done',
        flag: { kind: 'none' },
      }),
      'ok',
      null,
      [
        { action: 'resolve', dedupKey: 'cost-watchdog:web-1:15m' },
        { action: 'resolve', dedupKey: 'cost-watchdog:web-1:daily' },
        { action: 'resolve', dedupKey: 'cost-watchdog:web-1:flag' },
        { action: 'resolve', dedupKey: 'cost-watchdog:web-1:watchdog' },
      ],
    ],
    [
      'a manual kill pages on the flag incident',
      facts([], { by: 'kill', headline: 'MANUAL KILL by ops: runaway' }),
      'kill',
      null,
      [
        {
          action: 'trigger',
          dedupKey: 'cost-watchdog:web-1:flag',
          severity: 'critical',
          class: 'manual-kill',
        },
      ],
    ],
    [
      'a scope is one incident per instance',
      facts([ev('enter', '15m', 'emergency')], {
        headline: 'scope per-agent agent="research": at emergency',
        scope: { name: 'per-agent', key: { agent: 'research' } },
      }),
      'emergency',
      null,
      [
        {
          action: 'trigger',
          dedupKey: 'cost-watchdog:web-1:scope:per-agent:agent=research',
          group: 'scope per-agent',
        },
      ],
    ],
    [
      "a fleet's window is the fleet's incident, shared by its hosts",
      facts([ev('enter', 'fleet', 'emergency')]),
      'emergency',
      'support-bot',
      [{ action: 'trigger', dedupKey: 'cost-watchdog:fleet:support-bot:fleet', severity: 'error' }],
    ],
    [
      'the flag removed by hand pages on the flag incident',
      facts([ev('flag-removed', '', 'emergency')]),
      'emergency',
      null,
      [{ action: 'trigger', dedupKey: 'cost-watchdog:web-1:flag' }],
    ],
    [
      'findings alone (no window) go to one watchdog incident',
      facts([], { findings: ['the app under-reports'] }),
      'warn',
      null,
      [
        {
          action: 'trigger',
          dedupKey: 'cost-watchdog:web-1:watchdog',
          severity: 'warning',
          class: 'finding',
        },
      ],
    ],
  ];
  it.each(rows)('%s', (_name, f, level, fleet, expected) => {
    const events = pagerdutyEvents(payloadOf(f, level, fleet));
    expect(events).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(events[i]).toMatchObject(e as object);
    });
  });

  it('tests and summaries are change events (they page nobody)', () => {
    const p = buildPayload({ kind: 'test', level: 'ok', text: 'hi' }, { id: 't', host: 'h', atMs: 0 });
    expect(pagerdutyEvents(p)).toEqual([{ action: 'change', summary: 'hi' }]);
    const s = buildPayload(
      { kind: 'summary', level: 'ok', text: 'daily', summary: { day: '2026-12-01' } },
      { id: 's', host: 'h', atMs: 0 },
    );
    expect(pagerdutyEvents(s)[0]).toMatchObject({ action: 'change' });
    expect(eventBody({ action: 'change', summary: 'daily' }, 'KEY', s)).toMatchObject({
      routing_key: 'KEY',
      payload: { summary: 'daily', source: 'h', custom_details: { summary: { day: '2026-12-01' } } },
    });
  });

  it('the trigger body has the fields of the Events API v2', () => {
    const p = payloadOf(facts([ev('enter', '15m', 'emergency')]), 'emergency');
    const [event] = pagerdutyEvents(p);
    expect(eventBody(event!, 'R0UT1NG', p)).toMatchObject({
      routing_key: 'R0UT1NG',
      event_action: 'trigger',
      dedup_key: 'cost-watchdog:web-1:15m',
      payload: {
        summary: expect.stringMatching(/^EMERGENCY: 15m spend \$6\.00 .*\(host web-1\)$/),
        source: 'web-1',
        severity: 'error',
        timestamp: AT,
        component: 'cost-watchdog',
        group: '15m',
        class: 'enter',
        custom_details: { id: 'a1', level: 'emergency' },
      },
    });
    expect(eventBody({ action: 'resolve', dedupKey: 'k' }, 'R', p)).toEqual({
      routing_key: 'R',
      event_action: 'resolve',
      dedup_key: 'k',
    });
  });

  it('severities, summary length, dedup key length, the change address', () => {
    expect(['warn', 'emergency', 'kill', 'ok'].map((l) => severityOf(l as Level))).toEqual([
      'warning',
      'error',
      'critical',
      'info',
    ]);
    expect(clip('x'.repeat(5000))).toHaveLength(1024);
    const long = payloadOf(facts([]), 'warn');
    expect(dedupKey(long, 'w'.repeat(400)).length).toBeLessThanOrEqual(255);
    expect(changeUrl('https://events.pagerduty.com/v2/enqueue')).toBe(
      'https://events.pagerduty.com/v2/change/enqueue',
    );
    expect(changeUrl('http://127.0.0.1:9/v2/enqueue')).toBe('http://127.0.0.1:9/v2/change/enqueue');
  });
});

describe('which channel wants an alert (min_level)', () => {
  const rows: [string, Level, AlertFacts, Level, boolean][] = [
    ['a warn to a warn channel', 'warn', facts([ev('enter', '15m', 'warn')]), 'warn', true],
    ['a warn to an emergency channel', 'emergency', facts([ev('enter', '15m', 'warn')]), 'warn', false],
    ['a kill to an emergency channel', 'emergency', facts([ev('enter', '15m', 'kill')]), 'kill', true],
    [
      'a recovery from warn to a warn channel',
      'warn',
      facts([ev('recovery', '15m', 'ok', 'warn')]),
      'ok',
      true,
    ],
    [
      'a recovery from warn to an emergency channel (it never had the warn)',
      'emergency',
      facts([ev('recovery', '15m', 'ok', 'warn')]),
      'ok',
      false,
    ],
    [
      'a clear to any channel (it resolves)',
      'kill',
      facts([], { by: 'clear-emergency', headline: 'EMERGENCY CLEARED' }),
      'ok',
      true,
    ],
  ];
  it.each(rows)('%s', (_n, min, f, level, wants) => {
    expect(channelWants(min, { facts: f, level })).toBe(wants);
  });
});

describe('secrets are cut out of error texts', () => {
  it('the URL, its path and query, a secret', () => {
    const url = 'https://hooks.example.com/in/s3cr3t-path?token=abc123';
    expect(redact(`failed ${url} and /in/s3cr3t-path?token=abc123 and k3y`, [url, 'k3y'])).toBe(
      'failed <redacted> and <redacted> and <redacted>',
    );
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs(null, 0)).toBeNull();
  });
});

describe('the pending queue, per channel', () => {
  const T0 = 1_800_000_000_000;
  const item = (id: string, level: Level, channel?: string): PendingAlert => ({
    id,
    text: `${level} 15m`,
    created_ms: T0,
    attempts: 0,
    level,
    climbs: ['15m'],
    plain: true,
    ...(channel !== undefined ? { channel } : {}),
  });

  it('a newer alert supersedes only a queued one of its own channel', () => {
    expect(supersedes(item('n', 'kill'), item('o', 'emergency'))).toBe(true);
    expect(supersedes(item('n', 'kill', 'webhook'), item('o', 'emergency'))).toBe(false);
    expect(supersedes(item('n', 'kill', 'webhook'), item('o', 'emergency', 'webhook'))).toBe(true);
    const merged = enqueuePending(
      [{ ...item('o', 'emergency', 'pagerduty'), payload: { text: 'old' } }],
      { ...item('n', 'kill', 'pagerduty'), payload: { text: 'kill 15m' } },
      T0,
    );
    expect(merged.queue).toHaveLength(1);
    expect(merged.queue[0]?.payload?.text).toBe(merged.queue[0]?.text);
  });

  it('each channel keeps its own PENDING_LIMIT', () => {
    const many = [
      ...Array.from({ length: PENDING_LIMIT + 5 }, (_, i) => item(`w${i}`, 'warn', 'webhook')),
      ...Array.from({ length: 3 }, (_, i) => item(`s${i}`, 'warn')),
    ];
    const kept = keepPending(many, T0);
    expect(kept.dropped).toBe(5);
    expect(kept.kept.filter((p) => p.channel === undefined)).toHaveLength(3);
  });

  it('alerts.json keeps the channel and payload; an old file means slack', () => {
    const state = loadAlertState({
      version: 1,
      windows: {},
      acknowledged: {},
      kill_switch: null,
      flag_seen: false,
      last_reminder_ms: null,
      incidents: {},
      pending: [
        { text: 'old', created_ms: T0, attempts: 1, id: 'a' },
        { text: 'new', created_ms: T0, attempts: 0, id: 'a.pd', channel: 'pd', payload: { version: 1 } },
      ],
      findings: {},
    });
    expect(state?.pending[0]?.channel).toBeUndefined();
    expect(state?.pending[1]).toMatchObject({ channel: 'pd', payload: { version: 1 } });
  });
});
