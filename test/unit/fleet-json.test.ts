// The fleet's part of status --json and run --json, and how it weighs in the status verdict and
// its plugin line: pure, from a FleetView / FleetOutcome as the fleet's Redis would give them.
import { describe, expect, it } from 'vitest';
import {
  fleetLostText,
  fleetSignals,
  runFleetJson,
  statusFleetJson,
} from '../../src/commands/render/fleet-json.js';
import { pluginLine } from '../../src/commands/render/plugin-line.js';
import { type Level, statusCode } from '../../src/core/levels.js';
import type { FleetEmergency, FleetOutcome, FleetView } from '../../src/fleet/types.js';

const L15 = { warn: 20, emergency: 40, kill: 60 };
const LDAY = { warn: 150, emergency: 200 };
const SINCE = Date.UTC(2026, 11, 2, 4, 40, 5);
const EMERGENCY: FleetEmergency = {
  id: 'e1',
  level: 'emergency',
  window: '15m',
  spend: 45_500_001,
  limit: 40_000_000,
  since_ms: SINCE,
  by: 'web-2',
};

function view(over: Partial<FleetView> = {}, levels: [Level, Level] = ['ok', 'ok']): FleetView {
  return {
    name: 'support-bot',
    host: 'web-1',
    shown: 'redis://10.0.0.5:6379',
    reachable: true,
    problem: null,
    windows: [
      { name: '15m', seconds: 900, limits: L15, spend: 12.000001, level: levels[0] },
      { name: 'daily', seconds: null, limits: LDAY, spend: 30.5, level: levels[1] },
    ],
    emergency: null,
    cleared: null,
    hosts: [
      {
        host: 'web-1',
        lastPushAgeSeconds: 3,
        mode: 'check',
        version: '0.1.0',
        silent: false,
        refused: false,
        settings: 'timezone UTC; 15m warn 20 emergency 40 kill 60; daily warn 150 emergency 200',
        spend: { '15m': 10, daily: 20.25 },
      },
      {
        host: 'web-2',
        lastPushAgeSeconds: 400,
        mode: 'check',
        version: '0.1.0',
        silent: true,
        refused: false,
        settings: 'timezone UTC; 15m warn 20 emergency 40 kill 60; daily warn 150 emergency 200',
        spend: { '15m': 2.000001, daily: 10.25 },
      },
    ],
    ...over,
  };
}

const lost: Partial<FleetView> = {
  reachable: false,
  problem: { kind: 'lost', text: 'cannot reach Redis: connect ECONNREFUSED 10.0.0.5:6379' },
};

describe('statusFleetJson', () => {
  it('reachable: windows, no emergency, each host with its part and silence', () => {
    expect(statusFleetJson(view(), null)).toEqual({
      name: 'support-bot',
      host: 'web-1',
      redis: 'redis://10.0.0.5:6379',
      reachable: true,
      windows: {
        '15m': { spend_usd: 12.000001, level: 'ok', limits: L15 },
        daily: { spend_usd: 30.5, level: 'ok', limits: LDAY },
      },
      emergency: { active: false },
      hosts: [
        {
          host: 'web-1',
          last_push_age_seconds: 3,
          spend_usd: { '15m': 10, daily: 20.25 },
          silent: false,
          refused: false,
        },
        {
          host: 'web-2',
          last_push_age_seconds: 400,
          spend_usd: { '15m': 2.000001, daily: 10.25 },
          silent: true,
          refused: false,
        },
      ],
    });
  });

  it('the emergency record: level, window, figures in dollars, since in ISO, by', () => {
    const json = statusFleetJson(view({ emergency: { ...EMERGENCY, active: true } }), null);
    expect(json.emergency).toEqual({
      active: true,
      level: 'emergency',
      window: '15m',
      spend_usd: 45.500001,
      limit_usd: 40,
      since: '2026-12-02T04:40:05.000Z',
      by: 'web-2',
    });
  });

  it('not reachable: the reason, no windows nor hosts, the emergency this host remembers', () => {
    expect(statusFleetJson(view(lost), null)).toEqual({
      name: 'support-bot',
      host: 'web-1',
      redis: 'redis://10.0.0.5:6379',
      reachable: false,
      error: 'cannot reach Redis: connect ECONNREFUSED 10.0.0.5:6379',
      windows: {},
      emergency: { active: false },
      hosts: [],
    });
    expect(statusFleetJson(view(lost), EMERGENCY).emergency).toMatchObject({
      active: true,
      level: 'emergency',
      remembered: true,
    });
  });
});

