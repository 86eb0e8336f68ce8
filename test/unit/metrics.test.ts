// The Prometheus exposition (src/metrics/render.ts) and what a check adds to the counters
// (counters.ts, figures.ts): figures in, text out, no files.
import { describe, expect, it } from 'vitest';
import type { KillSummary } from '../../src/core/alert-text.js';
import type { Level, Limits } from '../../src/core/levels.js';
import { systemdUnits, type UnitOptions } from '../../src/core/units.js';
import {
  addCounts,
  type Counters,
  killDidSomething,
  loadCounters,
  savedCounters,
  zeroCounters,
} from '../../src/metrics/counters.js';
import { checkCounts, scopeKeyText } from '../../src/metrics/figures.js';
import { METRICS_CONTENT_TYPE, type MetricsFigures, renderMetrics } from '../../src/metrics/render.js';

const L15: Limits = { warn: 3, emergency: 5, kill: 8 };
const LDAY: Limits = { warn: 20, emergency: 25, kill: 30 };

function figures(over: Partial<MetricsFigures> = {}): MetricsFigures {
  return {
    version: '1.2.3',
    windows: [
      { name: '15m', spendUsd: 1.25, level: 'ok', limits: L15 },
      { name: 'daily', spendUsd: 4.5, level: 'ok', limits: LDAY },
    ],
    emergencyActive: false,
    lastCheck: { atMs: 1_769_472_000_250, durationMs: 42, ok: true },
    counters: zeroCounters(),
    scopes: null,
    fleet: null,
    reconcile: null,
    ...over,
  };
}

/** The samples of an exposition: `name{labels}` (labels as written) -> value. */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

function names(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2] as string);
}

