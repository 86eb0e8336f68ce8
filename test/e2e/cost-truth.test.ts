// Cost truth end to end: the real CLI against logs where the app hides or misstates its spend,
// a real target process, real files, and a real HTTP server on 127.0.0.1 standing in for Slack.
import { execFileSync } from 'node:child_process';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusJson, StatusWindowJson } from '../../src/commands/render/status-json.js';
import { alertsIn, cliAsync, flagFile, readJsonFile, type Workspace, workspace } from './helpers.js';
import { alive, slackServer, startTree, waitFor } from './procs.js';

const M = 1_000_000;
const now = (): number => Date.now() / 1000;

/** One log line as an agent writes it. */
function call(fields: Record<string, unknown>, agoSec = 30): string {
  return `${JSON.stringify({ t: Number((now() - agoSec).toFixed(3)), ...fields })}\n`;
}

function statusJson(ws: Workspace): { code: number | null; json: StatusJson } {
  const r = ws.run('status', '--json');
  return { code: r.code, json: JSON.parse(r.stdout) as StatusJson };
}

const LIMITS =
  'limits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { warn: 20, emergency: 25, kill: 30 }\n';

describe('cost from tokens', () => {
  it('a log of cost 0 with tokens crosses the kill limit: flag, kill, and the alert says why', async () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\n${LIMITS}target:\n  pid_file: state/app.pid\n  grace: 1s\n`,
    );
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    // gpt-4o: $2.50 / $10 per million. Three calls of 1M in + 100k out = $3.50 each, logged as 0.
    for (let i = 0; i < 3; i++)
      ws.append(call({ request_id: `c${i}`, model: 'gpt-4o', in: M, out: 100_000, cost: 0 }));
    const r = ws.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.windows['15m']?.spend_usd).toBeCloseTo(10.5, 6);
    expect(r.json.windows['15m']?.level).toBe('kill');
    expect(existsSync(flagFile(ws))).toBe(true);
    for (const pid of [tree.pid, ...tree.children]) await waitFor(`pid ${pid} gone`, () => !alive(pid));
    const [alert] = alertsIn(r.stderr);
    expect(alert).toContain('KILL: 15m spend $10.50 crossed the kill limit $8.00');
    expect(alert).toContain(
      'the app logged cost 0 for 3 calls with tokens; counted from their tokens instead ($10.50)',
    );
    expect(alert).toContain('top models (15m): gpt-4o $10.50');
  });

  it('reported, estimated and max count the same log differently', () => {
    const log =
      call({ model: 'gpt-4o-mini', in: M, out: M, cost: 0.1 }) + // estimate $0.75
      call({ model: 'gpt-4o-mini', in: 1000, out: 0, cost: 2 }) + // estimate $0.00015
      call({ model: 'gpt-4o-mini', in: M, out: 0 }); // no logged cost: $0.15 under every policy
    const spend: Record<string, number> = {};
    for (const policy of ['reported', 'estimated', 'max']) {
      const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}cost:\n  policy: ${policy}\n`);
      ws.append(log);
      spend[policy] = ws.runJson().json.windows.daily?.spend_usd as number;
    }
    expect(spend.reported).toBeCloseTo(0.1 + 2 + 0.15, 6);
    expect(spend.estimated).toBeCloseTo(0.75 + 0.00015 + 0.15, 6);
    expect(spend.max).toBeCloseTo(0.75 + 2 + 0.15, 6);
  });

  it(
    'a model without a price and no logged cost counts at the unpriced rate, alerted once, shown by ' +
      'status',
    () => {
      const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}cost:\n  unpriced_per_million_tokens: 50\n`);
      ws.append(call({ model: 'acme-llm-9', in: 40_000, out: 20_000 }));
      const first = ws.runJson();
      expect(first.json.windows['15m']?.spend_usd).toBeCloseTo(3, 6); // 60k tokens at $50/M
      expect(alertsIn(first.stderr).join('\n')).toContain(
        'model "acme-llm-9" has no price: 1 call without a logged cost counted at $50.00 per million ' +
          'tokens ($3.00 so far); set cost.prices for it',
      );
      ws.append(call({ model: 'acme-llm-9', in: 1000, out: 0 }));
      const second = ws.runJson();
      expect(alertsIn(second.stderr).join('\n')).not.toContain('has no price');
      const { code, json } = statusJson(ws);
      expect(code).toBe(1); // WARNING: spend counted at a guess
      expect(json.cost.unpriced_models).toEqual([
        expect.objectContaining({
          model: 'acme-llm-9',
          lines: 2,
          tokens: 61_000,
          counted_at_unpriced_rate: 2,
        }),
      ]);
      expect(json.warnings.map((w) => w.kind)).toContain('unpriced');
    },
  );

  it('cost.prices prices a private model; the alert never shows it as unpriced', () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\n${LIMITS}cost:\n  prices:\n    acme-llm-9: { input: 10, output: 40 }\n`,
    );
    ws.append(call({ model: 'acme-llm-9', in: 100_000, out: 50_000, cost: 0 }));
    const r = ws.runJson();
    expect(r.json.windows['15m']?.spend_usd).toBeCloseTo(1 + 2, 6);
    expect(r.stderr).not.toContain('has no price');
  });
});

