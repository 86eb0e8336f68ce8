import { describe, expect, it } from 'vitest';
import {
  type ActionTrouble,
  afterClear,
  clearVerdict,
  type AlertState,
  decide,
  type DecideInput,
  effectiveLevel,
  emptyAlertState,
  incidentDue,
  FLAG_FAILED,
  KILL_FAILED,
  keepPending,
  ROUTINE_AUDIT_EVERY_MS,
  routineCheck,
  STOP_FAILED,
  troubles,
} from '../../src/core/decide.js';
import { loadAlertState } from '../../src/core/saved/alerts.js';
import { type Level, levelOf, type WindowStatus } from '../../src/core/levels.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;
const LIMITS = { warn: 3, emergency: 5, kill: 8 };

function win(name: string, spend: number): WindowStatus {
  return {
    name,
    seconds: name === 'daily' ? null : 900,
    limits: LIMITS,
    spend,
    level: levelOf(spend, LIMITS),
  };
}

function state(patch: Partial<AlertState> = {}): AlertState {
  return { ...emptyAlertState(), ...patch };
}

function input(spend: number, patch: Partial<DecideInput> = {}): DecideInput {
  return {
    nowMs: T0,
    windows: [win('15m', spend)],
    state: state(),
    flagExists: false,
    targetRunning: false,
    reminderMs: HOUR,
    ...patch,
  };
}

const remembered = (level: Level): AlertState['windows'] => ({ '15m': { level, since_ms: T0 - 60_000 } });

