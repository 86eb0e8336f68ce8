// Fault rows: money and the clock. The real CLI over real files, figures asserted exactly (money is
// whole micro-dollars: DESIGN.md, Exactness). Where a row needs a chosen "now" (midnight, a DST day)
// the check is engine.inspect at that time over the same real files and checkpoint the CLI uses:
// the CLI takes its time from the system clock only, and has no hook to fake it.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { BIN, cli, flagFile, lines, workspace } from '../e2e/helpers.js';
import {
  checkAt,
  checkpoint,
  daily,
  exactSum,
  lineAt,
  rng,
  zoneJustPastMidnight,
} from './money-and-clock-support.js';

const CP = (dir: string) => path.join(dir, '.cost-watchdog', 'checkpoint.json');

describe('money', () => {
  it.each([
    ['NaN', 'NaN', 'not JSON: NaN or Infinity is not a JSON number'],
    ['negative', '-0.5', '"cost" is negative: -0.5'],
    ['Infinity', 'Infinity', 'not JSON: NaN or Infinity is not a JSON number'],
    ['string', '"0.05"', '"cost" is not a number: "0.05"'],
    ['1e308', '1e308', 'cost 1e+308 is above cost.max_line_usd (10000)'],
  ])('NaN / negative / Infinity / string / 1e308 cost: %s', (_name, cost, reason) => {
    const ws = workspace();
    const now = Date.now();
    // Two bad lines (two of 1e308 would sum to Infinity) among good ones of six decimals.
    ws.append(
      lineAt(now - 9000, 0.100001) +
        lineAt(now - 8000, cost) +
        lineAt(now - 7000, 0.2) +
        lineAt(now - 6000, cost) +
        lineAt(now - 5000, 0.000003),
    );
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect([r.json.new_lines, r.json.new_malformed, r.json.malformed_lines]).toEqual([3, 2, 2]);
    expect(r.json.windows['15m']!.spend_usd).toBe(0.300004);
    expect(r.json.windows.daily!.spend_usd).toBe(0.300004);
    // Named in status, as a line and a reason.
    const s = ws.status();
    expect(s.json.malformed_lines).toBe(2);
    expect(s.json.malformed_samples.map((m) => [m.line, m.reason])).toEqual([
      [2, reason],
      [4, reason],
    ]);
    const text = ws.run('status');
    expect(text.stdout).toContain(reason);
    // No figure is NaN, Infinity or half-printed (the excerpts show the lines as they are).
    for (const out of [text.stdout, text.stderr, ws.run('run').stdout])
      expect(out).not.toMatch(/\$(Infinity|NaN)|undefined/);
    expect(JSON.stringify(s.json.windows)).not.toMatch(/null|Infinity|NaN/);
    // The checkpoint holds whole µ$ only, and is used as it is on the next run.
    const cp = checkpoint(ws) as {
      version: number;
      ledger: { rolling: [number, number][]; daily: Record<string, number> };
    };
    expect(cp.version).toBe(3);
    expect(Object.values(cp.ledger.daily)).toEqual([300_004]);
    expect(cp.ledger.rolling.every(([, c]) => Number.isSafeInteger(c))).toBe(true);
    const again = ws.runJson();
    expect(again.json.rebuilt).toBeNull();
    expect([again.json.new_lines, again.json.malformed_lines]).toEqual([0, 2]);
    expect(again.json.windows.daily!.spend_usd).toBe(0.300004);
    // And it goes on counting exactly.
    ws.append(lineAt(Date.now() - 1000, 0.05));
    const third = ws.runJson();
    expect(third.json.rebuilt).toBeNull();
    expect(third.json.windows.daily!.spend_usd).toBe(0.350004);
  });

  it(
    'NaN / negative / Infinity / string / 1e308 cost: 100 × $0.05 reaches a $5 emergency limit and ' +
      'writes the flag',
    () => {
      const ws = workspace();
      ws.append(lines(100, 0.05));
      const r = ws.runJson();
      expect(r.json.windows['15m']).toMatchObject({ spend_usd: 5, level: 'emergency' });
      expect(r.json.windows.daily!.spend_usd).toBe(5);
      expect(existsSync(flagFile(ws))).toBe(true);
      expect(ws.status().json.emergency.active).toBe(true);
      expect(ws.run('status').stdout).toMatch(/^ {2}15m\s+\$5\.00\s+EMERGENCY/m);
    },
  );

  it(
    'NaN / negative / Infinity / string / 1e308 cost: cost.max_line_usd is configurable, and an ' +
      'estimate is held to it too',
    () => {
      const ws = workspace(
        `log: state/cost_log.jsonl\ncost: { max_line_usd: 2, prices: { big: { input: 1000, output: ` +
          `1000 } } }\nlimits:\n  15m: { kill: 100 }\n  daily: { kill: 100 }\n`,
      );
      const now = Date.now();
      ws.append(lineAt(now - 3000, 2) + lineAt(now - 2000, 2.000001));
      // $10 by its tokens
      ws.append(`{"t":${(now - 1000) / 1000},"model":"big","in":10000,"out":0,"cost":0.01}\n`);
      const r = ws.runJson();
      expect(r.json.windows.daily!.spend_usd).toBe(2);
      expect(ws.status().json.malformed_samples.map((m) => m.reason)).toEqual([
        'cost 2.000001 is above cost.max_line_usd (2)',
        'estimated cost 10 is above cost.max_line_usd (2)',
      ]);
    },
  );
  it(
    "NaN / negative / Infinity / string / 1e308 cost: in a helper thread's part too (two threads, " +
      'the same exact total)',
    () => {
      const random = rng(11);
      const now = Date.now();
      const costs: number[] = [];
      let text = '';
      for (let k = 0; k < 4000; k++) {
        if (k % 500 === 250) text += lineAt(now - 60_000 + k, k % 1000 === 250 ? '1e308' : 'NaN');
        const c = Math.floor(random() * 1e6) / 1e6;
        costs.push(c);
        text += lineAt(now - 60_000 + k, c);
      }
      const config =
        `log: state/cost_log.jsonl\nlimits:\n  15m: { ` + `kill: 100000 }\n  daily: { kill: 100000 }\n`;
      for (const env of [{ COST_WATCHDOG_THREADS: '1' }, { COST_WATCHDOG_HELPER_MIN_BYTES: '1' }] as Record<
        string,
        string
      >[]) {
        const ws = workspace(config);
        ws.append(text);
        const r = cli(['run', '--json', '-c', ws.config], { cwd: ws.dir, env });
        const json = JSON.parse(r.stdout) as RunJson;
        expect(json.scan_threads).toBe(env.COST_WATCHDOG_THREADS === '1' ? 1 : 2);
        expect([json.malformed_lines, json.windows.daily!.spend_usd, json.windows['15m']!.spend_usd]).toEqual(
          [8, exactSum(costs), exactSum(costs)],
        );
        expect(ws.runJson().json.rebuilt).toBeNull();
      }
    },
  );
});

