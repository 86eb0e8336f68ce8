// BENCH_ONLY=sources: many logs (issue 13), in the same run and on the same machine:
//   1. the same 1,000,000 lines in one file and split over 5,000 files of 200 lines (50 folders of
//      100, `log: "many/*/*.jsonl"`; file k holds lines k, k+5000, ...: workers writing side by
//      side): a full first `run` (no checkpoint) of each; goal: 5,000 files within 2x of one file;
//   2. an incremental `run` after 10 lines appended to one file among the 5,000 (another each time)
//      and after the same 10 lines appended to the one log; goal within 1.5x; the checkpoint's
//      size, and a `run` with nothing new, over 5,000 files;
//   3. `watch` over the glob: from creating a new file whose one line breaches the emergency limit
//      (in an existing folder, and in a new folder) to the flag on disk; goal <= 250 ms;
//   4. `scopes:` with `each: agent` over a 1M-line log of 10,000 distinct agents: the full run
//      against the same run without scopes (goal within 1.3x), peak RSS (goal <= 100 MB); skipped
//      with a note when the build does not know `scopes:` yet.
// Knobs (small sizes for a quick try): BENCH_LINES, BENCH_SOURCES_FILES, BENCH_SOURCES_FOLDERS,
// BENCH_SOURCES_AGENTS, BENCH_REPEAT_FULL, BENCH_REPEAT_SMALL, BENCH_REPEAT_WATCH.
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

const LIMITS =
  'limits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { warn: 20, emergency: 25, kill: 30 }\n';
