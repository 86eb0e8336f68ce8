// The schemas of the state folder's files: a good file is read as it was written, each kind of
// bad field either rejects the file (and the failure names the field) or is dropped alone, as
// the hand-written checks before them did.
import { describe, expect, it } from 'vitest';
import { checkpointSchema } from '../../src/check/checkpoint.js';
import { singlesRefSchema } from '../../src/check/storm-ids.js';
import { emptyAlertState } from '../../src/core/decide.js';
import { parseAlertState } from '../../src/core/saved/alerts.js';
import { loadHeartbeatAlertState, loadNotifyState, parseHeartbeat } from '../../src/core/saved/heartbeat.js';
import { badField, fieldName, parseSaved } from '../../src/core/saved/parse.js';

const cursor = { dev: 1, ino: 2, offset: 30, line: 3, head: 'aGk=', tail: 'aGk=', pending: '', name: '/l' };
const totals = {
  records: 3,
  malformed: 1,
  malformed_samples: [{ file: '/l', line: 2, reason: 'not JSON', excerpt: '{' }],
  future_lines: 0,
  uncosted_lines: 0,
  skipped_lines: 2,
  newest_ms: 1_700_000_000_000,
  zero_cost_lines: 1,
  zero_cost_micros: 5,
  unpriced: { m: { lines: 1, tokens: 10, micros: 2, at_rate: 3, last_ms: 4 } },
};
const checkpoint = { version: 2, log: '/l', current: cursor, totals, saved_at: '2026-01-01T00:00:00.000Z' };

/** The failure in words, or 'ok'. */
function verdict(schema: Parameters<typeof parseSaved>[0], value: unknown): string {
  const parsed = parseSaved(schema, value);
  return parsed.ok ? 'ok' : badField(parsed);
}

describe('fieldName', () => {
  it.each([
    [[], '(the whole file)'],
    [['totals'], 'totals'],
    [['totals', 'records'], 'totals.records'],
    [['totals', 'malformed_samples', 3, 'line'], 'totals.malformed_samples[3].line'],
    [['windows', 'daily', 'level'], 'windows.daily.level'],
  ] as [PropertyKey[], string][])('%j -> %s', (path, name) => expect(fieldName(path)).toBe(name));
});

describe('checkpoint: what must be read for it to be used', () => {
  it('a good checkpoint is read as written', () => {
    const parsed = parseSaved(checkpointSchema, JSON.parse(JSON.stringify(checkpoint)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.totals).toEqual(totals);
    expect(parsed.value.current?.offset).toBe(30);
    expect(parsed.value.saved_at).toBe(checkpoint.saved_at);
    expect(parsed.value.storm_singles).toBeNull();
  });

  it('a checkpoint saved before skipped_lines (issue 13) loads, with none skipped', () => {
    const { skipped_lines: _, ...older } = totals;
    const parsed = parseSaved(checkpointSchema, { ...checkpoint, totals: older });
    expect(parsed.ok && parsed.value.totals).toEqual({ ...older, skipped_lines: 0 });
    const bad = { ...checkpoint, totals: { ...totals, skipped_lines: -1 } };
    expect(verdict(checkpointSchema, bad)).toMatch(/totals\.skipped_lines/);
  });

  it.each([
    [
      'no totals',
      { ...checkpoint, totals: undefined },
      'bad field "totals": expected object, received undefined',
    ],
    [
      'totals not an object',
      { ...checkpoint, totals: 5 },
      'bad field "totals": expected object, received number',
    ],
    [
      'a count negative',
      { ...checkpoint, totals: { ...totals, records: -1 } },
      'bad field "totals.records": expected number >= 0',
    ],
    [
      'a count a string',
      { ...checkpoint, totals: { ...totals, newest_ms: '0' } },
      'bad field "totals.newest_ms": expected number >= 0',
    ],
    [
      'samples not a list',
      { ...checkpoint, totals: { ...totals, malformed_samples: {} } },
      'bad field "totals.malformed_samples": expected array, received object',
    ],
    [
      'a sample without its line',
      { ...checkpoint, totals: { ...totals, malformed_samples: [{ file: '/l', reason: 'r', excerpt: '' }] } },
      'bad field "totals.malformed_samples[0].line": expected number',
    ],
    [
      'the place in the log damaged',
      { ...checkpoint, current: { ...cursor, offset: -1 } },
      'bad field "current": not a place in the log',
    ],
  ])('%s: rejected', (_name, value, why) => expect(verdict(checkpointSchema, value)).toBe(why));

  it('no place in the log yet (null) is a place', () => {
    expect(verdict(checkpointSchema, { ...checkpoint, current: null })).toBe('ok');
  });

  it('no top-level place (version 3 keeps one per file, in `files`) is no place', () => {
    expect(verdict(checkpointSchema, { ...checkpoint, version: 3, current: undefined })).toBe('ok');
  });

  it.each([
    [
      'older totals without the newer counts',
      { records: 3 },
      { zero_cost_lines: 0, zero_cost_micros: 0, unpriced: {} },
    ],
    ['a count of the newer ones damaged', { zero_cost_lines: 'x' }, { zero_cost_lines: 0 }],
    [
      'one unpriced model damaged, one good',
      { unpriced: { bad: { lines: 1 }, m: totals.unpriced.m } },
      { unpriced: { m: totals.unpriced.m } },
    ],
    ['unpriced not an object', { unpriced: 'x' }, { unpriced: {} }],
    ['a field of a later version', { later: [1] }, { later: [1] }],
  ])('%s: kept, the rest at its default', (_name, change, expected) => {
    const base = { ...totals, zero_cost_lines: undefined, zero_cost_micros: undefined, unpriced: undefined };
    const value = { ...checkpoint, totals: { ...base, records: 3, ...change } };
    const parsed = parseSaved(checkpointSchema, value);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value.totals).toMatchObject(expected);
  });

  it.each([
    ['missing', undefined, ''],
    ['not a string', 5, ''],
  ])('saved_at %s: read as unknown (no time)', (_name, savedAt, expected) => {
    const parsed = parseSaved(checkpointSchema, { ...checkpoint, saved_at: savedAt });
    expect(parsed.ok && parsed.value.saved_at).toBe(expected);
  });
});

