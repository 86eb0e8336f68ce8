// Reconciling with the providers, end to end: the real CLI (`run`, `status`, `watch`, `validate`)
// against stand-ins for OpenAI's and Anthropic's admin APIs on 127.0.0.1 (provider-standins.ts,
// shaped like the documented examples) and a Slack stand-in. Spend the logs never show is found,
// named (provider, minutes, models, project) and acted on at unlogged_level; spend that is logged
// is not; the state, the JSON and the metrics say the figures; the admin key is never printed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { startWatch } from './daemon.js';
import { cliAsync, flagFile } from './helpers.js';
import { alive, slackServer, startTree, waitFor } from './procs.js';
import { anthropicStandIn, minuteOf, openaiStandIn } from './provider-standins.js';
import { expectNoKey, line, MINUTE, priced, setup, until } from './reconcile-support.js';

describe('reconcile under run', () => {
  it('finds spend the logs never show, names it, and acts at unlogged_level (flag, alert)', async () => {
    const slack = await slackServer();
    const openai = await openaiStandIn();
    const s = setup([openai], { slack: slack.url });
    const at = minuteOf(Date.now() - 3 * MINUTE);
    // The app logs $1 of gpt-4o; the provider bills 4M input and 1M output tokens in that minute
    // (a second process on the same key).
    s.ws.append(line('gpt-4o', 1, Date.now() - at - 20_000));
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 4_000_000,
      output: 1_000_000,
    });
    const providerUsd = priced('gpt-4o-2024-08-06', 4_000_000, 1_000_000);
    expect(providerUsd).toBeGreaterThan(5);

    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    const entry = r.json.reconcile?.openai;
    expect(entry).toBeDefined();
    expect(entry?.provider_usd).toBeCloseTo(providerUsd, 6);
    expect(entry?.logged_usd).toBeCloseTo(1, 6);
    expect(entry?.unlogged_usd).toBeCloseTo(providerUsd - 1, 6);
    expect(entry?.level).toBe('emergency');
    expect(entry?.unlogged_keys.map((k) => k.key)).toEqual(['proj_abc']);
    // The flag is written, and the alert names the provider, the minute, the model and the project.
    expect(JSON.parse(readFileSync(flagFile(s.ws), 'utf8')).window).toBe('reconcile:openai');
    await waitFor('the alert', () => slack.requests.length >= 1, 20_000);
    const text = slack.requests.map((q) => q.text).join('\n');
    expect(text).toContain('reconcile:openai');
    expect(text).toContain('gpt-4o-2024-08-06');
    expect(text).toContain('proj_abc');
    expect(text).toContain(new Date(at).toISOString().slice(11, 16));

    // What was asked: 1-minute buckets of closed minutes, by model and project, for proj_abc only.
    const asked = openai.usageRequests()[0];
    expect(asked?.query.get('bucket_width')).toBe('1m');
    expect(asked?.query.getAll('project_ids').concat(asked?.query.getAll('project_ids[]') ?? [])).toContain(
      'proj_abc',
    );
    const end = Number(asked?.query.get('end_time')) * 1000;
    expect(end % MINUTE).toBe(0);
    expect(end).toBeLessThanOrEqual(Date.now());

    // status: CRITICAL, the same figures, and a line for the provider.
    const st = await s.status();
    expect(st.code).toBe(2);
    expect(st.json.reconcile?.openai?.unlogged_usd).toBeCloseTo(providerUsd - 1, 6);
    expect(st.json.reconcile?.openai?.last_minute).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect(st.json.reconcile?.openai?.lag_seconds).toBeGreaterThanOrEqual(0);
    const text2 = (await s.run('status')).stdout;
    expect(text2).toMatch(/reconcile +openai: provider \$[\d.]+, logs \$1\.00, unlogged \$/);

    // A second run with nothing new: no second alert.
    const before = slack.requests.length;
    expect((await s.run('run')).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(slack.requests.length).toBe(before);
    expectNoKey(s, r.stderr, st.stdout, text2, text);

    // The flag is cleared only by a person, and not while the gap is still over the tolerance.
    const refused = await s.run('clear-emergency', '--reason', 'looked at it');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('reconcile:openai');
    const forced = await s.run('clear-emergency', '--reason', 'second process found', '--force');
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('at unlogged_level kill: the target tree is killed, as for a window', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai], { level: 'kill', extra: 'target:\n  pid_file: state/app.pid\n  grace: 1s\n' });
    const tree = await startTree(path.join(s.ws.dir, 'state', 'app.pid'));
    const at = minuteOf(Date.now() - 2 * MINUTE);
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 8_000_000,
      output: 1_000_000,
    });
    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reconcile?.openai?.level).toBe('kill');
    for (const pid of [tree.pid, ...tree.children])
      await waitFor(`pid ${pid} to be gone`, () => !alive(pid), 20_000);
    const kills = readFileSync(path.join(s.ws.stateDir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"signal"'));
    expect(kills.length).toBeGreaterThan(0);
  });

  it('spend that is logged is not a finding, with dated and undated model names', async () => {
    const slack = await slackServer();
    const openai = await openaiStandIn();
    const s = setup([openai], { slack: slack.url });
    const at = minuteOf(Date.now() - 4 * MINUTE);
    const usd = priced('gpt-4o-2024-08-06', 2_000_000, 500_000);
    s.ws.append(
      line('gpt-4o', usd / 2, Date.now() - at - 10_000) + line('gpt-4o', usd / 2, Date.now() - at - 30_000),
    );
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 2_000_000,
      output: 500_000,
    });
    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reconcile?.openai?.provider_usd).toBeCloseTo(usd, 6);
    expect(r.json.reconcile?.openai?.unlogged_usd).toBe(0);
    expect(r.json.reconcile?.openai?.level).toBe('ok');
    expect((await s.status()).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.requests).toHaveLength(0);
  });

  it('Anthropic: pages drained, late reporting caught on a later read, workspace named', async () => {
    const anthropic = await anthropicStandIn();
    anthropic.pageSize = 3;
    const s = setup([anthropic], { level: 'warn' });
    const at = minuteOf(Date.now() - 5 * MINUTE);
    s.ws.append(line('claude-sonnet-4-20250514', 0.5, Date.now() - at - 15_000));
    // Reported late: the first read does not see it.
    anthropic.addUsage({
      minuteMs: at,
      model: 'claude-sonnet-4-20250514',
      scope: 'wrkspc_1',
      input: 3_000_000,
      cached: 1_000_000,
      output: 400_000,
      lateReads: 1,
    });
    const first = await s.runJson();
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.reconcile?.anthropic?.unlogged_usd).toBe(0);
    // Every page was read (15 one-minute buckets, 3 a page).
    expect(anthropic.usageRequests().length).toBeGreaterThanOrEqual(5);
    s.age(15_000);
    const second = await s.runJson();
    expect(second.code, second.stderr).toBe(0);
    const e = second.json.reconcile?.anthropic;
    expect(e?.unlogged_usd).toBeGreaterThan(1);
    expect(e?.level).toBe('warn');
    expect(e?.unlogged_keys.map((k) => k.key)).toEqual(['wrkspc_1']);
    expect(e?.unlogged_models[0]?.names).toEqual(['claude-sonnet-4-20250514']);
    // At warn: an alert, no flag.
    expect(() => readFileSync(flagFile(s.ws))).toThrow();
    const asked = anthropic.usageRequests()[0];
    expect(asked?.headers['anthropic-version']).toBe('2023-06-01');
    expect(asked?.query.get('bucket_width')).toBe('1m');
  });

  it('two providers side by side: each compared with its own models only', async () => {
    const openai = await openaiStandIn();
    const anthropic = await anthropicStandIn();
    const s = setup([openai, anthropic]);
    const at = minuteOf(Date.now() - 3 * MINUTE);
    const claudeUsd = priced('claude-sonnet-4-20250514', 1_000_000, 100_000);
    // The logs hold the Claude spend only; OpenAI bills spend the logs never show.
    s.ws.append(line('claude-sonnet-4-20250514', claudeUsd, Date.now() - at - 10_000));
    anthropic.addUsage({
      minuteMs: at,
      model: 'claude-sonnet-4-20250514',
      scope: 'wrkspc_1',
      input: 1_000_000,
      output: 100_000,
    });
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-mini-2024-07-18',
      scope: 'proj_abc',
      input: 20_000_000,
      output: 2_000_000,
    });
    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reconcile?.anthropic?.unlogged_usd).toBe(0);
    expect(r.json.reconcile?.openai?.logged_usd).toBe(0);
    expect(r.json.reconcile?.openai?.unlogged_usd).toBeGreaterThan(1);
    expect(r.json.reconcile?.openai?.level).toBe('emergency');
  });

  it('run --dry-run and status never read the providers; they judge by the last read', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai]);
    expect((await s.run('run', '--dry-run')).code).toBe(0);
    expect((await s.run('status')).code).toBe(0);
    expect(openai.requests).toHaveLength(0);
    const st = (await s.status()).json;
    expect(st.reconcile?.openai?.last_minute).toBeNull();
    expect((await s.run('run')).code).toBe(0);
    expect(openai.usageRequests().length).toBeGreaterThan(0);
  });
});