describe('decide: levels to actions and alerts', () => {
  type Row = [string, DecideInput, { level: Level; writeFlag: boolean; kill: boolean; events: string[] }];
  const rows: Row[] = [
    [
      'all ok, nothing remembered: nothing to do',
      input(1),
      { level: 'ok', writeFlag: false, kill: false, events: [] },
    ],
    [
      'enters warn: one alert, no flag',
      input(3),
      { level: 'warn', writeFlag: false, kill: false, events: ['enter:15m:warn'] },
    ],
    [
      'still warn: nothing new',
      input(4, { state: state({ windows: remembered('warn') }) }),
      { level: 'warn', writeFlag: false, kill: false, events: [] },
    ],
    [
      'warn to emergency: escalation and the flag',
      input(5, { state: state({ windows: remembered('warn') }) }),
      { level: 'emergency', writeFlag: true, kill: false, events: ['escalate:15m:emergency'] },
    ],
    [
      'straight from ok to kill: one alert, flag and kill',
      input(9),
      { level: 'kill', writeFlag: true, kill: true, events: ['enter:15m:kill'] },
    ],
    [
      'emergency with the flag already there: leave it, say nothing',
      input(6, {
        state: state({ windows: remembered('emergency'), flag_seen: true, last_reminder_ms: T0 - 1000 }),
        flagExists: true,
      }),
      { level: 'emergency', writeFlag: false, kill: false, events: [] },
    ],
    [
      'emergency dropping to warn: no alert (only escalations and recovery alert)',
      input(4, {
        state: state({ windows: remembered('emergency'), flag_seen: true, last_reminder_ms: T0 - 1000 }),
        flagExists: true,
      }),
      { level: 'warn', writeFlag: false, kill: false, events: [] },
    ],
    [
      'climbing back to emergency after a dip to warn: no new alert (the peak is remembered)',
      input(5.5, {
        state: state({ windows: remembered('emergency'), flag_seen: true, last_reminder_ms: T0 - 1000 }),
        flagExists: true,
      }),
      { level: 'emergency', writeFlag: false, kill: false, events: [] },
    ],
    [
      'back to ok: recovery',
      input(1, { state: state({ windows: remembered('warn') }) }),
      { level: 'ok', writeFlag: false, kill: false, events: ['recovery:15m:ok'] },
    ],
    [
      'reminder due while the flag stays in force',
      input(4, {
        state: state({ windows: remembered('emergency'), flag_seen: true, last_reminder_ms: T0 - HOUR }),
        flagExists: true,
      }),
      { level: 'warn', writeFlag: false, kill: false, events: ['reminder:15m:warn'] },
    ],
    [
      'reminder not yet due',
      input(6, {
        state: state({ windows: remembered('emergency'), flag_seen: true, last_reminder_ms: T0 - HOUR + 1 }),
        flagExists: true,
      }),
      { level: 'emergency', writeFlag: false, kill: false, events: [] },
    ],
    [
      'a flag we did not announce (written by hand or by `kill`): start the reminder clock, no alert',
      input(1, { flagExists: true }),
      { level: 'ok', writeFlag: false, kill: false, events: [] },
    ],
    [
      'acknowledged emergency at emergency: no flag again',
      input(6, { state: state({ windows: remembered('emergency'), acknowledged: { '15m': 'emergency' } }) }),
      { level: 'warn', writeFlag: false, kill: false, events: [] },
    ],
    [
      'acknowledged emergency climbing to kill: alert, flag and kill',
      input(8, { state: state({ windows: remembered('emergency'), acknowledged: { '15m': 'emergency' } }) }),
      { level: 'kill', writeFlag: true, kill: true, events: ['escalate:15m:kill'] },
    ],
    [
      'acknowledged kill at kill: neither flag nor kill',
      input(9, { state: state({ windows: remembered('kill'), acknowledged: { '15m': 'kill' } }) }),
      { level: 'warn', writeFlag: false, kill: false, events: [] },
    ],
    [
      'kill switch on, flag in force, target running again: kill again, "came back"',
      input(1, {
        state: state({
          windows: {},
          kill_switch: { since_ms: T0 - 1000, by: 'limit' },
          flag_seen: true,
          last_reminder_ms: T0 - 1000,
        }),
        flagExists: true,
        targetRunning: true,
      }),
      { level: 'ok', writeFlag: false, kill: true, events: ['came-back::ok'] },
    ],
    [
      'kill switch on, target not running: look (kill), but nothing to say',
      input(1, {
        state: state({
          kill_switch: { since_ms: T0 - 1000, by: 'limit' },
          flag_seen: true,
          last_reminder_ms: T0 - 1000,
        }),
        flagExists: true,
      }),
      { level: 'ok', writeFlag: false, kill: true, events: [] },
    ],
    [
      'kill switch on after a kill that failed: the target never went, no "came back"',
      input(9, {
        state: state({
          windows: remembered('kill'),
          kill_switch: { since_ms: T0 - 1000, by: 'limit' },
          flag_seen: true,
          last_reminder_ms: T0 - 1000,
          incidents: { [KILL_FAILED]: T0 - 1000 },
        }),
        flagExists: true,
        targetRunning: true,
      }),
      { level: 'kill', writeFlag: false, kill: true, events: [] },
    ],
    [
      'the flag deleted by hand: say so, kill switch off',
      input(1, {
        state: state({
          kill_switch: { since_ms: T0 - 1000, by: 'limit' },
          flag_seen: true,
          last_reminder_ms: T0 - 1000,
        }),
        flagExists: false,
        targetRunning: true,
      }),
      { level: 'ok', writeFlag: false, kill: false, events: ['flag-removed::ok'] },
    ],
    [
      'the flag deleted by hand while spend is still at kill: written again and killed',
      input(9, {
        state: state({
          windows: remembered('kill'),
          kill_switch: { since_ms: T0 - 1000, by: 'limit' },
          flag_seen: true,
          last_reminder_ms: T0 - 1000,
        }),
        flagExists: false,
      }),
      { level: 'kill', writeFlag: true, kill: true, events: ['flag-removed:15m:kill'] },
    ],
  ];
  it.each(rows)('%s', (_name, given, want) => {
    const d = decide(given);
    expect({
      level: d.level,
      writeFlag: d.writeFlag,
      kill: d.kill,
      events: d.events.map((e) => `${e.kind}:${e.window}:${e.level}`),
    }).toEqual(want);
  });

  it('a second decision in the state the first left sends nothing new', () => {
    for (const spend of [3, 5, 8, 20]) {
      const first = decide(input(spend));
      const second = decide(
        input(spend, { state: first.next, flagExists: first.writeFlag, nowMs: T0 + 60_000 }),
      );
      expect(second.events).toEqual([]);
      expect(second.writeFlag).toBe(false);
    }
  });

  it('forgets, silently, a window that is no longer configured', () => {
    const d = decide(
      input(1, {
        state: state({
          windows: { ...remembered('warn'), '1h': { level: 'kill', since_ms: T0 } },
          acknowledged: { '1h': 'kill' },
        }),
      }),
    );
    expect(d.events.map((e) => `${e.kind}:${e.window}`)).toEqual(['recovery:15m']);
    expect(d.next.windows).toEqual({});
    expect(d.next.acknowledged).toEqual({});
  });

  it('names the limit crossed and the level before', () => {
    const d = decide(input(5.2, { state: state({ windows: remembered('warn') }) }));
    expect(d.events[0]).toMatchObject({ kind: 'escalate', previous: 'warn', spend: 5.2, limit: 5 });
    expect(d.trigger?.name).toBe('15m');
  });

  it('the highest window decides, over all windows', () => {
    const d = decide({ ...input(0), windows: [win('15m', 4), win('daily', 9)] });
    expect(d.level).toBe('kill');
    expect(d.trigger?.name).toBe('daily');
    expect(d.events.map((e) => `${e.kind}:${e.window}`)).toEqual(['enter:15m', 'enter:daily']);
  });

  it('sets the kill switch at the kill level and keeps when it was set', () => {
    expect(decide(input(9)).next.kill_switch).toEqual({ since_ms: T0, by: 'limit' });
    const earlier = { since_ms: T0 - 5000, by: 'kill by ops' };
    expect(
      decide(input(9, { state: state({ kill_switch: earlier, flag_seen: true }), flagExists: true })).next
        .kill_switch,
    ).toEqual(earlier);
  });
});

