// Scoped budgets, the pure parts: matching, placeholders and their safety, counting per value,
// the saved form, and decisions per instance.
import { describe, expect, it } from 'vitest';
import { DayCalendar } from '../../src/core/calendar.js';
import type { CostRecord } from '../../src/core/fields.js';
import { emptyAlertState } from '../../src/core/decide.js';
import { resolveScopes } from '../../src/config/sections/scopes.js';
import { ScopeCounter } from '../../src/scopes/counter.js';
import {
  idle,
  keepMemories,
  memoryKey,
  memoryOf,
  parseMemoryKey,
  scopeLabel,
  toDecide,
} from '../../src/scopes/decide.js';
import {
  escapeRegExp,
  fillPath,
  fillPattern,
  globOf,
  matchesAll,
  matchRule,
  placeholdersIn,
  safeFileName,
  type ScopeValues,
} from '../../src/scopes/match.js';
import { base, problems } from './config-support.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const calendar = new DayCalendar('UTC');
const values = (v: Partial<ScopeValues>): ScopeValues => ({
  agent: null,
  model: null,
  provider: null,
  task: null,
  source: null,
  ...v,
});

/** A parsed line with these values; label ids as a scan gives them (-1: none, -2: absent). */
function record(v: Partial<ScopeValues> & { agentId?: number }): CostRecord {
  return {
    timeMs: NOW,
    cost: null,
    inputTokens: null,
    outputTokens: null,
    cachedTokens: null,
    currency: null,
    cacheWriteTokens: null,
    cacheWrite1hTokens: null,
    model: v.model ?? null,
    provider: v.provider ?? null,
    agent: v.agent ?? null,
    modelId: v.model == null ? -2 : -1,
    agentId: v.agentId ?? (v.agent == null ? -2 : -1),
    providerId: v.provider == null ? -2 : -1,
    task: v.task ?? null,
    requestId: null,
    fingerprint: null,
    stormHash: -1,
    stormText: null,
    shapeable: false,
  };
}

