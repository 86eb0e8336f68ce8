// Scoped budgets end to end: the real CLI, real processes per agent, real flag files and a real
// HTTP server on 127.0.0.1 standing in for Slack.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { audit, cli, cliAsync, readJsonFile, workspace } from './helpers.js';
import { alive, slackServer, startTree, waitFor } from './procs.js';

const SLACK = 'slack:\n  webhook_url_env: CW_TEST_WEBHOOK\n';

function line(cost: number, agent: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ t: Date.now() / 1000 - 5, cost, agent, ...extra })}\n`;
}

const EACH_AGENT = `log: state/cost_log.jsonl
limits:
  daily: { warn: 100, emergency: 200, kill: 300 }
scopes:
  - name: every-agent
    each: agent
    limits: { daily: { warn: 2, emergency: 4, kill: 5 } }
    flag_file: "state/flags/{agent}.flag"
    target: { pid_file: "state/{agent}.pid", grace: 1s }
${SLACK}`;

describe('each: agent with a target per agent', () => {
  it('kills only the agent over its limit; its own flag, not the main; alerts name it', async () => {
    const slack = await slackServer();
    const ws = workspace(EACH_AGENT);
    mkdirSync(path.join(ws.dir, 'state', 'flags'));
    const a = await startTree(path.join(ws.dir, 'state', 'alpha.pid'));
    const b = await startTree(path.join(ws.dir, 'state', 'beta.pid'));
    ws.append(line(3, 'alpha') + line(2.5, 'alpha') + line(1, 'beta'));
    const env = { CW_TEST_WEBHOOK: slack.url };
    const r = await cliAsync(['run', '--json', '-c', ws.config], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    await waitFor('alpha to be killed', () => !alive(a.pid) && a.children.every((c) => !alive(c)));
    expect(alive(b.pid)).toBe(true);
    expect(b.children.every(alive)).toBe(true);
    const alphaFlag = path.join(ws.dir, 'state', 'flags', 'alpha.flag');
    expect(existsSync(alphaFlag)).toBe(true);
    expect(existsSync(path.join(ws.dir, 'state', 'flags', 'beta.flag'))).toBe(false);
    expect(existsSync(path.join(ws.dir, 'state', 'cost_emergency.flag'))).toBe(false);
    const flag = readJsonFile(alphaFlag) as Record<string, unknown>;
    expect(flag).toMatchObject({
      scope: 'every-agent',
      key: { agent: 'alpha' },
      level: 'kill',
      window: 'daily',
    });
    const json = JSON.parse(r.stdout) as {
      level: string;
      scopes: { name: string; key: object; level: string }[];
    };
    expect(json.level).toBe('ok');
    expect(json.scopes).toEqual([
      expect.objectContaining({ name: 'every-agent', key: { agent: 'alpha' }, level: 'kill' }),
    ]);
    expect(slack.requests).toHaveLength(1);
    const text = slack.requests[0]?.text ?? '';
    expect(text).toContain('scope every-agent agent="alpha"');
    expect(text).toMatch(/KILL: daily spend \$5\.50 crossed the kill limit \$5\.00/);
    const decision = audit(ws).find((e) => e.event === 'scope_decision');
    expect(decision).toMatchObject({
      scope: 'every-agent',
      key: { agent: 'alpha' },
      level: 'kill',
      kill: true,
    });
    expect(audit(ws).some((e) => e.event === 'kill' && e.result === 'killed')).toBe(true);

    // A second check says nothing new (de-duplicated per value); beta climbing to warn is its own alert.
    ws.append(line(1.5, 'beta'));
    const again = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(again.code, again.stderr).toBe(0);
    expect(slack.requests).toHaveLength(2);
    expect(slack.requests[1]?.text).toContain('scope every-agent agent="beta"');
    expect(slack.requests[1]?.text).toMatch(/WARN: daily spend \$2\.50/);
    expect(alive(b.pid)).toBe(true);

    // status: CRITICAL for alpha at kill; text and JSON name the scope and the value.
    const text2 = await cliAsync(['status', '-c', ws.config], { cwd: ws.dir });
    expect(text2.code).toBe(2);
    expect(text2.stdout.split('\n')[0]).toMatch(
      /^COST-WATCHDOG CRITICAL - scope every-agent agent="alpha": daily \$5\.50 >= kill \$5\.00 /,
    );
    expect(text2.stdout).toMatch(/every-agent agent="beta" +WARN/);
    const status = await cliAsync(['status', '--json', '-c', ws.config], { cwd: ws.dir });
    const sj = JSON.parse(status.stdout) as {
      scopes: {
        name: string;
        key: object;
        level: string;
        windows: Record<string, { spend_usd: number }>;
        flag?: object;
      }[];
      scope_counts: object[];
    };
    expect(sj.scopes.map((s) => [s.key, s.level, s.windows.daily?.spend_usd])).toEqual([
      [{ agent: 'alpha' }, 'kill', 5.5],
      [{ agent: 'beta' }, 'warn', 2.5],
    ]);
    expect(sj.scopes[0]?.flag).toEqual({ file: alphaFlag, active: true });
    expect(sj.scope_counts).toEqual([
      { name: 'every-agent', each: 'agent', values: 2, more: 0, overflowed: false },
    ]);

    // clear-emergency --scope: refused while over, then forced; announced and audited.
    const refused = await cliAsync(
      [
        'clear-emergency',
        '--scope',
        'every-agent',
        '--key',
        'agent=alpha',
        '--reason',
        'fixed',
        '-c',
        ws.config,
      ],
      { cwd: ws.dir, env },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to clear scope every-agent agent="alpha"');
    expect(existsSync(alphaFlag)).toBe(true);
    const cleared = await cliAsync(
      ['clear-emergency', '--scope', 'every-agent', '--key', 'agent=alpha', '--reason', 'fixed', '--force'],
      { cwd: ws.dir, env: { ...env, COST_WATCHDOG_CONFIG: ws.config } },
    );
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(existsSync(alphaFlag)).toBe(false);
    expect(slack.requests.at(-1)?.text).toContain('EMERGENCY CLEARED for scope every-agent agent="alpha"');
    expect(audit(ws).find((e) => e.event === 'flag_cleared')).toMatchObject({
      scope: 'every-agent',
      key: { agent: 'alpha' },
      forced: true,
    });
    // Acknowledged: the next check does not write alpha's flag again.
    const after = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    expect(after.code, after.stderr).toBe(0);
    expect(existsSync(alphaFlag)).toBe(false);
  });

  it('two agents over at once are both killed (one that ignores SIGTERM too); a third survives', async () => {
    const ws = workspace(EACH_AGENT.replace(SLACK, ''));
    mkdirSync(path.join(ws.dir, 'state', 'flags'));
    const a = await startTree(path.join(ws.dir, 'state', 'a.pid'), { ignoreTerm: true });
    const b = await startTree(path.join(ws.dir, 'state', 'b.pid'));
    const c = await startTree(path.join(ws.dir, 'state', 'c.pid'));
    ws.append(line(6, 'a') + line(7, 'b') + line(1, 'c'));
    const r = await cliAsync(['run', '--json', '-c', ws.config], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    for (const t of [a, b]) expect([t.pid, ...t.children].some(alive)).toBe(false);
    expect([c.pid, ...c.children].every(alive)).toBe(true);
    const json = JSON.parse(r.stdout) as { scopes: { key: object; kill: { killed_by_sigkill: number[] } }[] };
    const byAgent = new Map(json.scopes.map((x) => [JSON.stringify(x.key), x]));
    expect(byAgent.get('{"agent":"a"}')?.kill.killed_by_sigkill).toContain(a.pid);
    expect(byAgent.get('{"agent":"b"}')?.kill.killed_by_sigkill).toEqual([]);
    expect(byAgent.has('{"agent":"c"}')).toBe(false);
  });

  it('a hostile agent name cannot write outside the flag folder', async () => {
    const ws = workspace(EACH_AGENT.replace(SLACK, ''));
    mkdirSync(path.join(ws.dir, 'state', 'flags'));
    const hostile = [
      '../../etc/x',
      'a/b',
      '..',
      '.hidden',
      'ctl\u0001\u001b[31m\nname',
      `${'x'.repeat(300)}/y`,
    ];
    for (const name of hostile) ws.append(line(4.5, name));
    const r = await cliAsync(['run', '--json', '-c', ws.config], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const flags = readdirSync(path.join(ws.dir, 'state', 'flags'));
    expect(flags).toHaveLength(hostile.length);
    for (const f of flags) expect(f).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*\.flag$/);
    // Nothing else was written anywhere around the workspace.
    expect(readdirSync(path.join(ws.dir, 'state')).sort()).toEqual(['cost_log.jsonl', 'flags']);
    // (The shared temp folder: other tests' folders come and go there, so only what these names make.)
    const around = [ws.dir, path.dirname(ws.dir)].flatMap((dir) => readdirSync(dir));
    expect(around.some((n) => n === 'etc' || n.startsWith('xxxxxxxx'))).toBe(false);
    const json = JSON.parse(r.stdout) as { scopes: { key: { agent: string }; flag: { file: string } }[] };
    expect(json.scopes.map((s) => s.key.agent).sort()).toEqual([...hostile].sort());
    for (const s of json.scopes) expect(path.dirname(s.flag.file)).toBe(path.join(ws.dir, 'state', 'flags'));
    // The console line escapes the control characters.
    expect(r.stderr).not.toContain('\u001b[31m');
  });
});

describe('a scope without its own flag or target', () => {
  it('writes the main flag, and run --dry-run touches nothing', async () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
scopes:
  - name: research
    match: { agent: research, model: "gpt-*" }
    limits: { 15m: { emergency: 2 } }
`);
    ws.append(line(1.5, 'research', { model: 'gpt-4o' }) + line(5, 'research', { model: 'claude' }));
    ws.append(line(1, 'research', { model: 'gpt-4o-mini' }) + line(9, 'writer', { model: 'gpt-4o' }));
    const dry = ws.runJson('--dry-run');
    expect(dry.json.scopes).toEqual([
      expect.objectContaining({
        name: 'research',
        key: {},
        level: 'emergency',
        flag: expect.objectContaining({ kind: 'would-write' }),
      }),
    ]);
    expect(dry.stderr).toContain('would alert: ALERT scope research: at emergency');
    expect(existsSync(path.join(ws.dir, 'state', 'cost_emergency.flag'))).toBe(false);
    expect(existsSync(ws.stateDir) && readdirSync(ws.stateDir).includes('alerts.json')).toBe(false);
    const real = ws.runJson();
    expect(real.json.scopes[0]).toMatchObject({ level: 'emergency', flag: { kind: 'written' } });
    const flag = readJsonFile(path.join(ws.dir, 'state', 'cost_emergency.flag')) as Record<string, unknown>;
    expect(flag).toMatchObject({ scope: 'research', key: {}, window: '15m', spend_usd: 2.5 });
    // The main windows are unchanged: all spend, at ok.
    expect(real.json.windows.daily).toMatchObject({ spend_usd: 16.5, level: 'ok' });
    const status = ws.status();
    expect(status.code).toBe(2);
    expect(status.json.scopes).toEqual([
      expect.objectContaining({ name: 'research', key: {}, level: 'emergency' }),
    ]);

    // The main clear-emergency holds while the scope that wrote the main flag is over; --force
    // clears both, and the next check neither writes it again nor says it was removed by hand.
    const refused = ws.run('clear-emergency', '--reason', 'looked');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('scope research 15m $2.50 at emergency');
    const forced = ws.run('clear-emergency', '--reason', 'looked', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(path.join(ws.dir, 'state', 'cost_emergency.flag'))).toBe(false);
    const next = ws.runJson();
    expect(next.stderr).not.toContain('FLAG REMOVED');
    expect(next.json.scopes[0]).toMatchObject({
      level: 'emergency',
      action_level: 'warn',
      flag: { kind: 'none' },
      events: [],
    });
    expect(existsSync(path.join(ws.dir, 'state', 'cost_emergency.flag'))).toBe(false);
  });

  it('clear-emergency: unknown scope, --key on a scope without each, --key alone: exit 64', () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
scopes:
  - { name: research, match: { agent: research }, limits: { daily: { kill: 2 } } }
  - { name: per-agent, each: agent, limits: { daily: { kill: 2 } } }
`);
    const cases: [string[], RegExp][] = [
      [['--scope', 'nope'], /--scope "nope": no such scope .* \(scopes: research, per-agent\)/],
      [['--scope', 'research', '--key', 'agent=x'], /scope research has no `each`/],
      [['--scope', 'per-agent'], /say which with --key agent=<value>/],
      [['--scope', 'per-agent', '--key', 'model=x'], /expected agent=<value>/],
      [['--key', 'agent=x'], /--key needs --scope/],
    ];
    for (const [args, message] of cases) {
      const r = ws.run('clear-emergency', '--reason', 'r', ...args);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('validate says what each scope counts and does', () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
scopes:
  - { name: research, match: { agent: research, model: "gpt-*" }, limits: { daily: { kill: 2 } } }
  - { name: per-agent, each: agent, limits: { 15m: { warn: 1 } }, flag_file: "state/{agent}.flag" }
`);
    const r = ws.run('validate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'scope       research: agent = "research", model like "gpt-*"; daily kill $2.00; flag the main flag; ' +
        'target none (it cannot kill)',
    );
    expect(r.stdout).toContain(
      `scope       per-agent: each agent; 15m warn $1.00; flag ${ws.dir}/state/{agent}.flag`,
    );
  });

  it("validate notes a scope's flag folder that does not exist", () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
scopes:
  - { name: per-agent, each: agent, limits: { daily: { kill: 2 } }, flag_file: "flags/{agent}.flag" }
`);
    const r = ws.run('validate');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `scope per-agent: its flag's folder ${ws.dir}/flags does not exist (yet): its flag cannot be written`,
    );
  });

  it('a bad scope config exits 78 naming the key path', () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
scopes:
  - { name: research, match: { user: x }, limits: { daily: { kill: 2 } } }
`);
    const r = ws.run('run');
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('scopes[0].match.user');
    expect(readFileSync(ws.config, 'utf8')).toContain('user');
  });
});

describe('reminders', () => {
  it("a scope's flag in force is reminded of with its own clear command", async () => {
    const ws = workspace(`log: state/cost_log.jsonl
limits:
  daily: { kill: 300 }
alerts: { reminder: 1s }
scopes:
  - { name: per-agent, each: agent, limits: { daily: { emergency: 1 } }, flag_file: "state/{agent}.flag" }
`);
    ws.append(line(2, 'alpha'));
    expect(ws.run('run').code).toBe(0);
    expect(existsSync(path.join(ws.dir, 'state', 'alpha.flag'))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const again = ws.run('run');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      'ALERT scope per-agent agent="alpha": at emergency; its flag is cleared by `cost-watchdog ' +
        'clear-emergency --scope per-agent --key agent=alpha --reason ...`',
    );
    expect(again.stderr).toContain('REMINDER: the emergency flag is still in force');
  });
});

