// The real CLI over real files: appends, rotation of both kinds, partial lines, garbage, a lost
// checkpoint, and concurrent runs. Spend is asserted to the cent: nothing lost, nothing twice.
import {
  copyFileSync,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { cliAsync, lines, readJsonFile, runWithUnreadable, workspace } from './helpers.js';

const spend15 = (json: { windows: Record<string, { spend_usd: number }> }) => json.windows['15m']!.spend_usd;
const spendDay = (json: { windows: Record<string, { spend_usd: number }> }) => json.windows.daily!.spend_usd;

describe('reading the log incrementally', () => {
  it('counts appends once, and a run with nothing new changes nothing', () => {
    const ws = workspace();
    ws.append(lines(10, 0.25));
    let r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.new_lines).toBe(10);
    expect(spend15(r.json)).toBeCloseTo(2.5, 9);

    ws.append(lines(4, 0.25));
    r = ws.runJson();
    expect(r.json.new_lines).toBe(4);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
    expect(r.json.windows['15m']!.level).toBe('warn');

    r = ws.runJson();
    expect(r.json.new_lines).toBe(0);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
    expect(spendDay(r.json)).toBeCloseTo(3.5, 9);
  });

  it('prints a one-line summary per window', () => {
    const ws = workspace();
    ws.append(lines(2, 2.1));
    const r = ws.run('run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^15m\s+\$4\.20\s+WARN\s+\(warn \$3\.00 \/ emergency \$5\.00 \/ kill \$8\.00\)$/m,
    );
    expect(r.stdout).toMatch(
      /^daily\s+\$4\.20\s+ok\s+\(warn \$20\.00 \/ emergency \$25\.00 \/ kill \$30\.00\)$/m,
    );
    expect(r.stdout).toMatch(/read 2 new lines/);
  });

  it('status sees lines appended since the last run, without saving them', () => {
    const ws = workspace();
    ws.append(lines(2, 1));
    ws.run('run');
    ws.append(lines(3, 1));
    const s = ws.status();
    expect(spend15(s.json)).toBeCloseTo(5, 9);
    expect(s.code).toBe(2); // emergency
    // status wrote nothing: the next run still reads the 3 lines
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(3);
    expect(spend15(r.json)).toBeCloseTo(5, 9);
  });

  it('--dry-run reads and reports but writes nothing', () => {
    const ws = workspace();
    ws.append(lines(3, 1));
    const r = ws.runJson('--dry-run');
    expect(r.code).toBe(0);
    expect(spend15(r.json)).toBeCloseTo(3, 9);
    expect(existsSync(ws.stateDir)).toBe(false);
  });

  it('waits for the rest of a line without its newline', () => {
    const ws = workspace();
    const full = lines(1, 1.5);
    ws.append(lines(1, 1));
    ws.append(full.slice(0, 20));
    let r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(r.json.malformed_lines).toBe(0);
    expect(spend15(r.json)).toBeCloseTo(1, 9);
    ws.append(full.slice(20));
    r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(r.json.malformed_lines).toBe(0);
    expect(spend15(r.json)).toBeCloseTo(2.5, 9);
  });

  it('counts garbage as malformed, keeps going, and shows samples with line numbers', () => {
    const ws = workspace();
    ws.append(lines(1, 1));
    ws.append('this is not json\n');
    ws.append('{"t": 1769472000, "cost": -1}\n');
    ws.append('{"cost": 1}\n');
    ws.append('[1,2,3]\n');
    ws.append('{"t": 1769472000, "cost": NaN}\n');
    ws.append(Buffer.from([0xc3, 0x28, 0x0a])); // invalid UTF-8
    ws.append(`{"t": 1, "cost": 1, "pad": "${'x'.repeat(1024 * 1024)}"}\n`);
    ws.append(lines(1, 1));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.new_lines).toBe(2);
    expect(r.json.new_malformed).toBe(7);
    expect(spend15(r.json)).toBeCloseTo(2, 9);
    const s = ws.status();
    expect(s.json.malformed_lines).toBe(7);
    expect(s.json.malformed_samples.map((m) => [m.line, m.reason.split(':')[0]])).toEqual([
      [2, 'not JSON'],
      [3, '"cost" is negative'],
      [4, 'no time (expected one of'],
      [5, 'not a JSON object'],
      [6, 'not JSON'],
    ]);
    const audit = readFileSync(path.join(ws.stateDir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit[0].new_malformed).toBe(7);
    expect(audit[0].malformed_samples[0]).toMatchObject({ file: 'cost_log.jsonl', line: 2 });
  });

  it('counts lines dated far in the future as now, and reports them', () => {
    const ws = workspace();
    ws.append(`${JSON.stringify({ t: Date.now() / 1000 + 86_400 * 30, cost: 2 })}\n`);
    const r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(2, 9);
    expect(r.stderr).toMatch(/1 line\(s\) dated more than 5 minutes in the future/);
    expect(ws.status().json.future_lines).toBe(1);
  });

  it('late lines land in their own window', () => {
    const ws = workspace();
    ws.append(lines(1, 1, 5));
    ws.append(lines(1, 4, 3600)); // an hour ago: outside 15m
    const r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(1, 9);
  });
});

