// Prometheus metrics end to end: the real CLI writes metrics.textfile after every check, its
// counters carried across runs in the state folder; `promtool check metrics` (Debian's prometheus
// package) judges the files; a real HTTP server on 127.0.0.1 stands in for Slack.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  ccLine,
  cliAsync,
  DEFAULT_LIMITS,
  flagFile,
  lines,
  type Workspace,
  workspace,
} from './helpers.js';
import { startWatch } from './daemon.js';
import { alive, slackServer, startTree, waitFor } from './procs.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p)) ?? null;
if (PROMTOOL === null)
  console.warn('metrics.test.ts: promtool not found (apt-get install prometheus): its checks are skipped');
const NODE_EXPORTER =
  ['/usr/bin/prometheus-node-exporter', '/usr/local/bin/node_exporter'].find((p) => existsSync(p)) ?? null;
if (NODE_EXPORTER === null)
  console.warn(
    'metrics.test.ts: node_exporter not found (apt-get install prometheus-node-exporter): ' +
      'its scrape is skipped',
  );

const TEXTFILE = 'textfile/cost_watchdog.prom';

function config(extra = ''): string {
  return `log: state/cost_log.jsonl\n${DEFAULT_LIMITS}metrics:\n  textfile: ${TEXTFILE}\n${extra}`;
}

function metricsWorkspace(extra = ''): Workspace & { textfile: string } {
  const ws = workspace(config(extra));
  mkdirSync(path.join(ws.dir, 'textfile'));
  return Object.assign(ws, { textfile: path.join(ws.dir, TEXTFILE) });
}

