#!/usr/bin/env node
// npm run bench: the scan benchmark. Generates a 1,000,000-line cost log (~125 MB) and measures,
// in the same run and on the same machine:
//   - a full `run` over it (no checkpoint: every byte read);
//   - the script a user would otherwise write (readline + JSON.parse + sum);
//   - an incremental `run` after 10 appended lines, on that log and on a 10-line log;
//   - a `run` with nothing new, and bare `node -e 0`;
//   - `watch`: from a breaching append to the emergency flag on disk, on a small log and on the
//     1M-line log; and with a Slack that never answers (bench/slack.mjs);
//   - the grace period: what a SIGTERM-ignoring runaway spends after the kill crossing (grace.mjs);
//   - a fleet of 50 hosts on one local Redis (fleet.mjs; skipped without redis-server).
// BENCH_ONLY=<section> runs one section alone: slack, grace, memory, sources, fleet, replay,
// reconcile, balance.
// Each figure is the median of several runs; peak RSS comes from each process itself (a preload
// that reports process.resourceUsage().maxRSS on exit). Timing goals live here, not in tests.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'bin', 'cost-watchdog.js');
const NAIVE = path.join(here, 'naive.mjs');
const RSS = path.join(here, 'rss.cjs');
const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const REPEAT_FULL = Number(process.env.BENCH_REPEAT_FULL ?? 5);
const REPEAT_SMALL = Number(process.env.BENCH_REPEAT_SMALL ?? 15);