describe('rotation', () => {
  it("rename-and-create: reads the old file's unread tail, then the new file", () => {
    const ws = workspace();
    ws.append(lines(4, 0.5));
    ws.run('run');
    ws.append(lines(2, 0.5)); // written after the last run, before the rotation
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(3, 0.5)); // the new file
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.new_lines).toBe(5);
    expect(spend15(r.json)).toBeCloseTo(4.5, 9);
    expect(r.json.notes.join()).toMatch(/was rotated to cost_log\.jsonl\.1/);
    // and again: nothing counted twice
    const again = ws.runJson();
    expect(again.json.new_lines).toBe(0);
    expect(spend15(again.json)).toBeCloseTo(4.5, 9);
  });

  it('rotated twice between two runs: the generation in between is read too', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    ws.append(lines(1, 0.5)); // unread tail of the file we follow
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(3, 0.5)); // a whole generation the watchdog never sees as the log
    renameSync(`${ws.log}.1`, `${ws.log}.2`);
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(1, 0.5)); // the current log
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(5);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
    expect(r.json.notes.join()).toMatch(
      /rotated more than once since the last check: also read cost_log\.jsonl\.1/,
    );
    expect(ws.runJson().json.new_lines).toBe(0);
  });

  it('a rotated file the watchdog cannot read is a note, not a failure', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    ws.append(lines(1, 0.5)); // unread tail, in a file about to become unreadable
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(1, 0.25));
    const r = runWithUnreadable(ws, `${ws.log}.1`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as RunJson;
    expect(spend15(json)).toBeCloseTo(1.25, 9); // the old lines and the new log; the lost tail said so
    expect(json.notes.join()).toMatch(
      /cannot read rotated log cost_log\.jsonl\.1 \(permission denied\): its lines after byte \d+ are lost/,
    );
    expect(json.notes.join()).not.toMatch(/read its last lines/);
  });

  it('rename-and-create with a line still being written in the old file', () => {
    const ws = workspace();
    const line = lines(1, 2);
    ws.append(lines(1, 1));
    ws.append(line.slice(0, 15));
    ws.run('run');
    renameSync(ws.log, `${ws.log}.1`);
    writeFileSync(ws.log, lines(1, 0.25));
    let r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(1.25, 9);
    // the app, still holding the old file open, finishes its line
    writeFileSync(`${ws.log}.1`, line.slice(15), { flag: 'a' });
    r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(3.25, 9);
    expect(r.json.malformed_lines).toBe(0);
  });

  it('a rotated file whose last line is never finished: reported once, then forgotten', () => {
    const ws = workspace();
    ws.append(lines(1, 1));
    ws.append('{"t": 17694'); // cut off, and the app never finishes it
    ws.run('run');
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(1, 0.5));
    expect(ws.runJson().json.new_malformed).toBe(0); // following the old file
    expect(ws.runJson().json.new_malformed).toBe(0); // still, while quiet for less than the longest window
    // a day passes without it growing (longer than any window): the checkpoint says when it last grew
    const file = path.join(ws.stateDir, 'checkpoint.json');
    const cp = JSON.parse(readFileSync(file, 'utf8')) as { files: { previous: { grown_ms: number }[] }[] };
    for (const gen of cp.files[0]!.previous) gen.grown_ms -= 86_400_000;
    writeFileSync(file, JSON.stringify(cp));
    const gaveUp = ws.runJson();
    expect(gaveUp.json.new_malformed).toBe(1);
    expect(gaveUp.json.notes.join()).toMatch(
      /no longer following rotated log cost_log\.jsonl\.1: it has not grown for over \d+[smhd]/,
    );
    expect(ws.status().json.malformed_samples[0]!.reason).toMatch(/unfinished last line of a rotated log/);
    for (let i = 0; i < 2; i++) {
      const later = ws.runJson();
      expect(later.json.new_malformed).toBe(0);
      expect(later.json.malformed_lines).toBe(1);
    }
    const audit = readFileSync(path.join(ws.stateDir, 'audit.jsonl'), 'utf8');
    expect(audit.match(/unfinished last line/g)?.length).toBe(1);
  });

  it('copytruncate: reads what the copy holds past the offset, then the log from 0', () => {
    const ws = workspace();
    ws.append(lines(4, 0.5));
    ws.run('run');
    ws.append(lines(2, 0.5)); // after the last run, before the copy
    copyFileSync(ws.log, `${ws.log}.1`);
    truncateSync(ws.log, 0);
    ws.append(lines(1, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(3);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
    expect(r.json.notes.join()).toMatch(/truncated in place \(copytruncate\)/);
  });

  it('copytruncate where the new content is already longer than the old offset', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    copyFileSync(ws.log, `${ws.log}.1`);
    truncateSync(ws.log, 0);
    ws.append(lines(10, 0.25)); // bigger than the old file: only the fingerprint shows the change
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(10);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
  });

  it('truncated with no copy: starts again at 0 and says so', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    truncateSync(ws.log, 0);
    ws.append(lines(1, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBeCloseTo(1.5, 9);
    expect(r.json.notes.join()).toMatch(/no copy of it was found/);
  });

  it('rotated file deleted before the next run: says what may be lost', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    rmSync(ws.log);
    ws.append(lines(1, 0.5));
    const r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(1.5, 9);
    // The new file may even get the old inode back: then its changed start gives it away.
    expect(r.json.notes.join()).toMatch(/the old file is gone|no copy of it was found/);
  });
});