describe('effectiveLevel', () => {
  const rows: [Level, Level | undefined, Level][] = [
    ['kill', undefined, 'kill'],
    ['emergency', 'emergency', 'warn'],
    ['kill', 'emergency', 'kill'],
    ['warn', 'emergency', 'warn'],
    ['ok', 'kill', 'ok'],
  ];
  it.each(rows)('%s acknowledged at %s counts as %s', (level, ack, want) =>
    expect(effectiveLevel(level, ack)).toBe(want),
  );
});

describe('afterClear', () => {
  const windows = [win('15m', 6), win('daily', 4)];
  it('remembers each window at its level; --force acknowledges emergency and above', () => {
    const before = state({
      windows: remembered('kill'),
      kill_switch: { since_ms: 1, by: 'limit' },
      flag_seen: true,
      last_reminder_ms: 5,
      incidents: { [KILL_FAILED]: 1 },
    });
    const forced = afterClear(before, windows, true, T0);
    expect(forced).toMatchObject({
      kill_switch: null,
      flag_seen: false,
      last_reminder_ms: null,
      incidents: {},
      acknowledged: { '15m': 'emergency' },
    });
    expect(forced.windows).toEqual({
      '15m': { level: 'emergency', since_ms: T0 },
      daily: { level: 'warn', since_ms: T0 },
    });
    expect(afterClear(before, windows, false, T0).acknowledged).toEqual({});
  });
  it('after a forced clear, the same spend writes no flag; dropping to ok and crossing again does', () => {
    const cleared = afterClear(state(), [win('15m', 6)], true, T0);
    expect(decide(input(6, { state: cleared })).writeFlag).toBe(false);
    const recovered = decide(input(1, { state: cleared })).next;
    expect(recovered.acknowledged).toEqual({});
    const again = decide(input(6, { state: recovered }));
    expect(again.writeFlag).toBe(true);
    expect(again.events.map((e) => e.kind)).toEqual(['enter']);
  });
});

describe('clearVerdict', () => {
  const rows: [string, number[], boolean, boolean, string][] = [
    ['all under emergency', [4, 1], false, true, 'allowed'],
    ['a window at emergency', [6, 1], false, true, 'still over:15m'],
    ['a window at kill, forced', [9, 1], true, true, 'allowed:15m'],
    ['spend not known', [1, 1], false, false, 'spend unknown'],
    ['spend not known, forced', [1, 1], true, false, 'allowed'],
  ];
  it.each(rows)('%s', (_name, spends, force, known, want) => {
    const windows = spends.map((spend, i) => win(i === 0 ? '15m' : 'daily', spend));
    const v = clearVerdict(windows, force, known);
    const over = v.over.map((w) => w.name).join(',');
    expect(v.allowed ? `allowed${over ? `:${over}` : ''}` : `${v.why}${over ? `:${over}` : ''}`).toBe(want);
  });
});

