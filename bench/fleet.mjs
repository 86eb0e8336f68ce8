// BENCH_ONLY=fleet: one budget over many hosts on Redis (issue 14, item 7), on one machine:
//   - one redis-server (Debian's) on a free loopback port, in a temp folder; no redis-server: the
//     section says so and is skipped;
//   - 50 hosts, each gaining a line every second (spread over the second): 10 real `cost-watchdog
//     watch` processes, each with its own workspace (watchdog.yaml with the same `fleet:`, its own
//     state folder, flag and log), and 40 simulated hosts in this process, each its own Redis
//     connection and session, running the same push script (src/fleet/scripts.ts, loaded as it
//     is) with what a host pushes (src/fleet/exchange.ts): 50 real watchers on a shared 2-core
//     machine took 0.75 cores and drove the load past 30, checks to a second and pushes past the
//     1 s fleet.timeout, which measures the machine, not the push. First without `fleet:` (the
//     baseline), then with it: the push's own time per check (the `fleet_push` audit record's
//     `ms`), each check's duration (heartbeat.json `duration_ms`, sampled) with and without the
//     fleet, Redis's own time in the script; goal: the push adds <= 2 ms to a check (median); the
//     CPU the watchers and Redis took; a sum check of the fleet's days against every log;
//   - a fleet breach: one line on ONE host takes the fleet over its emergency limit; the time until
//     every host's flag file exists (polled every 5 ms); goal <= 1 s. Twice: while the hosts keep
//     logging (each host's own next line also makes it check), and with quiet hosts (nothing
//     logged but the breach: they learn from the fleet's channel if `watch` subscribes to it, or at
//     their timed check, watch.schedule); the number of subscribers Redis has on the channel is
//     shown;
//   - `run` with nothing new on a small log, with and without `fleet:` (median of N runs), and the
//     cost of loading the client's chunk alone (a one-host config never loads it:
//     test/e2e/fleet-lazy.test.ts proves it).
// Knobs: BENCH_FLEET_HOSTS (50), BENCH_FLEET_WATCHERS (10: the real watchers among them),
// BENCH_FLEET_STEADY_S (40: seconds of pushing with the fleet), BENCH_FLEET_BASE_S (15: the same
// without it), BENCH_REPEAT_SMALL (15: runs of `run`), BENCH_FLEET_SCHEDULE (the watchers'
// watch.schedule; unset: the build's default).
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const median = (values) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** The nearest-rank percentile. */
const percentile = (values, p) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLIENT_MARK = 'node_modules/@redis/client/';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function pong(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d) => {
      text += d;
      if (text.includes('\r\n')) done(text.startsWith('+PONG'));
    });
    socket.on('connect', () => socket.write('PING\r\n'));
  });
}

/** CPU time (user + system) of a process so far, in seconds, from /proc (null once it is gone). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return null;
  }
}

/** The machine's busy CPU time so far, in seconds (every process, not only ours). */
function machineBusy() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  return (cpu.reduce((a, b) => a + b, 0) - idle) / 100;
}

