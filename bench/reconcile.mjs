// BENCH_ONLY=reconcile: reconciling adds nothing to a check's time, because it runs beside the
// checks (issue 16, item 3). A stand-in for OpenAI's usage API on a loopback port answers every
// read with 15 one-minute buckets of usage (the shape of the documented example), after a delay
// that is set per case. Measured, each a median of N:
//   - `run` with nothing new on a small log, without `reconcile` and with it (a read due at every
//     run: its state is aged before each): the check's own time (heartbeat.json `duration_ms`, the
//     lock to the heartbeat) and the process's wall time (which includes the read: it follows the
//     check and is bounded by the provider's timeout);
//   - the same with a provider that takes 2 s to answer;
//   - `watch`: the time from appending a breaching line to the flag file, without `reconcile`,
//     and with it while every read hangs (each read held open until its 3 s timeout).
// Knobs: BENCH_REPEAT_SMALL (15: runs per case), BENCH_RECONCILE_FLAGS (9: flags timed per case).
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const KEY = 'sk-admin-bench';

/**
 * OpenAI's usage endpoint, shaped like its documented example; `delayMs` before each answer
 * (Infinity: never answers).
 */
function standIn() {
  const state = { delayMs: 0, reads: 0 };
  const held = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/v1/organization/usage/completions') {
      res.writeHead(404).end();
      return;
    }
    state.reads++;
    const start = Number(url.searchParams.get('start_time'));
    const end = Number(url.searchParams.get('end_time'));
    const data = [];
    for (let t = start; t < end; t += 60)
      data.push({
        object: 'bucket',
        start_time: t,
        end_time: t + 60,
        results: [
          {
            object: 'organization.usage.completions.result',
            input_tokens: 1200,
            output_tokens: 300,
            input_cached_tokens: 0,
            num_model_requests: 1,
            project_id: 'proj_bench',
            model: 'gpt-4o-mini-2024-07-18',
            batch: false,
          },
        ],
      });
    const body = JSON.stringify({ object: 'page', data, has_more: false, next_page: null });
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json', date: new Date().toUTCString() });
      res.end(body);
    };
    if (state.delayMs === Number.POSITIVE_INFINITY) held.push(res);
    else if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        state,
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => {
          for (const res of held) res.destroy();
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

function workspace(work, name, reconcileUrl) {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { warn: 20, ' +
      'emergency: 25, kill: 30 }\n' +
      (reconcileUrl === null
        ? ''
        : `reconcile:\n  every: 10s\n  providers:\n    - { type: openai, base_url: "${reconcileUrl}", ` +
          'timeout: 3s }\n  unlogged_level: warn\n'),
  );
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  let text = '';
  for (let i = 0; i < 10; i++)
    text += `${JSON.stringify({
      t: Date.now() / 1000 - 60,
      model: 'gpt-4o-mini',
      in: 1200 + i,
      out: 300,
      cost: 0.01,
    })}\n`;
  writeFileSync(log, text);
  return { dir, config: path.join(dir, 'watchdog.yaml'), log, stateDir: path.join(dir, '.cost-watchdog') };
}

const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', OPENAI_ADMIN_KEY: KEY };

/** Make the last read look old, so the next run reads again. */
function ageReads(ws) {
  const file = path.join(ws.stateDir, 'reconcile.json');
  if (!existsSync(file)) return;
  const state = JSON.parse(readFileSync(file, 'utf8'));
  for (const p of Object.values(state.providers)) p.tried_at_ms -= 60_000;
  writeFileSync(file, JSON.stringify(state));
}

async function runs(bin, ws, n) {
  const check = [];
  const wall = [];
  for (let i = 0; i < n + 1; i++) {
    ageReads(ws);
    const started = process.hrtime.bigint();
    await new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'run', '-c', ws.config], {
        cwd: ws.dir,
        env,
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const hb = JSON.parse(readFileSync(path.join(ws.stateDir, 'heartbeat.json'), 'utf8'));
    if (i === 0) continue; // the first run builds the checkpoint
    wall.push(ms);
    check.push(hb.duration_ms);
  }
  return { check: median(check), wall: median(wall) };
}

/** Each sample a fresh daemon on a fresh workspace: start, let its first read begin, append a breach. */
async function flagLatency(bin, work, name, url, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const ws = workspace(work, `${name}-${i}`, url);
    const flag = path.join(ws.dir, 'state', 'cost_emergency.flag');
    const child = spawn(process.execPath, [bin, 'watch', '-c', ws.config], {
      cwd: ws.dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    while (!err.includes('watching ')) await sleep(10);
    await sleep(700);
    const started = process.hrtime.bigint();
    appendFileSync(
      ws.log,
      `${JSON.stringify({ t: Date.now() / 1000, model: 'gpt-4o-mini', in: 1, out: 1, cost: 6 })}\n`,
    );
    while (!existsSync(flag)) await sleep(2);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
  }
  return median(samples);
}

export async function reconcileBench({ bin, work }) {
  const n = Number(process.env.BENCH_REPEAT_SMALL ?? 15);
  const flags = Number(process.env.BENCH_RECONCILE_FLAGS ?? 9);
  const stand = await standIn();
  const rows = [];
  try {
    const plain = await runs(bin, workspace(work, 'rc-off', null), n);
    rows.push(['run, nothing new, no reconcile', plain]);
    stand.state.delayMs = 0;
    const on = await runs(bin, workspace(work, 'rc-on', stand.url), n);
    rows.push(['run, nothing new, reconcile read (answers at once)', on]);
    stand.state.delayMs = 2000;
    const slow = await runs(bin, workspace(work, 'rc-slow', stand.url), Math.min(n, 7));
    rows.push(['run, nothing new, reconcile read (answers in 2 s)', slow]);
    stand.state.delayMs = 0;
    const flagOff = await flagLatency(bin, work, 'rc-watch-off', null, flags);
    stand.state.delayMs = Number.POSITIVE_INFINITY;
    const flagOn = await flagLatency(bin, work, 'rc-watch-on', stand.url, flags);
    console.log('\nreconcile (issue 16): reads beside the checks');
    console.log(`measurement${' '.repeat(44)}check ms   wall ms`);
    for (const [name, r] of rows)
      console.log(`${name.padEnd(55)}${r.check.toFixed(1).padStart(8)}${r.wall.toFixed(1).padStart(10)}`);
    console.log(`watch: append -> flag, no reconcile${' '.repeat(20)}${flagOff.toFixed(1).padStart(8)} ms`);
    console.log(
      `watch: append -> flag, every read hanging${' '.repeat(14)}${flagOn.toFixed(1).padStart(8)} ms`,
    );
    console.log(
      `goal: reconcile adds nothing to a check: check time ${on.check.toFixed(1)} / ` +
        `${slow.check.toFixed(1)} ms ` +
        `against ${plain.check.toFixed(1)} ms without; provider reads: ${stand.state.reads}`,
    );
  } finally {
    stand.close();
  }
}
