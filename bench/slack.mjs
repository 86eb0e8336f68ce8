// The benchmark's Slack section (issue 11, item 2), runnable alone: BENCH_ONLY=slack npm run bench.
// Under `watch`, a log climbs at $5/s ($0.25 every 50 ms) from $0 through warn ($3), emergency
// ($5) and kill ($8) while a target runs. Measured, with a Slack stand-in on 127.0.0.1 that
// never answers (it takes the request and holds it) and with no Slack at all:
//   - from the append that crosses the emergency limit to the flag on disk (goal: the median
//     with the hanging Slack within 1.5x of the median without);
//   - the flag's level and spend (goal: emergency, not skipped to kill), and that the target was
//     still running when the flag came (the app could pause before it was killed).
// The warn alert goes out at $3 and hangs at Slack: every later check happens while it is held.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A Slack that never answers, in its own process (this one blocks while it polls). */
async function hangingSlack() {
  const script =
    `
    const http = require('node:http');
    let n = 0;
    const held = [];
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { n++; ` +
    `held.push(res); process.stdout.write('request ' + n + '\\n'); }); });
    server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!/port (\d+)/.test(out)) {
    if (Date.now() > deadline) throw new Error('the Slack stand-in did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  const port = /port (\d+)/.exec(out)[1];
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/bench`,
    requests: () => (out.match(/^request /gm) ?? []).length,
    stop: () => child.kill('SIGKILL'),
  };
}

async function sample(bin, dir, slackUrl) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const flag = path.join(dir, 'state', 'cost_emergency.flag');
  const stateDir = path.join(dir, '.cost-watchdog');
  writeFileSync(log, '');
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\ntarget:\n  ' +
      'pid_file: state/app.pid\n  grace: 1s\nslack:\n  webhook_url_env: CW_BENCH_WEBHOOK\nwatch:\n  ' +
      'schedule: "0 0 0 1 1 *"\n',
  );
  const app = spawn('sleep', ['300'], { stdio: 'ignore' });
  writeFileSync(path.join(dir, 'state', 'app.pid'), String(app.pid));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    ...(slackUrl ? { CW_BENCH_WEBHOOK: slackUrl } : {}),
  };
  const child = spawn(process.execPath, [bin, 'watch', '-c', path.join(dir, 'watchdog.yaml')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 30_000;
  while (!err.includes('watching ') || !existsSync(path.join(stateDir, 'heartbeat.json'))) {
    if (Date.now() > deadline) throw new Error(`watch did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  let spend = 0;
  let crossAt = null;
  let flagAt = null;
  let killAt = null;
  let aliveAtFlag = null;
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const watchOnce = () => {
    if (flagAt === null && existsSync(flag)) {
      flagAt = now();
      aliveAtFlag = alive(app.pid);
    }
    if (killAt === null && !alive(app.pid)) killAt = now();
  };
  for (let i = 0; i < 40; i++) {
    const at = now();
    appendFileSync(
      log,
      `{"ts":"${new Date().toISOString()}","model":"runaway","agent":"loop","cost_usd":0.25}\n`,
    );
    spend += 0.25;
    if (crossAt === null && spend >= 5) crossAt = at;
    while (now() - at < 50) {
      watchOnce();
      sleepMs(1);
    }
  }
  const end = Date.now() + 20_000;
  while ((flagAt === null || killAt === null) && Date.now() < end) {
    watchOnce();
    sleepMs(2);
  }
  const content = existsSync(flag) ? JSON.parse(readFileSync(flag, 'utf8')) : null;
  child.kill('SIGTERM');
  await exited;
  try {
    app.kill('SIGKILL');
  } catch {
    // gone
  }
  return {
    flagMs: flagAt === null ? Infinity : flagAt - crossAt,
    killAfterFlagMs: flagAt === null || killAt === null ? null : killAt - flagAt,
    level: content?.level ?? 'none',
    spend: content?.spend_usd ?? null,
    aliveAtFlag,
  };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs the section and prints it; returns whether its goals were met. */
export async function slackBench(bin, work) {
  const repeat = Number(process.env.BENCH_REPEAT_SLACK ?? 5);
  const slack = await hangingSlack();
  const none = [];
  const hanging = [];
  try {
    for (let i = 0; i < repeat; i++) {
      none.push(await sample(bin, path.join(work, `slack-none-${i}`), null));
      hanging.push(await sample(bin, path.join(work, `slack-hang-${i}`), slack.url));
    }
  } finally {
    slack.stop();
  }
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log(
    `\nwatch with a Slack that never answers (${repeat} samples each; a log climbing at $5/s ` +
      `through warn, emergency, kill; ${slack.requests()} requests held by the stand-in)`,
  );
  console.log(
    `${pad('', 22)} ${lpad('append->flag median', 20)} ${lpad('worst', 8)}  ` +
      `${pad('flag level (spend)', 30)} ${pad('alive at flag', 14)} flag->kill median`,
  );
  for (const [name, rows] of [
    ['no Slack', none],
    ['Slack never answers', hanging],
  ]) {
    const ms = rows.map((r) => r.flagMs);
    const levels = [...new Set(rows.map((r) => r.level))]
      .map((l) => `${rows.filter((r) => r.level === l).length}x ${l}`)
      .join(', ');
    const spends = rows.map((r) => r.spend ?? NaN);
    const kills = rows.map((r) => r.killAfterFlagMs).filter((v) => v !== null);
    console.log(
      `${pad(name, 22)} ${lpad(`${median(ms).toFixed(1)} ms`, 20)} ` +
        `${lpad(Math.max(...ms).toFixed(1), 8)}  ` +
        `${pad(`${levels} ($${Math.min(...spends)}-$${Math.max(...spends)})`, 30)} ` +
        `${pad(`${rows.filter((r) => r.aliveAtFlag).length}/${rows.length}`, 14)} ` +
        `${kills.length > 0 ? `${median(kills).toFixed(0)} ms` : 'no kill'}`,
    );
  }
  const ratio = median(hanging.map((r) => r.flagMs)) / median(none.map((r) => r.flagMs));
  const emergencyFirst = hanging.every(
    (r) =>
      r.level === 'emergency' &&
      r.aliveAtFlag === true &&
      r.killAfterFlagMs !== null &&
      r.killAfterFlagMs > 0,
  );
  const goals = [
    ['append -> flag: hanging Slack / no Slack (median)', ratio.toFixed(2), '<= 1.5x', ratio <= 1.5],
    [
      'flag at emergency, target alive, kill after it',
      `${hanging.filter((r) => r.level === 'emergency' && r.aliveAtFlag).length}/${hanging.length}`,
      'all',
      emergencyFirst,
    ],
  ];
  for (const [name, value, target, ok] of goals)
    console.log(`${pad(name, 50)} ${lpad(value, 8)}   target ${pad(target, 8)} ${ok ? 'met' : 'NOT MET'}`);
  return goals.every((g) => g[3]);
}
