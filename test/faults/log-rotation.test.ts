// Fault rows: what rotation, rewriting and odd bytes do to the cost log, through the real CLI over
// real files. Totals are exact: every line the app wrote counts once (lines_counted is an exact
// integer; costs are whole cents).
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/commands/render/run-json.js';
import { audit, flagFile, type Workspace, workspace } from '../e2e/helpers.js';
import { waitFor } from '../e2e/procs.js';
import {
  cliWithPeak,
  fixedLine,
  fixedLines,
  inode,
  rotateLog,
  sameEdgedLines,
  startWatch,
} from './log-rotation-support.js';

const spend15 = (json: { windows: Record<string, { spend_usd: number }> }) => json.windows['15m']!.spend_usd;

/**
 * Make the followed rotated files look quiet for a day (longer than any window): the checkpoint says when
 * each last grew.
 */
function ageFollowed(ws: Workspace): void {
  const file = path.join(ws.stateDir, 'checkpoint.json');
  const cp = JSON.parse(readFileSync(file, 'utf8')) as { files: { previous: { grown_ms: number }[] }[] };
  for (const gen of cp.files[0]!.previous) gen.grown_ms -= 86_400_000;
  writeFileSync(file, JSON.stringify(cp));
}

describe('log rotation faults', () => {
  it("rename rotation: the old file's unread lines, then the new file, each once", () => {
    const ws = workspace();
    ws.append(fixedLines(4, 0.5));
    expect(ws.runJson().json.new_lines).toBe(4);
    ws.append(fixedLines(2, 0.5)); // after the last read, before the rotation
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(fixedLines(3, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(5);
    expect(spend15(r.json)).toBeCloseTo(4.5, 9);
    expect(r.json.notes.join()).toMatch(/was rotated to cost_log\.jsonl\.1/);
    const again = ws.runJson();
    expect(again.json.new_lines).toBe(0);
    expect(ws.status().json.lines_counted).toBe(9);
  });

  it("copytruncate: the copy's lines past the offset, then the log from 0", () => {
    const ws = workspace();
    ws.append(fixedLines(4, 0.5));
    ws.runJson();
    ws.append(fixedLines(2, 0.5)); // after the last read, before the copy
    copyFileSync(ws.log, `${ws.log}.1`);
    truncateSync(ws.log, 0);
    ws.append(fixedLines(1, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(3);
    expect(spend15(r.json)).toBeCloseTo(3.5, 9);
    expect(r.json.notes.join()).toMatch(
      /truncated in place \(copytruncate\); read the rest of its copy cost_log\.jsonl\.1/,
    );
    expect(ws.status().json.lines_counted).toBe(7);
  });

  it('copytruncate, also a same-size rewrite: regrown to exactly the size read, the new lines count', () => {
    // the first and the last 64 bytes of every line are alike: only more than that tells old from new
    const ws = workspace();
    ws.append(sameEdgedLines(6, 60));
    expect(ws.runJson().json.new_lines).toBe(6);
    const size = statSync(ws.log).size;
    copyFileSync(ws.log, `${ws.log}.1`);
    truncateSync(ws.log, 0);
    ws.append(sameEdgedLines(6, 5)); // same size, same inode, other lines
    expect(statSync(ws.log).size).toBe(size);
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(6);
    expect(spend15(r.json)).toBeCloseTo(3, 9);
    expect(ws.status().json.lines_counted).toBe(12);
  });

  it('copytruncate, also a same-size rewrite: other content of the same length in place, no copy', () => {
    const ws = workspace();
    ws.append(sameEdgedLines(6, 60));
    ws.runJson();
    const before = { size: statSync(ws.log).size, ino: inode(ws.log) };
    writeFileSync(ws.log, sameEdgedLines(6, 5)); // truncated and written again: same length
    expect({ size: statSync(ws.log).size, ino: inode(ws.log) }).toEqual(before);
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(6);
    expect(spend15(r.json)).toBeCloseTo(3, 9);
    expect(r.json.notes.join()).toMatch(/no copy of it was found: reading it again from the start/);
  });

  it(
    'rotation between reads: lines written before it and a whole generation rotated in between, each ' +
      'once',
    () => {
      const ws = workspace();
      ws.append(fixedLines(2, 0.5));
      ws.runJson();
      ws.append(fixedLines(1, 0.5)); // unread tail of the file we follow
      renameSync(ws.log, `${ws.log}.1`);
      ws.append(fixedLines(3, 0.5)); // a generation never seen as the log
      renameSync(`${ws.log}.1`, `${ws.log}.2`);
      renameSync(ws.log, `${ws.log}.1`);
      ws.append(fixedLines(1, 0.5));
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(5);
      expect(spend15(r.json)).toBeCloseTo(3.5, 9);
      expect(ws.runJson().json.new_lines).toBe(0);
      expect(ws.status().json.lines_counted).toBe(7);
    },
  );

  it(
    'rotation between reads: the generation in between is read even when its lines start like the ' +
      "old file's",
    () => {
      const ws = workspace();
      ws.append(sameEdgedLines(2, 60));
      ws.runJson();
      renameSync(ws.log, `${ws.log}.1`);
      // its first 64 bytes are the old file's: not a copy of it for all that
      ws.append(sameEdgedLines(3, 30));
      renameSync(`${ws.log}.1`, `${ws.log}.2`);
      renameSync(ws.log, `${ws.log}.1`);
      ws.append(sameEdgedLines(1, 5));
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(4);
      expect(spend15(r.json)).toBeCloseTo(1.5, 9);
      expect(ws.status().json.lines_counted).toBe(6);
    },
  );

  it(
    'a rotated file still written: the app keeps its old handle, every line it appends there counts ' +
      'once',
    () => {
      const ws = workspace();
      const app = openSync(ws.log, 'a'); // the app's handle, kept across the rotation
      writeSync(app, fixedLines(2, 0.5));
      ws.runJson();
      renameSync(ws.log, `${ws.log}.1`);
      writeFileSync(ws.log, fixedLines(1, 0.25)); // a new log, written by someone else
      writeSync(app, fixedLines(1, 0.5)); // before the check that sees the rotation
      let r = ws.runJson();
      expect(r.json.new_lines).toBe(2);
      for (let i = 0; i < 3; i++) {
        writeSync(app, fixedLines(2, 0.5)); // after it: lost before, with no word
        r = ws.runJson();
        expect(r.json.new_lines).toBe(2);
      }
      closeSync(app);
      expect(spend15(r.json)).toBeCloseTo(4.75, 9);
      expect(ws.status().json.lines_counted).toBe(10);
      // quiet for longer than the ledger's horizon: let go, said in the run, the audit and status
      ageFollowed(ws);
      r = ws.runJson();
      expect(r.json.notes.join()).toMatch(
        /no longer following rotated log cost_log\.jsonl\.1: it has not grown for over \d+[smhd]/,
      );
      expect(JSON.stringify(audit(ws))).toMatch(/no longer following rotated log cost_log\.jsonl\.1/);
      writeFileSync(`${ws.log}.1`, fixedLines(1, 0.5), { flag: 'a' });
      expect(ws.runJson().json.new_lines).toBe(0);
    },
  );

  it(
    'a rotated file still written: several generations at ' + 'once, and one deleted is let go with a note',
    () => {
      const ws = workspace();
      const first = openSync(ws.log, 'a');
      writeSync(first, fixedLines(1, 0.5));
      ws.runJson();
      renameSync(ws.log, `${ws.log}.1`);
      const second = openSync(ws.log, 'a');
      writeSync(second, fixedLines(1, 0.5));
      ws.runJson();
      renameSync(`${ws.log}.1`, `${ws.log}.2`);
      renameSync(ws.log, `${ws.log}.1`);
      writeFileSync(ws.log, '');
      ws.runJson();
      writeSync(first, fixedLines(2, 0.5)); // now cost_log.jsonl.2
      writeSync(second, fixedLines(3, 0.5)); // now cost_log.jsonl.1
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(5);
      expect(ws.status().json.lines_counted).toBe(7);
      closeSync(first);
      closeSync(second);
      rmSync(`${ws.log}.2`);
      const gone = ws.runJson();
      expect(gone.json.notes.join()).toMatch(
        /no longer following rotated log cost_log\.jsonl\.2: it was deleted or compressed/,
      );
      expect(spend15(gone.json)).toBeCloseTo(3.5, 9);
    },
  );

  it(
    'a rotated file still written: 8 generations followed at most, the longest quiet let go with a ' + 'note',
    () => {
      const ws = workspace();
      ws.append(fixedLines(1, 0.01));
      ws.runJson();
      const notes: string[] = [];
      for (let i = 1; i <= 9; i++) {
        renameSync(ws.log, `${ws.log}-${i}`);
        ws.append(fixedLines(1, 0.01));
        notes.push(...ws.runJson().json.notes);
      }
      expect(notes.filter((n) => /no longer following/.test(n))).toEqual([
        'no longer following rotated log cost_log.jsonl-1: more than 8 rotated files are followed, ' +
          'and it was the longest quiet',
      ]);
      const cp = JSON.parse(readFileSync(path.join(ws.stateDir, 'checkpoint.json'), 'utf8')) as {
        files: { previous: { name: string }[] }[];
      };
      expect(cp.files[0]!.previous.map((g) => g.name)).toEqual(
        [2, 3, 4, 5, 6, 7, 8, 9].map((i) => `cost_log.jsonl-${i}`),
      );
      expect(ws.status().json.lines_counted).toBe(10);
    },
  );

  it(
    'an in-place suffix rewrite (rotate_log): the lines written back are not counted again, the ' +
      "app's next ones are",
    () => {
      const ws = workspace();
      ws.append(fixedLines(80, 0.05)); // $4.00
      expect(spend15(ws.runJson().json)).toBeCloseTo(4, 9);
      const ino = inode(ws.log);
      rotateLog(ws.log, 60); // truncate, write back the last 60 lines ($3.00, all counted)
      expect(inode(ws.log)).toBe(ino);
      ws.append(fixedLines(19, 0.05)); // the app goes on: $0.95
      const r = ws.runJson();
      // true spend $4.95 (warn); counting the 60 lines again made it $7.95 (emergency, a flag)
      expect(r.json.new_lines).toBe(19);
      expect(spend15(r.json)).toBeCloseTo(4.95, 9);
      expect(r.json.windows['15m']!.level).toBe('warn');
      expect(existsSync(flagFile(ws))).toBe(false);
      expect(r.json.notes.join()).toMatch(/rewritten in place keeping lines already counted/);
      expect(ws.runJson().json.new_lines).toBe(0);
      expect(ws.status().json.lines_counted).toBe(99);
    },
  );

  it(
    'an in-place suffix rewrite (rotate_log): lines written after the last read and kept by it count ' +
      'once',
    () => {
      const ws = workspace();
      ws.append(fixedLines(30, 0.05));
      ws.runJson();
      ws.append(fixedLines(10, 0.05)); // not read yet
      rotateLog(ws.log, 25); // keeps 15 lines read and the 10 unread
      ws.append(fixedLines(5, 0.05));
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(15);
      expect(spend15(r.json)).toBeCloseTo(2.25, 9);
      expect(ws.status().json.lines_counted).toBe(45);
    },
  );

  it('an in-place suffix rewrite (rotate_log): keeping fewer read lines than the watchdog remembers', () => {
    const ws = workspace();
    ws.append(fixedLines(30, 0.05));
    ws.runJson();
    ws.append(fixedLines(10, 0.05));
    rotateLog(ws.log, 12); // 2 lines read, 10 unread
    ws.append(fixedLines(5, 0.05));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(15);
    expect(ws.status().json.lines_counted).toBe(45);
  });

  it('an in-place suffix rewrite (rotate_log): keeping only unread lines, all of them count', () => {
    const ws = workspace();
    ws.append(fixedLines(30, 0.05));
    ws.runJson();
    ws.append(fixedLines(10, 0.05));
    rotateLog(ws.log, 4); // only lines never read
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(4);
    expect(ws.status().json.lines_counted).toBe(34);
  });

  it(
    'an in-place suffix rewrite (rotate_log): with a line still being written, finished after the ' +
      'rewrite',
    () => {
      const ws = workspace();
      const line = fixedLine(0.05);
      ws.append(fixedLines(30, 0.05) + line.slice(0, 40));
      expect(ws.runJson().json.new_lines).toBe(30);
      ws.append(line.slice(40));
      rotateLog(ws.log, 10); // 9 whole lines read, and the one finished since
      ws.append(fixedLines(2, 0.05));
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(3);
      expect(r.json.malformed_lines).toBe(0);
      expect(ws.status().json.lines_counted).toBe(33);
    },
  );

  it('an in-place suffix rewrite (rotate_log): caught empty mid-rewrite, then written back', () => {
    const ws = workspace();
    ws.append(fixedLines(30, 0.05));
    ws.runJson();
    const kept = readFileSync(ws.log, 'utf8').split('\n').slice(-21).join('\n');
    truncateSync(ws.log, 0); // the check comes between the truncation and the write
    expect(ws.runJson().json.new_lines).toBe(0);
    writeFileSync(ws.log, kept, { flag: 'a' });
    ws.append(fixedLines(2, 0.05));
    expect(ws.runJson().json.new_lines).toBe(2);
    expect(ws.status().json.lines_counted).toBe(32);
  });

  it('an in-place suffix rewrite (rotate_log): rewritten, then renamed away before the next read', () => {
    const ws = workspace();
    ws.append(fixedLines(30, 0.05));
    ws.runJson();
    rotateLog(ws.log, 20);
    ws.append(fixedLines(5, 0.05)); // after the rewrite, before the rename
    renameSync(ws.log, `${ws.log}.1`);
    ws.append(fixedLines(2, 0.05));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(7);
    expect(r.json.malformed_lines).toBe(0);
    expect(ws.status().json.lines_counted).toBe(37);
  });

  it(
    "copytruncate, then renamed away before the next read: the copy's rest, the truncated file, the " +
      'new log',
    () => {
      const ws = workspace();
      ws.append(fixedLines(4, 0.5));
      ws.runJson();
      ws.append(fixedLines(2, 0.5)); // before the copy
      copyFileSync(ws.log, `${ws.log}.1`);
      truncateSync(ws.log, 0);
      ws.append(fixedLines(3, 0.5)); // after the truncation
      renameSync(`${ws.log}.1`, `${ws.log}.2`);
      renameSync(ws.log, `${ws.log}.1`);
      ws.append(fixedLines(1, 0.5));
      const r = ws.runJson();
      expect(r.json.new_lines).toBe(6);
      expect(r.json.malformed_lines).toBe(0);
      expect(ws.status().json.lines_counted).toBe(10);
    },
  );

  it('partial line: a last line without its newline is waited for, then counted once', () => {
    const ws = workspace();
    const line = fixedLine(1.5);
    ws.append(fixedLines(1, 1) + line.slice(0, 20));
    let r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(r.json.malformed_lines).toBe(0);
    r = ws.runJson();
    expect(r.json.new_lines).toBe(0);
    ws.append(line.slice(20));
    r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(r.json.malformed_lines).toBe(0);
    expect(spend15(r.json)).toBeCloseTo(2.5, 9);
  });

  it('invalid UTF-8: malformed and counted as such, nothing else lost', () => {
    const ws = workspace();
    const t = Math.floor(Date.now() / 1000);
    ws.append(fixedLines(2, 0.5));
    ws.append(Buffer.from([0xff, 0xfe, 0x0a]));
    ws.append(
      Buffer.concat([
        Buffer.from(`{"t":${t},"cost":2,"model":"a`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}\n'),
      ]),
    );
    ws.append(fixedLines(2, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(4);
    expect(r.json.new_malformed).toBe(2);
    expect(spend15(r.json)).toBeCloseTo(2, 9);
    const s = ws.status().json;
    expect(s.malformed_samples.map((m) => [m.line, m.reason])).toEqual([
      [3, 'invalid UTF-8'],
      [4, 'invalid UTF-8'],
    ]);
  });

  it('line > 1 MiB: malformed, the following lines still counted', () => {
    const ws = workspace();
    ws.append(fixedLines(1, 0.5));
    ws.append(`{"t":${Math.floor(Date.now() / 1000)},"cost":9,"pad":"${'x'.repeat(1024 * 1024 + 10)}"}\n`);
    ws.append(fixedLines(3, 0.5));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(4);
    expect(r.json.new_malformed).toBe(1);
    expect(spend15(r.json)).toBeCloseTo(2, 9);
    expect(ws.status().json.malformed_samples[0]!.reason).toMatch(/line longer than 1 MiB/);
  });

  it('line > 1 MiB and 50 MiB without newline: waited for in bounded memory, then malformed; the ' +
    'following lines counted', async () => {
    const ws = workspace();
    ws.append(fixedLines(2, 0.5));
    expect(ws.runJson().json.new_lines).toBe(2);
    const mib = Buffer.alloc(1024 * 1024, 'x'.charCodeAt(0));
    for (let i = 0; i < 50; i++) ws.append(mib); // 50 MiB and no newline yet
    let r = await cliWithPeak(ws, ['run', '--json']);
    expect(r.code).toBe(0);
    let json = JSON.parse(r.stdout) as RunJson;
    expect(json.new_malformed).toBe(0); // still a write in progress
    expect(r.peakMb).toBeLessThan(100); // bounded: the 50 MiB line is not held
    ws.append('\n');
    ws.append(fixedLines(3, 0.5));
    r = await cliWithPeak(ws, ['run', '--json']);
    json = JSON.parse(r.stdout) as RunJson;
    expect(json.new_lines).toBe(3);
    expect(json.new_malformed).toBe(1);
    expect(spend15(json)).toBeCloseTo(2.5, 9);
    // and read whole on a rebuild (a second thread reads part of a file this large)
    rmSync(path.join(ws.stateDir, 'checkpoint.json'));
    r = await cliWithPeak(ws, ['run', '--json']);
    json = JSON.parse(r.stdout) as RunJson;
    expect(json.new_lines).toBe(5);
    expect(json.new_malformed).toBe(1);
    expect(spend15(json)).toBeCloseTo(2.5, 9);
    expect(r.peakMb).toBeLessThan(100);
  }, 120_000);

  it('sustained 3,000 lines/s with rotations under watch, total exact', async () => {
    const ws = workspace(
      `log: state/cost_log.jsonl\nlimits:\n  15m: { warn: 100000 }\n  daily: { warn: 100000 }\n`,
    );
    writeFileSync(ws.log, '');
    const d = await startWatch(ws);
    const writer = fileURLToPath(new URL('./log-rotation-writer.mjs', import.meta.url));
    const child = spawn(
      process.execPath,
      [writer, ws.log, '3000', '4', 'rename,copytruncate,rotate_log,rename,copytruncate'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const written = Number(out.trim());
    expect(written).toBe(12_000);
    // watch has caught up when its checkpoint counts as many lines (more would be counted twice)
    const checkpoint = path.join(ws.stateDir, 'checkpoint.json');
    const counted = (): number => {
      try {
        return (JSON.parse(readFileSync(checkpoint, 'utf8')) as { totals: { records: number } }).totals
          .records;
      } catch {
        return 0; // not written yet, or being replaced
      }
    };
    await waitFor('watch to read the last lines', () => counted() >= written, 60_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${counted()} of ${written} lines counted`);
      },
    );
    expect(
      counted(),
      `the daemon's notes:\n${d
        .stderr()
        .split('\n')
        .filter((l) => l.includes('note'))
        .join('\n')}`,
    ).toBe(written);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    // nothing left for status to read: the daemon's own count is the total
    const s = ws.status().json;
    expect(s.lines_counted).toBe(written);
    expect(s.malformed_lines).toBe(0);
    expect(s.windows['15m']!.spend_usd).toBeCloseTo(written * 0.01, 6);
    expect(s.windows.daily!.spend_usd).toBeCloseTo(written * 0.01, 6);
    expect(d.stderr()).not.toMatch(/lost to the watchdog|reading it again from the start/);
  }, 120_000);
});