describe("the app's state file", () => {
  const STATE = `log: state/cost_log.jsonl\nstate_file: state/cost_tracker.json\n${LIMITS}`;
  const writeState = (ws: Workspace, state: Record<string, unknown>): void =>
    writeFileSync(path.join(ws.dir, 'state', 'cost_tracker.json'), JSON.stringify(state));

  it('an app that under-reports is alerted on Slack, once; status shows both figures', async () => {
    const slack = await slackServer();
    const ws = workspace(STATE);
    ws.append(
      call({ request_id: 'a', in: 1200, out: 300, cost: 2.5 }, 60) +
        call({ request_id: 'b', in: 1200, out: 300, cost: 0.0405 }, 20),
    );
    writeState(ws, { updated_at: now() - 10, cost_15min: 0.0405, cost_daily: 0.0405, emergency_mode: false });
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    const texts = slack.requests.map((q) => (JSON.parse(q.body) as { text: string }).text);
    expect(texts.join('\n')).toContain(
      'app under-reports: its 15m spend (cost_15min) is $0.04, the watchdog counts $2.54 from the ' +
        'log ($2.50 more)',
    );
    const again = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(again.code).toBe(0);
    expect(slack.requests.length).toBe(1);
    const { code, json } = statusJson(ws);
    expect(code).toBe(1);
    const app = json.app;
    expect(app?.status).toBe('ok');
    expect(app?.windows['15m']).toEqual({ key: 'cost_15min', app_usd: 0.0405, watchdog_usd: 2.5405 });
    expect(app?.emergency).toBe(false);
    expect((json.windows['15m'] as StatusWindowJson | undefined)?.app_usd).toBe(0.0405);
  });

  it('within the tolerance: nothing to say', () => {
    const ws = workspace(STATE);
    ws.append(call({ in: 1200, out: 300, cost: 2.4 }, 20));
    writeState(ws, { updated_at: now() - 5, cost_15min: 2.0, cost_daily: 2.0 });
    const r = ws.runJson();
    expect(r.stderr).not.toContain('under-reports');
    expect(statusJson(ws).json.warnings).toEqual([]);
  });

  it('a state that stopped while the log still grows is stale', () => {
    const ws = workspace(STATE);
    ws.append(call({ in: 1, out: 1, cost: 0.01 }, 5));
    writeState(ws, { updated_at: now() - 3600, cost_15min: 0, cost_daily: 0.01 });
    const r = ws.runJson();
    expect(alertsIn(r.stderr).join('\n')).toMatch(
      /app state is stale: .*cost_tracker\.json was last updated 1h\d*m?\d*s? before the cost log last grew/,
    );
  });

  it('the emergency alert says when the app claims not to be in emergency mode', () => {
    const ws = workspace(STATE);
    ws.append(call({ in: 1, out: 1, cost: 6 }, 10));
    writeState(ws, { updated_at: now() - 1, cost_15min: 6, cost_daily: 6, emergency_mode: false });
    const r = ws.runJson();
    expect(existsSync(flagFile(ws))).toBe(true);
    const [alert] = alertsIn(r.stderr);
    expect(alert).toContain('EMERGENCY: 15m spend $6.00 crossed the emergency limit $5.00');
    expect(alert).toContain(
      "the app says it is not in emergency mode (emergency_mode: false) while the watchdog's level " +
        'is emergency',
    );
  });

  it('a missing or unreadable state file is reported, never fatal', () => {
    const ws = workspace(STATE);
    ws.append(call({ in: 1, out: 1, cost: 0.5 }, 10));
    const missing = ws.runJson();
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain('app state file');
    expect(missing.stderr).toContain('does not exist');
    writeFileSync(path.join(ws.dir, 'state', 'cost_tracker.json'), '{"updated_at": 17');
    const broken = ws.runJson();
    expect(broken.code).toBe(0);
    const { code, json } = statusJson(ws);
    expect(code).toBe(1);
    expect(json.app).toMatchObject({ status: 'unreadable' });
    expect(json.warnings.map((w) => w.key)).toContain('app-state:unreadable');
  });
});