describe('storm_singles: the ids seen once, started afresh when unusable', () => {
  const good = { file: 'storm-ids.abc.bin', count: 3, written_ms: 10, delta: [1, 2] };
  it.each([
    ['good', good, good],
    ['no file yet', { ...good, file: null }, { ...good, file: null }],
    ['non-numbers in the delta are dropped', { ...good, delta: [1, 'x', 2] }, good],
    ['absent', undefined, null],
    ['a path out of the folder', { ...good, file: 'storm-ids.x/../../etc' }, null],
    ['another prefix', { ...good, file: 'checkpoint.json' }, null],
    ['no file field', { count: 3, written_ms: 10, delta: [] }, null],
    ['count a string', { ...good, count: '3' }, null],
    ['delta not a list', { ...good, delta: 5 }, null],
  ])('%s', (_name, value, expected) => expect(singlesRefSchema.parse(value)).toEqual(expected));
});

describe('alerts.json', () => {
  const good = {
    version: 1,
    windows: { daily: { level: 'warn', since_ms: 5 } },
    acknowledged: { daily: 'warn' },
    kill_switch: { since_ms: 7, by: 'kill' },
    flag_seen: true,
    last_reminder_ms: 9,
    incidents: { 'kill-failed': 3 },
    pending: [
      { text: 't', created_ms: 1, attempts: 0, id: 'a', level: 'warn', climbs: ['daily'], plain: true },
    ],
    pending_owner: { pid: 42, start: null, host: 'h' },
    findings: { storm: { since_ms: 1, last_ms: 2 } },
  };

  it('a good file is read as written', () => {
    const parsed = parseAlertState(JSON.parse(JSON.stringify(good)));
    expect(parsed).toEqual({ ok: true, value: good });
  });

  it.each([
    ['not an object', 'x', 'bad field "(the whole file)": expected object, received string'],
    ['another version', { ...good, version: 2 }, 'bad field "version": expected 1'],
    ['no windows', { ...good, windows: undefined }, 'bad field "windows": expected object'],
    [
      'a window at a level that does not exist',
      { ...good, windows: { daily: { level: 'high', since_ms: 5 } } },
      'bad field "windows.daily.level": expected one of "ok"|"warn"|"emergency"|"kill"',
    ],
    [
      'a window without its time',
      { ...good, windows: { daily: { level: 'warn' } } },
      'bad field "windows.daily.since_ms": expected number',
    ],
    [
      'an acknowledged level that does not exist',
      { ...good, acknowledged: { daily: 3 } },
      'bad field "acknowledged.daily": expected one of "ok"|"warn"|"emergency"|"kill"',
    ],
  ])('%s: rejected (started afresh)', (_name, value, why) => {
    const parsed = parseAlertState(value);
    expect(parsed.ok ? 'ok' : badField(parsed)).toBe(why);
  });

  it.each([
    ['a kill switch without who', { kill_switch: { since_ms: 7 } }, { kill_switch: null }],
    ['flag_seen not true', { flag_seen: 'yes' }, { flag_seen: false }],
    ['a reminder time not a number', { last_reminder_ms: '9' }, { last_reminder_ms: null }],
    ['an incident not a number', { incidents: { a: 1, b: 'x' } }, { incidents: { a: 1 } }],
    ['incidents not an object', { incidents: 5 }, { incidents: {} }],
    ['a finding without its last time', { findings: { a: { since_ms: 1 } } }, { findings: {} }],
    ['an owner without a start', { pending_owner: { pid: 42, host: 'h' } }, { pending_owner: null }],
    [
      'an owner with a pid in words',
      { pending_owner: { pid: '42', start: null, host: 'h' } },
      { pending_owner: null },
    ],
    ['pending not a list', { pending: {} }, { pending: [] }],
    [
      'a pending alert without text dropped; one before ids gets one; a bad level left out',
      {
        pending: [
          { created_ms: 1, attempts: 0 },
          { text: 'u', created_ms: 8, attempts: 2, level: 'x' },
        ],
      },
      { pending: [{ text: 'u', created_ms: 8, attempts: 2, id: 'saved-8-0' }] },
    ],
  ])('%s: that part dropped alone', (_name, change, expected) => {
    const parsed = parseAlertState({ ...good, ...change });
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value).toEqual({ ...good, ...expected });
  });

  it('only the version, the windows and the acknowledged levels are needed', () => {
    expect(parseAlertState({ version: 1, windows: {}, acknowledged: {} })).toEqual({
      ok: true,
      value: { ...emptyAlertState(), pending_owner: null },
    });
  });
});