describe("the price table's daily check", () => {
  const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const noon = () => Date.parse(`${yesterday()}T12:00:00Z`);

  it('a day priced far off the provider’s invoice is alerted once; a day that agrees is not', async () => {
    const slack = await slackServer();
    const openai = await openaiStandIn();
    const s = setup([openai], {
      slack: slack.url,
      reconcile: '  daily_check: { ratio: 0.1, after: "00:00" }',
    });
    const usd = priced('gpt-4o-2024-08-06', 4_000_000, 1_000_000);
    openai.addUsage({
      minuteMs: noon(),
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 4_000_000,
      output: 1_000_000,
    });
    openai.addCost({ day: yesterday(), usd: usd * 3, scope: 'proj_abc' });
    expect((await s.run('run')).code).toBe(0);
    const check = /price check: openai's cost report bills \$[\d.,]+ for \d{4}-\d\d-\d\d \(UTC\)/;
    await waitFor('the price check', () => slack.requests.some((q) => check.test(q.text)), 20_000);
    expect(openai.costRequests().length).toBe(1);
    // Once a day: the next read does not ask again, nor say it again.
    s.age(15_000);
    expect((await s.run('run')).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(openai.costRequests().length).toBe(1);
    expect(slack.requests.filter((q) => check.test(q.text))).toHaveLength(1);
  });

  it('within the ratio: nothing said', async () => {
    const slack = await slackServer();
    const openai = await openaiStandIn();
    const s = setup([openai], {
      slack: slack.url,
      reconcile: '  daily_check: { ratio: 0.1, after: "00:00" }',
    });
    const usd = priced('gpt-4o-2024-08-06', 4_000_000, 1_000_000);
    openai.addUsage({
      minuteMs: noon(),
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 4_000_000,
      output: 1_000_000,
    });
    openai.addCost({ day: yesterday(), usd: usd * 1.05, scope: 'proj_abc' });
    expect((await s.run('run')).code).toBe(0);
    expect(openai.costRequests().length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(slack.requests).toHaveLength(0);
    const state = JSON.parse(readFileSync(path.join(s.ws.stateDir, 'reconcile.json'), 'utf8'));
    expect(state.providers.openai.daily).toMatchObject({ day: yesterday(), off: false });
  });
});

describe('reconcile under watch', () => {
  it('reads beside the checks and acts on unlogged spend without a line being written', async () => {
    const slack = await slackServer();
    const openai = await openaiStandIn();
    const s = setup([openai], { slack: slack.url, extra: 'metrics: { textfile: state/metrics.prom }\n' });
    const at = minuteOf(Date.now() - 2 * MINUTE);
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 5_000_000,
      output: 500_000,
    });
    const daemon = await startWatch(s.ws, s.env);
    await waitFor(
      'the flag',
      () => {
        try {
          return JSON.parse(readFileSync(flagFile(s.ws), 'utf8')).window === 'reconcile:openai';
        } catch {
          return false;
        }
      },
      30_000,
    );
    await waitFor('the alert', () => slack.requests.some((q) => q.text.includes('reconcile:openai')), 20_000);
    expect(daemon.stderr()).toContain('reconciling with openai every 10s');
    // Its journal line says the level, naming the signal (not "ok" for the windows alone).
    await waitFor(
      'the journal line',
      () => /Z emergency: .*reconcile:openai \$[\d.]+ emergency/.test(daemon.stdout()),
      20_000,
    );
    await waitFor(
      'the metrics',
      () => {
        try {
          return readFileSync(path.join(s.ws.dir, 'state', 'metrics.prom'), 'utf8').includes(
            'cost_watchdog_reconcile_unlogged_usd{provider="openai"',
          );
        } catch {
          return false;
        }
      },
      20_000,
    );
    const metrics = readFileSync(path.join(s.ws.dir, 'state', 'metrics.prom'), 'utf8');
    expect(metrics).toMatch(/cost_watchdog_reconcile_level\{provider="openai",type="openai"\} 2/);
    expect(metrics).toMatch(/cost_watchdog_reconcile_up\{provider="openai",type="openai"\} 1/);
    // The exposition is valid for Prometheus (promtool is installed by .ci/run).
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
    if (promtool !== undefined) {
      const checked = spawnSync(promtool, ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      expect(`${checked.stdout}${checked.stderr}`).toBe('');
      expect(checked.status).toBe(0);
    }

    // A provider that hangs never holds a check back: a new line is still counted at once.
    openai.failAlways({ kind: 'hang' });
    s.age(60_000);
    await waitFor('a read to hang', () => openai.open() > 0, 20_000);
    s.ws.append(line('gpt-4o', 7, 1000));
    await until(
      'the new line counted',
      async () => ((await s.status()).json.windows['15m']?.spend_usd ?? 0) >= 7,
    );
    expect(openai.open()).toBeGreaterThan(0);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expectNoKey(s, daemon.stderr(), daemon.stdout());
  });
});

describe('reconcile at validate', () => {
  it('a good key: the provider is read once and named', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai]);
    const r = await s.run('validate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reconcile +openai \(openai\) at http:\/\/127\.0\.0\.1:\d+: read/);
    expect(openai.usageRequests().length).toBeGreaterThan(0);
    expectNoKey(s, r.stdout, r.stderr);
  });

  it.each([401, 403])(
    'a key refused with %i is exit 78, naming the provider and the variable, never the key',
    async (status) => {
      const openai = await openaiStandIn();
      openai.failAlways({ kind: 'status', status });
      const s = setup([openai]);
      const r = await s.run('validate');
      expect(r.code).toBe(78);
      expect(r.stderr).toContain('openai');
      expect(r.stderr).toContain('$OPENAI_ADMIN_KEY');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expectNoKey(s, r.stdout, r.stderr);
    },
  );

  it('a missing key is exit 78', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai]);
    const r = await cliAsync(['validate', '-c', s.ws.config], { cwd: s.ws.dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('OPENAI_ADMIN_KEY');
  });

  it('a provider that is down is a note, not an error (the config is right)', async () => {
    const openai = await openaiStandIn();
    openai.failAlways({ kind: 'status', status: 503 });
    const s = setup([openai]);
    const r = await s.run('validate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: .*openai.*503/);
  });
});

describe('reconcile keeps run quick when a provider hangs', () => {
  it('the check is done and recorded before the read is cut off at its timeout', async () => {
    const openai = await openaiStandIn();
    openai.failAlways({ kind: 'hang' });
    const s = setup([openai]);
    s.ws.append(line('gpt-4o', 2, 5000));
    const r = await cliAsync(['run', '--json', '-c', s.ws.config], { cwd: s.ws.dir, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as RunJson;
    expect(json.windows['15m']?.spend_usd).toBe(2);
    expect(json.reconcile?.openai?.error).toMatch(/no answer within 3 s|cut off/i);
    expect((await s.status()).json.warnings.some((w) => w.kind === 'reconcile')).toBe(true);
  });
});
