// A full read of a large log with a helper thread must count exactly what one thread counts:
// spend, top spenders, malformed lines (with their line numbers), unpriced models, calls logged at
// cost 0, and retry storms whose sightings fall in both parts, also in the checks that follow.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import type { StatusJson, StatusWindowJson } from '../../src/commands/render/status-json.js';
import { cli, workspace, type Workspace } from './helpers.js';

// A prepaid balance from 5 minutes ago: about half the lines of each part count against it.
const LIMITS =
  'limits:\n  15m: { warn: 300, emergency: 500, kill: 800 }\n  1h: { warn: 1000 }\n  daily: { ' +
  'warn: 2000, emergency: 2500, kill: 3000 }\n' +
  `  balance: { since: "${new Date(Date.now() - 300_000).toISOString()}", usd: 5000, kill: 95% }\n`;

/** A log where everything interesting happens in both halves. */
function mixedLog(): string {
  const nowSec = Date.now() / 1000;
  const out: string[] = [];
  const models = ['gpt-4o-mini', 'gpt-4o', 'acme-private', 'claude-sonnet-4-5'];
  for (let i = 0; i < 6000; i++) {
    const t = Number((nowSec - 600 + (i % 500)).toFixed(3)); // all within the last 10 minutes, out of order
    const fields: Record<string, unknown> = {
      t,
      model: models[i % 4],
      agent: `agent-${i % 5}`,
      in: 1000 + (i % 700),
      out: 100 + (i % 90),
    };
    fields.cost = i % 9 === 0 ? 0 : 0.001 * (i % 13);
    // Ids: mostly unique; a few repeated across the whole file (storms), some escaped or numeric.
    if (i % 1000 === 7) fields.request_id = 'storm-A';
    else if (i % 1500 === 11)
      fields.request_id = 'storm"B'; // escaped in JSON
    else if (i % 1200 === 3) fields.request_id = 42;
    else if (i % 997 === 5) fields.request_id = 'sorm-é';
    else fields.request_id = `req-${i}`;
    out.push(JSON.stringify(fields));
    if (i % 1777 === 0) out.push('{"t": "not a time", "cost": 1}');
    if (i % 2500 === 1) out.push('not json at all');
  }
  return `${out.join('\n')}\n`;
}

function runIn(ws: Workspace, env: Record<string, string>): RunJson {
  const r = cli(['run', '--json', '-c', ws.config], { cwd: ws.dir, env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson;
}

function statusIn(ws: Workspace): StatusJson {
  return JSON.parse(cli(['status', '--json', '-c', ws.config], { cwd: ws.dir }).stdout) as StatusJson;
}

/** What must agree, without the parts that depend on the moment. */
function essence(status: StatusJson) {
  return {
    windows: Object.fromEntries(
      Object.entries(status.windows as Record<string, StatusWindowJson>).map(([name, w]) => [
        name,
        {
          spend: Math.round(w.spend_usd * 1e6),
          level: w.level,
          top_models: w.top_models,
          top_agents: w.top_agents,
        },
      ]),
    ),
    lines: status.lines_counted,
    malformed: status.malformed_lines,
    samples: status.malformed_samples,
    unpriced: status.cost.unpriced_models.map((u) => ({
      ...u,
      spend_usd: Math.round(u.spend_usd * 1e6),
      last_at: undefined,
    })),
    zero: status.cost.zero_cost_lines,
    storms: (status.retry_storms?.storms ?? []).map((s) => ({
      id: s.id,
      count: s.count,
      spend: Math.round(s.spend_usd * 1e6),
    })),
  };
}

describe('a helper thread reads part of a large log', () => {
  it('counts exactly what one thread counts, and the checks after it agree too', () => {
    const text = mixedLog();
    const config = `log: state/cost_log.jsonl\n${LIMITS}retry_storm:\n  count: 4\n  level: warn\n`;
    const one = workspace(config);
    const two = workspace(config);
    one.append(text);
    two.append(text);
    const single = runIn(one, { COST_WATCHDOG_THREADS: '1' });
    const helped = runIn(two, { COST_WATCHDOG_HELPER_MIN_BYTES: '1' });
    expect(single.scan_threads).toBe(1);
    expect(helped.scan_threads).toBe(2);
    const a = essence(statusIn(one));
    const b = essence(statusIn(two));
    expect(b).toEqual(a);
    // The balance counts some lines of each part, not all.
    const balance = a.windows.balance as { spend: number };
    expect(balance.spend).toBeGreaterThan(0);
    expect(balance.spend).toBeLessThan((a.windows['15m'] as { spend: number }).spend);
    // The log really has storms, malformed lines in both halves, and all of them counted.
    expect(a.storms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'storm-A', count: 6 }),
        expect.objectContaining({ id: 'storm"B', count: 4 }),
        expect.objectContaining({ id: '42', count: 5 }),
        expect.objectContaining({ id: 'sorm-é', count: 7 }),
      ]),
    );
    expect(a.malformed).toBe(7);
    // The fifth sample is in the helper's part (the last 42% of the bytes): numbered the same.
    expect(a.samples.map((x) => x.line).sort((x, y) => x - y)[4]).toBeGreaterThan(3500);
    // One more sighting of ids seen once before, in both: the base saved after the helper's part
    // holds them, so they become storms of the same size in both.
    const more =
      `${JSON.stringify({ t: Date.now() / 1000 - 5, request_id: 'req-5999', cost: 0.5 })}\n`.repeat(3);
    one.append(more);
    two.append(more);
    runIn(one, {});
    runIn(two, {});
    const after = essence(statusIn(two));
    expect(after).toEqual(essence(statusIn(one)));
    expect(after.storms).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'req-5999', count: 4 })]),
    );
    // Both saved the same ids seen once (the base file and the delta).
    const saved = (ws: Workspace): number => {
      const cp = JSON.parse(readFileSync(`${ws.stateDir}/checkpoint.json`, 'utf8')) as {
        storm_singles: { count: number; delta: number[] };
      };
      return cp.storm_singles.count + cp.storm_singles.delta.length;
    };
    expect(saved(two)).toBe(saved(one));
  });

  it('one thread when told (COST_WATCHDOG_THREADS=1), or when the log is small', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    ws.append(mixedLog());
    expect(runIn(ws, {}).scan_threads).toBe(1); // under 48 MB
  });
});