describe('retry storms', () => {
  it('the same request id billed again and again, across runs, flags at the emergency level', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    for (let i = 0; i < 3; i++)
      ws.append(call({ request_id: 'batch-17', in: 1200, out: 300, cost: 0.04 }, 120 - i));
    expect(ws.runJson().json.windows['15m']?.level).toBe('ok');
    expect(existsSync(flagFile(ws))).toBe(false);
    for (let i = 0; i < 3; i++)
      ws.append(call({ request_id: 'batch-17', in: 1200, out: 300, cost: 0.04 }, 60 - i));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    const flag = readJsonFile(flagFile(ws)) as Record<string, unknown>;
    expect(flag).toMatchObject({ window: 'retry-storm', level: 'emergency', triggered_by: 'run' });
    expect(flag.reason).toBe('retry storm: request_id "batch-17" seen 6 times in 15m ($0.24)');
    expect(alertsIn(r.stderr)[0]).toContain(
      'EMERGENCY: retry storm: request_id "batch-17" seen 6 times in 15m ($0.24)',
    );
    const { code, json } = statusJson(ws);
    expect(code).toBe(2);
    expect(json.retry_storms?.storms).toEqual([
      expect.objectContaining({ id: 'batch-17', count: 6, spend_usd: 0.24 }),
    ]);
  });

  it('clear-emergency refuses while the storm lasts, unless forced; forced, the flag stays away', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    for (let i = 0; i < 5; i++) ws.append(call({ request_id: 'r9', cost: 0.01 }, 30 - i));
    ws.runJson();
    expect(existsSync(flagFile(ws))).toBe(true);
    const refused = ws.run('clear-emergency', '--reason', 'looked at it');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('retry storm: request_id "r9" seen 5 times');
    expect(ws.run('clear-emergency', '--reason', 'fixed the queue', '--force').code).toBe(0);
    ws.runJson();
    expect(existsSync(flagFile(ws))).toBe(false);
  });

  it('lines without an id (missing, null, empty, "unknown") are never grouped', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    for (const id of [undefined, null, '', 'unknown', 'UNKNOWN']) {
      for (let i = 0; i < 6; i++)
        ws.append(call({ ...(id === undefined ? {} : { request_id: id }), cost: 0.01 }, 30 - i));
    }
    const r = ws.runJson();
    expect(r.stderr).not.toContain('retry storm');
    expect(existsSync(flagFile(ws))).toBe(false);
  });

  it('keyed by fingerprint, at the warn level: alerted, no flag', () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\n${LIMITS}retry_storm:\n  key: fingerprint\n  count: 3\n  level: warn\n`,
    );
    for (let i = 0; i < 3; i++)
      ws.append(call({ request_id: `distinct-${i}`, fingerprint: 'prompt-abc', cost: 0.01 }, 30 - i));
    const r = ws.runJson();
    expect(alertsIn(r.stderr)[0]).toContain(
      'WARN: retry storm: fingerprint "prompt-abc" seen 3 times in 15m',
    );
    expect(existsSync(flagFile(ws))).toBe(false);
  });
});

describe('burn rate', () => {
  it('warns when the daily kill limit will be reached at this pace, before any limit is crossed', () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  daily: { kill: 240 }\n');
    // $101 between 5 and 55 minutes ago, $9 in the last 5 minutes: 10x the even pace of $240/day in both.
    let text = '';
    for (let i = 0; i < 50; i++) text += call({ cost: 101 / 50 }, 330 + i * 60);
    for (let i = 0; i < 9; i++) text += call({ cost: 1 }, 10 + i * 20);
    ws.append(text);
    const r = ws.runJson();
    expect(r.json.windows.daily?.level).toBe('ok');
    expect(existsSync(flagFile(ws))).toBe(false);
    const [alert] = alertsIn(r.stderr);
    expect(alert).toMatch(
      new RegExp(
        String.raw`WARNING: burn rate: \$9\.00 in the last 5m and \$110\.00 in the ` +
          String.raw`last 1h, \d+x the even pace of the daily kill limit \$240\.00; at ` +
          String.raw`this rate the daily kill limit is reached at \d\d:\d\d`,
      ),
    );
    const burn = statusJson(ws).json.burn_rate;
    expect(burn?.burning).toBe(true);
    expect(Date.parse(burn?.daily_limit_reached_at ?? '')).toBeGreaterThan(Date.now());
  });
});

describe('blind spots', () => {
  it('a silent log while the target runs is alerted; not when the target is gone', async () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\n${LIMITS}target:\n  pid_file: state/app.pid\n  grace: ` +
        `1s\nsilence:\n  after: 30m\n`,
    );
    ws.append(call({ cost: 0.01 }, 7200));
    const old = Date.now() / 1000 - 7200;
    utimesSync(ws.log, old, old);
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    const r = ws.runJson();
    expect(alertsIn(r.stderr).join('\n')).toMatch(
      new RegExp(
        'cost log silent while the app runs — its accounting may be broken ' +
          String.raw`\(.*cost_log\.jsonl has not grown for 2h\d*m?\d*s?\)`,
      ),
    );
    tree.parent.kill('SIGKILL');
    for (const pid of tree.children) process.kill(pid, 'SIGKILL');
    await waitFor('the target gone', () => !alive(tree.pid));
    const quiet = workspace(
      `log: state/cost_log.jsonl\n${LIMITS}target:\n  pid_file: state/app.pid\nsilence:\n  after: 30m\n`,
    );
    quiet.append(call({ cost: 0.01 }, 7200));
    utimesSync(quiet.log, old, old);
    expect(quiet.runJson().stderr).not.toContain('silent');
  });

  it(
    'lines from the future count as now and are alerted ' + 'once; a log behind its write time is reported',
    () => {
      const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
      ws.append(call({ cost: 1 }, -3600));
      const first = ws.runJson();
      expect(first.json.windows['15m']?.spend_usd).toBe(1);
      expect(alertsIn(first.stderr).join('\n')).toContain(
        '1 line dated more than 5 minutes in the future (clock skew?) were counted as now',
      );
      ws.append(call({ cost: 1 }, -3600));
      expect(alertsIn(ws.runJson().stderr).join('\n')).not.toContain('in the future');
      const behind = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
      behind.append(call({ cost: 1 }, 1800));
      expect(alertsIn(behind.runJson().stderr).join('\n')).toContain("the log's newest line is dated 30m");
      // status shows it too, after the run that read the line (a blind spot while it lasts).
      expect(statusJson(behind).json.warnings.map((w) => w.key)).toContain('log-behind');
    },
  );
});

