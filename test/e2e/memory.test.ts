// Peak memory of a full read does not grow with malformed lines: only the first few are kept, and
// judging one leaves nothing behind (before: a JSON.parse error per line, each leaving V8 a Script
// in its old generation; 500,000 such lines peaked at 137 MB, now about 63). The peak comes from
// the process itself: a preload reports process.resourceUsage().maxRSS on exit (as the bench does).
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, workspace } from './helpers.js';

const RSS = fileURLToPath(new URL('../../bench/rss.cjs', import.meta.url));

describe('memory of a full read', () => {
  it('500,000 malformed lines of every kind: counted, five samples kept, peak RSS under 100 MB', () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  daily: { warn: 20 }\n');
    const t = new Date().toISOString();
    const fd = openSync(ws.log, 'w');
    let batch = '';
    for (let i = 0; i < 500_000; i++) {
      batch += `${[
        `not json, line ${i}`,
        `{"ts":"${t}","cost_usd":NaN,"request_id":"r${i}"}`,
        `{"ts":"${t}","cost_usd":0.001,"request_id":"r${i}"`,
        `{"ts":"${t}","cost_usd":-${i},"request_id":"r${i}"}`,
        `{"cost_usd":0.5,"request_id":"r${i}"}`,
      ][i % 5]}\n`;
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
    const out = JSON.parse(r.stdout) as { new_malformed: number; malformed_lines: number };
    expect(out.new_malformed).toBe(500_000);
    const status = ws.status().json as unknown as { malformed_lines: number; malformed_samples: { line: number; reason: string }[] };
    expect(status.malformed_lines).toBe(500_000);
    expect(status.malformed_samples.map((s) => s.line)).toEqual([1, 2, 3, 4, 5]);
    expect(status.malformed_samples[1]?.reason).toBe('not JSON: NaN or Infinity is not a JSON number');
    const peakMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    expect(peakMb).toBeLessThan(100);
  });
});