const work = mkdtempSync(path.join(tmpdir(), 'cw-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// The sections that stand alone (issue 11), each in its own file.
const SECTIONS = {
  // A Slack that never answers must not delay the flag under watch (item 2).
  slack: async () => (await import('./slack.mjs')).slackBench(BIN, work),
  // What a SIGTERM-ignoring runaway spends after the kill crossing (item 8).
  grace: async () => (await import('./grace.mjs')).graceBench({ bin: BIN, work }),
  // Peak RSS of full reads whatever the input (item 9).
  memory: async () => memorySection(),
  // Many logs: 5,000 files against one, watch picking up new files, scoped budgets (issue 13).
  sources: async () => (await import('./sources.mjs')).sourcesBench({ bin: BIN, work, rss: RSS }),
  // 50 hosts pushing to one Redis: the push's cost to a check, a fleet breach to every flag (issue 14).
  fleet: async () => (await import('./fleet.mjs')).fleetBench({ bin: BIN, work }),
  // replay over the 1M-line log against a full run and DuckDB computing the same sums (issue 15).
  replay: async () => (await import('./replay.mjs')).replayBench({ bin: BIN, work, rss: RSS }),
  // The providers' usage APIs read beside the checks: nothing added to a check (issue 16).
  reconcile: async () => (await import('./reconcile.mjs')).reconcileBench({ bin: BIN, work }),
  // A prepaid balance: a 15-agent runaway killed before it is gone; months of log, new bytes only (issue 17).
  balance: async () => (await import('./balance.mjs')).balanceBench({ bin: BIN, work }),
};

let serial = 0;
/** One line like a real agent's log: ISO time, model, agent, tokens, cost, request id. */
function line(tMs) {
  serial++;
  return (
    `{"ts":"${new Date(tMs).toISOString()}","model":"gpt-4o-mini","agent":"a${serial % 7}","in":` +
    `${1000 + (serial % 900)},"out":${200 + (serial % 300)},"cost_usd":0.000${600 + (serial % 400)},"` +
    `request_id":"r${serial}"}\n`
  );
}

function makeWorkspace(name, lineCount) {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { ' +
      'warn: 20, emergency: 25, kill: 30 }\n',
  );
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const fd = openSync(log, 'w');
  const now = Date.now();
  // The last three hours, but all of it today (UTC), so the daily total can be checked.
  const todayStart = now - (now % 86_400_000);
  const span = Math.min(3 * 3600_000, now - todayStart - 1000);
  let batch = '';
  for (let i = 0; i < lineCount; i++) {
    batch += line(now - span + Math.floor((i / lineCount) * span));
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  return { dir, log, config: path.join(dir, 'watchdog.yaml'), stateDir: path.join(dir, '.cost-watchdog') };
}

function measure(args, cwd) {
  const rssFile = path.join(work, `rss-${process.hrtime.bigint()}`);
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', RSS, ...args], {
    cwd,
    env: { ...process.env, CW_BENCH_RSS_FILE: rssFile },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const rssKb = Number(readFileSync(rssFile, 'utf8'));
  rmSync(rssFile);
  return { ms, rssMb: rssKb / 1024, stdout: r.stdout };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summary(samples) {
  return { ms: median(samples.map((s) => s.ms)), rssMb: Math.max(...samples.map((s) => s.rssMb)) };
}

const appendTen = (log) => {
  let text = '';
  for (let i = 0; i < 10; i++) text += line(Date.now());
  appendFileSync(log, text);
};

// BENCH_ONLY=<section>: that section alone; unset, every section runs (after the scan benchmark).
const only = process.env.BENCH_ONLY;
if (only !== undefined && only !== '') {
  const section = SECTIONS[only];
  if (section === undefined) {
    console.error(`bench: BENCH_ONLY=${only}: no such section (${Object.keys(SECTIONS).join(', ')})`);
    process.exit(64);
  }
  await section();
  process.exit(0);
}

console.error(`generating ${LINES.toLocaleString('en-US')} lines...`);
const big = makeWorkspace('big', LINES);
const small = makeWorkspace('small', 10);
const bigBytes = statSync(big.log).size;
console.error(`log: ${(bigBytes / 1e6).toFixed(1)} MB`);

// Warm the file cache and the CLI once, so the first measured run is not the odd one out.
measure([NAIVE, big.log], big.dir);

const full = [];
const naive = [];
let checkSum = null;
for (let i = 0; i < REPEAT_FULL; i++) {
  rmSync(big.stateDir, { recursive: true, force: true });
  const f = measure([BIN, 'run', '--json', '-c', big.config], big.dir);
  full.push(f);
  const n = measure([NAIVE, big.log], big.dir);
  naive.push(n);
  checkSum ??= { watchdog: JSON.parse(f.stdout).windows.daily.spend_usd, naive: JSON.parse(n.stdout).sum };
}

measure([BIN, 'run', '-c', small.config], small.dir); // first run of the small log (full scan)
const incBig = [];
const incSmall = [];
const nothing = [];
const bare = [];
for (let i = 0; i < REPEAT_SMALL; i++) {
  // interleaved, so that drift on the machine hits all of them alike
  appendTen(big.log);
  incBig.push(measure([BIN, 'run', '-c', big.config], big.dir));
  appendTen(small.log);
  incSmall.push(measure([BIN, 'run', '-c', small.config], small.dir));
  nothing.push(measure([BIN, 'run', '-c', big.config], big.dir));
  bare.push(measure(['-e', '0'], big.dir));
}

// watch: append a breaching line, time until the flag is on disk. Each sample is a fresh daemon
// on a fresh state folder (a flag once written is not written again).
const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
async function watchLatency(dir, configName, log, flag, stateDir, cost) {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(flag, { force: true });
  const child = spawn(process.execPath, [BIN, 'watch', '-c', path.join(dir, configName)], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('close', resolve));
  const until = async (what, probe, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`watch: timed out waiting for ${what}: ${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await until('it to start', () => err.includes('watching '), 30_000);
  await until('its first check', () => existsSync(path.join(stateDir, 'heartbeat.json')), 30_000);
  if (existsSync(flag)) throw new Error('watch: the flag was written before the breaching append');
  await new Promise((r) => setTimeout(r, 200)); // let the first check's own file events settle
  appendFileSync(log, `{"ts":"${new Date().toISOString()}","model":"runaway","cost_usd":${cost}}\n`);
  const started = process.hrtime.bigint();
  const deadline = Date.now() + 10_000;
  while (!existsSync(flag)) {
    if (Date.now() > deadline) throw new Error(`watch: no flag within 10 s: ${err}`);
    sleepMs(1);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  child.kill('SIGTERM');
  await exited;
  return ms;
}

const REPEAT_WATCH = Number(process.env.BENCH_REPEAT_WATCH ?? 10);
const watchSmall = [];
const watchBig = [];
{
  const dir = path.join(work, 'watch-small');
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n',
  );
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  for (let i = 0; i < REPEAT_WATCH; i++) {
    writeFileSync(log, line(Date.now()));
    watchSmall.push(
      await watchLatency(
        dir,
        'watchdog.yaml',
        log,
        path.join(dir, 'state', 'cost_emergency.flag'),
        path.join(dir, '.cost-watchdog'),
        6,
      ),
    );
  }
  // The 1M-line log, with limits far above its spend and its own flag and state folder.
  // Each sample's limit is above all earlier samples' spend: 1e6, 2e6, 4e6, ... (the lines stay).
  for (let i = 0; i < Math.max(1, Math.floor(REPEAT_WATCH / 3)); i++) {
    const limit = 1e6 * 2 ** i;
    // One line crosses it: a cost that large is above the default cost.max_line_usd ($10,000).
    writeFileSync(
      path.join(big.dir, 'latency.yaml'),
      `log: state/cost_log.jsonl\nflag_file: state/latency.flag\nstate_dir: .cw-latency\ncost:\n  ` +
        `max_line_usd: 1000000000\nlimits:\n  15m: { emergency: ${limit} }\n`,
    );
    watchBig.push(
      await watchLatency(
        big.dir,
        'latency.yaml',
        big.log,
        path.join(big.dir, 'state', 'latency.flag'),
        path.join(big.dir, '.cw-latency'),
        limit,
      ),
    );
  }
}

const rows = [
  ['full run, 1M lines (no checkpoint)', summary(full), bigBytes],
  ['naive script (readline + JSON.parse)', summary(naive), bigBytes],
  ['incremental run, +10 lines, 1M-line log', summary(incBig), null],
  ['incremental run, +10 lines, 10-line log', summary(incSmall), null],
  ['run with nothing new (1M-line log)', summary(nothing), null],
  ['node -e 0', summary(bare), null],
];

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(
  `\ncost-watchdog scan benchmark: ${LINES.toLocaleString('en-US')} lines, ${(bigBytes / 1e6).toFixed(1)} MB`,
);
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(`medians of ${REPEAT_FULL} (full scans) and ${REPEAT_SMALL} (small runs)\n`);
console.log(
  `${pad('measurement', 42)} ${lpad('median ms', 10)} ${lpad('MB/s', 8)} ${lpad('peak RSS MB', 12)}`,
);
for (const [name, s, bytes] of rows) {
  console.log(
    `${pad(name, 42)} ${lpad(s.ms.toFixed(1), 10)} ` +
      `${lpad(bytes ? (bytes / 1e6 / (s.ms / 1000)).toFixed(0) : '', 8)} ` +
      `${lpad(s.rssMb.toFixed(1), 12)}`,
  );
}

console.log('');
for (const [name, samples] of [
  ['watch: append -> flag, small log', watchSmall],
  ['watch: append -> flag, 1M-line log', watchBig],
]) {
  console.log(
    `${pad(name, 42)} ${lpad(median(samples).toFixed(1), 10)} ms median, ` +
      `${Math.max(...samples).toFixed(1)} ms worst of ${samples.length}`,
  );
}

const fullS = summary(full);
const ratios = [
  ['full scan speed-up over the naive script', summary(naive).ms / fullS.ms, '>= 2.0x', (v) => v >= 2],
  [
    'incremental run: 1M-line log / 10-line log',
    summary(incBig).ms / summary(incSmall).ms,
    '<= 1.1x',
    (v) => v <= 1.1,
  ],
  ['run with nothing new / bare node', summary(nothing).ms / summary(bare).ms, '<= 3.0x', (v) => v <= 3],
  ['peak RSS of the full scan (MB)', fullS.rssMb, '< 100', (v) => v < 100],
  ['watch: worst append -> flag, small log (ms)', Math.max(...watchSmall), '<= 250', (v) => v <= 250],
  ['watch: worst append -> flag, 1M-line log (ms)', Math.max(...watchBig), '<= 250', (v) => v <= 250],
];
console.log('');
for (const [name, value, target, ok] of ratios) {
  console.log(
    `${pad(name, 46)} ${lpad(value.toFixed(2), 8)}   target ${pad(target, 8)} ` +
      `${ok(value) ? 'met' : 'NOT MET'}`,
  );
}
const agree = Math.abs(checkSum.watchdog - checkSum.naive) < 1e-6 * Math.max(1, checkSum.naive);
console.log(
  `\nsum check: watchdog daily $${checkSum.watchdog} vs naive $${checkSum.naive.toFixed(6)} (` +
    `${agree ? 'agree' : 'DIFFER'})`,
);

for (const section of Object.values(SECTIONS)) {
  await section();
}

// Memory: peak RSS of a full `run` (no checkpoint: every byte read, with the helper thread when the
// log is large) over three inputs that each grow something else, against the 100 MB goal:
//   - 2,000,000 malformed lines of every kind (not JSON, no time, a bad time, a negative, NaN or
//     string cost, invalid UTF-8): only the first few are kept as samples;
//   - 1,000,000 valid lines with every check on (the defaults), as the scan benchmark above;
//   - 100,000 distinct names: every line of the last 10 minutes names its own model, agent and
//     request id among 100,000 (each id three times: below the storm count, all followed by name).
// Generated here, each figure the worst of BENCH_REPEAT_MEMORY runs (default 2).
async function memorySection() {
  const repeat = Number(process.env.BENCH_REPEAT_MEMORY ?? 2);
  const GOAL_MB = 100;
  const limits =
    'limits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { warn: 20, emergency: 25, kill: 30 }\n';
  const generate = (name, count, lineAt) => {
    const dir = path.join(work, name);
    mkdirSync(path.join(dir, 'state'), { recursive: true });
    writeFileSync(path.join(dir, 'watchdog.yaml'), `log: state/cost_log.jsonl\n${limits}`);
    const fd = openSync(path.join(dir, 'state', 'cost_log.jsonl'), 'w');
    let batch = [];
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const text = lineAt(i);
      batch.push(typeof text === 'string' ? Buffer.from(text) : text);
      bytes += batch[batch.length - 1].length;
      if (batch.length >= 16_384) {
        writeSync(fd, Buffer.concat(batch));
        batch = [];
      }
    }
    writeSync(fd, Buffer.concat(batch));
    closeSync(fd);
    return {
      dir,
      config: path.join(dir, 'watchdog.yaml'),
      stateDir: path.join(dir, '.cost-watchdog'),
      bytes,
    };
  };
  const now = Date.now();
  const todayStart = now - (now % 86_400_000);
  const iso = (ms) => new Date(ms).toISOString();
  const span = Math.min(3 * 3600_000, now - todayStart - 1000);
  const badUtf8 = Buffer.from([0x7b, 0x22, 0x74, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]);
  const malformed = (i) => {
    const t = iso(now - span + Math.floor((i / 2_000_000) * span));
    switch (i % 8) {
      case 0:
        return `not json at all, line ${i} of a log gone wrong\n`;
      case 1:
        return `{"model":"gpt-4o-mini","agent":"a${i % 7}","cost_usd":0.0012,"request_id":"r${i}"}\n`;
      case 2:
        return (
          `{"ts":"yesterday at ${i % 24}h","model":"gpt-4o-mini","cost_usd":0.0012,"request_id":"r` +
          `${i}"}\n`
        );
      case 3:
        return `{"ts":"${t}","model":"gpt-4o-mini","cost_usd":-0.${i % 1000},"request_id":"r${i}"}\n`;
      case 4:
        return `{"ts":"${t}","model":"gpt-4o-mini","cost_usd":NaN,"request_id":"r${i}"}\n`;
      case 5:
        return `{"ts":"${t}","model":"gpt-4o-mini","cost_usd":"0.${i % 1000}","request_id":"r${i}"}\n`;
      case 6:
        return badUtf8;
      default:
        return `{"ts":"${t}","model":"gpt-4o-mini","cost_usd":0.001,"request_id":"r${i}"\n`; // cut short
    }
  };
  let serialValid = 0;
  const valid = (i) => {
    serialValid++;
    const s = serialValid;
    return (
      `{"ts":"${iso(now - span + Math.floor((i / 1_000_000) * span))}","model":"gpt-4o-mini","agent":` +
      `"a${s % 7}","in":${1000 + (s % 900)},"out":${200 + (s % 300)},"cost_usd":0.000` +
      `${600 + (s % 400)},"request_id":"r${s}"}\n`
    );
  };
  const NAMES = 100_000;
  const distinctLines = 3 * NAMES;
  const distinct = (i) => {
    const k = i % NAMES;
    return (
      `{"ts":"${iso(now - 600_000 + Math.floor((i / distinctLines) * 590_000))}","model":"model-${k}"` +
      `,"agent":"agent-${k}","in":${1000 + (i % 900)},"out":${200 + (i % 300)},"cost_usd":0.000` +
      `${600 + (i % 400)},"request_id":"req-${k}"}\n`
    );
  };
  const cases = [
    ['2,000,000 malformed lines', 'mem-malformed', 2_000_000, malformed],
    ['1,000,000 valid lines, every check on', 'mem-valid', 1_000_000, valid],
    [
      `${NAMES.toLocaleString('en-US')} distinct models, agents, request ids`,
      'mem-names',
      distinctLines,
      distinct,
    ],
  ];
  console.log(`\nmemory: peak RSS of a full run (no checkpoint), worst of ${repeat}, goal <= ${GOAL_MB} MB`);
  console.log(`${'input'.padEnd(46)} ${'MB'.padStart(7)} ${'peak RSS MB'.padStart(12)}`);
  const rows = [];
  for (const [name, dirName, count, lineAt] of cases) {
    console.error(`generating ${name}...`);
    const ws = generate(dirName, count, lineAt);
    let worst = 0;
    let out = null;
    for (let r = 0; r < repeat; r++) {
      rmSync(ws.stateDir, { recursive: true, force: true });
      const m = measure([BIN, 'run', '--json', '-c', ws.config], ws.dir);
      worst = Math.max(worst, m.rssMb);
      out ??= JSON.parse(m.stdout);
    }
    rows.push([name, worst]);
    const said = `new lines ${out.new_lines}, malformed ${out.malformed_lines}, threads ${out.scan_threads}`;
    console.log(
      `${name.padEnd(46)} ${(ws.bytes / 1e6).toFixed(1).padStart(7)} ` +
        `${worst.toFixed(1).padStart(12)}   ${worst <= GOAL_MB ? 'met' : 'NOT MET'}   (${said})`,
    );
    rmSync(ws.dir, { recursive: true, force: true });
  }
  return rows;
}
