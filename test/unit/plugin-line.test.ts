import { describe, expect, it } from 'vitest';
import {
  type PluginFacts,
  perfNumber,
  pluginLine,
  pluginUnknownLine,
} from '../../src/commands/render/plugin-line.js';
import { type Limits, levelOf, type WindowStatus } from '../../src/core/levels.js';

const L15: Limits = { warn: 3, emergency: 5, kill: 8 };
const LDAY: Limits = { warn: 20, emergency: 25, kill: 30 };

function win(name: string, spend: number, limits: Limits, seconds: number | null = 900): WindowStatus {
  return { name, seconds, limits, spend, level: levelOf(spend, limits) };
}

function facts(over: Partial<PluginFacts>): PluginFacts {
  const windows = over.windows ?? [win('15m', 1, L15), win('daily', 2, LDAY, null)];
  return {
    code: 0,
    windows,
    signals: windows,
    flagActive: false,
    heartbeatAgeMs: 30_000,
    heartbeatMaxAgeMs: 300_000,
    heartbeatStale: false,
    logError: null,
    warnings: [],
    ...over,
  };
}

const storm: WindowStatus = {
  name: 'retry-storm',
  seconds: 900,
  limits: {},
  spend: 0.24,
  level: 'emergency',
  detail: 'retry storm: request_id "batch-17" seen 6 times in 15m ($0.24)',
};

describe('the monitoring-plugin line of status', () => {
  it.each<[string, Partial<PluginFacts>, string]>([
    [
      'all under',
      {},
      "COST-WATCHDOG OK - no limit reached | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      "DESIGN.md's example",
      { code: 2, windows: [win('15m', 6, L15), win('daily', 11.9, LDAY, null)] },
      'COST-WATCHDOG CRITICAL - 15m $6.00 >= emergency $5.00' +
        " | 'spend_15m'=6.00;3;5;0 'spend_daily'=11.90;20;25;0",
    ],
    [
      'the worst window wins, whatever its order',
      { code: 2, windows: [win('15m', 4, L15), win('daily', 31, LDAY, null)] },
      'COST-WATCHDOG CRITICAL - daily $31.00 >= kill $30.00' +
        " | 'spend_15m'=4.00;3;5;0 'spend_daily'=31.00;20;25;0",
    ],
    [
      'warn',
      { code: 1, windows: [win('15m', 3.5, L15)] },
      "COST-WATCHDOG WARNING - 15m $3.50 >= warn $3.00 | 'spend_15m'=3.50;3;5;0",
    ],
    [
      'a finding, and how many more',
      { code: 1, warnings: ['model "x" has no price', 'app under-reports'] },
      'COST-WATCHDOG WARNING - model "x" has no price (and 1 more warnings)' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      'the flag in force after spend dropped',
      { code: 2, flagActive: true, flagReason: 'kill switch by alice' },
      'COST-WATCHDOG CRITICAL - emergency flag set: kill switch by alice' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      'a stale heartbeat',
      { code: 2, heartbeatAgeMs: 720_000, heartbeatStale: true },
      'COST-WATCHDOG CRITICAL - heartbeat stale: last check 12m ago, older than 5m' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      'an unreadable log',
      { code: 3, logError: 'cannot read the cost log /x: no such file' },
      'COST-WATCHDOG UNKNOWN - cannot read the cost log /x: no such file' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      'a flag that cannot be seen',
      { code: 3, flagUnknown: 'cannot tell whether /s/f exists: /s is not a folder' },
      'COST-WATCHDOG UNKNOWN - cannot tell whether /s/f exists: /s is not a folder' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
    [
      'critical first, then the warnings, counted',
      { code: 2, windows: [win('15m', 5, L15)], warnings: ['burn rate: fast', 'app under-reports'] },
      "COST-WATCHDOG CRITICAL - 15m $5.00 >= emergency $5.00; 2 warnings | 'spend_15m'=5.00;3;5;0",
    ],
    [
      'the flag beside the window that raised it: its reason is not said twice',
      {
        code: 2,
        windows: [win('15m', 9, L15)],
        flagActive: true,
        flagReason: '15m spend $9.00 crossed the kill limit $8.00',
        warnings: ['burn rate: fast'],
      },
      'COST-WATCHDOG CRITICAL - 15m $9.00 >= kill $8.00; emergency flag set; 1 warning' +
        " | 'spend_15m'=9.00;3;5;0",
    ],
    [
      'a retry storm says its own words, once (it is a finding too)',
      {
        code: 2,
        windows: [win('15m', 1, L15)],
        signals: [win('15m', 1, L15), storm],
        warnings: ['retry storm: request_id "batch-17" seen 6 times in 15m ($0.24)'],
      },
      'COST-WATCHDOG CRITICAL - retry storm: request_id "batch-17" seen 6 times in 15m ($0.24)' +
        " | 'spend_15m'=1.00;3;5;0",
    ],
    [
      'limits left out: empty thresholds; crit is the kill limit when there is no emergency one',
      { windows: [win('1h', 0.5, { warn: 10 }), win('2h', 0.5, { kill: 12.5 }), win('3h', 0, {})] },
      'COST-WATCHDOG OK - no limit reached' +
        " | 'spend_1h'=0.50;10;;0 'spend_2h'=0.50;;12.5;0 'spend_3h'=0.00;;;0",
    ],
    [
      'a | or a control character in a reason cannot break the line',
      { code: 1, warnings: ['model "a|b\nc" has no price'] },
      'COST-WATCHDOG WARNING - model "a/b\\x0ac" has no price' +
        " | 'spend_15m'=1.00;3;5;0 'spend_daily'=2.00;20;25;0",
    ],
  ])('%s', (_name, over, line) => {
    expect(pluginLine(facts(over))).toBe(line);
  });

  it.each([
    [0, '0.00'],
    [6, '6.00'],
    [11.9, '11.90'],
    [0.000156, '0.000156'],
    [4.675906, '4.675906'],
    [1234567.5, '1234567.50'],
    [Number.NaN, 'U'],
  ])('perfNumber(%s) = %s', (dollars, text) => {
    expect(perfNumber(dollars)).toBe(text);
  });

  it('UNKNOWN when nothing could be read', () => {
    expect(pluginUnknownLine('/etc/w.yaml: no such file\nmore')).toBe(
      'COST-WATCHDOG UNKNOWN - /etc/w.yaml: no such file',
    );
  });
});
