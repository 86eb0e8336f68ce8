// BENCH_ONLY=replay: `replay` over the 1M-line bench log (issue 15, part 3), on one machine:
//   - `replay --json` (median of BENCH_REPEAT_REPLAY runs, 3) against a full `run` over the same
//     log (no checkpoint: every byte read; median of as many); goal: replay within 1.3x of run;
//   - replay's peak RSS, measured from outside (/usr/bin/time -f %M when it is there, else the
//     process's own maxRSS through the rss.cjs preload); goal <= 100 MB;
//   - DuckDB (@duckdb/node-api, a dev dependency) in a process of its own, read_json over the same
//     log, computing the same sums: the daily total, spend per minute, the 15-minute rolling peak
//     at minute ends, spend per model and per agent, request ids billed more than once; goal:
//     replay at or under DuckDB's time. The sums are checked against replay's output (total,
//     every minute, the 15m peak of its chart series, no repeated id: no storm) to the µ$.
// The log is the scan benchmark's (bench.mjs: ISO time, model, agent, tokens, cost, request id;
// three hours, all today), generated here the same way.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPEAT = Number(process.env.BENCH_REPEAT_REPLAY ?? 3);
const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const TIME = '/usr/bin/time';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

let serial = 0;
function line(tMs) {
  serial++;
  return (
    `{"ts":"${new Date(tMs).toISOString()}","model":"gpt-4o-mini","agent":"a${serial % 7}","in":` +
    `${1000 + (serial % 900)},"out":${200 + (serial % 300)},"cost_usd":0.000${600 + (serial % 400)},"` +
    `request_id":"r${serial}"}\n`
  );
}