describe('status shows who spent', () => {
  it('top models and agents per window', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${LIMITS}`);
    ws.append(
      call({ model: 'gpt-4o', agent: 'planner', cost: 2 }) +
        call({ model: 'gpt-4o-mini', agent: 'coder', cost: 0.5 }) +
        call({ model: 'gpt-4o', agent: 'coder', cost: 1 }),
    );
    const { json } = statusJson(ws);
    const w = json.windows['15m'] as StatusWindowJson | undefined;
    expect(w?.top_models).toEqual([
      { name: 'gpt-4o', spend_usd: 3 },
      { name: 'gpt-4o-mini', spend_usd: 0.5 },
    ]);
    expect(w?.top_agents).toEqual([
      { name: 'planner', spend_usd: 2 },
      { name: 'coder', spend_usd: 1.5 },
    ]);
    const human = ws.run('status');
    expect(human.stdout).toContain('top models: gpt-4o $3.00, gpt-4o-mini $0.50');
    expect(human.stdout).toContain('top agents: planner $2.00, coder $1.50');
  });
});

describe('hostile files in the places the app owns', () => {
  it('a named pipe as the state file or the PID file does not hang the check', () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\nstate_file: state/cost_tracker.json\n${LIMITS}target:\n  ` +
        `pid_file: state/app.pid\n`,
    );
    ws.append(call({ cost: 0.5 }, 10));
    for (const name of ['cost_tracker.json', 'app.pid'])
      execFileSync('mkfifo', [path.join(ws.dir, 'state', name)]);
    const started = Date.now();
    const r = ws.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.stderr).toContain('cost_tracker.json cannot be read: not a regular file');
    const status = ws.run('status');
    expect(status.stdout).toContain('PID file');
    expect(status.stdout).toContain('not a regular file');
  });
});