describe('the checkpoint', () => {
  it('is rebuilt from the log when lost, without counting anything twice', () => {
    const ws = workspace();
    ws.append(lines(6, 0.5));
    ws.run('run');
    rmSync(path.join(ws.stateDir, 'checkpoint.json'));
    const r = ws.runJson();
    expect(r.json.rebuilt).toMatch(/no checkpoint/);
    expect(spend15(r.json)).toBeCloseTo(3, 9);
  });

  it('is rebuilt when corrupt, and says so', () => {
    const ws = workspace();
    ws.append(lines(6, 0.5));
    ws.run('run');
    writeFileSync(path.join(ws.stateDir, 'checkpoint.json'), '{"version": 1, "log": ');
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.rebuilt).toMatch(/checkpoint unreadable/);
    expect(r.stderr).toMatch(/checkpoint unreadable/);
    expect(spend15(r.json)).toBeCloseTo(3, 9);
  });

  it('is rebuilt when its parts have the wrong shape, and status still works', () => {
    const ws = workspace();
    ws.append(lines(2, 0.5));
    ws.append('garbage\n');
    ws.run('run');
    const file = path.join(ws.stateDir, 'checkpoint.json');
    const cp = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify({ ...cp, totals: { ...cp.totals, malformed_samples: [1, { file: 2 }] } }),
    );
    const s = ws.status();
    expect(s.code).toBe(0);
    expect(s.json.malformed_samples.map((m) => m.line)).toEqual([3]);
    expect(spend15(s.json)).toBeCloseTo(1, 9);
    expect(ws.run('status').code).toBe(0);
  });

  it('that cannot be used names the bad field in its note, and is rebuilt', () => {
    const ws = workspace();
    ws.append(lines(6, 0.5));
    ws.run('run');
    const file = path.join(ws.stateDir, 'checkpoint.json');
    const cp = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...cp, totals: { ...cp.totals, records: -1 } }));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.rebuilt).toBe(
      'checkpoint damaged (bad field "totals.records": expected number >= 0): rebuilt from the log',
    );
    expect(spend15(r.json)).toBeCloseTo(3, 9);
  });

  it("on a rebuild, also reads recently rotated files (today's spend may be there)", () => {
    const ws = workspace();
    ws.append(lines(4, 0.5));
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(lines(2, 0.5));
    const r = ws.runJson();
    expect(spend15(r.json)).toBeCloseTo(3, 9);
    expect(r.json.notes.join()).toMatch(/also read 1 rotated file/);
  });

  it('is written atomically and names the file by device and inode', () => {
    const ws = workspace();
    ws.append(lines(1, 0.5));
    ws.run('run');
    const cp = readJsonFile(path.join(ws.stateDir, 'checkpoint.json')) as {
      files: { path: string; current: { ino: number; offset: number } }[];
    };
    expect(cp.files.map((f) => f.path)).toEqual([ws.log]);
    expect(cp.files[0]!.current.offset).toBe(readFileSync(ws.log).length);
    expect(cp.files[0]!.current.ino).toBeGreaterThan(0);
  });

  it('two runs at once never count a line twice (the lock)', async () => {
    const ws = workspace();
    ws.append(lines(2000, 0.001));
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => cliAsync(['run', '--json', '-c', ws.config], { cwd: ws.dir })),
    );
    for (const r of results) expect(r.code).toBe(0);
    const counted = results.map((r) => (JSON.parse(r.stdout) as RunJson).new_lines);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(2000);
    const final = ws.runJson();
    expect(spend15(final.json)).toBeCloseTo(2, 9);
  });
});

describe('other saved state that cannot be used', () => {
  it('alerts.json: the note names the file and the bad field; started afresh', () => {
    const ws = workspace();
    ws.append(lines(1, 0.5));
    ws.run('run');
    const file = path.join(ws.stateDir, 'alerts.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...state, windows: { daily: { level: 'high', since_ms: 1 } } }));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `note: alert state ${file} unreadable (bad field "windows.daily.level": expected one of`,
    );
    expect(r.stderr).toContain('started afresh, alerts may repeat once');
    expect((readJsonFile(file) as { windows: Record<string, unknown> }).windows).toEqual({});
  });

  it('heartbeat.json: check-heartbeat names the bad field', () => {
    const ws = workspace();
    ws.append(lines(1, 0.5));
    ws.run('run');
    const file = path.join(ws.stateDir, 'heartbeat.json');
    writeFileSync(file, JSON.stringify({ ...(readJsonFile(file) as object), time: 'yesterday' }));
    const r = ws.run('check-heartbeat');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('bad field "time": not a date and time');
  });
});