describe('troubles: alerted when they start, then at most every repeat interval, forgotten when over', () => {
  const none: ActionTrouble = { killFailed: null, killTried: false, stopFailed: undefined, flagFailed: null };
  type Row = [
    string,
    Record<string, number>,
    Partial<ActionTrouble>,
    boolean,
    string[],
    Record<string, number>,
  ];
  const rows: Row[] = [
    ['nothing wrong', {}, {}, false, [], {}],
    [
      'a kill fails',
      {},
      { killFailed: 'kill failed: 1 process(es) still running (9)', killTried: true },
      true,
      ['KILL FAILED: 1 process(es) still running (9)'],
      { [KILL_FAILED]: T0 },
    ],
    [
      'it fails again within the hour: not alerted',
      { [KILL_FAILED]: T0 - 1000 },
      { killFailed: 'x', killTried: true },
      false,
      [],
      { [KILL_FAILED]: T0 - 1000 },
    ],
    ['a kill works: forgotten', { [KILL_FAILED]: T0 - 1000 }, { killTried: true }, false, [], {}],
    ['no kill tried: remembered', { [KILL_FAILED]: T0 - 1000 }, {}, false, [], { [KILL_FAILED]: T0 - 1000 }],
    [
      'the stop command fails, nothing else to say',
      {},
      { stopFailed: 'systemctl stop app', killTried: true },
      false,
      ['STOP COMMAND FAILED: systemctl stop app'],
      { [STOP_FAILED]: T0 },
    ],
    [
      'the stop command fails in a message with events: said in its done line',
      {},
      { stopFailed: 'x', killTried: true },
      true,
      [],
      { [STOP_FAILED]: T0 },
    ],
    [
      'the flag fails',
      {},
      { flagFailed: '/f: read-only file system' },
      true,
      ['EMERGENCY FLAG NOT WRITTEN: /f: read-only file system'],
      { [FLAG_FAILED]: T0 },
    ],
    ['the flag is written again: forgotten', { [FLAG_FAILED]: T0 - 5 }, {}, false, [], {}],
  ];
  it.each(rows)('%s', (_name, before, trouble, hasEvents, problems, incidents) => {
    expect(troubles(before, { ...none, ...trouble }, hasEvents, T0, HOUR)).toEqual({ problems, incidents });
  });
});

describe('incidents and pending alerts', () => {
  it('an incident is alerted once, then again after the repeat interval', () => {
    expect(incidentDue(state(), 'x', T0, HOUR)).toBe(true);
    expect(incidentDue(state({ incidents: { x: T0 - 1000 } }), 'x', T0, HOUR)).toBe(false);
    expect(incidentDue(state({ incidents: { x: T0 - HOUR } }), 'x', T0, HOUR)).toBe(true);
    expect(incidentDue(state({ incidents: { x: T0 + HOUR } }), 'x', T0, HOUR)).toBe(true); // clock went back
  });
  it('keeps the newest 20 unsent alerts and none older than a day', () => {
    const pending = Array.from({ length: 25 }, (_, i) => ({
      text: `a${i}`,
      created_ms: T0 - (25 - i) * 1000,
      attempts: 1,
    }));
    pending.unshift({ text: 'old', created_ms: T0 - 25 * HOUR, attempts: 3 });
    const { kept, dropped } = keepPending(pending, T0);
    expect(kept.map((p) => p.text)).toEqual(pending.slice(-20).map((p) => p.text));
    expect(dropped).toBe(6);
  });
});

describe('loadAlertState', () => {
  it('reads what it wrote', () => {
    const s = decide(input(9)).next;
    expect(loadAlertState(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
  const bad: [string, unknown][] = [
    ['null', null],
    ['another version', { ...emptyAlertState(), version: 2 }],
    [
      'a window with an unknown level',
      { ...emptyAlertState(), windows: { '15m': { level: 'panic', since_ms: 1 } } },
    ],
    ['acknowledged not a level', { ...emptyAlertState(), acknowledged: { '15m': 3 } }],
  ];
  it.each(bad)('refuses %s', (_name, value) => expect(loadAlertState(value)).toBeNull());
});

describe('routineCheck: which watch checks the audit log leaves out', () => {
  const plain = { levels: 'ok,ok', onlyRoutineLines: true, eventful: false };
  const rows: [string, typeof plain, { levels: string; atMs: number } | null, boolean][] = [
    ['nothing recorded yet', plain, null, false],
    ['same levels, recorded a minute ago, nothing said', plain, { levels: 'ok,ok', atMs: T0 - 60_000 }, true],
    ['a level changed', { ...plain, levels: 'warn,ok' }, { levels: 'ok,ok', atMs: T0 - 60_000 }, false],
    [
      'something was said or done',
      { ...plain, eventful: true },
      { levels: 'ok,ok', atMs: T0 - 60_000 },
      false,
    ],
    [
      'another line was recorded (a signal, a flag found)',
      { ...plain, onlyRoutineLines: false },
      { levels: 'ok,ok', atMs: T0 - 60_000 },
      false,
    ],
    [
      'the last recorded one is 10 minutes old: recorded as proof of life',
      plain,
      { levels: 'ok,ok', atMs: T0 - ROUTINE_AUDIT_EVERY_MS },
      false,
    ],
  ];
  it.each(rows)('%s', (_name, facts, last, routine) => {
    expect(routineCheck(facts, last, T0)).toBe(routine);
  });
});
