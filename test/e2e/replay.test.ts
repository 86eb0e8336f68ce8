// `replay` through the real CLI on generated logs: crossing times and amounts to the cent, the
// --json shape, the --html page, a glob of rotated files merged by time, the exit codes, and that
// it reads only (no state folder, no flag).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReplayJson } from '../../src/replay/types.js';
import { cli, flagFile, lines, workspace } from './helpers.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');

/** A line at T0 + `sec` seconds costing `usd`. */
function at(sec: number, usd: number, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ts: new Date(T0 + sec * 1000).toISOString(), cost_usd: usd, ...extra })}\n`;
}

/** $0.05 every 10 s for `count` lines from `fromSec`. */
function steady(fromSec: number, count: number, extra: Record<string, unknown> = {}): string {
  let out = '';
  for (let i = 0; i < count; i++)
    out += at(fromSec + i * 10, 0.05, { request_id: `r${fromSec + i}`, ...extra });
  return out;
}

function replayJson(ws: ReturnType<typeof workspace>, ...args: string[]): ReplayJson {
  const r = ws.run('replay', '--json', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ReplayJson;
}

describe('replay', () => {
  it('says when each level would have fired, the spend then and what followed, to the cent', () => {
    const ws = workspace();
    // 15m: $0.05 every 10 s is $4.50 per 15 minutes: warn at the 60th line (10:09:50, $3.00);
    // $3 at 10:20:00 on the $4.45 then in the window: $7.45 (emergency); $1 more at 10:20:05: kill.
    ws.append(steady(0, 120) + at(1200, 3) + at(1205, 1) + steady(1210, 10));
    const json = replayJson(ws);
    expect(json.total_usd).toBeCloseTo(10.5, 9);
    expect(json.lines).toEqual({ records: 132, malformed: 0, outside: 0 });
    const rows = json.crossings.map((c) => [c.window, c.scope, c.level, c.at, c.spend_usd, c.followed_usd]);
    expect(rows).toEqual([
      ['15m', null, 'warn', '2026-11-20T10:09:50.000Z', 3, 7.5],
      ['15m', null, 'emergency', '2026-11-20T10:20:00.000Z', 7.45, 1.5],
      ['15m', null, 'kill', '2026-11-20T10:20:05.000Z', 8.45, 0.5],
    ]);
    // The last line is at 10:21:40 ($8.45 in the window): the window never fell back to ok by then.
    expect(json.crossings.every((c) => c.ok_again_at === null)).toBe(true);
    // Read only: no state folder, no flag.
    expect(existsSync(ws.stateDir)).toBe(false);
    expect(existsSync(flagFile(ws))).toBe(false);
  });

  it('prints a table in the config timezone; --json has every field of the contract', () => {
    const ws = workspace(
      'log: state/cost_log.jsonl\ntimezone: Europe/Berlin\n' +
        'limits:\n  15m: { warn: 3 }\n  daily: { kill: 6 }\n',
    );
    ws.append(steady(0, 130));
    const text = ws.run('replay');
    expect(text.code).toBe(0);
    // 10:09:50Z is 11:09:50 in Berlin (CET).
    expect(text.stdout).toMatch(/15m\s+-\s+warn\s+2026-11-20 11:09:50\s+\$3\.00\s+\$3\.50/);
    expect(text.stdout).toMatch(/daily\s+-\s+kill\s+2026-11-20 11:19:50\s+\$6\.00\s+\$0\.50/);
    expect(text.stdout).toContain('total: $6.50');
    const json = replayJson(ws);
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining([
        'from',
        'to',
        'total_usd',
        'crossings',
        'storms',
        'unpriced',
        'minutes',
        'series',
      ]),
    );
    expect(Object.keys(json.crossings[0] ?? {}).sort()).toEqual(
      ['at', 'followed_usd', 'key', 'level', 'ok_again_at', 'scope', 'spend_usd', 'window'].sort(),
    );
    expect(json.from).toBe('2026-11-20T10:00:00.000Z');
    expect(json.to).toBe('2026-11-20T10:21:30.000Z');
    expect(json.series.map((s) => s.window)).toEqual(['15m', 'daily']);
    expect(json.minutes[0]).toEqual([T0, 0.3]);
  });

  it('--from/--to trim what is reported; earlier lines still fill the windows', () => {
    const ws = workspace();
    ws.append(steady(0, 150));
    const json = replayJson(ws, '--from', '2026-11-20T10:10:00Z', '--to', '2026-11-20T10:20:00Z');
    // The warn crossing at 10:09:50 is before --from: not reported, and not again (still at warn).
    expect(json.crossings).toEqual([]);
    expect(json.from).toBe('2026-11-20T10:10:00.000Z');
    expect(json.lines).toEqual({ records: 61, malformed: 0, outside: 89 });
    expect(json.total_usd).toBeCloseTo(3.05, 9);
  });

  it('bad --from is bad usage (64), with the reason', () => {
    const ws = workspace();
    ws.append(steady(0, 3));
    const r = ws.run('replay', '--from', 'last tuesday');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--from: "last tuesday" is not a time; expected a date/);
    expect(ws.run('replay', '--from', '2026-11-21', '--to', '2026-11-20').code).toBe(64);
  });

  it('a log that cannot be read is named, exit 1', () => {
    const ws = workspace();
    ws.append(steady(0, 3));
    mkdirSync(path.join(ws.dir, 'state', 'old.jsonl'));
    const r = cli(
      ['replay', '-c', ws.config, 'state/cost_log.jsonl', 'state/old.jsonl', 'state/gone.jsonl'],
      {
        cwd: ws.dir,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read ${path.join(ws.dir, 'state', 'old.jsonl')}: not a file`);
    expect(r.stderr).toContain(`cannot read ${path.join(ws.dir, 'state', 'gone.jsonl')}: no such file`);
    // What could be read is still reported.
    expect(r.stdout).toContain('total: $0.15');
    // Nothing could be read: no report at all (an empty one would say no limit would have fired).
    const none = cli(['replay', '-c', ws.config, 'state/old.jsonl', 'state/gone.jsonl'], { cwd: ws.dir });
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no such file');
  });

  it('leaves a state folder and a flag that exist as they were', () => {
    const ws = workspace();
    ws.append(lines(3, 5));
    const ran = cli(['run', '-c', ws.config], { cwd: ws.dir });
    expect(ran.code).toBe(0);
    const snapshot = (): string =>
      JSON.stringify(
        [ws.stateDir, flagFile(ws)].flatMap((p) =>
          existsSync(p) && statSync(p).isDirectory()
            ? readdirSync(p).map((f) => [
                f,
                readFileSync(path.join(p, f), 'utf8'),
                statSync(path.join(p, f)).mtimeMs,
              ])
            : [[p, readFileSync(p, 'utf8'), statSync(p).mtimeMs]],
        ),
      );
    expect(existsSync(flagFile(ws))).toBe(true);
    const before = snapshot();
    expect(ws.run('replay').code).toBe(0);
    expect(snapshot()).toBe(before);
  });

  it('a bad config is 78', () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits: { 15m: { warn: -1 } }\n');
    expect(ws.run('replay').code).toBe(78);
  });

  it('merges a glob of rotated files by line time, and finds storms across them', () => {
    const ws = workspace(
      'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3 }\nretry_storm: { count: 3 }\n',
    );
    // Rotated: .2 oldest, .1, then the live log; each written in order, the storm id spread over all.
    writeFileSync(
      path.join(ws.dir, 'state', 'cost_log.jsonl.2'),
      steady(0, 30) + at(295, 0.1, { request_id: 'x' }),
    );
    writeFileSync(
      path.join(ws.dir, 'state', 'cost_log.jsonl.1'),
      steady(300, 30) + at(305, 0.1, { request_id: 'x' }),
    );
    ws.append(at(310, 0.1, { request_id: 'x' }) + steady(600, 30));
    const r = cli(['replay', '--json', '-c', ws.config, 'state/cost_log.jsonl*'], { cwd: ws.dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as ReplayJson;
    expect(json.lines.records).toBe(93);
    // In time order across the files: 56 lines of $0.05 by 10:09:10 and the two $0.10 of x dated
    // before it ($2.80 + $0.20); the third x, late in its file, comes only after 10:09:50.
    expect(json.crossings.map((c) => [c.level, c.at, c.spend_usd])).toEqual([
      ['warn', '2026-11-20T10:09:10.000Z', 3],
    ]);
    expect(json.storms.map((s) => [s.id, s.count, s.spend_usd, s.first_at, s.last_at])).toEqual([
      ['x', 3, 0.3, '2026-11-20T10:04:55.000Z', '2026-11-20T10:05:05.000Z'],
    ]);
    // Without arguments, the config's log and its rotated generations.
    const bare = replayJson(ws);
    expect(bare.lines.records).toBe(93);
  });

  it('--html writes a self-contained page, never into the state folder', () => {
    const ws = workspace();
    ws.append(steady(0, 100));
    const page = path.join(ws.dir, 'replay.html');
    const r = ws.run('replay', '--html', page);
    expect(r.code).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:\/\//i);
    const refused = ws.run('replay', '--html', path.join(ws.stateDir, 'page.html'));
    expect(refused.code).toBe(64);
    expect(refused.stderr).toContain('inside the state folder');
    expect(existsSync(ws.stateDir)).toBe(false);
  });

  it('scopes: per value of each, and a match', () => {
    const ws = workspace(
      'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 100 }\nscopes:\n' +
        '  - { name: per-agent, each: agent, limits: { 15m: { warn: 1 } } }\n' +
        '  - { name: research, match: { agent: research }, limits: { daily: { kill: 2 } } }\n',
    );
    let text = '';
    for (let i = 0; i < 30; i++) text += at(i * 10, 0.1, { agent: i % 3 === 0 ? 'research' : 'other' });
    ws.append(text);
    const json = replayJson(ws);
    expect(json.crossings.map((c) => [c.scope, c.key, c.window, c.level, c.at, c.spend_usd])).toEqual([
      ['per-agent', { agent: 'other' }, '15m', 'warn', '2026-11-20T10:02:20.000Z', 1],
      ['per-agent', { agent: 'research' }, '15m', 'warn', '2026-11-20T10:04:30.000Z', 1],
    ]);
    expect(json.series.some((s) => s.scope === 'research')).toBe(true);
  });
});
