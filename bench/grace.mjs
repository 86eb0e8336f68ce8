// Benchmark section "grace" (issue 11 item 8): what a runaway that ignores SIGTERM still spends
// after the kill crossing, under `watch` with the default target.grace (10s) and grace_spend.
// The runaway is a node child that writes a $0.01 line every 24 ms ($25/min) and ignores SIGTERM.
// Spend let through = the lines written after the line that crossed the kill limit, until it died
// (each line is written whole by one appendFileSync, so a SIGKILLed writer leaves whole lines).
// Run alone: BENCH_ONLY=grace node bench/bench.mjs (after npm run build).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KILL_LIMIT_CENTS = 800;
const PREFILL_CENTS = 790; // at emergency: the first check writes the flag, the runaway ignores it
const GOAL_USD = 0.25;

function runaway(pidFile, log) {
  const script =
    `
    const fs = require('node:fs');
    process.on('SIGTERM', () => {});
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    let n = 0;
    setInterval(() => {
      n++;
      fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ t: Date.now() / 1000, ` +
    `request_id: 'runaway-' + n, cost: 0.01, wall_ms: Date.now() }) + '\\n');
    }, 24);
  `;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

async function until(what, probe, timeoutMs, err) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`grace bench: timed out waiting for ${what}: ${err()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function sample(bin, dir) {
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const pidFile = path.join(dir, 'state', 'app.pid');
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    `log: state/cost_log.jsonl\nlimits:\n  15m: { emergency: 5, kill: ${KILL_LIMIT_CENTS / 100} }\n` +
      `target:\n  pid_file: state/app.pid\n`,
  );
  writeFileSync(
    log,
    `${JSON.stringify({ t: Date.now() / 1000, request_id: 'before', cost: PREFILL_CENTS / 100 })}\n`,
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
    'its first check',
    () => existsSync(path.join(dir, 'state', 'cost_emergency.flag')),
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
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await died;
  clearTimeout(timeout);
  watch.kill('SIGTERM');
  await watchExit;
  // Sum in cents: exact.
  let cents = PREFILL_CENTS;
  let crossedAt = null;
  let after = 0;
  for (const text of readFileSync(log, 'utf8').split('\n')) {
    if (!text.includes('runaway-')) continue;
    const line = JSON.parse(text);
    if (crossedAt !== null) after += 1;
    cents += 1;
    if (crossedAt === null && cents >= KILL_LIMIT_CENTS) crossedAt = line.wall_ms;
  }
  if (crossedAt === null) throw new Error('grace bench: the runaway died before crossing the kill limit');
  const audit = readFileSync(path.join(dir, '.cost-watchdog', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const kill = audit.filter((e) => e.event === 'kill').at(-1);
  return { usd: after / 100, ms: diedAt - crossedAt, cut: kill?.grace_cut ?? null };
}

/** Run the section; prints its lines and returns whether the goal was met. */
export async function graceBench({ bin, work, repeat = Number(process.env.BENCH_REPEAT_GRACE ?? 5) }) {
  const samples = [];
  for (let i = 0; i < repeat; i++) samples.push(await sample(bin, path.join(work, `grace-${i}`)));
  const usd = samples.map((s) => s.usd).sort((a, b) => a - b);
  const worst = usd.at(-1);
  const median = usd[Math.floor(usd.length / 2)];
  const pad = (s, n) => String(s).padEnd(n);
  console.log(
    `\ngrace period: a SIGTERM-ignoring runaway at $25/min under watch (grace 10s, grace_spend default)`,
  );
  for (const [i, s] of samples.entries()) {
    console.log(
      `  sample ${i + 1}: $${s.usd.toFixed(2)} after the kill crossing, dead ${s.ms} ms after it` +
        (s.cut === null
          ? ' (no early SIGKILL)'
          : `; early SIGKILL ${s.cut.after_ms} ms after SIGTERM at +$${s.cut.spend_usd.toFixed(2)}`),
    );
  }
  const ok = worst <= GOAL_USD;
  console.log(
    `${pad('spend let through after the kill crossing', 46)} median $${median.toFixed(2)}, worst $` +
      `${worst.toFixed(2)} of ${samples.length}   target <= $${GOAL_USD.toFixed(2)} ` +
      `${ok ? 'met' : 'NOT MET'}`,
  );
  return ok;
}
