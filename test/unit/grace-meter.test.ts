// The grace-period meter against a real log file: it counts only what the log gains after the
// check's read, with the check's cost policy, and follows a rotation.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import { graceMeter } from '../../src/check/grace-meter.js';
import { inspect } from '../../src/check/inspect.js';

function setup(cost: Record<string, unknown> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-meter-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'state'));
  const log = path.join(dir, 'state', 'cost_log.jsonl');
  const config = resolveConfig(
    {
      log: 'state/cost_log.jsonl',
      limits: { '15m': { kill: 8 } },
      target: { pid_file: 'state/app.pid' },
      cost,
      burn_rate: 'off',
      retry_storm: 'off',
    },
    path.join(dir, 'watchdog.yaml'),
  );
  const line = (fields: Record<string, unknown>) =>
    `${JSON.stringify({ t: Date.now() / 1000, ...fields })}\n`;
  return { dir, log, config, line };
}

describe('graceMeter', () => {
  it('counts only the lines the log gains after the check read it, to the micro-dollar', () => {
    const { log, config, line } = setup();
    appendFileSync(log, line({ cost: 9 }) + line({ cost: 0.5 }));
    const result = inspect(config, Date.now(), false);
    const meter = graceMeter(config, result.meterStart);
    expect(meter.spentMicro()).toBe(0);
    appendFileSync(log, line({ cost: 0.01 }).repeat(7));
    expect(meter.spentMicro()).toBe(70_000);
    // A line in progress counts once it is whole.
    const whole = line({ cost: 0.05 });
    appendFileSync(log, whole.slice(0, 10));
    expect(meter.spentMicro()).toBe(70_000);
    appendFileSync(log, whole.slice(10));
    expect(meter.spentMicro()).toBe(120_000);
    // Malformed lines cost nothing and stop nothing.
    appendFileSync(log, 'not json\n');
    expect(meter.spentMicro()).toBe(120_000);
  });

  it('uses the cost policy: a line that logs cost 0 counts its tokens under max', () => {
    const { log, config, line } = setup({
      policy: 'max',
      prices: { 'cw-model': { input: 1000, output: 1000 } },
    });
    appendFileSync(log, line({ cost: 1 }));
    const meter = graceMeter(config, inspect(config, Date.now(), false).meterStart);
    appendFileSync(log, line({ cost: 0, model: 'cw-model', input_tokens: 100, output_tokens: 100 }));
    expect(meter.spentMicro()).toBe(200_000); // 200 tokens at $1000 per million
  });

  it('follows a rename rotation: the rest of the old file, then the new one', () => {
    const { log, config, line } = setup();
    appendFileSync(log, line({ cost: 1 }));
    const meter = graceMeter(config, inspect(config, Date.now(), false).meterStart);
    appendFileSync(log, line({ cost: 0.02 }));
    renameSync(log, `${log}.1`);
    appendFileSync(log, line({ cost: 0.03 }));
    expect(meter.spentMicro()).toBe(50_000);
  });

  it('a log that was missing at the check measures nothing', () => {
    const { log, config, line } = setup();
    const meter = graceMeter(config, inspect(config, Date.now(), false).meterStart);
    appendFileSync(log, line({ cost: 5 }));
    expect(meter.spentMicro()).toBeNull();
  });
});
