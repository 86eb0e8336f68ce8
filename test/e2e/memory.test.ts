// Peak memory of a full read does not grow with malformed lines: only the first few are kept, and
// judging one leaves nothing behind (before: a JSON.parse error per line, each leaving V8 a Script
// in its old generation; 500,000 such lines peaked at 137 MB, now about 63). The peak comes from
// the process itself: a preload reports process.resourceUsage().maxRSS on exit (as the bench does).
// Nor much with names: 100,000 request ids each seen three times in the last ten minutes (all of
// them followed by name for retry storms), with as many models and agents, peaked at 122 MB with
// an object per id; about 90 with the compact tables of core/storms/.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { BIN, workspace } from './helpers.js';

const RSS = fileURLToPath(new URL('../../bench/rss.cjs', import.meta.url));

/** A full `run` under the bench's preload: its output and its peak RSS in MB. */
function measuredRun(ws: ReturnType<typeof workspace>): { out: RunJson; peakMb: number } {
  const rssFile = path.join(ws.dir, 'max-rss');
  const r = spawnSync(process.execPath, ['-r', RSS, BIN, 'run', '--json', '-c', ws.config], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CW_BENCH_RSS_FILE: rssFile },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return {
    out: JSON.parse(r.stdout) as RunJson,
    peakMb: Number(readFileSync(rssFile, 'utf8')) / 1024,
  };
}

describe('memory of a full read', () => {
  it('500,000 malformed lines of every kind: counted, five samples kept, peak RSS under 100 MB', () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  daily: { warn: 20 }\n');
    const t = new Date().toISOString();
    const fd = openSync(ws.log, 'w');
    let batch = '';
    for (let i = 0; i < 500_000; i++) {
      batch += `${
        [
          `not json, line ${i}`,
          `{"ts":"${t}","cost_usd":NaN,"request_id":"r${i}"}`,
          `{"ts":"${t}","cost_usd":0.001,"request_id":"r${i}"`,
          `{"ts":"${t}","cost_usd":-${i},"request_id":"r${i}"}`,
          `{"cost_usd":0.5,"request_id":"r${i}"}`,
        ][i % 5]
      }\n`;
      if (batch.length > 1 << 20) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
    closeSync(fd);
    const rssFile = path.join(ws.dir, 'max-rss');
    const r = spawnSync(process.execPath, ['-r', RSS, BIN, 'run', '--json', '-c', ws.config], {
      cwd: ws.dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CW_BENCH_RSS_FILE: rssFile },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RunJson;
    expect(out.new_malformed).toBe(500_000);
    const status = ws.status().json;
    expect(status.malformed_lines).toBe(500_000);
    expect(status.malformed_samples.map((s) => s.line)).toEqual([1, 2, 3, 4, 5]);
    expect(status.malformed_samples[1]?.reason).toBe('not JSON: NaN or Infinity is not a JSON number');
    const peakMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    expect(peakMb).toBeLessThan(100);
  });

  it(
    '100,000 distinct request ids, models and agents, each id seen three times: all followed by ' +
      'name, peak RSS under 100 MB',
    () => {
      const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  daily: { warn: 2000 }\n');
      const NAMES = 100_000;
      const now = Date.now();
      const fd = openSync(ws.log, 'w');
      let batch = '';
      for (let i = 0; i < 3 * NAMES; i++) {
        const k = i % NAMES;
        const t = new Date(now - 600_000 + Math.floor((i / (3 * NAMES)) * 590_000)).toISOString();
        batch +=
          `{"ts":"${t}","model":"model-${k}","agent":"agent-${k}","in":${1000 + (i % 900)},"out":` +
          `${200 + (i % 300)},"cost_usd":0.000${600 + (i % 400)},"request_id":"req-${k}"}\n`;
        if (batch.length > 1 << 20) {
          writeSync(fd, batch);
          batch = '';
        }
      }
      writeSync(fd, batch);
      closeSync(fd);
      const { out, peakMb } = measuredRun(ws);
      expect(out.new_lines).toBe(3 * NAMES);
      expect(out.retry_storms).toEqual([]); // three sightings each: below the storm count, 5
      expect(peakMb).toBeLessThan(100);
      // Every id was followed by name across checks: two more sightings make a storm of any of them.
      const t = new Date(now - 1000).toISOString();
      for (const k of [0, 4242, NAMES - 1])
        for (let j = 0; j < 2; j++)
          ws.append(`{"ts":"${t}","model":"model-${k}","cost_usd":0.01,"request_id":"req-${k}"}\n`);
      const next = ws.runJson();
      expect(next.json.retry_storms.map((s) => [s.id, s.count]).sort()).toEqual([
        ['req-0', 5],
        ['req-4242', 5],
        [`req-${NAMES - 1}`, 5],
      ]);
    },
  );
});
