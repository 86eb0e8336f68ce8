// Shared by the reconcile tests (e2e and faults): a workspace whose config reads the given
// provider stand-ins, the CLI run without blocking this process (the stand-ins live here and must
// keep answering), JSON outputs parsed, and a check that no admin key is anywhere it could leak.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import type { StatusJson } from '../../src/commands/render/status-json.js';
import { priceLookup } from '../../src/price-table.js';
import { type CliResult, cliAsync, type Workspace, workspace } from './helpers.js';
import type { ProviderStandIn } from './provider-standins.js';

export const MINUTE = 60_000;

/** Dollars the bundled price table charges for these tokens of a model (base rates). */
export function priced(model: string, input: number, output: number): number {
  const rates = priceLookup({}, Date.now())(model, null);
  if (rates === null) throw new Error(`no price for ${model}`);
  return input * rates.base.input + output * rates.base.output;
}

/** A JSONL cost line of the app, `agoMs` before now. */
export function line(
  model: string,
  cost: number,
  agoMs: number,
  extra: Record<string, unknown> = {},
): string {
  const t = (Date.now() - agoMs) / 1000;
  return `${JSON.stringify({ t, model, in: 1000, out: 100, cost, agent: 'app', ...extra })}\n`;
}

export interface Setup {
  ws: Workspace;
  env: Record<string, string>;
  run(...args: string[]): Promise<CliResult>;
  runJson(): Promise<{ code: number | null; json: RunJson; stderr: string }>;
  status(): Promise<{ code: number | null; json: StatusJson; stdout: string }>;
  /** Make the providers' last reads look `ms` old, so that the next run reads again. */
  age(ms: number): void;
  secrets(): string[];
}

export function setup(
  stands: ProviderStandIn[],
  options: { extra?: string; level?: string; slack?: string; reconcile?: string } = {},
): Setup {
  const providers = stands
    .map((s) =>
      s.type === 'openai'
        ? `    - { type: openai, base_url: "${s.baseUrl}", project_ids: [proj_abc], timeout: 3s }`
        : `    - { type: anthropic, base_url: "${s.baseUrl}", workspace_ids: [wrkspc_1], timeout: 3s }`,
    )
    .join('\n');
  const ws = workspace(
    `log: state/cost_log.jsonl
limits:
  15m:   { warn: 100, emergency: 200, kill: 300 }
  daily: { warn: 1000, emergency: 2000, kill: 3000 }
reconcile:
  every: 10s
  providers:
${providers}
  tolerance: { usd: 1, ratio: 0.1 }
  unlogged_level: ${options.level ?? 'emergency'}
${options.reconcile ?? '  daily_check: off'}
${options.extra ?? ''}`,
  );
  ws.append('');
  const env: Record<string, string> = {};
  for (const s of stands) env[s.type === 'openai' ? 'OPENAI_ADMIN_KEY' : 'ANTHROPIC_ADMIN_KEY'] = s.adminKey;
  if (options.slack !== undefined) env.SLACK_WEBHOOK_URL = options.slack;
  // Never spawnSync: the stand-ins live in this process and must keep answering.
  const run = (...args: string[]) => cliAsync([...args, '-c', ws.config], { cwd: ws.dir, env });
  return {
    ws,
    env,
    run,
    runJson: async () => {
      const r = await run('run', '--json');
      return { code: r.code, json: JSON.parse(r.stdout) as RunJson, stderr: r.stderr };
    },
    status: async () => {
      const r = await run('status', '--json');
      return { code: r.code, json: JSON.parse(r.stdout) as StatusJson, stdout: r.stdout };
    },
    age: (ms) => {
      const file = path.join(ws.stateDir, 'reconcile.json');
      const state = JSON.parse(readFileSync(file, 'utf8')) as {
        providers: Record<
          string,
          { tried_at_ms: number; ok_at_ms: number | null; not_before_ms: number | null }
        >;
      };
      for (const p of Object.values(state.providers)) {
        p.tried_at_ms -= ms;
        if (p.not_before_ms !== null) p.not_before_ms -= ms;
      }
      writeFileSync(file, JSON.stringify(state));
    },
    secrets: () => stands.map((s) => s.adminKey),
  };
}

/** Polls an async probe (each a CLI run) until it holds, with a generous timeout. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Every file of the state folder, and the outputs given: none may hold an admin key. */
export function expectNoKey(s: Setup, ...outputs: string[]): void {
  const texts = [
    ...outputs,
    ...(existsSync(s.ws.stateDir) ? readdirSync(s.ws.stateDir) : []).map((f) =>
      readFileSync(path.join(s.ws.stateDir, f), 'latin1'),
    ),
  ];
  for (const key of s.secrets()) for (const text of texts) expect(text).not.toContain(key);
}
