// Re-runs without ids end to end (docs/cost-truth.md#re-runs-without-ids): a queue-like client, a
// real process, runs a batch of 8 LLM calls and re-runs it again and again, each time as a new job
// (a fresh job id on every line, no request id, no fingerprint). By the 3rd repetition the real CLI
// reports a shape storm at warn, under `run` and under `watch`, alerts a Slack stand-in on
// 127.0.0.1 once, and `status --json` shows it apart from the retry storms.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReplayJson } from '../../src/replay/types.js';
import { startWatch } from './daemon.js';
import { alertsIn, audit, cli, cliAsync, readJsonFile, type Workspace, workspace } from './helpers.js';
import { slackServer, waitFor } from './procs.js';

const CONFIG =
  'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 30, emergency: 50, kill: 80 }\n' +
  'storms: { shape_count: 3, shape_level: warn }\nslack:\n  webhook_url_env: CW_TEST_WEBHOOK\n';

// The queue's worker: one run of the batch, 8 calls of distinct shapes, logged as the app logs them.
const QUEUE = `
const { appendFileSync } = require('node:fs');
const [log, job] = process.argv.slice(2);
const batch = [
  ['gpt-4o-mini', 'extract', 1200, 310], ['gpt-4o-mini', 'extract', 1410, 280],
  ['gpt-4o-mini', 'classify', 640, 12], ['gpt-4o', 'summarize', 3900, 520],
  ['gpt-4o', 'summarize', 2750, 498], ['gpt-4o-mini', 'classify', 702, 9],
  ['gpt-4o', 'review', 5100, 800], ['gpt-4o-mini', 'extract', 980, 301],
];
let out = '';
for (const [model, agent, input, output] of batch) {
  const t = Date.now() / 1000;
  out += JSON.stringify({ t, model, agent, job_id: job, in: input, out: output }) + '\\n';
}
appendFileSync(log, out);
`;

function queue(ws: Workspace): (repetition: number) => void {
  const script = path.join(ws.dir, 'queue.cjs');
  writeFileSync(script, QUEUE);
  return (repetition) => {
    execFileSync(process.execPath, [
      script,
      ws.log,
      `job-${repetition}-${Math.random().toString(36).slice(2)}`,
    ]);
  };
}

/** The lines the last saved check counted (what watch has read). */
function checkedLines(ws: Workspace): number {
  try {
    const saved = readJsonFile(path.join(ws.stateDir, 'checkpoint.json')) as {
      totals?: { records?: number };
    };
    return saved.totals?.records ?? 0;
  } catch {
    return 0;
  }
}

const SHAPE = new RegExp(
  String.raw`WARN: shape storm \(calls without ids\): model "gpt-4o[a-z-]*", agent "[a-z]+", ` +
    String.raw`\d+ input / \d+ output tokens billed 3 times in 15m \(\$[0-9.]+\) and 7 more shapes`,
);