const SCOPES = 'scopes: [{ name: every-agent, each: agent, limits: { daily: { kill: 1000000 } } }]\n';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const summary = (samples) => ({
  ms: median(samples.map((s) => s.ms)),
  rssMb: Math.max(...samples.map((s) => s.rssMb)),
});
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export async function sourcesBench({ bin, work, rss }) {
  const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
  const FILES = Number(process.env.BENCH_SOURCES_FILES ?? 5_000);
  const FOLDERS = Number(process.env.BENCH_SOURCES_FOLDERS ?? Math.max(1, Math.round(FILES / 100)));
  const AGENTS = Number(process.env.BENCH_SOURCES_AGENTS ?? 10_000);
  const REPEAT_FULL = Number(process.env.BENCH_REPEAT_FULL ?? 5);
  const REPEAT_SMALL = Number(process.env.BENCH_REPEAT_SMALL ?? 15);
  const REPEAT_WATCH = Number(process.env.BENCH_REPEAT_WATCH ?? 10);
  const perFile = Math.floor(LINES / FILES);
  const total = perFile * FILES;
  const perFolder = Math.ceil(FILES / FOLDERS);

  const measure = (args, cwd) => {
    const rssFile = path.join(work, `rss-${process.hrtime.bigint()}`);
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-r', rss, ...args], {
      cwd,
      env: { ...process.env, CW_BENCH_RSS_FILE: rssFile },
      encoding: 'utf8',
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    const rssKb = Number(readFileSync(rssFile, 'utf8'));
    rmSync(rssFile);
    return { ms, rssMb: rssKb / 1024, stdout: r.stdout };
  };

  // Line i of the log, the same whichever file it is written to (as bench.mjs's lines).
  const now = Date.now();
  const todayStart = now - (now % 86_400_000);
  const span = Math.min(3 * 3600_000, now - todayStart - 1000);
  const lineAt = (i, agent) => {
    const s = i + 1;
    return (
      `{"ts":"${new Date(now - span + Math.floor((i / total) * span)).toISOString()}",` +
      `"model":"gpt-4o-mini","agent":"${agent(s)}","in":${1000 + (s % 900)},"out":${200 + (s % 300)},` +
      `"cost_usd":0.000${600 + (s % 400)},"request_id":"r${s}"}\n`
    );
  };
  const seven = (s) => `a${s % 7}`;
  const writeLines = (file, indexes, agent = seven) => {
    const fd = openSync(file, 'w');
    let batch = '';
    for (const i of indexes) {
      batch += lineAt(i, agent);
      if (batch.length > 1 << 20) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
    closeSync(fd);
  };
  function* range(from, to, step = 1) {
    for (let i = from; i < to; i += step) yield i;
  }
  const fileOf = (k) =>
    path.join('many', `w${String(Math.floor(k / perFolder)).padStart(4, '0')}`, `worker${k}.jsonl`);

  const dir = path.join(work, 'sources');
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  console.error(
    `sources: generating ${total.toLocaleString('en-US')} lines, in one file and in ${FILES} files...`,
  );
  const one = path.join(dir, 'state', 'cost_log.jsonl');
  writeLines(one, range(0, total));
  for (let f = 0; f < FOLDERS; f++)
    mkdirSync(path.join(dir, path.dirname(fileOf(f * perFolder))), { recursive: true });
  for (let k = 0; k < FILES; k++) writeLines(path.join(dir, fileOf(k)), range(k, total, FILES));
  const bytes = statSync(one).size;
  const ws = (name, text) => {
    writeFileSync(path.join(dir, `${name}.yaml`), text);
    return { config: path.join(dir, `${name}.yaml`), stateDir: path.join(dir, `.cw-${name}`) };
  };
  const single = ws(
    'one',
    `log: state/cost_log.jsonl\nflag_file: state/one.flag\nstate_dir: .cw-one\n${LIMITS}`,
  );
  const many = ws(
    'many',
    `log: "many/*/*.jsonl"\nflag_file: state/many.flag\nstate_dir: .cw-many\n${LIMITS}`,
  );
  sleepMs(1100); // every file quiet for a second, as a log that is not being written to
  measure([bin, 'run', '-c', single.config], dir); // warm the file cache and the CLI
  measure([bin, 'run', '-c', many.config], dir);

  // 1. Full first runs, interleaved.
  const fullOne = [];
  const fullMany = [];
  let sums = null;
  for (let i = 0; i < REPEAT_FULL; i++) {
    rmSync(single.stateDir, { recursive: true, force: true });
    rmSync(many.stateDir, { recursive: true, force: true });
    const a = measure([bin, 'run', '--json', '-c', single.config], dir);
    const b = measure([bin, 'run', '--json', '-c', many.config], dir);
    fullOne.push(a);
    fullMany.push(b);
    sums ??= [JSON.parse(a.stdout).windows.daily.spend_usd, JSON.parse(b.stdout).windows.daily.spend_usd];
  }

  // 2. Incremental runs (+10 lines, to the one log / to one file among many) and nothing new.
  const incOne = [];
  const incMany = [];
  const idleOne = [];
  const idleMany = [];
  let extra = total;
  const tenLines = () => {
    let text = '';
    for (let i = 0; i < 10; i++)
      text += lineAt(extra++, seven).replace(/"ts":"[^"]*"/, `"ts":"${new Date().toISOString()}"`);
    return text;
  };
  for (let i = 0; i < REPEAT_SMALL; i++) {
    const text = tenLines();
    appendFileSync(one, text);
    incOne.push(measure([bin, 'run', '-c', single.config], dir));
    appendFileSync(path.join(dir, fileOf((i * 337) % FILES)), text);
    incMany.push(measure([bin, 'run', '-c', many.config], dir));
    idleOne.push(measure([bin, 'run', '-c', single.config], dir));
    idleMany.push(measure([bin, 'run', '-c', many.config], dir));
  }
  // checkpoint.json, and the base file of places beside it when there are many files (places.*.json).
  const checkpointBytes = (stateDir) => ({
    checkpoint: statSync(path.join(stateDir, 'checkpoint.json')).size,
    places: readdirSync(stateDir)
      .filter((name) => name.startsWith('places.') && name.endsWith('.json'))
      .reduce((sum, name) => sum + statSync(path.join(stateDir, name)).size, 0),
  });
  const cpOne = checkpointBytes(single.stateDir);
  const cpMany = checkpointBytes(many.stateDir);

  // 3. watch: a new file (in an existing folder, in a new folder) with one breaching line -> flag.
  // Each sample a fresh daemon on a fresh state folder (its first check reads all 5,000 files);
  // the new file is removed after it, so the limit stays above the logs' own spend.
  const latency = ws(
    'latency',
    `log: "many/*/*.jsonl"\nflag_file: state/latency.flag\nstate_dir: .cw-latency\ncost:\n  ` +
      `max_line_usd: 1000000000\nlimits:\n  15m: { emergency: 1000000 }\n`,
  );
  const flag = path.join(dir, 'state', 'latency.flag');
  const watchNew = async (where, n) => {
    rmSync(latency.stateDir, { recursive: true, force: true });
    rmSync(flag, { force: true });
    const child = spawn(process.execPath, [bin, 'watch', '-c', latency.config], {
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
    await until('it to start', () => err.includes('watching '), 60_000);
    await until('its first check', () => existsSync(path.join(latency.stateDir, 'heartbeat.json')), 60_000);
    if (existsSync(flag)) throw new Error('watch: the flag was written before the new file');
    await new Promise((r) => setTimeout(r, 200)); // let the first check's own file events settle
    const folder =
      where === 'existing'
        ? path.dirname(path.join(dir, fileOf(n % FILES)))
        : path.join(dir, 'many', `new${n}`);
    const file = path.join(folder, where === 'existing' ? `late${n}.jsonl` : 'cost_log.jsonl');
    const text = `{"ts":"${new Date().toISOString()}","model":"runaway","cost_usd":1000001}\n`;
    const started = process.hrtime.bigint();
    if (where === 'new') mkdirSync(folder);
    writeFileSync(file, text);
    const deadline = Date.now() + 20_000;
    while (!existsSync(flag)) {
      if (Date.now() > deadline) throw new Error(`watch: no flag within 20 s: ${err}`);
      sleepMs(1);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    child.kill('SIGTERM');
    await exited;
    rmSync(where === 'new' ? folder : file, { recursive: true, force: true });
    return ms;
  };
  const watchSamples = Math.max(3, Math.floor(REPEAT_WATCH / 2));
  const watchExisting = [];
  const watchNewFolder = [];
  for (let i = 0; i < watchSamples; i++) {
    watchExisting.push(await watchNew('existing', i * 101));
    watchNewFolder.push(await watchNew('new', i));
  }

  // 4. Scoped budgets: `each: agent` over 10,000 agents, against the same log without scopes.
  const scoped = ws(
    'scoped',
    `log: state/agents.jsonl\nflag_file: state/scoped.flag\nstate_dir: .cw-scoped\n${LIMITS}${SCOPES}`,
  );
  const plain = ws(
    'plain',
    `log: state/agents.jsonl\nflag_file: state/plain.flag\nstate_dir: .cw-plain\n${LIMITS}`,
  );
  const valid = spawnSync(process.execPath, [bin, 'validate', '-c', scoped.config], {
    cwd: dir,
    encoding: 'utf8',
  });
  let scopes = null;
  if (valid.status === 0) {
    console.error(`sources: generating ${total.toLocaleString('en-US')} lines of ${AGENTS} agents...`);
    writeLines(path.join(dir, 'state', 'agents.jsonl'), range(0, total), (s) => `agent-${s % AGENTS}`);
    measure([bin, 'run', '-c', plain.config], dir);
    const withScopes = [];
    const without = [];
    for (let i = 0; i < REPEAT_FULL; i++) {
      rmSync(plain.stateDir, { recursive: true, force: true });
      rmSync(scoped.stateDir, { recursive: true, force: true });
      without.push(measure([bin, 'run', '-c', plain.config], dir));
      withScopes.push(measure([bin, 'run', '-c', scoped.config], dir));
    }
    scopes = {
      with: summary(withScopes),
      without: summary(without),
      bytes: statSync(path.join(dir, 'state', 'agents.jsonl')).size,
    };
  }

  const rows = [
    ['full run, 1 file (no checkpoint)', summary(fullOne), bytes],
    [`full run, ${FILES} files (no checkpoint)`, summary(fullMany), bytes],
    ['incremental run, +10 lines, 1 file', summary(incOne), null],
    [`incremental run, +10 lines in 1 of ${FILES}`, summary(incMany), null],
    ['run with nothing new, 1 file', summary(idleOne), null],
    [`run with nothing new, ${FILES} files`, summary(idleMany), null],
  ];
  if (scopes !== null) {
    const agents = AGENTS.toLocaleString('en-US');
    rows.push([`full run, ${agents} agents, no scopes`, scopes.without, scopes.bytes]);
    rows.push([`full run, ${agents} agents, scopes (each)`, scopes.with, scopes.bytes]);
  }
  console.log(
    `\nsources: ${total.toLocaleString('en-US')} lines, ${(bytes / 1e6).toFixed(1)} MB, in 1 file and in ` +
      `${FILES} files of ${perFile} lines (${FOLDERS} folders); medians of ${REPEAT_FULL} (full) and ` +
      `${REPEAT_SMALL} (small runs)\n`,
  );
  console.log(
    `${pad('measurement', 42)} ${lpad('median ms', 10)} ${lpad('MB/s', 8)} ${lpad('peak RSS MB', 12)}`,
  );
  for (const [name, s, b] of rows) {
    console.log(
      `${pad(name, 42)} ${lpad(s.ms.toFixed(1), 10)} ` +
        `${lpad(b ? (b / 1e6 / (s.ms / 1000)).toFixed(0) : '', 8)} ${lpad(s.rssMb.toFixed(1), 12)}`,
    );
  }
  console.log('');
  for (const [name, size] of [
    ['checkpoint.json, 1 file', cpOne.checkpoint],
    [`checkpoint.json, ${FILES} files`, cpMany.checkpoint],
    [`  and its base of places, ${FILES} files`, cpMany.places],
  ])
    console.log(`${pad(name, 42)} ${lpad(size.toLocaleString('en-US'), 10)} bytes`);
  console.log('');
  for (const [name, samples] of [
    ['watch: new file -> flag, existing folder', watchExisting],
    ['watch: new file -> flag, new folder', watchNewFolder],
  ]) {
    console.log(
      `${pad(name, 42)} ${lpad(median(samples).toFixed(1), 10)} ms median, ` +
        `${Math.max(...samples).toFixed(1)} ms worst of ${samples.length}`,
    );
  }
  const ratios = [
    [
      `full run: ${FILES} files / 1 file`,
      summary(fullMany).ms / summary(fullOne).ms,
      '<= 2.0x',
      (v) => v <= 2,
    ],
    [
      `incremental: 1 of ${FILES} files / 1 file`,
      summary(incMany).ms / summary(incOne).ms,
      '<= 1.5x',
      (v) => v <= 1.5,
    ],
    [
      'watch: worst new file -> flag (ms)',
      Math.max(...watchExisting, ...watchNewFolder),
      '<= 250',
      (v) => v <= 250,
    ],
  ];
  if (scopes !== null) {
    ratios.push([
      'full run: scopes each: agent / no scopes',
      scopes.with.ms / scopes.without.ms,
      '<= 1.3x',
      (v) => v <= 1.3,
    ]);
    ratios.push(['peak RSS, scopes each: agent (MB)', scopes.with.rssMb, '<= 100', (v) => v <= 100]);
  }
  console.log('');
  for (const [name, value, target, ok] of ratios) {
    console.log(
      `${pad(name, 46)} ${lpad(value.toFixed(2), 8)}   target ${pad(target, 8)} ` +
        `${ok(value) ? 'met' : 'NOT MET'}`,
    );
  }
  if (scopes === null) {
    const why = valid.stderr.includes('scopes: unknown key')
      ? ''
      : ` (${valid.stderr.trim().split('\n')[0]})`;
    console.log(`scopes: not available in this build${why}`);
  }
  const agree = Math.abs(sums[0] - sums[1]) < 1e-6 * Math.max(1, sums[0]);
  console.log(
    `\nsum check: 1 file daily $${sums[0]} vs ${FILES} files $${sums[1]} (${agree ? 'agree' : 'DIFFER'})`,
  );
  rmSync(dir, { recursive: true, force: true });
}