describe('currencies', () => {
  it(
    'mixed-currency lines count in USD at the configured rates; a currency without a rate is ' +
      'malformed, alerted once, and counts once its rate is added',
    () => {
      const config = (rates: string): string =>
        `log: state/cost_log.jsonl\n${LIMITS}cost:\n  currency_rates: { ${rates} }\n`;
      const ws = workspace(config('EUR: 1.08, GBP: 1.27'));
      ws.append(
        call({ request_id: 'a', cost: 1 }) + // USD
          call({ request_id: 'b', cost: 1, currency: 'EUR' }) + // $1.08
          call({ request_id: 'c', cost: 2, currency: 'GBP' }) + // $2.54
          call({ request_id: 'd', cost: 5, currency: 'CHF' }), // no rate: malformed
      );
      const first = ws.runJson();
      expect(first.code, first.stderr).toBe(0);
      expect(first.json.windows['15m']?.spend_usd).toBe(4.62);
      expect(first.json.malformed_lines).toBe(1);
      const said = alertsIn(first.stderr).join('\n');
      expect(said).toContain('1 line logged a cost in "CHF", which has no rate in cost.currency_rates');
      const status = statusJson(ws);
      expect(status.code).toBe(1); // WARNING while the finding holds
      expect(JSON.stringify(status.json)).toContain('has no rate in cost.currency_rates');

      ws.append(call({ request_id: 'e', cost: 1, currency: 'CHF' }));
      const second = ws.runJson();
      expect(second.json.malformed_lines).toBe(2);
      expect(alertsIn(second.stderr).join('\n')).not.toContain('"CHF"');

      // The rate added: the log is read again, and the CHF lines count ($1.10 per franc).
      writeFileSync(path.join(ws.dir, 'watchdog.yaml'), config('EUR: 1.08, GBP: 1.27, CHF: 1.1'));
      const third = ws.runJson();
      expect(third.code, third.stderr).toBe(0);
      expect(third.json.malformed_lines).toBe(0);
      expect(third.json.windows['15m']?.spend_usd).toBe(11.22);
      expect(third.stderr).toContain('cost.currency_rates changed');
    },
  );

  it('limits written in euros are compared in dollars at the rate', () => {
    const ws = workspace(
      'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 1, emergency: 5 }\n' +
        'cost:\n  currency_rates: { EUR: 1.08 }\n  limits_currency: EUR\n',
    );
    // Five euros exactly, logged as 100 lines of 0.05 EUR: the emergency limit of 5 EUR ($5.40).
    ws.append(
      Array.from({ length: 100 }, (_, i) => call({ request_id: `r${i}`, cost: 0.05, currency: 'EUR' })).join(
        '',
      ),
    );
    const r = ws.runJson();
    expect(r.json.windows['15m']?.spend_usd).toBe(5.4);
    expect(r.json.windows['15m']?.limits).toEqual({ warn: 1.08, emergency: 5.4 });
    expect(r.json.windows['15m']?.level).toBe('emergency');
  });

  it(
    'display_currency: status, run and the alert on a Slack stand-in in euros; --json stays USD, ' +
      'the limits stay where the config put them',
    async () => {
      const slack = await slackServer();
      const ws = workspace(
        'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 3, emergency: 5.4 }\n' +
          'cost:\n  currency_rates: { EUR: 1.08 }\n  display_currency: EUR\n',
      );
      ws.append(call({ request_id: 'a', cost: 3.24 }) + call({ request_id: 'b', cost: 2.7 })); // $5.94
      const run = await cliAsync(['run', '-c', ws.config], {
        cwd: ws.dir,
        env: { SLACK_WEBHOOK_URL: slack.url },
      });
      expect(run.code, run.stderr).toBe(0);
      expect(existsSync(flagFile(ws))).toBe(true);
      // $5.94 = €5.50 against the emergency limit of $5.40 = €5.00.
      expect(slack.requests.length).toBe(1);
      const alert = slack.requests[0]?.text ?? '';
      expect(alert).toContain('crossed the emergency limit €5.00');
      expect(alert).toContain('15m: €5.50');
      expect(alert).toContain('figures in EUR (1 EUR = 1.08 USD)');
      expect(alert).not.toMatch(/\$\d/);
      expect(run.stdout + run.stderr).toContain('€5.50');

      const text = ws.run('status');
      expect(text.code).toBe(2);
      expect(text.stdout).toContain('€5.50');
      expect(text.stdout).toContain('warn €2.77 / emergency €5.00');
      expect(text.stdout).toContain('figures in EUR (1 EUR = 1.08 USD); limits written in USD');
      expect(text.stdout.split('\n').slice(1).join('\n')).not.toMatch(/\$\d/);
      const json = statusJson(ws).json;
      expect(json.windows['15m']).toMatchObject({ spend_usd: 5.94, limits: { warn: 3, emergency: 5.4 } });

      // The first line's perfdata stays in dollars (what a monitoring system graphs); its words are euros.
      const [words, perf] = (text.stdout.split('\n')[0] ?? '').split(' | ');
      expect(perf).toContain("'spend_15m'=5.94;3;5.4;0");
      expect(words).toContain('€5.50');
    },
  );
});