describe('a batch re-run without ids', () => {
  it('under run: seen by the 3rd repetition at warn, alerted once, in status --json', async () => {
    const slack = await slackServer();
    const ws = workspace(CONFIG);
    const env = { CW_TEST_WEBHOOK: slack.url };
    const rerun = queue(ws);
    for (const repetition of [1, 2]) {
      rerun(repetition);
      const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('shape storm');
    }
    expect(slack.requests).toHaveLength(0);
    expect(ws.status().json.shape_storms).toMatchObject({ total: 0, storms: [] });

    rerun(3);
    const third = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
    // A warn does its job: exit 0 (the contract of `run`), and no flag.
    expect(third.code, third.stderr).toBe(0);
    expect(alertsIn(third.stderr)[0]).toMatch(SHAPE);
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]?.text).toMatch(SHAPE);

    const { code, json } = ws.status();
    expect(code).toBe(1); // WARNING
    expect(json.shape_storms).toMatchObject({ count: 3, window_seconds: 900, level: 'warn', total: 8 });
    expect(json.shape_storms?.storms).toHaveLength(8);
    expect(json.shape_storms?.storms).toContainEqual(
      expect.objectContaining({
        shape: { model: 'gpt-4o', agent: 'review', task: null, input_tokens: 5100, output_tokens: 800 },
        text: 'model "gpt-4o", agent "review", 5100 input / 800 output tokens',
        count: 3,
      }),
    );
    // The retry storms keep their own entries: none here (the lines carry no ids).
    expect(json.retry_storms?.storms).toEqual([]);
    expect(json.retry_storms?.total).toBe(0);
    const text = ws.run('status');
    expect(text.stdout).toContain(
      'shape storm      model "gpt-4o", agent "review", 5100 input / 800 output tokens: 3 times',
    );
    // The audit has the alert and the findings.
    const events = audit(ws);
    expect(events.filter((e) => e.event === 'alert_sent')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'finding' && e.kind === 'shape-storm').length).toBeGreaterThan(0);

    // The 4th and 5th repetitions: still the one storm, not alerted again.
    for (const repetition of [4, 5]) {
      rerun(repetition);
      const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(slack.requests).toHaveLength(1);
    const after = ws.status().json.shape_storms;
    expect(after?.storms.map((s) => s.count)).toEqual(Array(8).fill(5));
    const runJson = ws.runJson();
    expect(runJson.json.shape_storms).toHaveLength(8);
    expect(runJson.json.retry_storms).toEqual([]);

    // replay lists them among its storms, each with its shape (an id storm has none).
    const replayed = JSON.parse(ws.run('replay', '--json').stdout) as ReplayJson;
    expect(replayed.storms).toHaveLength(8);
    expect(replayed.storms).toContainEqual(
      expect.objectContaining({
        id: 'model "gpt-4o", agent "review", 5100 input / 800 output tokens',
        count: 5,
        level: 'warn',
        shape: { model: 'gpt-4o', agent: 'review', task: null, input_tokens: 5100, output_tokens: 800 },
      }),
    );
    expect(ws.run('replay').stdout).toContain('shape storms (calls without ids of the same shape');
  });

  it('under watch: the 3rd repetition alerts once, and status --json shows it', async () => {
    const slack = await slackServer();
    const ws = workspace(CONFIG);
    const rerun = queue(ws);
    const daemon = await startWatch(ws, { CW_TEST_WEBHOOK: slack.url });
    for (const repetition of [1, 2]) {
      rerun(repetition);
      await waitFor(
        `repetition ${repetition} read by watch`,
        () => checkedLines(ws) === repetition * 8,
        30_000,
      );
    }
    expect(slack.requests).toHaveLength(0);
    rerun(3);
    await waitFor('the shape storm alerted', () => slack.requests.length >= 1, 30_000);
    expect(slack.requests[0]?.text).toMatch(SHAPE);
    const { json } = ws.status();
    expect(json.shape_storms?.total).toBe(8);
    rerun(4);
    await waitFor('repetition 4 read by watch', () => checkedLines(ws) === 32, 30_000);
    expect(ws.status().json.shape_storms?.storms[0]?.count).toBe(4);
    expect(slack.requests).toHaveLength(1);
    expect(daemon.stderr()).toMatch(SHAPE);
  });
});