describe('the fleet in the status verdict', () => {
  const code = (json: ReturnType<typeof statusFleetJson>) =>
    statusCode({
      levels: ['ok', ...fleetSignals(json).map((s) => s.level)],
      flagActive: false,
      heartbeatAgeMs: 1000,
      heartbeatMaxAgeMs: 300_000,
      logUnreadable: false,
      fleetLost: fleetLostText(json) !== null,
    });
  const cases: [string, FleetView, FleetEmergency | null, number][] = [
    ['all ok', view(), null, 0],
    ['a fleet window at warn', view({}, ['warn', 'ok']), null, 1],
    // A forced clear acknowledged it: the fleet's level is still emergency, its emergency is gone.
    ['a fleet window at emergency without an emergency', view({}, ['emergency', 'ok']), null, 1],
    [
      'the fleet emergency',
      view({ emergency: { ...EMERGENCY, active: true } }, ['emergency', 'ok']),
      null,
      2,
    ],
    ['the fleet at kill', view({ emergency: { ...EMERGENCY, level: 'kill', active: true } }), null, 2],
    ['the fleet cannot be seen', view(lost), null, 1],
    ['cannot be seen, an emergency remembered', view(lost), EMERGENCY, 2],
  ];
  it("reachable, this host's last push refused: WARNING, with the reason", () => {
    const json = statusFleetJson(view(), null, {
      since_ms: SINCE,
      why: 'host web-2 has other fleet settings',
    });
    expect(json.refused).toEqual({
      since: '2026-12-02T04:40:05.000Z',
      reason: 'host web-2 has other fleet settings',
    });
    expect(fleetLostText(json)).toBe(
      "fleet support-bot: this host's pushes are refused since 04:40:05 UTC: host web-2 has other " +
        'fleet settings',
    );
    expect(code(json)).toBe(1);
  });
  for (const [what, v, remembered, expected] of cases)
    it(`${what}: ${expected}`, () => expect(code(statusFleetJson(v, remembered))).toBe(expected));

  it('a fleet that cannot be seen is WARNING, never worse than CRITICAL', () => {
    expect(
      statusCode({
        levels: ['emergency'],
        flagActive: false,
        heartbeatAgeMs: null,
        heartbeatMaxAgeMs: 1,
        logUnreadable: false,
        fleetLost: true,
      }),
    ).toBe(2);
  });

  it('the plugin line: the fleet emergency first, the fleet perfdata after the host', () => {
    const json = statusFleetJson(
      view({ emergency: { ...EMERGENCY, active: true } }, ['emergency', 'ok']),
      null,
    );
    const line = pluginLine({
      code: 2,
      windows: [{ name: '15m', seconds: 900, limits: { warn: 3 }, spend: 1, level: 'ok' }],
      fleetWindows: view().windows,
      signals: fleetSignals(json),
      flagActive: false,
      heartbeatAgeMs: 1000,
      heartbeatMaxAgeMs: 300_000,
      heartbeatStale: false,
      logError: null,
      warnings: [],
    });
    expect(line).toBe(
      'COST-WATCHDOG CRITICAL - fleet support-bot emergency: 15m $45.50 >= emergency $40.00, since ' +
        "04:40:05 UTC by host web-2 | 'spend_15m'=1.00;3;;0 'fleet_spend_15m'=12.000001;20;40;0 " +
        "'fleet_spend_daily'=30.50;150;200;0",
    );
  });

  it('the plugin line: a fleet that cannot be seen says why, its perfdata undetermined', () => {
    const json = statusFleetJson(view(lost), null);
    const line = pluginLine({
      code: 1,
      windows: [],
      fleetWindows: view().windows.map((w) => ({ ...w, spend: Number.NaN })),
      signals: fleetSignals(json),
      flagActive: false,
      heartbeatAgeMs: 1000,
      heartbeatMaxAgeMs: 300_000,
      heartbeatStale: false,
      logError: null,
      warnings: [fleetLostText(json) as string],
    });
    expect(line).toBe(
      'COST-WATCHDOG WARNING - fleet support-bot: fleet view lost: cannot reach Redis: connect ' +
        "ECONNREFUSED 10.0.0.5:6379 | 'fleet_spend_15m'=U;20;40;0 'fleet_spend_daily'=U;150;200;0",
    );
  });
});

describe('runFleetJson', () => {
  const outcome = (over: Partial<FleetOutcome>): FleetOutcome => ({
    name: 'support-bot',
    host: 'web-1',
    shown: 'redis://10.0.0.5:6379',
    reachable: true,
    problem: null,
    windows: view().windows,
    emergency: null,
    blind: false,
    events: [],
    notices: [],
    cleared: null,
    hosts: 7,
    resynced: false,
    ms: 2,
    ...over,
  });

  it('reachable: windows, emergency, the count of hosts', () => {
    expect(runFleetJson(outcome({ emergency: EMERGENCY }))).toEqual({
      name: 'support-bot',
      host: 'web-1',
      redis: 'redis://10.0.0.5:6379',
      reachable: true,
      windows: {
        '15m': { spend_usd: 12.000001, level: 'ok', limits: L15 },
        daily: { spend_usd: 30.5, level: 'ok', limits: LDAY },
      },
      emergency: {
        active: true,
        level: 'emergency',
        window: '15m',
        spend_usd: 45.500001,
        limit_usd: 40,
        since: '2026-12-02T04:40:05.000Z',
        by: 'web-2',
      },
      hosts: 7,
    });
  });

  it('refused: the reason, no windows; an emergency held is the remembered one', () => {
    const json = runFleetJson(
      outcome({
        reachable: false,
        problem: { kind: 'refused', text: 'Redis refused the credentials (WRONGPASS/NOAUTH)' },
        emergency: EMERGENCY,
        hosts: 0,
      }),
    );
    expect(json).toMatchObject({
      reachable: false,
      error: 'Redis refused the credentials (WRONGPASS/NOAUTH)',
      windows: {},
      hosts: 0,
      emergency: { active: true, remembered: true },
    });
  });
});
