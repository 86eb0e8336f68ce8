// The formats agents already write (claude-code, otel-genai, litellm), read by the real CLI from
// files shaped like the published formats (test/fixtures/formats/, dated to now here).
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { StatusJson, StatusWindowJson } from '../../src/commands/render/status-json.js';
import { startWatch } from './daemon.js';
import { cli, workspace, type Workspace } from './helpers.js';
import { waitFor } from './procs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const PROJECT = path.join('.claude', 'projects', '-home-dev-shop');
const FIRST = '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10.jsonl';
const RESUMED = '9e2d4b61-7c85-4a39-b0f2-6d3e1a8c5f47.jsonl';

/**
 * The fixtures' times are moved by one shift that puts the newest of them (the resumed session's
 * last turn, or the one given) a minute before now. Figures are read from a rolling 2h window, so
 * that lines an hour and more apart are in one window at any time of day.
 */
const FIXTURE_NEWEST_MS = Date.parse('2026-11-30T10:15:20.000Z');
const shiftMs = (newestMs = FIXTURE_NEWEST_MS): number => Date.now() - 60_000 - newestMs;

/** A Claude Code fixture with its ISO times moved to the last two hours. */
function claudeLines(name: string, newestMs = FIXTURE_NEWEST_MS): string {
  const shift = shiftMs(newestMs);
  return readFileSync(path.join(FIXTURES, 'claude-code', 'projects', '-home-dev-shop', name), 'utf8').replace(
    /"timestamp":"([^"]+)"/g,
    (_m, iso: string) => `"timestamp":"${new Date(Date.parse(iso) + shift).toISOString()}"`,
  );
}

function run(ws: Workspace, home: string, ...args: string[]) {
  return cli([...args, '-c', ws.config], { cwd: ws.dir, env: { HOME: home } });
}

function status(ws: Workspace, home: string): { code: number | null; json: StatusJson } {
  const r = run(ws, home, 'status', '--json');
  return { code: r.code, json: JSON.parse(r.stdout) as StatusJson };
}

const recent = (json: StatusJson): number => json.windows['2h']!.spend_usd;

/** A workspace with its own HOME, its config written by `init --preset`. */
function presetWorkspace(preset: string): { ws: Workspace; home: string } {
  const ws = workspace();
  const home = path.join(ws.dir, 'home');
  mkdirSync(path.join(home, PROJECT), { recursive: true });
  rmSync(ws.config);
  const r = cli(['init', '--preset', preset, '-c', ws.config], { cwd: ws.dir, env: { HOME: home } });
  expect(r.code).toBe(0);
  const text = readFileSync(ws.config, 'utf8');
  expect(text).toContain('\nlimits:\n');
  writeFileSync(ws.config, text.replace('\nlimits:\n', '\nlimits:\n  2h: { warn: 1000 }\n'));
  return { ws, home };
}