describe('heartbeat.json', () => {
  it('a good heartbeat is read as written, its other fields untouched', () => {
    const hb = { time: '2026-01-01T00:00:00.000Z', pid: 'odd', result: { ok: true } };
    expect(parseHeartbeat(hb)).toEqual({ ok: true, value: hb });
  });
  it.each([
    ['null', null, 'bad field "(the whole file)": expected object, received null'],
    ['no time', { pid: 1 }, 'bad field "time": expected string, received undefined'],
    ['a time that is not one', { time: 'yesterday' }, 'bad field "time": not a date and time'],
    ['a time as a number', { time: 5 }, 'bad field "time": expected string, received number'],
  ])('%s: corrupt', (_name, value, why) => {
    const parsed = parseHeartbeat(value);
    expect(parsed.ok ? 'ok' : badField(parsed)).toBe(why);
  });
});

describe('heartbeat-alert.json and notify.json: one that cannot be used is as none', () => {
  const down = { version: 1, down: { state: 'stale', since_ms: 5, announced: true } };
  it.each([
    ['good', down, down],
    ['nothing down', { version: 1, down: null }, { version: 1, down: null }],
    ['another version', { ...down, version: 2 }, null],
    ['down missing', { version: 1 }, null],
    ['a state that does not exist', { version: 1, down: { ...down.down, state: 'gone' } }, null],
    ['announced not a boolean', { version: 1, down: { ...down.down, announced: 1 } }, null],
  ])('heartbeat-alert %s', (_name, value, expected) =>
    expect(loadHeartbeatAlertState(value)).toEqual(expected),
  );

  it.each([
    ['good', { version: 1, sent: { a: 1 } }, { a: 1 }],
    ['a time not a number dropped', { version: 1, sent: { a: 1, b: 'x' } }, { a: 1 }],
    ['sent not an object', { version: 1, sent: 5 }, {}],
    ['another version', { version: 2, sent: { a: 1 } }, {}],
    ['not a file of ours', null, {}],
  ])('notify %s', (_name, value, sent) => expect(loadNotifyState(value)).toEqual({ version: 1, sent }));
});