describe('the two-thread full read', () => {
  it('counts the scopes in both threads: the same figures as one thread', () => {
    const config = `log: state/cost_log.jsonl
limits:
  daily: { kill: 100000 }
scopes:
  - { name: per-agent, each: agent, limits: { 15m: { warn: 3 }, daily: { warn: 5, kill: 50 } } }
  - { name: per-task, match: { model: "gpt-*" }, each: task, limits: { daily: { warn: 1 } } }
`;
    const one = workspace(config);
    const two = workspace(config);
    let text = '';
    const now = Date.now() / 1000;
    for (let i = 0; i < 20_000; i++)
      text += `${JSON.stringify({
        ts: now - 7200 + i * 0.35,
        cost: 0.001 * (1 + (i % 9)),
        agent: `agent-${(i * 31) % 700}`,
        model: i % 3 === 0 ? 'claude' : 'gpt-4o',
        task: `task-${i % 40}`,
      })}\n`;
    one.append(text);
    two.append(text);
    const single = cli(['run', '--json', '-c', one.config], {
      cwd: one.dir,
      env: { COST_WATCHDOG_THREADS: '1' },
    });
    const helped = cli(['run', '--json', '-c', two.config], {
      cwd: two.dir,
      env: { COST_WATCHDOG_HELPER_MIN_BYTES: '1' },
    });
    expect(single.code, single.stderr).toBe(0);
    expect(helped.code, helped.stderr).toBe(0);
    const a = JSON.parse(single.stdout) as RunJson;
    const b = JSON.parse(helped.stdout) as RunJson;
    expect(a.scan_threads).toBe(1);
    expect(b.scan_threads).toBe(2);
    const view = (ws: typeof one) => {
      const s = ws.status().json;
      return {
        counts: s.scope_counts,
        daily: s.scopes.map((x) => [x.name, x.key, x.windows.daily?.spend_usd, x.level]),
      };
    };
    const seen = view(one);
    expect(seen.counts).toEqual([
      { name: 'per-agent', each: 'agent', values: 700, more: expect.any(Number), overflowed: false },
      { name: 'per-task', each: 'task', values: 40, more: expect.any(Number), overflowed: false },
    ]);
    expect(view(two)).toEqual(seen);
    expect(b.scopes.length).toBe(a.scopes.length);
  });
});