export async function fleetBench({ bin, work }) {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (found.status !== 0) {
    console.log(
      '\nfleet: redis-server is not installed (apt-get install redis-server): the fleet section is skipped',
    );
    return;
  }
  const HOSTS = Number(process.env.BENCH_FLEET_HOSTS ?? 50);
  const WATCHERS = Math.min(HOSTS, Number(process.env.BENCH_FLEET_WATCHERS ?? 10));
  const SIMULATED = HOSTS - WATCHERS;
  const STEADY_S = Number(process.env.BENCH_FLEET_STEADY_S ?? 40);
  const BASE_S = Number(process.env.BENCH_FLEET_BASE_S ?? 15);
  const RUNS = Number(process.env.BENCH_REPEAT_SMALL ?? 15);
  const SCHEDULE = process.env.BENCH_FLEET_SCHEDULE ?? null;

  const loadAtStart = loadavg()[0];
  const root = path.join(work, 'fleet');
  mkdirSync(root, { recursive: true });

  // The server: Debian's redis-server, nothing saved, on a free loopback port.
  const port = await freePort();
  const redisDir = path.join(root, 'redis');
  mkdirSync(redisDir);
  const redis = spawn(
    found.stdout.trim(),
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let redisErr = '';
  redis.stderr.on('data', (d) => (redisErr += d));
  const children = new Set();
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
    redis.kill('SIGKILL');
  };
  // Before bench.mjs removes the work folder (which the watchers would still be writing to).
  process.prependListener('exit', killAll);
  for (const deadline = Date.now() + 20_000; !(await pong(port)); ) {
    if (redis.exitCode !== null || Date.now() > deadline)
      throw new Error(`fleet: redis-server did not start on port ${port}: ${redisErr}`);
    await sleep(50);
  }
  const url = `redis://127.0.0.1:${port}`;
  const redisCli = (...args) =>
    spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
  const env = { ...process.env, COST_WATCHDOG_REDIS_URL: url };
  // Redis's own time in the push script (EVALSHA): calls, mean, and its p50 / p99 (Redis 7).
  const scriptStats = () => {
    const calls = redisCli('INFO', 'commandstats').match(
      /cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/,
    );
    const latency = redisCli('INFO', 'latencystats').match(
      /latency_percentiles_usec_evalsha:p50=([\d.]+),p99=([\d.]+)/,
    );
    return {
      calls: calls === null ? 0 : Number(calls[1]),
      meanUs: calls === null ? Number.NaN : Number(calls[2]),
      p50Us: latency === null ? Number.NaN : Number(latency[1]),
      p99Us: latency === null ? Number.NaN : Number(latency[2]),
    };
  };
  const version = spawnSync(found.stdout.trim(), ['--version'], { encoding: 'utf8' }).stdout.trim();

  // The hosts: a workspace each. Local limits far above anything logged: only the fleet trips.
  const fleetLimits =
    '  limits:\n    15m: { warn: 5000, emergency: 10000 }\n    daily: { warn: 50000, emergency: 90000 }\n';
  const BREACH_USD = 20_000;
  const hosts = Array.from({ length: WATCHERS }, (_, i) => {
    const name = `host-${String(i + 1).padStart(2, '0')}`;
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'state'), { recursive: true });
    const log = path.join(dir, 'state', 'cost_log.jsonl');
    writeFileSync(log, '');
    return {
      name,
      dir,
      log,
      config: path.join(dir, 'watchdog.yaml'),
      stateDir: path.join(dir, '.cost-watchdog'),
      flag: path.join(dir, 'state', 'cost_emergency.flag'),
    };
  });
  const configure = (host, fleetName) =>
    writeFileSync(
      host.config,
      'log: state/cost_log.jsonl\nflag_file: state/cost_emergency.flag\nstate_dir: .cost-watchdog\n' +
        'cost:\n  max_line_usd: 1000000000\n' +
        'limits:\n  15m: { warn: 100000, emergency: 200000 }\n' +
        '  daily: { warn: 300000, emergency: 400000 }\n' +
        (SCHEDULE !== null ? `watch:\n  schedule: "${SCHEDULE}"\n` : '') +
        (fleetName === null ? '' : `fleet:\n  name: ${fleetName}\n  host: ${host.name}\n${fleetLimits}`),
    );
  let serial = 0;
  const line = (cost) => {
    serial++;
    return (
      `{"ts":"${new Date().toISOString()}","model":"gpt-4o-mini","agent":"a${serial % 7}","in":` +
      `${1000 + (serial % 900)},"out":${200 + (serial % 300)},"cost_usd":` +
      `${cost ?? `0.000${600 + (serial % 400)}`}` +
      `,"request_id":"r${serial}"}\n`
    );
  };

  // The simulated hosts: each its own Redis connection, instance and session, pushing what it
  // logged as a watchdog does (src/fleet/exchange.ts): the same push script (src/fleet/scripts.ts,
  // loaded as it is), its absolute µ$ per second changed and per day, a full push on `resync`.
  const pusherMs = [];
  const makePushers = async (fleetName) => {
    const { createClient } = await import('@redis/client');
    const scriptsFile = fileURLToPath(new URL('../src/fleet/scripts.ts', import.meta.url));
    const { PUSH_SCRIPT } = await import(
      `data:text/javascript,${encodeURIComponent(readFileSync(scriptsFile, 'utf8'))}`
    );
    const sha = createHash('sha1').update(PUSH_SCRIPT).digest('hex');
    const prefix = `cost-watchdog:{${fleetName}}:`;
    // The settings as the real watchers push them (timezone and fleet limits, and their hash).
    let real = null;
    for (const deadline = Date.now() + 60_000; real === null; await sleep(100)) {
      const text = redisCli('HVALS', `${prefix}hosts`).split('\n')[0];
      if (text) real = JSON.parse(text);
      else if (Date.now() > deadline) throw new Error('fleet: no watcher pushed within 60 s');
    }
    const newId = () => randomBytes(8).toString('hex');
    const pushers = [];
    for (let k = 0; k < SIMULATED; k++) {
      const client = createClient({ url });
      client.on('error', () => undefined);
      await client.connect();
      pushers.push({
        name: `sim-${String(k + 1).padStart(2, '0')}`,
        client,
        instance: newId(),
        session: null,
      });
      Object.assign(pushers[k], { secs: new Map(), dirty: new Set(), day: 0, total: 0, busy: false });
    }
    const call = async (client, payload) => {
      const arg = JSON.stringify(payload);
      try {
        return JSON.parse(await client.sendCommand(['EVALSHA', sha, '0', arg]));
      } catch (error) {
        if (!String(error.message).startsWith('NOSCRIPT')) throw error;
        return JSON.parse(await client.sendCommand(['EVAL', PUSH_SCRIPT, '0', arg]));
      }
    };
    const push = async (p, micros) => {
      const sec = Math.floor(Date.now() / 1000);
      p.secs.set(sec, (p.secs.get(sec) ?? 0) + micros);
      p.dirty.add(sec);
      p.day += micros;
      p.total += micros;
      if (p.busy) return; // the next push takes these seconds too
      p.busy = true;
      const today = new Date().toISOString().slice(0, 10);
      const payload = (full, session) => ({
        p: prefix,
        host: p.name,
        instance: p.instance,
        session,
        full,
        new_session: session,
        fp: real.fp,
        settings: real.settings,
        secs: (full ? [...p.secs.keys()] : [...p.dirty]).map((s) => [s, p.secs.get(s)]),
        days: [[today, p.day]],
        today,
        windows: [
          ['15m', 900, 5000e6, 10000e6, -1],
          ['daily', 0, 50000e6, 90000e6, -1],
        ],
        roll_ttl: 900 + 600 + 300,
        silent_ms: 300_000,
        drop_ms: 48 * 3_600_000,
        day_ttl: 3 * 86_400,
        new_id: newId(),
        mode: 'check',
        version: 'bench',
      });
      p.dirty.clear();
      const started = process.hrtime.bigint();
      const full = p.session === null;
      const session = full ? newId() : p.session;
      let reply = await call(p.client, payload(full, session));
      if (reply.resync === true) {
        p.session = newId();
        reply = await call(p.client, payload(true, p.session));
      } else p.session = session;
      if (reply.refused !== undefined) throw new Error(`fleet: ${p.name} refused: ${JSON.stringify(reply)}`);
      if (!full) pusherMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      p.busy = false;
    };
    for (const p of pushers) await push(p, 0); // the first push (a full one, a new session)
    return { pushers, push, close: () => Promise.all(pushers.map((p) => p.client.close())) };
  };

  // The watch processes at once; resolves when each has made its first check (its heartbeat).
  const startWatchers = async () => {
    const started = hosts.map((host) => {
      rmSync(path.join(host.stateDir, 'heartbeat.json'), { force: true });
      const child = spawn(process.execPath, [bin, 'watch', '-c', host.config], {
        cwd: host.dir,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.add(child);
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise((resolve) => child.on('close', resolve));
      return { host, child, exited, err: () => err };
    });
    const deadline = Date.now() + 120_000;
    for (const w of started) {
      while (!existsSync(path.join(w.host.stateDir, 'heartbeat.json'))) {
        if (w.child.exitCode !== null || Date.now() > deadline)
          throw new Error(`fleet: watch on ${w.host.name} did not make its first check: ${w.err()}`);
        await sleep(20);
      }
    }
    return started;
  };
  const stopWatchers = async (watchers) => {
    for (const w of watchers) w.child.kill('SIGTERM');
    const codes = await Promise.all(watchers.map((w) => w.exited));
    for (const w of watchers) children.delete(w.child);
    const bad = watchers.findIndex((_, i) => codes[i] !== 0);
    if (bad >= 0)
      throw new Error(`fleet: watch on ${hosts[bad].name} exited ${codes[bad]}: ${watchers[bad].err()}`);
  };

  // Each host gains a line every second, the hosts spread over the second; heartbeats are sampled
  // every 100 ms (a check per second each: every check's duration is seen).
  const steady = async (watchers, seconds, extra = async () => undefined, sim = null) => {
    const durations = [];
    const seen = new Map();
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        for (const host of hosts) {
          try {
            const hb = JSON.parse(readFileSync(path.join(host.stateDir, 'heartbeat.json'), 'utf8'));
            if (seen.get(host.name) !== hb.time) {
              seen.set(host.name, hb.time);
              durations.push(hb.duration_ms);
            }
          } catch {
            // being replaced (written to a temp file and renamed): the next sample reads it
          }
        }
        await sleep(100);
      }
    })();
    const appender = (async () => {
      const t0 = Date.now();
      const all = hosts.length + (sim?.pushers.length ?? 0);
      for (let tick = 0; !stop; tick++) {
        for (let i = 0; i < all && !stop; i++) {
          const at = t0 + tick * 1000 + Math.floor((i * 1000) / all);
          if (at > Date.now()) await sleep(at - Date.now());
          if (i < hosts.length) appendFileSync(hosts[i].log, line());
          else void sim.push(sim.pushers[i - hosts.length], 600 + (++serial % 400));
        }
      }
    })();
    await sleep(2000); // the first seconds of checks settle (the first push of a host is a full one)
    durations.length = 0;
    redisCli('CONFIG', 'RESETSTAT'); // Redis's own figures of the steady seconds only
    pusherMs.length = 0;
    const fromMs = Date.now();
    const cpu0 = watchers.map((w) => cpuSeconds(w.child.pid));
    const redis0 = cpuSeconds(redis.pid);
    const busy0 = machineBusy();
    await sleep(seconds * 1000);
    const wallS = (Date.now() - fromMs) / 1000;
    const cpu1 = watchers.map((w) => cpuSeconds(w.child.pid));
    const cpu = {
      watchers: cpu1.reduce((sum, c, i) => sum + (c ?? 0) - (cpu0[i] ?? 0), 0) / wallS,
      redis: ((cpuSeconds(redis.pid) ?? 0) - (redis0 ?? 0)) / wallS,
      machine: (machineBusy() - busy0) / wallS,
    };
    const toMs = Date.now();
    const server = scriptStats();
    const during = await extra();
    stop = true;
    await Promise.all([sampler, appender]);
    await sleep(1500); // the last lines checked and pushed
    return { durations: [...durations], cpu, fromMs, toMs, during, server };
  };

  // The fleet breach: one line over the fleet's emergency limit on the first host; the time until
  // every host's flag file exists.
  const breach = async () => {
    for (const host of hosts)
      if (existsSync(host.flag)) throw new Error(`fleet: ${host.flag} before the breach`);
    const arrived = new Array(hosts.length).fill(null);
    appendFileSync(hosts[0].log, line(BREACH_USD));
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + 60_000;
    while (arrived.includes(null)) {
      if (Date.now() > deadline) break;
      for (let i = 0; i < hosts.length; i++)
        if (arrived[i] === null && existsSync(hosts[i].flag))
          arrived[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      await sleep(5);
    }
    const missing = arrived.filter((ms) => ms === null).length;
    const times = arrived.filter((ms) => ms !== null);
    return {
      all: missing > 0 ? Number.POSITIVE_INFINITY : Math.max(...times),
      median: median(times),
      first: arrived[0],
      missing,
    };
  };

  const pushesOf = (fromMs, toMs, of = hosts) => {
    const ms = [];
    for (const host of of) {
      const text = readFileSync(path.join(host.stateDir, 'audit.jsonl'), 'utf8');
      for (const row of text.split('\n')) {
        if (!row.includes('"fleet_push"')) continue;
        const r = JSON.parse(row);
        const at = Date.parse(r.ts);
        if (at >= fromMs && at <= toMs && r.resynced !== true) ms.push(r.ms);
      }
    }
    return ms;
  };

  const schedule = SCHEDULE ?? 'the default, "*/15 * * * * *"';
  console.error(
    `fleet: redis-server on port ${port}; ${WATCHERS} watchers (+${SIMULATED} simulated hosts), ` +
      `${BASE_S} s without the fleet...`,
  );

  // 1. Without the fleet (the baseline for each check's duration).
  for (const host of hosts) configure(host, null);
  let watchers = await startWatchers();
  const base = await steady(watchers, BASE_S);
  await stopWatchers(watchers);

  // 2. With the fleet: pushing every second, then the breach while the hosts keep logging.
  console.error(`fleet: ${STEADY_S} s with the fleet, then a breach under load...`);
  for (const host of hosts) configure(host, 'bench');
  watchers = await startWatchers();
  const sim = SIMULATED > 0 ? await makePushers('bench') : null;
  const withFleet = await steady(watchers, STEADY_S, breach, sim);
  const pusherPushMs = [...pusherMs];
  await stopWatchers(watchers);
  await sim?.close();
  const pushMs = pushesOf(withFleet.fromMs, withFleet.toMs);
  const fleetHosts = redisCli('HLEN', 'cost-watchdog:{bench}:hosts');
  // Sum check: the fleet's days in Redis against every line of the hosts' logs (all of today).
  let fleetMicros = 0;
  for (const key of redisCli('KEYS', 'cost-watchdog:{bench}:d:*').split('\n').filter(Boolean))
    for (const v of redisCli('HVALS', key).split('\n').filter(Boolean)) fleetMicros += Number(v);
  let logMicros = 0;
  for (const host of hosts)
    for (const row of readFileSync(host.log, 'utf8').split('\n').filter(Boolean))
      logMicros += Math.round(JSON.parse(row).cost_usd * 1e6);
  for (const p of sim?.pushers ?? []) logMicros += p.total;

  // 3. A breach with quiet hosts: a new fleet, fresh state folders, nothing logged but the breach.
  console.error('fleet: a breach with quiet hosts...');
  for (const host of hosts) {
    rmSync(host.stateDir, { recursive: true, force: true });
    rmSync(host.flag, { force: true });
    writeFileSync(host.log, line()); // the breach of step 2 is gone from the logs
    configure(host, 'bench-quiet');
  }
  watchers = await startWatchers();
  await sleep(2000); // every first check done and settled
  const subscribers = Number(
    redisCli('PUBSUB', 'NUMSUB', 'cost-watchdog:{bench-quiet}:events').split('\n')[1] ?? 0,
  );
  const quiet = await breach();
  await stopWatchers(watchers);

  // 4. `run` with nothing new on a small log, with and without the fleet, interleaved.
  console.error(`fleet: ${RUNS} runs with nothing new, with and without the fleet...`);
  const one = hosts[0];
  const two = hosts[1];
  for (const host of [one, two]) {
    rmSync(host.stateDir, { recursive: true, force: true });
    rmSync(host.flag, { force: true });
    writeFileSync(host.log, Array.from({ length: 10 }, () => line()).join(''));
  }
  configure(one, null);
  configure(two, 'bench-run');
  const timed = (args, cwd) => {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fleet: ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  timed([bin, 'run', '-c', one.config], one.dir);
  timed([bin, 'run', '-c', two.config], two.dir);
  const chunks = path.join(path.dirname(path.dirname(bin)), 'dist', 'chunks');
  const clientChunks = readdirSync(chunks)
    .filter((name) => name.endsWith('.js'))
    .filter((name) => readFileSync(path.join(chunks, name), 'utf8').includes(CLIENT_MARK));
  const loadClient = [
    '--input-type=module',
    '-e',
    `for (const f of ${JSON.stringify(clientChunks.map((n) => path.join(chunks, n)))}) await import(f)`,
  ];
  const runPlain = [];
  const runFleet = [];
  const bare = [];
  const loaded = [];
  for (let i = 0; i < RUNS; i++) {
    runPlain.push(timed([bin, 'run', '-c', one.config], one.dir));
    runFleet.push(timed([bin, 'run', '-c', two.config], two.dir));
    bare.push(timed(['-e', '0'], root));
    loaded.push(timed(loadClient, root));
  }
  const runPushMs = pushesOf(0, Date.now() + 1, [two]).slice(-RUNS);

  redis.kill('SIGTERM');
  await new Promise((resolve) => (redis.exitCode !== null ? resolve() : redis.on('exit', resolve)));
  process.removeListener('exit', killAll);
  rmSync(root, { recursive: true, force: true });

  const addMs = median(withFleet.durations) - median(base.durations);
  console.log(
    `\nfleet: ${HOSTS} hosts on one ${version.split(' ').slice(0, 3).join(' ')} on loopback, each ` +
      `gaining a line a second: ${WATCHERS} \`cost-watchdog watch\` processes (a workspace each), ` +
      `${SIMULATED} simulated (the same push script from this process); watch.schedule ${schedule}`,
  );
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Node ${process.version}; ` +
      `load average ${loadAtStart.toFixed(2)} at the start; ${BASE_S} s without the fleet, ${STEADY_S} s ` +
      `with it; Redis saw ${fleetHosts} hosts\n`,
  );
  console.log(
    `${pad('per check', 46)} ${lpad('checks', 7)} ${lpad('median ms', 10)} ${lpad('p95 ms', 8)} ` +
      `${lpad('max ms', 8)}`,
  );
  for (const [name, values] of [
    ['fleet push (fleet_push ms: the exchange)', pushMs],
    ['  simulated hosts: one push, round trip', pusherPushMs],
    ['check duration, without fleet', base.durations],
    ['check duration, with fleet', withFleet.durations],
  ]) {
    console.log(
      `${pad(name, 46)} ${lpad(values.length, 7)} ${lpad(median(values).toFixed(1), 10)} ` +
        `${lpad(percentile(values, 95).toFixed(1), 8)} ${lpad(Math.max(...values).toFixed(1), 8)}`,
    );
  }
  const sv = withFleet.server;
  console.log(
    `${pad("  Redis's own time in the push script", 46)} ${lpad(sv.calls, 7)} ` +
      `${lpad((sv.p50Us / 1000).toFixed(2), 10)} ${lpad((sv.p99Us / 1000).toFixed(2), 8)} (p99)  ` +
      `mean ${(sv.meanUs / 1000).toFixed(2)} ms`,
  );
  console.log('');
  for (const [name, c] of [
    ['CPU without fleet', base.cpu],
    ['CPU with fleet', withFleet.cpu],
  ]) {
    console.log(
      `${pad(name, 46)} watchers ${c.watchers.toFixed(2)} cores, redis-server ` +
        `${(c.redis * 100).toFixed(1)}%` +
        `, whole machine ${c.machine.toFixed(2)} of ${cpus().length} cores`,
    );
  }
  console.log('');
  const b = withFleet.during;
  const breachLine = (name, r, more = '') =>
    console.log(
      `${pad(name, 46)} ${lpad(r.all.toFixed(1), 10)} ms (median host ${r.median.toFixed(1)} ms, ` +
        `breaching host ${r.first?.toFixed(1)} ms` +
        `${r.missing > 0 ? `, ${r.missing} hosts never` : ''}${more})`,
    );
  breachLine('fleet breach -> every flag, hosts logging', b);
  breachLine(
    'fleet breach -> every flag, quiet hosts',
    quiet,
    `; ${subscribers} of ${WATCHERS} watchers subscribed to the fleet's channel`,
  );
  console.log('');
  for (const [name, values] of [
    ['run, nothing new, no fleet', runPlain],
    ['run, nothing new, with fleet', runFleet],
    [`node: import the client's chunk(s) (${clientChunks.length})`, loaded],
    ['node -e 0', bare],
  ])
    console.log(`${pad(name, 46)} ${lpad(median(values).toFixed(1), 10)} ms median of ${values.length}`);
  console.log(
    `${pad('  of which the push (fleet_push ms, median)', 46)} ` +
      `${lpad(median(runPushMs).toFixed(1), 10)} ms ` +
      '(a run connects, pushes and closes)',
  );

  console.log(
    `\nsum check: the fleet's days in Redis $${(fleetMicros / 1e6).toFixed(6)} vs the ${HOSTS} logs ` +
      `$${(logMicros / 1e6).toFixed(6)} (${fleetMicros === logMicros ? 'agree' : 'DIFFER'})`,
  );
  const goals = [
    ['fleet push per check, median (ms)', median(pushMs), '<= 2', (v) => v <= 2],
    ['check with fleet - without, median (ms)', addMs, '<= 2', (v) => v <= 2],
    ['fleet breach -> every flag, hosts logging (ms)', b.all, '<= 1000', (v) => v <= 1000],
    ['fleet breach -> every flag, quiet hosts (ms)', quiet.all, '<= 1000', (v) => v <= 1000],
  ];
  console.log('');
  for (const [name, value, target, ok] of goals) {
    console.log(
      `${pad(name, 46)} ${lpad(value.toFixed(2), 8)}   target ${pad(target, 8)} ` +
        `${ok(value) ? 'met' : 'NOT MET'}`,
    );
  }
  console.log(
    `client load cost: run with fleet - without ${(median(runFleet) - median(runPlain)).toFixed(1)} ms; ` +
      `importing the client's chunk(s) alone ${(median(loaded) - median(bare)).toFixed(1)} ms over bare node`,
  );
}