describe('match values: exact, or a glob with *', () => {
  it.each([
    ['gpt-4o', 'gpt-4o', true],
    ['gpt-4o', 'gpt-4o-mini', false],
    ['gpt-*', 'gpt-4o-mini', true],
    ['gpt-*', 'claude', false],
    ['*-mini', 'gpt-4o-mini', true],
    ['a.b', 'axb', false],
    ['a.*', 'a.x', true],
    ['(x)*', '(x)yz', true],
    ['(x)*', 'xyz', false],
    ['*', '', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['line*', 'line\nbreak', true],
  ])('%j against %j: %s', (pattern, value, expected) => {
    expect(matchesAll([matchRule('model', pattern)], values({ model: value }))).toBe(expected);
  });

  it('a line without the field matches nothing, not even *', () => {
    expect(matchesAll([matchRule('agent', '*')], values({ model: 'x' }))).toBe(false);
  });

  it('every rule must hold', () => {
    const rules = [matchRule('agent', 'research'), matchRule('model', 'gpt-*')];
    expect(matchesAll(rules, values({ agent: 'research', model: 'gpt-4o' }))).toBe(true);
    expect(matchesAll(rules, values({ agent: 'research', model: 'claude' }))).toBe(false);
  });

  it('an exact value has no pattern; special characters are escaped', () => {
    expect(globOf('a.b')).toBeNull();
    expect(new RegExp(`^${escapeRegExp('a.b+(c)[d]{2}|e\\f')}$`).test('a.b+(c)[d]{2}|e\\f')).toBe(true);
  });
});

describe('placeholders', () => {
  it.each([
    ['state/{agent}.flag', ['agent']],
    ['python .*{agent}\\.py', ['agent']],
    ['a{2,3}b', []],
    ['{model}-{agent}', ['model', 'agent']],
  ])('%j holds %j', (text, expected) => {
    expect(placeholdersIn(text)).toEqual(expected);
  });

  const hostile = [
    '../../etc/x',
    'a/b',
    '..',
    '.',
    '.hidden',
    'nul\u0000byte',
    'ctl\u0001\u001b[31m\n',
    '',
    'x'.repeat(5000),
    '/abs/path',
    'ünïcode',
  ];
  it.each(hostile)('a hostile value %j stays one safe file-name part', (value) => {
    const name = safeFileName(value);
    expect(name).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
    expect(name).not.toContain('/');
    expect(name === '.' || name === '..').toBe(false);
    expect(name.length).toBeLessThanOrEqual(64 + 17);
    const filled = fillPath('/srv/app/state/{agent}.flag', 'agent', value);
    expect(filled.startsWith('/srv/app/state/')).toBe(true);
    expect(filled.slice('/srv/app/state/'.length)).not.toContain('/');
  });

  it('values made alike keep apart (a hash of the original)', () => {
    const names = new Set(['a/b', 'a_b', 'a\u0000b', 'a:b', 'a b'].map(safeFileName));
    expect(names.size).toBe(5);
    expect(safeFileName('research')).toBe('research');
  });

  it("a value that already looks changed (name-<16 hex>) is changed too: never another value's name", () => {
    const changed = safeFileName('a/b');
    expect(changed).toMatch(/^a_b-[0-9a-f]{16}$/);
    expect(safeFileName(changed)).not.toBe(changed);
    expect(safeFileName('build-0123456789abcdeg')).toBe('build-0123456789abcdeg');
  });

  it('a cmdline placeholder is regex-escaped: it matches only the value', () => {
    const pattern = new RegExp(fillPattern('python .*{agent}\\.py', 'agent', 'a.*'));
    expect(pattern.test('python run-a.*.py')).toBe(true);
    expect(pattern.test('python run-abc.py')).toBe(false);
  });
});

describe('the scopes config', () => {
  const scope = (extra: Record<string, unknown>) => ({
    ...base,
    scopes: [{ name: 'research', limits: { daily: { kill: 5 } }, ...extra }],
  });
  it.each([
    [{ match: { agent: 'research' } }, []],
    [{ each: 'agent', flag_file: 'state/{agent}.flag', target: { pid_file: 'state/{agent}.pid' } }, []],
    [{ match: { model: 'gpt-*' }, each: 'agent' }, []],
    [{}, ['scopes[0]: set match (the lines it counts) or each (a budget per value of a field), or both']],
    [{ match: { user: 'x' } }, ['scopes[0].match.user']],
    [{ each: 'user' }, ['scopes[0].each: unknown field "user"']],
    [
      { match: { agent: 'a' }, flag_file: 'state/{agent}.flag' },
      ['scopes[0].flag_file: placeholder {agent} needs'],
    ],
    [
      { each: 'agent', flag_file: 'state/{model}.flag' },
      ["scopes[0].flag_file: placeholder {model} is not this scope's"],
    ],
    [{ each: 'agent', flag_file: 'state/{who}.flag' }, ['scopes[0].flag_file: unknown placeholder {who}']],
    [
      { each: 'agent', target: { pid_file: '{agent}/app.pid' } },
      ['scopes[0].target.pid_file: a placeholder may only be in the file name'],
    ],
    [
      { each: 'agent', target: { cmdline: 'python {model}' } },
      ['scopes[0].target.cmdline: placeholder {model} is not'],
    ],
    [
      { each: 'agent', target: { process_name: '{agent}' } },
      ['scopes[0].target.process_name: placeholders are not filled in here'],
    ],
    [
      { each: 'agent', target: { cmdline: 'app', stop_command: 'systemctl stop app@{agent}' } },
      ['scopes[0].target.stop_command: placeholders are not filled in here'],
    ],
    [{ each: 'agent', limits: undefined }, ['scopes[0].limits: required']],
    [{ each: 'agent', limits: { daily: {} } }, ['scopes[0].limits.daily: set at least one']],
    [{ each: 'agent', color: 'red' }, ['scopes[0].color: unknown key (expected one of: name, match, each']],
    [{ each: 'agent', name: 'a b' }, ['scopes[0].name: expected a simple name']],
    [{ each: 'agent', name: '../x' }, ['scopes[0].name: expected a simple name']],
  ])('%j -> %j', (extra, expected) => {
    const found = problems(scope(extra));
    expect(found.length).toBe(expected.length);
    for (const [i, start] of expected.entries()) expect(found[i]?.startsWith(start), found[i]).toBe(true);
  });

  it('a source match written from ~/ or as an absolute path is made relative to the config folder', () => {
    const list = resolveScopes(
      [
        { name: 'a', match: { source: '/w/logs/*.jsonl' }, limits: { daily: { kill: 1 } } },
        { name: 'b', match: { source: '~/.claude/projects/*/x.jsonl' }, limits: { daily: { kill: 1 } } },
        { name: 'c', match: { source: 'logs/*' }, limits: { daily: { kill: 1 } } },
      ] as never,
      (x) => `/w/${x}`,
      '/w',
      { HOME: '/home/u' },
    ).scopes;
    const on = (source: string) => list.map((s) => matchesAll(s.match, values({ source })));
    expect(on('logs/one.jsonl')).toEqual([true, false, true]);
    expect(on('../home/u/.claude/projects/p/x.jsonl')).toEqual([false, true, false]);
  });

  it('duplicate names are refused', () => {
    const found = problems({
      ...base,
      scopes: [
        { name: 'a', each: 'agent', limits: { daily: { kill: 1 } } },
        { name: 'a', each: 'model', limits: { daily: { kill: 1 } } },
      ],
    });
    expect(found).toEqual(['scopes[1].name: "a" is already the name of scopes[0]: names must differ']);
  });
});

function scopes(raw: unknown[]) {
  const { scopes: list, problems: p } = resolveScopes(raw as never, (x) => `/w/${x}`, '/w', {});
  expect(p).toEqual([]);
  return list;
}

describe('counting per scope and per value', () => {
  const config = scopes([
    { name: 'research', match: { agent: 'research' }, limits: { '15m': { kill: 2 }, daily: { kill: 10 } } },
    { name: 'per-agent', each: 'agent', limits: { daily: { warn: 1, kill: 3 } } },
    { name: 'gpt-agents', match: { model: 'gpt-*' }, each: 'agent', limits: { daily: { kill: 3 } } },
    { name: 'by-task', each: 'task', limits: { daily: { kill: 3 } } },
    { name: 'by-source', match: { source: 'workers/*' }, limits: { daily: { kill: 3 } } },
  ]);
  const counter = () => new ScopeCounter(config, calendar, NOW);
  const add = (c: ScopeCounter, ago: number, usd: number, v: Partial<ScopeValues>) =>
    c.add(NOW - ago * 1000, usd * 1e6, record(v), v.source ?? '');
  const spend = (c: ScopeCounter, name: string, value: string | null, window: string) =>
    c.status(name, value)?.windows.find((w) => w.name === window)?.spend;

  it('a line goes to every scope it matches, per value under each', () => {
    const c = counter();
    add(c, 10, 1.5, { agent: 'research', model: 'gpt-4o', task: 't1', source: 'workers/a.jsonl' });
    add(c, 1200, 0.25, { agent: 'research', model: 'claude' });
    add(c, 10, 2, { agent: 'writer', model: 'gpt-4o-mini', task: 't1' });
    add(c, 10, 4, { model: 'gpt-4o' });
    expect(spend(c, 'research', null, '15m')).toBe(1.5);
    expect(spend(c, 'research', null, 'daily')).toBe(1.75);
    expect(spend(c, 'per-agent', 'research', 'daily')).toBe(1.75);
    expect(spend(c, 'per-agent', 'writer', 'daily')).toBe(2);
    expect(spend(c, 'gpt-agents', 'research', 'daily')).toBe(1.5);
    expect(spend(c, 'gpt-agents', 'writer', 'daily')).toBe(2);
    expect(spend(c, 'by-task', 't1', 'daily')).toBe(3.5);
    expect(spend(c, 'by-source', null, 'daily')).toBe(1.5);
    expect(c.status('per-agent', 'nobody')?.windows.every((w) => w.spend === 0)).toBe(true);
    const levels = c
      .statuses()
      .map((s) => [s.name, s.value, s.windows.find((w) => w.name === 'daily')?.level]);
    expect(levels).toContainEqual(['per-agent', 'writer', 'warn']);
    expect(levels).toContainEqual(['by-task', 't1', 'kill']);
  });

  it('a value found by its label id is the same ledger as by its name', () => {
    const c = counter();
    add(c, 10, 1, { agent: 'research' });
    c.add(NOW - 5000, 0.5e6, record({ agent: 'research', agentId: 7 }), '');
    c.add(NOW - 4000, 0.25e6, record({ agent: 'research', agentId: 7 }), '');
    expect(spend(c, 'per-agent', 'research', 'daily')).toBe(1.75);
    expect(c.statuses().filter((s) => s.name === 'per-agent')).toHaveLength(1);
  });

  it('sums exactly: 100 lines of $0.05 reach $5', () => {
    const c = counter();
    for (let i = 0; i < 100; i++) add(c, 5, 0.05, { agent: 'research' });
    expect(spend(c, 'research', null, 'daily')).toBe(5);
  });

  it('yesterday does not count in the daily window, out-of-order lines do in the rolling one', () => {
    const c = counter();
    add(c, 13 * 3600, 3, { agent: 'research' });
    add(c, 10, 1, { agent: 'research' });
    add(c, 100, 0.5, { agent: 'research' });
    expect(spend(c, 'research', null, 'daily')).toBe(1.5);
    expect(spend(c, 'research', null, '15m')).toBe(1.5);
  });

  it('the saved form comes back the same; another config or damage gives null', () => {
    const c = counter();
    add(c, 10, 1.25, { agent: 'research', model: 'gpt-4o', task: 't' });
    add(c, 30, 2, { agent: 'b' });
    const state = JSON.parse(JSON.stringify(c.toState()));
    const back = ScopeCounter.fromState(state, config, calendar, NOW + 1000);
    expect(back?.statuses().map((s) => [s.name, s.value, s.windows.map((w) => w.spend)])).toEqual(
      c.statuses().map((s) => [s.name, s.value, s.windows.map((w) => w.spend)]),
    );
    expect(ScopeCounter.fromState(state, config.slice(1), calendar, NOW)).toBeNull();
    for (const bad of [null, 'x', 7, { signature: state.signature }, { ...state, scopes: { research: 1 } }])
      expect(ScopeCounter.fromState(bad, config, calendar, NOW)).toBeNull();
    const negative = JSON.parse(JSON.stringify(state));
    negative.scopes.research.single.daily['2026-12-02'] = -1;
    expect(ScopeCounter.fromState(negative, config, calendar, NOW)).toBeNull();
    expect(ScopeCounter.fromState(undefined, [], calendar, NOW)?.empty).toBe(true);
  });

  it('two readers of halves, packed and merged, give what one reader of all gives', () => {
    const whole = counter();
    const first = counter();
    const second = counter();
    const rows: [number, number, Partial<ScopeValues>][] = [];
    for (let i = 0; i < 60; i++)
      rows.push([
        i * 37,
        0.01 * (i % 7) + 0.01,
        { agent: `a${i % 5}`, model: i % 2 ? 'gpt-4o' : 'claude', task: `t${i % 3}` },
      ]);
    rows.forEach(([ago, usd, v], i) => {
      add(whole, ago, usd, v);
      add(i < 25 ? first : second, ago, usd, v);
    });
    first.absorbPacked(structuredClone(second.pack()));
    const view = (c: ScopeCounter) =>
      c
        .statuses(100)
        .map((s) => [s.name, s.value, s.windows.map((w) => w.spend)])
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    expect(view(first)).toEqual(view(whole));
    expect(first.valueCounts()).toEqual(whole.valueCounts());
  });

  it('a value with nothing left in any window is not saved', () => {
    const c = counter();
    add(c, 10, 1, { agent: 'a' });
    const later = ScopeCounter.fromState(c.toState(), config, calendar, NOW + 86_400_000);
    expect(Object.keys(c.toState().scopes['per-agent']?.values ?? {})).toEqual(['a']);
    expect(later?.toState().scopes['per-agent']?.values).toEqual({});
  });
});

describe('decisions per scope instance', () => {
  it('memory keys go both ways', () => {
    expect(memoryKey('research', {})).toBe('research');
    expect(memoryKey('per-agent', { agent: 'a/b=c' })).toBe('per-agent/agent=a/b=c');
    expect(parseMemoryKey('per-agent/agent=a/b=c')).toEqual({ name: 'per-agent', key: { agent: 'a/b=c' } });
    expect(parseMemoryKey('research')).toEqual({ name: 'research', key: {} });
  });

  it('labels quote the value (control characters escaped)', () => {
    expect(scopeLabel('per-agent', { agent: 'a\nb' })).toBe('scope per-agent agent="a\\nb"');
    expect(scopeLabel('research', {})).toBe('scope research');
  });

  const config = scopes([{ name: 'per-agent', each: 'agent', limits: { daily: { warn: 1, kill: 3 } } }]);
  it('only instances above ok or remembered are decided on', () => {
    const c = new ScopeCounter(config, calendar, NOW);
    c.add(NOW, 2e6, record({ agent: 'hot' }), '');
    c.add(NOW, 0.5e6, record({ agent: 'quiet' }), '');
    const memory = memoryOf(emptyAlertState(), NOW);
    const chosen = toDecide(c.statuses(), { 'per-agent/agent=gone': memory }, (name, key) =>
      c.status(name, key.agent ?? null),
    );
    expect(chosen.map((s) => s.value)).toEqual(['hot', 'gone']);
  });

  it('an idle memory is forgotten a day after it was last seen; scopes no longer configured at once', () => {
    const quiet = memoryOf(emptyAlertState(), NOW - 86_400_001);
    const recent = memoryOf(emptyAlertState(), NOW - 1000);
    const flagged = { ...memoryOf(emptyAlertState(), NOW - 10 * 86_400_000), flag_seen: true };
    expect(idle(quiet)).toBe(true);
    const kept = keepMemories(
      { 'a/agent=x': quiet, 'a/agent=y': recent, 'a/agent=z': flagged, 'gone/agent=y': recent },
      new Set(['a']),
      NOW,
    );
    expect(Object.keys(kept)).toEqual(['a/agent=y', 'a/agent=z']);
  });
});