describe('claude-code', () => {
  it('a Claude Code user in two commands: init --preset claude-code, then watch', async () => {
    const { ws, home } = presetWorkspace('claude-code');
    const session = path.join(home, PROJECT, FIRST);
    writeFileSync(session, claudeLines(FIRST, Date.parse('2026-11-30T09:00:12.250Z')));
    const quiet = status(ws, home);
    expect(quiet.json.warnings).toEqual([]);
    const daemon = await startWatch(ws, { HOME: home });
    await waitFor('the first check', () => status(ws, home).json.lines_counted > 0, 30_000);
    // A turn of Opus writing a million tokens: $75 by the price table, over the preset's $50.
    const turn = {
      type: 'assistant',
      timestamp: new Date().toISOString(),
      sessionId: '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10',
      requestId: 'req_runaway',
      message: {
        id: 'msg_runaway',
        type: 'message',
        role: 'assistant',
        model: 'claude-opus-4-1-20250805',
        usage: { input_tokens: 10, output_tokens: 1_000_000, cache_read_input_tokens: 0 },
      },
    };
    appendFileSync(session, `${JSON.stringify(turn)}\n`);
    const flag = path.join(home, '.claude', 'cost_emergency.flag');
    await waitFor('the flag in ~/.claude', () => existsSync(flag), 30_000);
    const written = JSON.parse(readFileSync(flag, 'utf8'));
    expect(['15m', 'daily']).toContain(written.window);
    expect(written.spend_usd).toBeGreaterThan(75);
    const after = status(ws, home);
    expect(after.code).toBe(2);
    expect((after.json.windows['2h'] as StatusWindowJson).top_agents[0]!.name).toBe(
      '5f0c8a52-3a41-4d8e-9f0b-2c1d7e6a9b10',
    );
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });

  it('a message written more than once (streamed, and copied into a resumed session) counts once', () => {
    const { ws, home } = presetWorkspace('claude-code');
    const dir = path.join(home, PROJECT);
    writeFileSync(path.join(dir, FIRST), claudeLines(FIRST));
    expect(run(ws, home, 'run').code).toBe(0);
    const first = status(ws, home).json;
    // The summary and the two user turns; the first streamed copy counted, the later one only what it adds.
    expect(first.skipped_lines).toBe(3);

    // The same first session alone, without its first streamed copy: the same spend.
    const alone = presetWorkspace('claude-code');
    const lines = claudeLines(FIRST).split('\n');
    const copy = lines.findIndex((l) => l.includes('"output_tokens":8'));
    expect(copy).toBeGreaterThan(0);
    writeFileSync(path.join(alone.home, PROJECT, FIRST), lines.filter((_, i) => i !== copy).join('\n'));
    run(alone.ws, alone.home, 'run');
    expect(recent(status(alone.ws, alone.home).json)).toBe(recent(first));

    // The resumed session: its copy of the last message adds nothing; its new turn adds its own cost.
    writeFileSync(path.join(dir, RESUMED), claudeLines(RESUMED));
    expect(run(ws, home, 'run').code).toBe(0);
    const both = status(ws, home).json;
    const newTurn = presetWorkspace('claude-code');
    writeFileSync(
      path.join(newTurn.home, PROJECT, RESUMED),
      claudeLines(RESUMED)
        .split('\n')
        .filter((l) => !l.includes('msg_01B2c3D4e5F6g7H8i9J0k1L2'))
        .join('\n'),
    );
    run(newTurn.ws, newTurn.home, 'run');
    const turnOnly = recent(status(newTurn.ws, newTurn.home).json);
    expect(turnOnly).toBeGreaterThan(0);
    expect(recent(both)).toBeCloseTo(recent(first) + turnOnly, 6);
    expect(both.sources.map((s) => s.format)).toEqual(['claude-code', 'claude-code']);
    expect(both.malformed_lines).toBe(0);
  });

  it('a model without a price is loud, never $0; a line that does not fit is malformed, with why', () => {
    const { ws, home } = presetWorkspace('claude-code');
    const turn = {
      type: 'assistant',
      timestamp: new Date().toISOString(),
      sessionId: 's1',
      requestId: 'r1',
      message: { id: 'm1', model: 'claude-unheard-of-9', usage: { input_tokens: 1000, output_tokens: 1000 } },
    };
    const bad = { ...turn, message: { ...turn.message, id: 'm2', usage: { input_tokens: -5 } } };
    writeFileSync(path.join(home, PROJECT, FIRST), `${JSON.stringify(turn)}\n${JSON.stringify(bad)}\n`);
    run(ws, home, 'run');
    const json = status(ws, home).json;
    expect(recent(json)).toBeCloseTo(0.15, 6); // 2,000 tokens at the unpriced $75 per million
    expect(json.cost.unpriced_models.map((m) => m.model)).toEqual(['claude-unheard-of-9']);
    expect(json.warnings.map((w) => w.kind)).toContain('unpriced');
    expect(json.malformed_lines).toBe(1);
    expect(json.malformed_samples[0]!.reason).toMatch(/^claude-code: /);
    expect(json.malformed_samples[0]!.file).toBe(path.join('home', PROJECT, FIRST));
  });
});