/** A copy of the built package (bin/, dist/, package.json); `stale` rewrites its worker (null: removes). */
function packageCopy(stale: (worker: string, id: string) => string | null): { bin: string; worker: string } {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const copy = mkdtempSync(path.join(tmpdir(), 'cw-pkg-'));
  onTestFinished(() => rmSync(copy, { recursive: true, force: true }));
  for (const name of ['bin', 'dist', 'package.json'])
    cpSync(path.join(root, name), path.join(copy, name), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  const worker = path.join(copy, 'dist', 'parallel-worker.js');
  const text = readFileSync(worker, 'utf8');
  const id = /^\/\/ cost-watchdog build (\S+)\n/.exec(text)?.[1];
  expect(id, "the build writes its id on the worker file's first line").toMatch(/^[0-9a-f]{16}$/);
  const rewritten = stale(text, id as string);
  if (rewritten === null) rmSync(worker);
  else writeFileSync(worker, rewritten);
  return { bin: path.join(copy, 'bin', 'cost-watchdog.js'), worker };
}

/** `run --json` of the copy in `ws`, with the helper thread from the first byte. */
function runCopy(bin: string, ws: Workspace): { status: number | null; stdout: string; stderr: string } {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    COST_WATCHDOG_HELPER_MIN_BYTES: '1',
  };
  return spawnSync(process.execPath, [bin, 'run', '--json', '-c', ws.config], {
    cwd: ws.dir,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('a worker file of another build is never run beside this one', () => {
  const other = 'feedfacefeedface';
  it.each([
    [
      'its id changed everywhere (found before starting it)',
      (w: string, id: string) => w.replaceAll(id, other),
    ],
    [
      'its id changed in its code only (the worker refuses)',
      (w: string, id: string) => w.replaceAll(`"${id}"`, `"${other}"`),
    ],
    ['no build id at all (a build before ids)', (w: string) => w.slice(w.indexOf('\n') + 1)],
  ])('%s: the log is read with one thread, exactly, and a note says to rebuild', (_, stale) => {
    const text = mixedLog();
    const config = `log: state/cost_log.jsonl\n${LIMITS}retry_storm:\n  count: 4\n  level: warn\n`;
    const one = workspace(config);
    const two = workspace(config);
    one.append(text);
    two.append(text);
    expect(runIn(one, { COST_WATCHDOG_THREADS: '1' }).scan_threads).toBe(1);
    const pkg = packageCopy(stale);
    const r = runCopy(pkg.bin, two);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { scan_threads: number }).scan_threads).toBe(1);
    const notes = r.stderr.split('\n').filter((l) => l.includes(pkg.worker));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^cost-watchdog: note: the log was read with one thread: .* another build .*rebuild/,
    );
    expect(essence(statusIn(two))).toEqual(essence(statusIn(one)));
  });

  it('the same copy, its worker untouched, reads with two threads and says nothing', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    ws.append(mixedLog());
    const pkg = packageCopy((w) => w);
    const r = runCopy(pkg.bin, ws);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { scan_threads: number }).scan_threads).toBe(2);
    expect(r.stderr).not.toContain('one thread');
  });

  it('no worker file (a broken install): one thread, and a note says what is missing', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    ws.append(mixedLog());
    const pkg = packageCopy(() => null);
    const r = runCopy(pkg.bin, ws);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { scan_threads: number }).scan_threads).toBe(1);
    const note = r.stderr.split('\n').find((l) => l.includes('one thread'));
    expect(note).toMatch(
      /^cost-watchdog: note: the log was read with one thread: no dist\/parallel-worker\.js /,
    );
    expect(note).toMatch(/ beside a package\.json above \/.*\(it exists only in a build: npm run build\)$/);
  });
});