/** The samples of an exposition file: `name{labels}` -> value. */
function samples(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function promtool(file: string): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL as string, ['check', 'metrics'], {
    input: readFileSync(file),
    encoding: 'utf8',
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('metrics.textfile after every run', () => {
  it('gives the figures of the check, and the counters add up across runs', () => {
    const ws = metricsWorkspace();
    ws.append(`${lines(3, 1)}not json\n`);
    const first = ws.run('run');
    expect(first.code, first.stderr).toBe(0);
    let s = samples(ws.textfile);
    expect(s.get('cost_watchdog_spend_usd{window="15m"}')).toBe(3);
    expect(s.get('cost_watchdog_spend_usd{window="daily"}')).toBe(3);
    expect(s.get('cost_watchdog_limit_usd{window="15m",level="kill"}')).toBe(8);
    expect(s.get('cost_watchdog_level{window="15m"}')).toBe(1);
    expect(s.get('cost_watchdog_level{window="daily"}')).toBe(0);
    expect(s.get('cost_watchdog_emergency_active')).toBe(0);
    expect(s.get('cost_watchdog_lines_total{kind="record"}')).toBe(3);
    expect(s.get('cost_watchdog_lines_total{kind="malformed"}')).toBe(1);
    expect(s.get('cost_watchdog_lines_total{kind="future"}')).toBe(0);
    expect(s.get('cost_watchdog_checks_total{result="ok"}')).toBe(1);
    expect(s.get('cost_watchdog_last_check_success')).toBe(1);
    expect(s.get('cost_watchdog_alerts_total{channel="console",result="sent"}')).toBe(1);
    const at = s.get('cost_watchdog_last_check_timestamp_seconds') as number;
    expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
    expect(s.get('cost_watchdog_check_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(s.get('cost_watchdog_check_duration_seconds')).toBeLessThan(30);
    expect([...s.keys()].some((k) => k.includes('scope') || k.includes('fleet'))).toBe(false);

    // Two more lines, one dated an hour ahead (counted as now): spend reaches emergency.
    ws.append(ccLine(1.5) + ccLine(1, -3600));
    const second = ws.run('run');
    expect(second.code, second.stderr).toBe(0);
    s = samples(ws.textfile);
    expect(s.get('cost_watchdog_spend_usd{window="15m"}')).toBe(5.5);
    expect(s.get('cost_watchdog_level{window="15m"}')).toBe(2);
    expect(s.get('cost_watchdog_emergency_active')).toBe(1);
    expect(existsSync(flagFile(ws))).toBe(true);
    expect(s.get('cost_watchdog_lines_total{kind="record"}')).toBe(5);
    expect(s.get('cost_watchdog_lines_total{kind="malformed"}')).toBe(1);
    expect(s.get('cost_watchdog_lines_total{kind="future"}')).toBe(1);
    expect(s.get('cost_watchdog_checks_total{result="ok"}')).toBe(2);
    expect(s.get('cost_watchdog_alerts_total{channel="console",result="sent"}')).toBe(2);
    expect(s.get('cost_watchdog_last_check_timestamp_seconds')).toBeGreaterThanOrEqual(at);

    // A third run that reads nothing new adds a check and nothing else.
    ws.run('run');
    s = samples(ws.textfile);
    expect(s.get('cost_watchdog_lines_total{kind="record"}')).toBe(5);
    expect(s.get('cost_watchdog_checks_total{result="ok"}')).toBe(3);
    expect(JSON.parse(readFileSync(path.join(ws.stateDir, 'metrics.json'), 'utf8'))).toMatchObject({
      version: 1,
      lines: { record: 5, malformed: 1, future: 1 },
      checks: { ok: 3, failed: 0 },
    });
  });

  it('is readable by all (0644) whatever the umask, and no temporary file is left beside it', () => {
    const ws = metricsWorkspace();
    ws.append(lines(1, 0.5));
    const r = spawnSync(
      '/bin/sh',
      ['-c', `umask 077; exec "${process.execPath}" "${BIN}" run -c "${ws.config}"`],
      {
        cwd: ws.dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(ws.textfile).mode & 0o777).toBe(0o644);
    expect(readdirSync(path.dirname(ws.textfile))).toEqual(['cost_watchdog.prom']);
  });

  it('--dry-run writes neither the textfile nor the counters', () => {
    const ws = metricsWorkspace();
    ws.append(lines(2, 1));
    const r = ws.run('run', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(ws.textfile)).toBe(false);
    expect(existsSync(path.join(ws.stateDir, 'metrics.json'))).toBe(false);
    // The real run after it counts the lines once.
    ws.run('run');
    expect(samples(ws.textfile).get('cost_watchdog_lines_total{kind="record"}')).toBe(2);
  });

  it('a missing folder is said on stderr with the path, and the check still succeeds', () => {
    const ws = workspace(config());
    ws.append(lines(1, 0.5));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    const folder = path.join(ws.dir, 'textfile');
    expect(r.stderr).toContain(
      `cost-watchdog: metrics textfile ${path.join(folder, 'cost_watchdog.prom')} not written: its folder ` +
        `${folder} does not exist`,
    );
    expect(existsSync(folder)).toBe(false);
    // The counters were kept: once the folder is made, the next run writes them all.
    mkdirSync(folder);
    ws.append(lines(1, 0.5));
    expect(ws.run('run').stderr).not.toContain('not written');
    expect(
      samples(path.join(folder, 'cost_watchdog.prom')).get('cost_watchdog_lines_total{kind="record"}'),
    ).toBe(2);
  });

  it('damaged counters start again at 0, with a note naming the file', () => {
    const ws = metricsWorkspace();
    ws.append(lines(2, 0.5));
    ws.run('run');
    const saved = path.join(ws.stateDir, 'metrics.json');
    writeFileSync(saved, '{"version":1,"lines":{"record":"many"}');
    ws.append(lines(1, 0.5));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`cost-watchdog: note: metrics counters ${saved} damaged (not JSON`);
    expect(r.stderr).toContain('they start again at 0');
    expect(samples(ws.textfile).get('cost_watchdog_lines_total{kind="record"}')).toBe(1);
    // Saved again whole: the next run has no note.
    expect(ws.run('run').stderr).not.toContain('damaged');
  });

  it('without metrics.textfile or http.listen, nothing is written', () => {
    const ws = workspace();
    ws.append(lines(1, 0.5));
    expect(ws.run('run').code).toBe(0);
    expect(existsSync(path.join(ws.stateDir, 'metrics.json'))).toBe(false);
  });

  it('counts a kill that signalled the target, Slack alerts sent, and a failed check', async () => {
    const slack = await slackServer();
    const ws = metricsWorkspace(
      'slack:\n  webhook_url_env: CW_TEST_WEBHOOK\ntarget:\n  pid_file: state/app.pid\n  grace: 1s\n',
    );
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    ws.append(lines(3, 3));
    const env = { CW_TEST_WEBHOOK: slack.url };
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the target to be gone', () => !alive(tree.pid));
    let s = samples(ws.textfile);
    expect(s.get('cost_watchdog_kills_total')).toBe(1);
    expect(s.get('cost_watchdog_level{window="15m"}')).toBe(3);
    expect(s.get('cost_watchdog_alerts_total{channel="slack",result="sent"}')).toBe(slack.requests.length);
    expect(slack.requests.length).toBeGreaterThan(0);
    // The log taken away: the check fails (exit 1), and says so in the metrics.
    writeFileSync(
      ws.config,
      readFileSync(ws.config, 'utf8').replace('state/cost_log.jsonl', 'state/gone.jsonl'),
    );
    const failed = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(failed.code).toBe(1);
    s = samples(ws.textfile);
    expect(s.get('cost_watchdog_last_check_success')).toBe(0);
    expect(s.get('cost_watchdog_checks_total{result="failed"}')).toBe(1);
    expect(s.get('cost_watchdog_checks_total{result="ok"}')).toBe(1);
    expect(s.get('cost_watchdog_kills_total')).toBe(1);
  });

  it('counts a Slack that refuses as failed', async () => {
    const slack = await slackServer([{ status: 403, body: 'invalid_token' }]);
    const ws = metricsWorkspace('slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n');
    ws.append(lines(1, 3.5));
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env: { CW_TEST_WEBHOOK: slack.url } });
    expect(r.code, r.stderr).toBe(0);
    const s = samples(ws.textfile);
    expect(s.get('cost_watchdog_alerts_total{channel="slack",result="failed"}')).toBe(1);
    expect(s.has('cost_watchdog_alerts_total{channel="slack",result="sent"}')).toBe(false);
  });
});

const SCOPES = `scopes:
  - name: every-agent
    each: agent
    limits: { daily: { warn: 1, emergency: 50, kill: 60 } }
  - name: research
    match: { agent: research }
    limits: { daily: { warn: 100 } }
`;

function agentLine(cost: number, agent: string): string {
  return `${JSON.stringify({ t: Date.now() / 1000 - 5, cost, agent })}\n`;
}

describe('scoped budgets in the metrics', () => {
  it('one series per instance status lists, keyed `agent=<value>`; hostile names escaped', () => {
    const ws = metricsWorkspace(SCOPES);
    const hostile = 'evil"} 1\nfake_metric 2 \\';
    ws.append(agentLine(2, 'research') + agentLine(0.25, 'writer') + agentLine(1.5, hostile));
    const r = ws.run('run');
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(ws.textfile, 'utf8');
    const s = samples(ws.textfile);
    expect(
      s.get('cost_watchdog_scope_spend_usd{scope="every-agent",key="agent=research",window="daily"}'),
    ).toBe(2);
    expect(s.get('cost_watchdog_scope_level{scope="every-agent",key="agent=research",window="daily"}')).toBe(
      1,
    );
    expect(
      s.get('cost_watchdog_scope_spend_usd{scope="every-agent",key="agent=writer",window="daily"}'),
    ).toBe(0.25);
    expect(s.get('cost_watchdog_scope_spend_usd{scope="research",key="",window="daily"}')).toBe(2);
    expect(s.get('cost_watchdog_scope_limit_usd{scope="every-agent",window="daily",level="kill"}')).toBe(60);
    expect(text).toContain('key="agent=evil\\"} 1\\nfake_metric 2 \\\\",window="daily"} 1.5');
    expect(text).not.toMatch(/^fake_metric/m);
  });

  describe.skipIf(PROMTOOL === null)('promtool check metrics', () => {
    it('passes the file of a run with scopes and hostile label values', () => {
      const ws = metricsWorkspace(SCOPES);
      ws.append(`${agentLine(2, 'a"b')}${agentLine(1, 'back\\slash')}${agentLine(1, 'new\nline')}junk\n`);
      expect(ws.run('run').code).toBe(0);
      const r = promtool(ws.textfile);
      expect(r.out).toBe('');
      expect(r.code).toBe(0);
    });

    it('passes the file of a run with a prepaid balance, burning', () => {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const ws = workspace(
        `log: state/cost_log.jsonl\n${DEFAULT_LIMITS}  balance: { since: "${since}", usd: 10, warn: 50% }\n` +
          `metrics:\n  textfile: ${TEXTFILE}\n`,
      );
      mkdirSync(path.join(ws.dir, 'textfile'));
      const textfile = path.join(ws.dir, TEXTFILE);
      ws.append(lines(2, 3));
      expect(ws.run('run').code).toBe(0);
      const s = samples(textfile);
      expect(s.get('cost_watchdog_spend_usd{window="balance"}')).toBe(6);
      expect(s.get('cost_watchdog_level{window="balance"}')).toBe(1);
      expect(s.get('cost_watchdog_balance_left_usd')).toBe(4);
      expect(s.get('cost_watchdog_balance_runs_out_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000);
      expect(promtool(textfile)).toEqual({ code: 0, out: '' });
    });

    it('passes the file of a plain run, and fails a broken file (the check is real)', () => {
      const ws = metricsWorkspace();
      ws.append(lines(2, 1));
      ws.run('run');
      expect(promtool(ws.textfile)).toEqual({ code: 0, out: '' });
      writeFileSync(ws.textfile, 'cost_watchdog_spend_usd{window="15m" 1\n');
      expect(promtool(ws.textfile).code).not.toBe(0);
    });
  });
});

describe('metrics under watch', () => {
  it('the textfile follows each check, and alerts the sender sent count at the next check', async () => {
    const slack = await slackServer();
    const ws = metricsWorkspace('slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n');
    ws.append(lines(1, 0.5));
    const daemon = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    await waitFor('the first textfile', () => existsSync(ws.textfile) && samples(ws.textfile).size > 0);
    ws.append(lines(1, 3));
    await waitFor(
      'the warn in the textfile',
      () => samples(ws.textfile).get('cost_watchdog_level{window="15m"}') === 1,
    );
    await waitFor('the alert sent', () => slack.requests.length === 1);
    ws.append(lines(1, 0.25));
    // The sent alert is counted at the next check: one the sender's own save may start before the
    // append is read, so the two are waited for together.
    await waitFor('the sent alert counted, and the third line', () => {
      const now = samples(ws.textfile);
      return (
        now.get('cost_watchdog_alerts_total{channel="slack",result="sent"}') === 1 &&
        now.get('cost_watchdog_lines_total{kind="record"}') === 3
      );
    });
    expect(slack.requests.length).toBe(1);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
});

describe.skipIf(PROMTOOL === null)('the alert rules of docs/operations.md', () => {
  it('pass promtool check rules', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/operations.md', import.meta.url)), 'utf8');
    const section = doc.slice(doc.indexOf('### Alert rules'));
    const rules = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    expect(rules).toContain('CostWatchdogSilent');
    const ws = workspace();
    const file = path.join(ws.dir, 'rules.yml');
    writeFileSync(file, rules);
    const r = spawnSync(PROMTOOL as string, ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 7 rules found');
  });
});

describe.skipIf(NODE_EXPORTER === null)('node_exporter', () => {
  it('serves the textfile as written, without a scrape error', async () => {
    const ws = metricsWorkspace(SCOPES);
    ws.append(agentLine(2, 'research') + agentLine(1, 'say "hi"\n'));
    expect(ws.run('run').code).toBe(0);
    const port = await freePort();
    const exporter = spawn(
      NODE_EXPORTER as string,
      [
        `--web.listen-address=127.0.0.1:${port}`,
        '--collector.disable-defaults',
        '--collector.textfile',
        `--collector.textfile.directory=${path.dirname(ws.textfile)}`,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => exporter.on('close', resolve));
    try {
      let body = '';
      const deadline = Date.now() + 20_000;
      while (body === '') {
        try {
          body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`node_exporter did not answer: ${error}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(body).toContain('node_textfile_scrape_error 0');
      expect(body).toContain('cost_watchdog_spend_usd{window="15m"} 3');
      expect(body).toContain(
        'cost_watchdog_scope_spend_usd{key="agent=say \\"hi\\"\\n",scope="every-agent",window="daily"} 1',
      );
      expect(body).toMatch(/^cost_watchdog_lines_total\{kind="record"\} 2$/m);
    } finally {
      exporter.kill('SIGTERM');
      await exited;
    }
  });
});