function makeLog(dir) {
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  writeFileSync(
    path.join(dir, 'watchdog.yaml'),
    'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { ' +
      'warn: 20, emergency: 25, kill: 30 }\n',
  );
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const fd = openSync(log, 'w');
  const now = Date.now();
  const todayStart = now - (now % 86_400_000);
  const span = Math.min(3 * 3600_000, now - todayStart - 1000);
  let batch = '';
  for (let i = 0; i < LINES; i++) {
    batch += line(now - span + Math.floor((i / LINES) * span));
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  return { dir, log, config: path.join(dir, 'watchdog.yaml'), stateDir: path.join(dir, '.cost-watchdog') };
}

/** One process: wall time, peak RSS (MB, from outside when /usr/bin/time is there), stdout. */
function measure(args, cwd, rssPreload) {
  const outside = existsSync(TIME);
  const rssFile = path.join(cwd, `rss-${process.hrtime.bigint()}`);
  const command = outside ? TIME : process.execPath;
  const full = outside ? ['-f', '%M', '-o', rssFile, process.execPath, ...args] : ['-r', rssPreload, ...args];
  const started = process.hrtime.bigint();
  const r = spawnSync(command, full, {
    cwd,
    env: { ...process.env, CW_BENCH_RSS_FILE: rssFile },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  rmSync(rssFile);
  return { ms, rssMb: kb / 1024, stdout: r.stdout };
}

/** The DuckDB side, in a process of its own (argv: --duckdb <log>): prints its sums as JSON. */
async function duckdbSums(log) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  const columns =
    "{ts: 'TIMESTAMPTZ', model: 'VARCHAR', agent: 'VARCHAR', \"in\": 'BIGINT', \"out\": 'BIGINT', " +
    "cost_usd: 'DOUBLE', request_id: 'VARCHAR'}";
  const src = `read_json('${log.replaceAll("'", "''")}', format = 'newline_delimited', columns = ${columns})`;
  await db.run(
    `CREATE TEMP TABLE l AS SELECT epoch_ms(ts) AS ms, model, agent, request_id, ` +
      `CAST(round(cost_usd * 1000000) AS BIGINT) AS micros FROM ${src}`,
  );
  const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJS();
  const today = Date.now() - (Date.now() % 86_400_000);
  const [total] = await rows(`SELECT sum(micros) AS micros FROM l WHERE ms >= ${today}`);
  const minutes = await rows(
    'SELECT (ms // 60000) * 60000 AS minute, sum(micros) AS micros FROM l GROUP BY 1 ORDER BY 1',
  );
  // The 15-minute window at each minute end b as the watchdog's ledger holds it (whole seconds,
  // (b - 900, b]; at the instant b, second b has nothing yet), at the ends replay's chart samples
  // (those the log's clock passed).
  const [peak] = await rows(
    'WITH s AS (SELECT ms // 1000 AS sec, sum(micros) AS micros FROM l GROUP BY 1), ' +
      'ends AS (SELECT DISTINCT (sec // 60 + 1) * 60 AS b FROM s) ' +
      'SELECT max(t) AS micros FROM (SELECT e.b, sum(s.micros) AS t FROM ends e JOIN s ' +
      'ON s.sec BETWEEN e.b - 899 AND e.b - 1 GROUP BY e.b) WHERE b <= (SELECT max(sec) FROM s)',
  );
  const models = await rows('SELECT model, sum(micros) AS micros FROM l GROUP BY 1 ORDER BY 2 DESC');
  const agents = await rows('SELECT agent, sum(micros) AS micros FROM l GROUP BY 1 ORDER BY 2 DESC');
  const [repeated] = await rows(
    'SELECT count(*) AS ids FROM (SELECT request_id FROM l GROUP BY 1 HAVING count(*) > 1)',
  );
  const n = (v) => Number(v);
  process.stdout.write(
    `${JSON.stringify({
      total: n(total.micros),
      minutes: minutes.map((m) => [n(m.minute), n(m.micros)]),
      peak15: n(peak.micros),
      models: models.length,
      agents: agents.map((a) => [a.agent, n(a.micros)]),
      repeatedIds: n(repeated.ids),
    })}\n`,
  );
}

export async function replayBench({ bin, work, rss }) {
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  if (load >= 2.5) console.error(`bench replay: note: load average ${load} (figures are noisier)`);
  console.error(`replay: generating ${LINES.toLocaleString('en-US')} lines...`);
  const ws = makeLog(path.join(work, 'replay'));
  const self = fileURLToPath(import.meta.url);
  // Warm the file cache once.
  measure([bin, 'replay', '--json', '-c', ws.config], ws.dir, rss);
  const replays = [];
  const runs = [];
  const ducks = [];
  for (let i = 0; i < REPEAT; i++) {
    replays.push(measure([bin, 'replay', '--json', '-c', ws.config], ws.dir, rss));
    rmSync(ws.stateDir, { recursive: true, force: true });
    runs.push(measure([bin, 'run', '--json', '-c', ws.config], ws.dir, rss));
    ducks.push(measure([self, '--duckdb', ws.log], ws.dir, rss));
  }
  const report = JSON.parse(replays[0].stdout);
  const duck = JSON.parse(ducks[0].stdout);
  const micros = (usd) => Math.round(usd * 1e6);
  const replayMinutes = report.minutes.map(([m, usd]) => [m, micros(usd)]);
  const series15 = report.series.find((s) => s.window === '15m' && s.scope === null);
  const replayPeak = Math.max(0, ...series15.points.map(([, usd]) => micros(usd)));
  const checks = {
    total: micros(report.total_usd) === duck.total,
    minutes: JSON.stringify(replayMinutes) === JSON.stringify(duck.minutes),
    peak15: replayPeak === duck.peak15,
    agentsSumToTotal: duck.agents.reduce((s, [, v]) => s + v, 0) === duck.total,
    noStorm: report.storms.length === 0 && duck.repeatedIds === 0,
  };
  const r = median(replays.map((x) => x.ms)) / 1000;
  const f = median(runs.map((x) => x.ms)) / 1000;
  const d = median(ducks.map((x) => x.ms)) / 1000;
  const rssMb = Math.max(...replays.map((x) => x.rssMb));
  console.log('\n## replay (BENCH_ONLY=replay)\n');
  console.log(`| what | median s | peak RSS MB |`);
  console.log(`| --- | ---: | ---: |`);
  console.log(
    `| replay --json, ${LINES.toLocaleString('en-US')} lines | ${r.toFixed(2)} | ${rssMb.toFixed(0)} |`,
  );
  console.log(
    `| full run (no checkpoint) | ${f.toFixed(2)} | ${Math.max(...runs.map((x) => x.rssMb)).toFixed(0)} |`,
  );
  console.log(
    `| DuckDB read_json, the same sums | ${d.toFixed(2)} | ` +
      `${Math.max(...ducks.map((x) => x.rssMb)).toFixed(0)} |`,
  );
  console.log('');
  console.log(`replay / run: ${(r / f).toFixed(2)}x (goal <= 1.3x): ${r / f <= 1.3 ? 'met' : 'NOT met'}`);
  console.log(`replay / DuckDB: ${(r / d).toFixed(2)}x (goal <= 1.0x): ${r / d <= 1 ? 'met' : 'NOT met'}`);
  console.log(
    `replay peak RSS: ${rssMb.toFixed(0)} MB (goal <= 100 MB): ${rssMb <= 100 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `sums agree with DuckDB: ${Object.entries(checks)
      .map(([k, ok]) => `${k} ${ok ? 'yes' : 'NO'}`)
      .join(', ')} (total $${report.total_usd}, 15m peak $${replayPeak / 1e6}, ` +
      `${duck.models} model(s), ` +
      `${duck.agents.length} agents)`,
  );
  console.log(
    `crossings: ${report.crossings.length}; peak RSS measured ` +
      `${existsSync(TIME) ? 'by /usr/bin/time' : 'by the process'}`,
  );
  if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
}

if (process.argv[2] === '--duckdb') await duckdbSums(process.argv[3]);
