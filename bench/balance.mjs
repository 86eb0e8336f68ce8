// Benchmark section "balance" (issue 17): a prepaid balance (limits.balance).
//   - A 15-agent runaway under `watch`: one app whose 15 agents each bill $0.01 every 40 ms
//     ($225/min together) against a $50 balance with kill at 95% ($47.50). Measured: the dollars
//     billed after the line that crossed the kill share until the app was dead, and whether the
//     balance was gone first (the goal: never; the kill comes with $2.50 left).
//   - A balance over months of log: a `run` after 10 appended lines on a 90-day log, against the
//     same on a 10-line log: the running total is in the checkpoint, so a check reads the new
//     bytes only, whatever the months behind it.
// Run alone: BENCH_ONLY=balance node bench/bench.mjs (after npm run build).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const BALANCE_CENTS = 5000;
const KILL_CENTS = 4750; // 95%
const PREFILL_CENTS = 4000; // at warn (80%) when the runaway starts
const AGENTS = 15;
const EVERY_MS = 40;

function runaway(pidFile, log) {
  const script = `
    const fs = require('node:fs');
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    const n = new Array(${AGENTS}).fill(0);
    for (let a = 0; a < ${AGENTS}; a++)
      setInterval(() => {
        n[a]++;
        fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ t: Date.now() / 1000, agent: 'agent-' + a,
          request_id: 'a' + a + '-' + n[a], model: 'gpt-4o', cost: 0.01, wall_ms: Date.now() }) + '\\n');
      }, ${EVERY_MS});
  `;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

async function until(what, probe, timeoutMs, err) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`balance bench: timed out waiting for ${what}: ${err()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function balanceConfig(since, extra = '') {
  return (
    `log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 9000, emergency: 9500, kill: 9900 }\n` +
    `  balance: { since: "${since}", usd: ${BALANCE_CENTS / 100}, warn: 80%, emergency: 90%, kill: 95% }\n` +
    extra
  );
}

async function runawaySample(bin, dir) {
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const pidFile = path.join(dir, 'state', 'app.pid');
  const since = new Date(Date.now() - 3_600_000).toISOString();
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    balanceConfig(since, 'target:\n  pid_file: state/app.pid\n'),
  );
  writeFileSync(
    log,
    `${JSON.stringify({ t: Date.now() / 1000 - 600, request_id: 'before', cost: PREFILL_CENTS / 100 })}\n`,
  );
  const watch = spawn(process.execPath, [bin, 'watch', '-c', path.join(dir, 'watchdog.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  watch.stderr.on('data', (d) => (err += d));
  const watchExit = new Promise((resolve) => watch.on('close', resolve));
  await until(
    'watch to start',
    () => err.includes('watching '),
    30_000,
    () => err,
  );
  await until(
    'its first check (the warn)',
    () => err.includes('WARN: balance'),
    30_000,
    () => err,
  );
  const child = runaway(pidFile, log);
  let diedAt = 0;
  const died = new Promise((resolve) =>
    child.on('exit', () => {
      diedAt = Date.now();
      resolve(diedAt);
    }),
  );
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await died;
  clearTimeout(timeout);
  // The last lines read before it stops.
  await new Promise((r) => setTimeout(r, 500));
  watch.kill('SIGTERM');
  await watchExit;
  // Sum in cents: exact.
  let cents = PREFILL_CENTS;
  let crossedAt = null;
  let after = 0;
  const agents = new Set();
  for (const text of readFileSync(log, 'utf8').split('\n')) {
    if (!text.includes('"agent"')) continue;
    const line = JSON.parse(text);
    agents.add(line.agent);
    if (crossedAt !== null) after += 1;
    cents += 1;
    if (crossedAt === null && cents >= KILL_CENTS) crossedAt = line.wall_ms;
  }
  if (crossedAt === null) throw new Error('balance bench: the runaway died before the kill share');
  return {
    pastKillUsd: after / 100,
    totalUsd: cents / 100,
    gone: cents >= BALANCE_CENTS,
    ms: diedAt - crossedAt,
    agents: agents.size,
  };
}

function line(tMs, i) {
  return `${JSON.stringify({
    timestamp: new Date(tMs).toISOString(),
    model: 'gpt-4o-mini',
    agent: `agent-${i % 15}`,
    input_tokens: 1200,
    output_tokens: 300,
    cost_usd: 0.000361,
    request_id: `req-${i}`,
  })}\n`;
}

function runJson(bin, dir) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'run', '--json', '-c', path.join(dir, 'watchdog.yaml')], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`balance bench: run exited ${r.status}: ${r.stderr}`);
  return { ms, json: JSON.parse(r.stdout) };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A balance workspace whose log holds `lines` lines spread evenly over `days` days before now. */
function longLog(dir, lines, days) {
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const now = Date.now();
  const from = now - days * 86_400_000;
  const step = (now - 60_000 - from) / Math.max(1, lines);
  writeFileSync(log, '');
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += line(from + i * step, i);
    if (chunk.length > 4_000_000) {
      appendFileSync(log, chunk);
      chunk = '';
    }
  }
  appendFileSync(log, chunk);
  // The balance was bought at the start of the log: every line counts against it.
  writeFileSync(path.join(dir, 'watchdog.yaml'), balanceConfig(new Date(from).toISOString()));
  return log;
}

function incremental(bin, dir, log, repeat) {
  const first = runJson(bin, dir);
  const samples = [];
  let bytes = 0;
  let spend = 0;
  for (let i = 0; i < repeat; i++) {
    let text = '';
    for (let k = 0; k < 10; k++) text += line(Date.now(), 1e9 + i * 10 + k);
    appendFileSync(log, text);
    const r = runJson(bin, dir);
    samples.push(r.ms);
    bytes = r.json.bytes_read;
    spend = r.json.windows.balance.spend_usd;
  }
  return { firstMs: first.ms, ms: median(samples), bytes, spend, size: statSync(log).size };
}

/** Run the section; prints its lines and returns whether the goals were met. */
export async function balanceBench({ bin, work, repeat = Number(process.env.BENCH_REPEAT_BALANCE ?? 5) }) {
  const pad = (s, n) => String(s).padEnd(n);
  const samples = [];
  for (let i = 0; i < repeat; i++) samples.push(await runawaySample(bin, path.join(work, `balance-${i}`)));
  const past = samples.map((s) => s.pastKillUsd).sort((a, b) => a - b);
  const anyGone = samples.some((s) => s.gone);
  const perMin = ((AGENTS * 60_000) / EVERY_MS / 100).toFixed(0);
  console.log(
    `\nprepaid balance: ${AGENTS} agents x $0.01 every ${EVERY_MS} ms ($${perMin}/min) under ` +
      `watch; balance $${BALANCE_CENTS / 100}, kill at 95% ($${KILL_CENTS / 100})`,
  );
  for (const [i, s] of samples.entries())
    console.log(
      `  sample ${i + 1}: $${s.pastKillUsd.toFixed(2)} past the kill share, dead ${s.ms} ms after it; ` +
        `$${s.totalUsd.toFixed(2)} of $${BALANCE_CENTS / 100} spent (${s.agents} agents)` +
        (s.gone ? '  BALANCE GONE' : ''),
    );
  console.log(
    `${pad('dollars past the kill share', 46)} median $${median(past).toFixed(2)}, worst $` +
      `${past.at(-1).toFixed(2)} of ${samples.length}   target: killed before the balance is gone ` +
      `($${((BALANCE_CENTS - KILL_CENTS) / 100).toFixed(2)} left at the kill share) ` +
      `${anyGone ? 'NOT MET' : 'met'}`,
  );

  const lines = Number(process.env.BENCH_BALANCE_LINES ?? 500_000);
  const longDir = path.join(work, 'balance-long');
  const shortDir = path.join(work, 'balance-short');
  const long = incremental(bin, longDir, longLog(longDir, lines, 90), 7);
  const short = incremental(bin, shortDir, longLog(shortDir, 10, 1), 7);
  console.log(
    `balance over 90 days of log (${lines.toLocaleString('en-US')} lines, ` +
      `${(long.size / 1e6).toFixed(1)} MB): ` +
      `first run ${long.firstMs.toFixed(0)} ms (every byte read), balance $${long.spend.toFixed(2)}`,
  );
  const ratio = long.ms / short.ms;
  const ok = ratio < 1.5 && long.bytes === short.bytes;
  console.log(
    `${pad('run after 10 appended lines, 90-day log', 46)} ${long.ms.toFixed(0)} ms, ` +
      `${long.bytes} bytes read; ` +
      `10-line log ${short.ms.toFixed(0)} ms, ${short.bytes} bytes read (x${ratio.toFixed(2)})   ` +
      `target: the same bytes, < x1.5 ${ok ? 'met' : 'NOT MET'}`,
  );
  return !anyGone && ok;
}