describe('renderMetrics', () => {
  it('gives every metric of DESIGN.md with HELP and TYPE, and the extras documented', async () => {
    const text = await renderMetrics(figures());
    expect(names(text)).toEqual([
      'cost_watchdog_spend_usd',
      'cost_watchdog_limit_usd',
      'cost_watchdog_level',
      'cost_watchdog_emergency_active',
      'cost_watchdog_lines_total',
      'cost_watchdog_kills_total',
      'cost_watchdog_alerts_total',
      'cost_watchdog_checks_total',
      'cost_watchdog_last_check_timestamp_seconds',
      'cost_watchdog_check_duration_seconds',
      'cost_watchdog_last_check_success',
      'cost_watchdog_build_info',
    ]);
    for (const name of names(text)) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    expect(text).toContain('# TYPE cost_watchdog_lines_total counter');
    expect(text).toContain('# TYPE cost_watchdog_spend_usd gauge');
    expect(text.endsWith('\n')).toBe(true);
    expect(METRICS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('gives spend, limits, the time and duration of the check, in dollars and seconds', async () => {
    const s = samples(await renderMetrics(figures()));
    expect(s.get('cost_watchdog_spend_usd{window="15m"}')).toBe('1.25');
    expect(s.get('cost_watchdog_spend_usd{window="daily"}')).toBe('4.5');
    expect(s.get('cost_watchdog_limit_usd{window="15m",level="warn"}')).toBe('3');
    expect(s.get('cost_watchdog_limit_usd{window="15m",level="emergency"}')).toBe('5');
    expect(s.get('cost_watchdog_limit_usd{window="daily",level="kill"}')).toBe('30');
    expect(s.get('cost_watchdog_last_check_timestamp_seconds')).toBe('1769472000.25');
    expect(s.get('cost_watchdog_check_duration_seconds')).toBe('0.042');
    expect(s.get('cost_watchdog_last_check_success')).toBe('1');
    expect(s.get('cost_watchdog_emergency_active')).toBe('0');
    expect(s.get('cost_watchdog_build_info{version="1.2.3"}')).toBe('1');
  });

  it.each<[Level, string]>([
    ['ok', '0'],
    ['warn', '1'],
    ['emergency', '2'],
    ['kill', '3'],
  ])('level %s is %s', async (level, value) => {
    const s = samples(
      await renderMetrics(figures({ windows: [{ name: '1h', spendUsd: 9, level, limits: L15 }] })),
    );
    expect(s.get('cost_watchdog_level{window="1h"}')).toBe(value);
  });

  it.each<[string, Limits, string[]]>([
    ['all three', L15, ['warn', 'emergency', 'kill']],
    ['warn only', { warn: 2 }, ['warn']],
    ['emergency and kill', { emergency: 1.5, kill: 2.5 }, ['emergency', 'kill']],
    ['none', {}, []],
  ])('limits: %s configured, only those given', async (_, limits, levels) => {
    const s = samples(
      await renderMetrics(figures({ windows: [{ name: '5m', spendUsd: 0, level: 'ok', limits }] })),
    );
    const given = [...s.keys()].filter((k) => k.startsWith('cost_watchdog_limit_usd{'));
    expect(given).toEqual(levels.map((l) => `cost_watchdog_limit_usd{window="5m",level="${l}"}`));
  });

  it.each<[string, Partial<MetricsFigures>, Record<string, string>]>([
    ['the flag in force', { emergencyActive: true }, { cost_watchdog_emergency_active: '1' }],
    [
      'a failed check',
      { lastCheck: { atMs: 1000, durationMs: 1500, ok: false } },
      { cost_watchdog_last_check_success: '0', cost_watchdog_check_duration_seconds: '1.5' },
    ],
    [
      'counters carried forward',
      {
        counters: {
          lines: { record: 1_000_000, malformed: 7, future: 2 },
          kills: 3,
          checks: { ok: 40, failed: 2 },
          alerts: [
            { channel: 'slack', result: 'sent', n: 5 },
            { channel: 'slack', result: 'failed', n: 1 },
            { channel: 'ops-webhook', result: 'dropped', n: 2 },
          ],
        },
      },
      {
        'cost_watchdog_lines_total{kind="record"}': '1000000',
        'cost_watchdog_lines_total{kind="malformed"}': '7',
        'cost_watchdog_lines_total{kind="future"}': '2',
        cost_watchdog_kills_total: '3',
        'cost_watchdog_checks_total{result="ok"}': '40',
        'cost_watchdog_checks_total{result="failed"}': '2',
        'cost_watchdog_alerts_total{channel="slack",result="sent"}': '5',
        'cost_watchdog_alerts_total{channel="slack",result="failed"}': '1',
        'cost_watchdog_alerts_total{channel="ops-webhook",result="dropped"}': '2',
      },
    ],
    [
      'zero counters, every kind of line still given',
      {},
      {
        'cost_watchdog_lines_total{kind="record"}': '0',
        'cost_watchdog_lines_total{kind="malformed"}': '0',
        'cost_watchdog_lines_total{kind="future"}': '0',
        cost_watchdog_kills_total: '0',
      },
    ],
  ])('%s', async (_, over, expected) => {
    const s = samples(await renderMetrics(figures(over)));
    for (const [key, value] of Object.entries(expected)) expect(s.get(key), key).toBe(value);
  });

  it('has no alerts sample before any alert (the metric is declared)', async () => {
    const text = await renderMetrics(figures());
    expect(text).toContain('# TYPE cost_watchdog_alerts_total counter');
    expect(text).not.toMatch(/^cost_watchdog_alerts_total/m);
  });

  describe('scopes', () => {
    const scopes: MetricsFigures['scopes'] = {
      limits: [
        { scope: 'every-agent', window: '15m', limits: { warn: 1 } },
        { scope: 'every-agent', window: 'daily', limits: { warn: 2, kill: 5 } },
        { scope: 'team', window: 'daily', limits: { emergency: 10 } },
      ],
      instances: [
        {
          scope: 'every-agent',
          key: 'agent=research',
          windows: [
            { name: '15m', spendUsd: 0.5, level: 'ok' },
            { name: 'daily', spendUsd: 6, level: 'kill' },
          ],
        },
        { scope: 'team', key: '', windows: [{ name: 'daily', spendUsd: 10, level: 'emergency' }] },
      ],
    };

    it('absent when none is configured', async () => {
      const text = await renderMetrics(figures());
      expect(text).not.toContain('scope');
    });

    it('spend and level per scope, key and window; limits per scope and window', async () => {
      const s = samples(await renderMetrics(figures({ scopes })));
      expect(
        s.get('cost_watchdog_scope_spend_usd{scope="every-agent",key="agent=research",window="15m"}'),
      ).toBe('0.5');
      expect(
        s.get('cost_watchdog_scope_level{scope="every-agent",key="agent=research",window="daily"}'),
      ).toBe('3');
      expect(s.get('cost_watchdog_scope_spend_usd{scope="team",key="",window="daily"}')).toBe('10');
      expect(s.get('cost_watchdog_scope_level{scope="team",key="",window="daily"}')).toBe('2');
      expect(s.get('cost_watchdog_scope_limit_usd{scope="every-agent",window="daily",level="kill"}')).toBe(
        '5',
      );
      expect(s.get('cost_watchdog_scope_limit_usd{scope="team",window="daily",level="emergency"}')).toBe(
        '10',
      );
      expect([...s.keys()].filter((k) => k.startsWith('cost_watchdog_scope_limit_usd'))).toHaveLength(4);
    });

    it('declared with no sample when no instance is listed yet', async () => {
      const text = await renderMetrics(figures({ scopes: { limits: [], instances: [] } }));
      expect(text).toContain('# TYPE cost_watchdog_scope_spend_usd gauge');
      expect(text).not.toMatch(/^cost_watchdog_scope_spend_usd\{/m);
    });
  });

  it.each<[string, string, string]>([
    ['a double quote', 'agent=say "hi"', 'key="agent=say \\"hi\\""'],
    ['a backslash', 'agent=C:\\bots', 'key="agent=C:\\\\bots"'],
    ['a newline', 'agent=two\nlines', 'key="agent=two\\nlines"'],
    ['all three', 'a\\"\n', 'key="a\\\\\\"\\n"'],
    ['text beyond ASCII', 'agent=détective-研究', 'key="agent=détective-研究"'],
  ])('escapes %s in a label value', async (_, key, written) => {
    const text = await renderMetrics(
      figures({
        scopes: {
          limits: [],
          instances: [{ scope: 's', key, windows: [{ name: 'daily', spendUsd: 1, level: 'ok' }] }],
        },
      }),
    );
    const line = text.split('\n').find((l) => l.startsWith('cost_watchdog_scope_spend_usd{'));
    expect(line).toBe(`cost_watchdog_scope_spend_usd{scope="s",${written},window="daily"} 1`);
  });

  it('escapes a channel name in alerts_total the same way', async () => {
    const text = await renderMetrics(
      figures({ counters: { ...zeroCounters(), alerts: [{ channel: 'we"ird\\', result: 'sent', n: 1 }] } }),
    );
    expect(text).toContain('cost_watchdog_alerts_total{channel="we\\"ird\\\\",result="sent"} 1');
  });

  describe('fleet', () => {
    const limits = [
      { window: '15m', limits: { emergency: 20 } },
      { window: 'daily', limits: { warn: 100, kill: 200 } },
    ];

    it('absent when none is configured', async () => {
      expect(await renderMetrics(figures())).not.toContain('fleet');
    });

    it('reachable: spend and level per window, limits, reachable 1', async () => {
      const s = samples(
        await renderMetrics(
          figures({
            fleet: {
              reachable: true,
              limits,
              windows: [
                { name: '15m', spendUsd: 21, level: 'emergency' },
                { name: 'daily', spendUsd: 50, level: 'ok' },
              ],
            },
          }),
        ),
      );
      expect(s.get('cost_watchdog_fleet_reachable')).toBe('1');
      expect(s.get('cost_watchdog_fleet_spend_usd{window="15m"}')).toBe('21');
      expect(s.get('cost_watchdog_fleet_spend_usd{window="daily"}')).toBe('50');
      expect(s.get('cost_watchdog_fleet_level{window="15m"}')).toBe('2');
      expect(s.get('cost_watchdog_fleet_limit_usd{window="daily",level="kill"}')).toBe('200');
    });

    it('unreachable: reachable 0, limits, and no spend (an old figure would mislead)', async () => {
      const text = await renderMetrics(figures({ fleet: { reachable: false, limits, windows: [] } }));
      const s = samples(text);
      expect(s.get('cost_watchdog_fleet_reachable')).toBe('0');
      expect(s.get('cost_watchdog_fleet_limit_usd{window="15m",level="emergency"}')).toBe('20');
      expect(text).not.toContain('cost_watchdog_fleet_spend_usd');
      expect(text).not.toContain('cost_watchdog_fleet_level');
    });
  });

  describe('balance', () => {
    it('absent when none is configured', async () => {
      expect(await renderMetrics(figures())).not.toContain('balance');
    });

    it('the balance and what is left; when it runs out only while it is burning', async () => {
      const windows = [
        ...figures().windows,
        {
          name: 'balance',
          spendUsd: 47.3,
          level: 'emergency' as const,
          limits: { emergency: 45, kill: 47.5 },
        },
      ];
      const burning = samples(
        await renderMetrics(
          figures({ windows, balance: { balanceUsd: 50, leftUsd: 2.7, runsOutAtMs: 1_769_472_060_500 } }),
        ),
      );
      expect(burning.get('cost_watchdog_spend_usd{window="balance"}')).toBe('47.3');
      expect(burning.get('cost_watchdog_level{window="balance"}')).toBe('2');
      expect(burning.get('cost_watchdog_limit_usd{window="balance",level="kill"}')).toBe('47.5');
      expect(burning.get('cost_watchdog_balance_usd')).toBe('50');
      expect(burning.get('cost_watchdog_balance_left_usd')).toBe('2.7');
      expect(burning.get('cost_watchdog_balance_runs_out_timestamp_seconds')).toBe('1769472060.5');
      const text = await renderMetrics(
        figures({ windows, balance: { balanceUsd: 50, leftUsd: -1, runsOutAtMs: null } }),
      );
      expect(samples(text).get('cost_watchdog_balance_left_usd')).toBe('-1');
      expect(text).not.toMatch(/^cost_watchdog_balance_runs_out_timestamp_seconds /m);
    });
  });

  describe('reconcile', () => {
    it('absent when none is configured', async () => {
      expect(await renderMetrics(figures())).not.toContain('reconcile');
    });

    it('per provider: usage, logs, gap, lag, level; one never read has only up and level', async () => {
      const text = await renderMetrics(
        figures({
          reconcile: [
            {
              provider: 'openai',
              type: 'openai',
              lastMinuteMs: 1_769_471_940_000,
              providerUsd: 52.5,
              loggedUsd: 2.5,
              unloggedUsd: 50,
              lagSeconds: 65,
              level: 'emergency',
              up: true,
            },
            {
              provider: 'anthropic',
              type: 'anthropic',
              lastMinuteMs: null,
              providerUsd: 0,
              loggedUsd: 0,
              unloggedUsd: 0,
              lagSeconds: null,
              level: 'ok',
              up: false,
            },
          ],
        }),
      );
      const s = samples(text);
      const o = '{provider="openai",type="openai"}';
      expect(s.get(`cost_watchdog_reconcile_up${o}`)).toBe('1');
      expect(s.get(`cost_watchdog_reconcile_provider_usd${o}`)).toBe('52.5');
      expect(s.get(`cost_watchdog_reconcile_logged_usd${o}`)).toBe('2.5');
      expect(s.get(`cost_watchdog_reconcile_unlogged_usd${o}`)).toBe('50');
      expect(s.get(`cost_watchdog_reconcile_lag_seconds${o}`)).toBe('65');
      expect(s.get(`cost_watchdog_reconcile_last_minute_timestamp_seconds${o}`)).toBe('1769471940');
      expect(s.get(`cost_watchdog_reconcile_level${o}`)).toBe('2');
      const a = '{provider="anthropic",type="anthropic"}';
      expect(s.get(`cost_watchdog_reconcile_up${a}`)).toBe('0');
      expect(s.get(`cost_watchdog_reconcile_unlogged_usd${a}`)).toBeUndefined();
    });
  });

  it('uses a registry of its own each time: two renders do not mix', async () => {
    const a = await renderMetrics(
      figures({ windows: [{ name: 'a', spendUsd: 1, level: 'ok', limits: {} }] }),
    );
    const b = await renderMetrics(
      figures({ windows: [{ name: 'b', spendUsd: 2, level: 'ok', limits: {} }] }),
    );
    expect(a).toContain('window="a"');
    expect(a).not.toContain('window="b"');
    expect(b).not.toContain('window="a"');
  });
});

const KILL: KillSummary = {
  notRunning: false,
  tree: [{ pid: 10, name: 'app' }],
  exited: [10],
  killed: [],
  refused: [],
  survivors: [],
  stop: null,
  notes: [],
  dryRun: false,
};

describe('killDidSomething', () => {
  it.each<[string, KillSummary | null, boolean]>([
    ['no kill decided', null, false],
    ['a process tree signalled', KILL, true],
    ['signalled but it survived', { ...KILL, exited: [], survivors: [10] }, true],
    [
      'the stop command stopped it',
      { ...KILL, tree: [], stop: { ok: true, exitCode: 0, timedOut: false } },
      true,
    ],
    ['no target configured', { ...KILL, tree: [], exited: [], unconfigured: true, notRunning: true }, false],
    ['the target not running', { ...KILL, tree: [], exited: [], notRunning: true }, false],
    ['the target could not be found (error)', { ...KILL, tree: [], exited: [] }, false],
    ['a dry run', { ...KILL, dryRun: true }, false],
  ])('%s: %s', (_, kill, expected) => {
    expect(killDidSomething(kill)).toBe(expected);
  });
});

describe('scopeKeyText', () => {
  it.each<[Record<string, string>, string]>([
    [{}, ''],
    [{ agent: 'research' }, 'agent=research'],
    [{ model: 'gpt-4o', agent: 'a' }, 'agent=a,model=gpt-4o'],
    [{ agent: '(other)' }, 'agent=(other)'],
  ])('%j -> %s', (key, text) => {
    expect(scopeKeyText(key)).toBe(text);
  });
});

describe('checkCounts and addCounts', () => {
  const outcome = {
    newRecords: 10,
    newMalformed: 2,
    newFuture: 1,
    kill: KILL,
    scopeActions: [
      {
        name: 's',
        key: { agent: 'a' },
        level: 'kill',
        action_level: 'kill',
        events: [],
        flag: { kind: 'none' },
        kill: KILL,
      },
      {
        name: 's',
        key: { agent: 'b' },
        level: 'kill',
        action_level: 'kill',
        events: [],
        flag: { kind: 'none' },
        kill: { ...KILL, tree: [], exited: [], notRunning: true },
      },
    ],
  } as unknown as Parameters<typeof checkCounts>[0];

  it('counts the new lines, the kills that did something (main and scopes), the check, the alerts', () => {
    const counts = checkCounts(outcome, true, [['slack', 'sent', 2]]);
    expect(counts).toEqual({
      records: 10,
      malformed: 2,
      future: 1,
      kills: 2,
      ok: true,
      alerts: [['slack', 'sent', 2]],
    });
  });

  it('adds to what was saved, alerts by channel and result', () => {
    const start: Counters = {
      lines: { record: 5, malformed: 0, future: 0 },
      kills: 1,
      checks: { ok: 3, failed: 1 },
      alerts: [{ channel: 'slack', result: 'sent', n: 4 }],
    };
    const next = addCounts(start, {
      records: 10,
      malformed: 2,
      future: 1,
      kills: 2,
      ok: false,
      alerts: [
        ['slack', 'sent', 2],
        ['slack', 'failed', 1],
        ['console', 'sent', 0],
      ],
    });
    expect(next).toEqual({
      lines: { record: 15, malformed: 2, future: 1 },
      kills: 3,
      checks: { ok: 3, failed: 2 },
      alerts: [
        { channel: 'slack', result: 'sent', n: 6 },
        { channel: 'slack', result: 'failed', n: 1 },
      ],
    });
    expect(start.alerts[0]?.n).toBe(4);
  });
});

describe('the saved counters (metrics.json)', () => {
  const counters: Counters = {
    lines: { record: 15, malformed: 2, future: 1 },
    kills: 3,
    checks: { ok: 3, failed: 2 },
    alerts: [
      { channel: 'slack', result: 'sent', n: 6 },
      { channel: 'slack', result: 'failed', n: 1 },
      { channel: 'pager', result: 'dropped', n: 1 },
    ],
  };

  it('round-trips through JSON', () => {
    const value = JSON.parse(JSON.stringify(savedCounters(counters)));
    expect(value.alerts).toEqual({ slack: { sent: 6, failed: 1 }, pager: { dropped: 1 } });
    expect(loadCounters(value)).toEqual({ ok: true, counters });
  });

  const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(savedCounters(counters)));
  it.each<[string, unknown, string]>([
    ['not an object', 'hello', '(the whole file)'],
    ['another version', { ...good(), version: 2 }, 'version'],
    ['a count below zero', { ...good(), kills: -1 }, 'kills'],
    ['a count not whole', { ...good(), lines: { record: 1.5, malformed: 0, future: 0 } }, 'lines.record'],
    ['a count as text', { ...good(), checks: { ok: '3', failed: 0 } }, 'checks.ok'],
    ['a count lost', { ...good(), lines: { record: 1, malformed: 0 } }, 'lines.future'],
    ['an unknown alert result', { ...good(), alerts: { slack: { lost: 1 } } }, 'alerts.slack'],
    ['a count too big to be exact', { ...good(), kills: 2 ** 60 }, 'kills'],
  ])('damaged (%s): not used, and the field is named', (_, value, field) => {
    const loaded = loadCounters(value);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.why).toContain(`"${field}`);
  });
});

describe('the systemd units let the checks write the textfile', () => {
  const options: UnitOptions = {
    user: false,
    exec: ['/usr/bin/cost-watchdog'],
    config: '/etc/cost-watchdog/watchdog.yaml',
    intervalMs: 60_000,
    flagFolder: '/srv/app/state',
    stateFolder: null,
    checkTimeoutMs: 150_000,
    envFile: '/etc/cost-watchdog/env',
  };
  const writable = (o: UnitOptions, name: string): string | undefined =>
    systemdUnits(o)
      .find((u) => u.name === name)
      ?.text.split('\n')
      .find((l) => l.startsWith('ReadWritePaths='));

  it.each<[string, string | null, string, string | undefined]>([
    [
      'run, with a textfile',
      '/var/lib/node_exporter/tf',
      'cost-watchdog.service',
      '-/srv/app/state -/var/lib/node_exporter/tf',
    ],
    [
      'watch, with a textfile',
      '/var/lib/node_exporter/tf',
      'cost-watchdog-watch.service',
      '-/srv/app/state -/var/lib/node_exporter/tf',
    ],
    ['run, without', null, 'cost-watchdog.service', '-/srv/app/state'],
    [
      'the heartbeat check never writes it',
      '/var/lib/node_exporter/tf',
      'cost-watchdog-heartbeat.service',
      undefined,
    ],
  ])('%s', (_, metricsFolder, name, paths) => {
    const line = writable({ ...options, metricsFolder }, name);
    expect(line).toBe(paths === undefined ? undefined : `ReadWritePaths=${paths}`);
  });
});
