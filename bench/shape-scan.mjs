#!/usr/bin/env node
// The full-scan case of `npm run bench` alone, for two builds side by side (issue 16: the shape
// detector keeps the full scan of the 1M-line log within 1.1x). Generates bench.mjs's 1M-line log
// (every line with a request id), and the same log without ids (every line then pays for its
// shape), and times a full `run --json` (no checkpoint) of each build over each, interleaved so
// that drift on a shared machine hits both alike. Prints the medians.
//   node bench/shape-scan.mjs <bin of the build before> [<bin after: this checkout's>]
// BENCH_LINES (default 1,000,000), BENCH_REPEAT (default 7).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const before = process.argv[2];
const after = process.argv[3] ?? path.join(here, '..', 'bin', 'cost-watchdog.js');
if (before === undefined) {
  console.error('usage: node bench/shape-scan.mjs <bin before> [<bin after>]');
  process.exit(64);
}
const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);
const work = mkdtempSync(path.join(tmpdir(), 'cw-shape-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

let serial = 0;
/**
 * bench.mjs's line; `ids` false drops the request id (a queue's calls without ids: its shapes, one
 * in 6,300, repeat about 13 times in 15 minutes, so that every call is in a shape storm), and
 * `unique` makes every input size another (calls without ids that are no storm).
 */
function line(tMs, ids, unique) {
  serial++;
  const input = unique ? 1000 + serial : 1000 + (serial % 900);
  return (
    `{"ts":"${new Date(tMs).toISOString()}","model":"gpt-4o-mini","agent":"a${serial % 7}","in":` +
    `${input},"out":${200 + (serial % 300)},"cost_usd":0.000${600 + (serial % 400)}` +
    `${ids ? `,"request_id":"r${serial}"` : ''}}\n`
  );
}

function makeWorkspace(name, ids, unique) {
  serial = 0;
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { ' +
      'warn: 20, emergency: 25, kill: 30 }\n',
  );
  const fd = openSync(path.join(dir, 'state', 'cost_log.jsonl'), 'w');
  const now = Date.now();
  const todayStart = now - (now % 86_400_000);
  const span = Math.min(3 * 3600_000, now - todayStart - 1000);
  let batch = '';
  for (let i = 0; i < LINES; i++) {
    batch += line(now - span + Math.floor((i / LINES) * span), ids, unique);
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  return { dir, config: path.join(dir, 'watchdog.yaml'), stateDir: path.join(dir, '.cost-watchdog') };
}

function fullRun(bin, ws) {
  rmSync(ws.stateDir, { recursive: true, force: true });
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'run', '--json', '-c', ws.config], {
    cwd: ws.dir,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} exited ${r.status}: ${r.stderr}`);
  return { ms, threads: JSON.parse(r.stdout).scan_threads };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

for (const [name, ids, unique] of [
  ['1M lines with request ids (bench.mjs)', true, false],
  ['1M lines without ids, every one in a shape storm', false, false],
  ['1M lines without ids, every shape another', false, true],
]) {
  const ws = makeWorkspace(`case-${serial}-${ids}-${unique}`, ids, unique);
  fullRun(before, ws); // warm the file cache
  fullRun(after, ws);
  const a = [];
  const b = [];
  let threads = null;
  for (let k = 0; k < REPEAT; k++) {
    a.push(fullRun(before, ws).ms);
    const r = fullRun(after, ws);
    b.push(r.ms);
    threads = r.threads;
  }
  const ma = median(a);
  const mb = median(b);
  console.log(
    `${name}: before ${ma.toFixed(0)} ms, after ${mb.toFixed(0)} ms (x${(mb / ma).toFixed(3)}), ` +
      `medians of ${REPEAT}, ${threads} threads; before [${a.map((x) => x.toFixed(0)).join(' ')}] ` +
      `after [${b.map((x) => x.toFixed(0)).join(' ')}]`,
  );
  rmSync(ws.dir, { recursive: true, force: true });
}