describe('the checkpoint', () => {
  it('missing and corrupt checkpoint: rebuilt, the total the same', () => {
    const ws = workspace();
    const costs = Array.from({ length: 40 }, (_, k) => (k * 7919 + 13) / 1e6 + 0.01);
    const now = Date.now();
    ws.append(costs.map((c, k) => lineAt(now - 60_000 + k * 1000, c)).join(''));
    const first = ws.runJson();
    expect(first.json.rebuilt).toMatch(/no checkpoint/);
    expect(first.json.windows.daily!.spend_usd).toBe(exactSum(costs));
    rmSync(CP(ws.dir));
    const missing = ws.runJson();
    expect(missing.json.rebuilt).toMatch(/no checkpoint/);
    expect(missing.json.windows.daily!.spend_usd).toBe(exactSum(costs));
    for (const garbage of ['{"version": 2, "log": ', '\u0000\u0000\u0000', '[]']) {
      writeFileSync(CP(ws.dir), garbage);
      const corrupt = ws.runJson();
      expect(corrupt.code).toBe(0);
      expect(corrupt.json.rebuilt).toMatch(/checkpoint (unreadable|in an unknown format)/);
      expect(corrupt.json.windows.daily!.spend_usd).toBe(exactSum(costs));
      expect(corrupt.json.windows['15m']!.spend_usd).toBe(exactSum(costs));
    }
    const after = ws.runJson();
    expect(after.json.rebuilt).toBeNull();
    expect(after.json.windows.daily!.spend_usd).toBe(exactSum(costs));
  });

  it('missing and corrupt checkpoint: one of an older version (dollars) is rebuilt once, with a note', () => {
    const ws = workspace();
    ws.append(lines(100, 0.05));
    ws.runJson();
    // What version 1 wrote: the same shape, amounts in dollars (and 4.999999999999991 for 100 × $0.05).
    const cp = checkpoint(ws) as {
      version: number;
      ledger: { rolling: [number, number][]; daily: Record<string, number> };
    };
    cp.version = 1;
    cp.ledger.rolling = cp.ledger.rolling.map(([s, c]) => [s, c / 1e6]);
    cp.ledger.daily = Object.fromEntries(
      Object.entries(cp.ledger.daily).map(([k]) => [k, 4.999999999999991]),
    );
    writeFileSync(CP(ws.dir), JSON.stringify(cp));
    const r = ws.runJson();
    expect(r.json.rebuilt).toBe(
      'checkpoint of an older version (amounts in dollars, now whole micro-dollars): rebuilt from ' +
        'the log once',
    );
    expect(r.json.windows.daily!.spend_usd).toBe(5);
    expect(ws.runJson().json.rebuilt).toBeNull();
  });

  it('SIGKILL of `run` at random moments while the log grows: the total exact', async () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\nlimits:\n  15m: { kill: 100000 }\n  daily: { kill: 100000 }\n`,
    );
    const random = rng(20261201);
    const costs: number[] = [];
    for (let round = 0; round < 20; round++) {
      const now = Date.now();
      const batch = Array.from(
        { length: 1 + Math.floor(random() * 400) },
        () => Math.floor(random() * 1e6) / 1e6,
      );
      ws.append(batch.map((c, k) => lineAt(now - 5000 + k, c)).join(''));
      costs.push(...batch);
      const child = spawn(process.execPath, [BIN, 'run', '-c', ws.config], {
        cwd: ws.dir,
        stdio: 'ignore',
        env: { PATH: process.env.PATH, NO_COLOR: '1' },
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 150)));
      child.kill('SIGKILL');
      await exited;
    }
    const clean = ws.runJson();
    expect(clean.code).toBe(0);
    expect(clean.json.windows.daily!.spend_usd).toBe(exactSum(costs));
    expect(clean.json.windows['15m']!.spend_usd).toBe(exactSum(costs));
    expect(ws.status().json.lines_counted).toBe(costs.length);
  }, 180_000);
});

describe('the clock', () => {
  it('future timestamps, also across midnight: real CLI, a zone whose midnight was minutes ago', () => {
    const now = Date.now();
    const { zone, midnightMs } = zoneJustPastMidnight(now);
    const ws = workspace(
      `log: state/cost_log.jsonl\ntimezone: ${zone}\nlimits:\n  15m: { kill: 1000 }\n  daily: { ` +
        `kill: 1000 }\n  2h: { kill: 1000 }\n`,
    );
    const timed: [number, number][] = [
      [midnightMs - 30_000, 1.000001], // yesterday, inside the 2h window
      [midnightMs + 10_000, 0.1], // today
      [now + 60_000, 0.02], // a minute ahead: at its own time
    ];
    for (const [t, c] of timed) ws.append(lineAt(t, c));
    ws.append(lineAt(now + 3 * 3_600_000, 0.004)); // hours ahead: counted as now, and reported
    const r = ws.runJson();
    expect(r.json.windows.daily!.spend_usd).toBe(0.124);
    expect(r.json.windows['2h']!.spend_usd).toBe(1.124001);
    // Midnight was 1 to 61 minutes ago: the lines before it are in 15m only when it was recent.
    const in15m = timed
      .filter(([t]) => Math.floor(t / 1000) > Math.floor(now / 1000) - 900)
      .map(([, c]) => c);
    expect(r.json.windows['15m']!.spend_usd).toBe(exactSum([...in15m, 0.004]));
    expect(ws.status().json.future_lines).toBe(1);
    for (let k = 0; k < 2; k++) {
      const again = ws.runJson();
      expect([
        again.json.rebuilt,
        again.json.windows.daily!.spend_usd,
        again.json.windows['2h']!.spend_usd,
      ]).toEqual([null, 0.124, 1.124001]);
    }
  });

  it.each([
    ['UTC', 'UTC', '2026-11-25T23:59:30Z', '2026-11-25', '2026-11-26'],
    ['Europe/Berlin', 'Europe/Berlin', '2026-11-25T22:59:30Z', '2026-11-25', '2026-11-26'],
    [
      'America/New_York, the night DST ends',
      'America/New_York',
      '2026-11-01T03:59:30Z',
      '2026-10-31',
      '2026-11-01',
    ],
  ])(
    'future timestamps, also across midnight: a line 60 s ahead read at 23:59:30 counts in ' +
      'tomorrow only (%s)',
    (_name, zone, readIso, today, tomorrow) => {
      const ws = workspace(
        `log: state/cost_log.jsonl\ntimezone: ${zone}\nlimits:\n  15m: { kill: 1000 }\n  daily: { ` +
          `kill: 1000 }\n`,
      );
      const read = Date.parse(readIso);
      ws.append(lineAt(read - 60_000, 1) + lineAt(read + 60_000, 2)); // 23:58:30 today, 00:00:30 tomorrow
      expect(daily(checkAt(ws, read))).toBe(1);
      // A later check with nothing new, still before midnight: tomorrow's line is not today's.
      expect(daily(checkAt(ws, read + 20_000))).toBe(1);
      // After midnight: tomorrow's line is today's, once; yesterday keeps its own.
      const after = checkAt(ws, read + 70_000);
      expect(daily(after)).toBe(2);
      expect([after.ledger.day(today), after.ledger.day(tomorrow)]).toEqual([1_000_000, 2_000_000]);
      expect(after.windows.find((w) => w.name === '15m')!.spend).toBe(3);
      expect(daily(checkAt(ws, read + 3_600_000))).toBe(2);
    },
  );

  it(
    'future timestamps, also across midnight: the clock set back past midnight moves spend to today ' +
      'once',
    () => {
      const ws = workspace(
        `log: state/cost_log.jsonl\nlimits:\n  15m: { kill: 1000 }\n  daily: { kill: 1000 }\n`,
      );
      const read = Date.parse('2026-11-26T00:10:00Z');
      ws.append(lineAt(read - 30_000, 4));
      expect(daily(checkAt(ws, read))).toBe(4);
      const back = checkAt(ws, Date.parse('2026-11-25T23:50:00Z')); // set back 20 minutes
      expect([daily(back), back.windows.find((w) => w.name === '15m')!.spend]).toEqual([4, 4]);
      // The clock comes right: the spend was moved once (saved), it is not counted again tomorrow.
      const right = checkAt(ws, Date.parse('2026-11-26T00:11:00Z'));
      expect(daily(right)).toBe(0);
      expect([right.ledger.day('2026-11-25'), right.ledger.day('2026-11-26')]).toEqual([4_000_000, 0]);
    },
  );

  it.each([
    ['Europe/Berlin', '2026-03-29', '2026-03-28T23:00:00Z', 23],
    ['Europe/Berlin', '2026-10-25', '2026-10-24T22:00:00Z', 25],
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00Z', 23],
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00Z', 25],
  ])('DST days: %s %s (from %s) has %i hours of spend', (zone, key, startIso, hours) => {
    const ws = workspace(
      `log: state/cost_log.jsonl\ntimezone: ${zone}\nlimits:\n  15m: { kill: 1000 }\n  daily: { ` +
        `kill: 1000 }\n`,
    );
    const start = Date.parse(startIso);
    const costs: number[] = [];
    ws.append(lineAt(start - 1000, 0.5)); // the evening before
    // A line every 20 minutes through the local day, read as the day goes (a check every 2 hours).
    for (let t = start; t < start + hours * 3_600_000; t += 1_200_000) {
      ws.append(lineAt(t, 0.010001));
      costs.push(0.010001);
      if ((t - start) % 7_200_000 === 0) checkAt(ws, t + 1000);
    }
    const end = checkAt(ws, start + hours * 3_600_000 - 1000);
    expect(costs.length).toBe(hours * 3);
    expect(daily(end)).toBe(exactSum(costs));
    const next = checkAt(ws, start + hours * 3_600_000 + 60_000);
    expect([daily(next), next.ledger.day(key)]).toEqual([0, Math.round(exactSum(costs) * 1e6)]);
  });
});
