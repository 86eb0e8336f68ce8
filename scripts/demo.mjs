#!/usr/bin/env node
// npm run demo: a runaway agent, and the watchdog stopping it. In a temporary folder:
//   - a simulated agent writes Cost-Control-style lines ($0.05 every 100 ms, $30/minute), writes
//     its PID file, ignores the emergency flag and even SIGTERM;
//   - a stand-in for Slack listens on 127.0.0.1 and prints what it receives;
//   - `cost-watchdog run` runs every second, as a timer would, and goes warn -> emergency -> kill.
// Ends by itself in under 30 seconds and leaves nothing running.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/cost-watchdog.js', import.meta.url));
const HARD_STOP_MS = 25_000;
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const say = (text) => console.log(paint('1;36', `\n== ${text}`));

const dir = mkdtempSync(path.join(tmpdir(), 'cost-watchdog-demo-'));
const state = path.join(dir, 'state');
mkdirSync(state);
let agent = null;
let server = null;

function cleanUp() {
  if (agent !== null && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
  server?.closeAllConnections?.();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// The Slack stand-in: an incoming webhook that prints each message.
server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    let text = body;
    try {
      text = JSON.parse(body).text;
    } catch {
      // shown as it came
    }
    console.log(
      paint(
        '35',
        text
          .split('\n')
          .map((l, i) => `${i === 0 ? '  [slack] ' : '          '}${l}`)
          .join('\n'),
      ),
    );
    res.end('ok');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const webhook = `http://127.0.0.1:${server.address().port}/services/DEMO/DEMO/demo`;

const config = path.join(dir, 'watchdog.yaml');
writeFileSync(
  config,
  `# the demo's config
log: state/cost_log.jsonl
limits:
  15m:   { warn: 1, emergency: 2, kill: 3 }
  daily: { warn: 20, emergency: 25, kill: 30 }
target:
  pid_file: state/app.pid
  grace: 2s
`,
  { mode: 0o644 },
);

say(`config (${config})`);
console.log(readFileSync(config, 'utf8').trimEnd());

// The runaway agent: writes a billed call every 100 ms, never checks the flag, ignores SIGTERM.
const agentScript =
  `
  const fs = require('node:fs');
  const log = ${JSON.stringify(path.join(state, 'cost_log.jsonl'))};
  fs.writeFileSync(${JSON.stringify(path.join(state, 'app.pid'))}, String(process.pid));
  process.on('SIGTERM', () => { /* a runaway loop that does not listen */ });
  let n = 0;
  setInterval(() => {
    n++;
    const line = { t: Date.now() / 1000, request_id: 'retry-' + n, in: 1200, out: 300, cost: ` +
  `0.05, model: 'gpt-4o', agent: 'batch-retrier' };
    fs.appendFileSync(log, JSON.stringify(line) + '\\n');
  }, 100);
`;
say('starting a runaway agent: $0.05 every 100 ms, ignores the flag and SIGTERM');
agent = spawn(process.execPath, ['-e', agentScript], { stdio: 'ignore' });
const agentPid = agent.pid;
console.log(`agent pid ${agentPid}`);
const agentGone = new Promise((resolve) => agent.on('exit', (code, signal) => resolve(signal ?? code)));
let gone = null;
agentGone.then((how) => (gone = how));

function runCli(args, extraEnv) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...extraEnv, NO_COLOR: color ? '' : '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const started = Date.now();
await new Promise((r) => setTimeout(r, 600));
say('running `cost-watchdog run` every second, as a systemd timer or cron would');
let round = 0;
let afterKill = 0;
while (Date.now() - started < HARD_STOP_MS) {
  round++;
  const t = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    paint('2', `-- t=${t}s  run #${round}  (agent ${gone === null ? 'running' : `dead: ${gone}`})`),
  );
  // Not spawnSync: the Slack stand-in in this process must keep answering while the run posts.
  const r = await runCli(['run', '-c', config], { SLACK_WEBHOOK_URL: webhook });
  process.stdout.write(
    r.stdout
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('daily'))
      .map((l) => `  ${l}\n`)
      .join(''),
  );
  for (const l of r.stderr.split('\n').filter(Boolean))
    console.log(paint('33', `  ${l.replace(/^cost-watchdog: /, '[stderr] ')}`));
  await new Promise((r2) => setTimeout(r2, 100)); // let the Slack stand-in print
  if (gone !== null && ++afterKill >= 1) break;
  await new Promise((r2) => setTimeout(r2, 900));
}

if (gone === null) {
  console.error(paint('31', 'the agent is still running after 25 s: the demo failed'));
  process.exitCode = 1;
} else {
  say('the emergency flag the app would honour');
  console.log(readFileSync(path.join(state, 'cost_emergency.flag'), 'utf8').trimEnd());
  say('`cost-watchdog status`');
  const s = await runCli(['status', '-c', config], {});
  process.stdout.write(s.stdout);
  say('the audit log records every decision and action (state_dir/audit.jsonl)');
  const audit = readFileSync(path.join(dir, '.cost-watchdog', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const kinds = new Map();
  for (const e of audit) kinds.set(e.event, (kinds.get(e.event) ?? 0) + 1);
  console.log([...kinds].map(([k, n]) => `${k} x${n}`).join(', '));
  say(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s: the agent (pid ${agentPid}) was killed` +
      (existsSync(path.join(state, 'cost_emergency.flag'))
        ? ' and the flag stays until `cost-watchdog clear-emergency --reason ...`'
        : ''),
  );
}
process.exit();