describe('a large log read with a helper thread', () => {
  /** Calls without ids in both halves: a batch of 6 re-run 4 times across the file, among busy traffic. */
  function log(): string {
    const nowSec = Date.now() / 1000;
    const out: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const t = Number((nowSec - 600 + (i % 500)).toFixed(3));
      const rerun = i % 1500 < 6;
      const fields: Record<string, unknown> = rerun
        ? { t, model: 'gpt-4o', agent: `batch-${i % 1500}`, in: 2000 + (i % 1500), out: 77 }
        : { t, model: 'gpt-4o-mini', agent: `agent-${i % 5}`, in: 1000 + i, out: 100 + (i % 90) };
      // Half the busy lines carry ids; none of the re-runs do.
      if (!rerun && i % 2 === 0) fields.request_id = `req-${i}`;
      fields.cost = 0.001;
      out.push(JSON.stringify(fields));
    }
    return `${out.join('\n')}\n`;
  }

  function shapes(ws: Workspace): unknown {
    return (ws.status().json.shape_storms?.storms ?? []).map((s) => [s.text, s.count, s.spend_usd]);
  }

  it('counts the same shape storms as one thread, and the checks after it agree too', () => {
    const text = log();
    const config = 'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 300 }\nstorms: { shape_count: 5 }\n';
    const one = workspace(config);
    const two = workspace(config);
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
    expect((JSON.parse(single.stdout) as { scan_threads: number }).scan_threads).toBe(1);
    expect((JSON.parse(helped.stdout) as { scan_threads: number }).scan_threads).toBe(2);
    // Four repetitions: not yet a storm at 5.
    expect(shapes(one)).toEqual([]);
    expect(shapes(two)).toEqual([]);
    // A 5th repetition in a later check: the sightings of both threads' parts count.
    const fifth = Array.from({ length: 6 }, (_, k) =>
      JSON.stringify({
        t: Date.now() / 1000 - 1,
        model: 'gpt-4o',
        agent: `batch-${k}`,
        in: 2000 + k,
        out: 77,
        cost: 0.001,
      }),
    );
    one.append(`${fifth.join('\n')}\n`);
    two.append(`${fifth.join('\n')}\n`);
    expect(one.run('run').code).toBe(0);
    expect(two.run('run').code).toBe(0);
    expect(shapes(two)).toEqual(shapes(one));
    expect((shapes(one) as unknown[]).length).toBe(6);
    expect(one.status().json.shape_storms?.storms.every((s) => s.count === 5)).toBe(true);
  });
});

describe('at the emergency level', () => {
  it('flags like a window there, and clear-emergency refuses while it lasts unless forced', () => {
    const ws = workspace(
      'log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 30 }\n' +
        'storms: { shape_count: 3, shape_level: emergency }\n',
    );
    const rerun = queue(ws);
    for (const repetition of [1, 2, 3]) rerun(repetition);
    expect(ws.run('run').code).toBe(0);
    const flag = readJsonFile(path.join(ws.dir, 'state', 'cost_emergency.flag')) as Record<string, unknown>;
    expect(flag).toMatchObject({ window: 'shape-storm', level: 'emergency', triggered_by: 'run' });
    expect(flag.reason).toMatch(/^shape storm \(calls without ids\): model "gpt-4o/);
    expect(ws.status().code).toBe(2);
    const refused = ws.run('clear-emergency', '--reason', 'looked at it');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('shape storm (calls without ids)');
    expect(ws.run('clear-emergency', '--reason', 'fixed the queue', '--force').code).toBe(0);
  });
});

describe('a batch re-run that logs a fresh request id on every call', () => {
  // The same queue, each call logged with the provider's fresh request id.
  const withIds = (ws: Workspace): ((repetition: number) => void) => {
    const script = path.join(ws.dir, 'queue-ids.cjs');
    writeFileSync(
      script,
      QUEUE.replace('job_id: job,', "job_id: job, request_id: 'req_' + Math.random().toString(36).slice(2),"),
    );
    return (repetition) => execFileSync(process.execPath, [script, ws.log, `job-${repetition}`]);
  };

  it('is followed by id only by default (the contract: shapes are for lines without ids)', async () => {
    const ws = workspace(CONFIG);
    const rerun = withIds(ws);
    for (const repetition of [1, 2, 3, 4]) rerun(repetition);
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('shape storm');
    expect(ws.status().json.shape_storms).toMatchObject({ total: 0 });
  });

  it('with storms.shape_with_ids: seen by the 3rd repetition, each call once', async () => {
    const ws = workspace(CONFIG.replace('shape_level: warn }', 'shape_level: warn, shape_with_ids: true }'));
    const rerun = withIds(ws);
    for (const repetition of [1, 2]) rerun(repetition);
    expect((await cliAsync(['run', '-c', ws.config], { cwd: ws.dir })).stderr).not.toContain('shape storm');
    rerun(3);
    const r = await cliAsync(['run', '-c', ws.config], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/shape storm/);
    const shapes = ws.status().json.shape_storms;
    expect(shapes?.total).toBe(8);
    expect(shapes?.storms.every((s) => s.count === 3)).toBe(true);
    // No retry storm: every id is new.
    expect(ws.status().json.retry_storms?.storms ?? []).toEqual([]);
  });
});