describe('otel-genai and litellm', () => {
  /** Shift OTLP's ns times (strings) and LiteLLM's epoch seconds to the last minutes. */
  function redated(file: string): string {
    const shift = BigInt(shiftMs()) * 1_000_000n;
    return readFileSync(path.join(FIXTURES, file), 'utf8')
      .replace(/"(start|end)TimeUnixNano":"(\d+)"/g, (_m, k: string, ns: string) => {
        const moved = BigInt(ns) + shift;
        return `"${k}TimeUnixNano":"${moved}"`;
      })
      .replace(/"(startTime|endTime|completionStartTime)":([\d.]+)/g, (_m, k: string, s: string) => {
        const moved = (Number(s) * 1000 + shiftMs()) / 1000;
        return `"${k}":${moved}`;
      });
  }

  it('otel-genai: spans with usage count, one record each, the agent from service.name', () => {
    const ws = workspace(
      'log: otel/genai.jsonl\nformat: otel-genai\nfields: { agent: service.name }\n' +
        'limits:\n  2h: { warn: 20 }\n',
    );
    mkdirSync(path.join(ws.dir, 'otel'));
    writeFileSync(path.join(ws.dir, 'otel', 'genai.jsonl'), redated('otel-genai/traces.jsonl'));
    const r = cli(['run', '-c', ws.config], { cwd: ws.dir });
    expect(r.code).toBe(0);
    const json = ws.status().json;
    expect((json.windows['2h'] as StatusWindowJson).top_agents.map((t) => t.name).sort()).toEqual([
      'research-agent',
      'support-bot',
    ]);
    expect(json.lines_counted).toBe(2);
    expect(json.cost.unpriced_models).toEqual([]);
    expect(recent(json)).toBeGreaterThan(0);
    // A line of metrics in a traces file: malformed, with the reason.
    appendFileSync(path.join(ws.dir, 'otel', 'genai.jsonl'), '{"resourceMetrics":[]}\n');
    cli(['run', '-c', ws.config], { cwd: ws.dir });
    expect(ws.status().json.malformed_samples[0]!.reason).toMatch(/^otel-genai: /);
  });

  it('litellm: response_cost checked against the table, the virtual key as agent, its own cache free', () => {
    const ws = workspace('log: litellm.jsonl\nformat: litellm\nlimits:\n  2h: { warn: 20 }\n');
    writeFileSync(path.join(ws.dir, 'litellm.jsonl'), redated('litellm/standard_logging.jsonl'));
    expect(cli(['run', '-c', ws.config], { cwd: ws.dir }).code).toBe(0);
    const json = ws.status().json;
    expect(json.lines_counted).toBe(4);
    expect(json.malformed_lines).toBe(0);
    // The virtual key's alias, else its team's alias.
    expect((json.windows['2h'] as StatusWindowJson).top_agents.map((t) => t.name)).toEqual([
      'support',
      'research-agent',
    ]);
    // At least the logged costs (policy max), the cache hit adding nothing.
    expect(recent(json)).toBeGreaterThanOrEqual(0.00435 + 0.02265);
  });

  it('sources: several formats at once, summed', () => {
    const ws = workspace(
      'sources:\n  - { log: state/cost_log.jsonl }\n  - { log: litellm.jsonl, format: litellm }\n' +
        'limits:\n  2h: { warn: 20 }\n',
    );
    writeFileSync(path.join(ws.dir, 'litellm.jsonl'), redated('litellm/standard_logging.jsonl'));
    ws.append(`${JSON.stringify({ t: Date.now() / 1000, cost: 1 })}\n`);
    const solo = workspace('log: litellm.jsonl\nformat: litellm\nlimits:\n  2h: { warn: 20 }\n');
    cpSync(path.join(ws.dir, 'litellm.jsonl'), path.join(solo.dir, 'litellm.jsonl'));
    cli(['run', '-c', solo.config], { cwd: solo.dir });
    cli(['run', '-c', ws.config], { cwd: ws.dir });
    expect(recent(ws.status().json)).toBeCloseTo(1 + recent(solo.status().json), 6);
  });
});

describe('init --preset', () => {
  it.each(['claude-code', 'otel-genai', 'litellm', 'cost-control'])(
    '%s writes a config that validates',
    (preset) => {
      const { ws, home } = presetWorkspace(preset);
      const r = run(ws, home, 'validate');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(': valid');
    },
  );
});
