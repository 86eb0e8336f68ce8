// Several logs: `log:` as a glob or a list, `sources:`; each file its own place, spend summed.
// The real CLI on real files, and a real process tree to kill.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertsIn, ccLine, readJsonFile, runWithUnreadable, workspace, type Workspace } from './helpers.js';
import { startWatch } from './daemon.js';
import { alive, startTree, waitFor } from './procs.js';
import type { RunJson } from '../../src/commands/render/run-json.js';
import type { StatusWindowJson } from '../../src/commands/render/status-json.js';

const spend15 = (json: { windows: Record<string, { spend_usd: number }> }) => json.windows['15m']!.spend_usd;

function workers(configText: string): Workspace & { worker: (name: string, text: string) => string } {
  const ws = workspace(configText);
  return Object.assign(ws, {
    worker(name: string, text: string): string {
      const file = path.join(ws.dir, 'workers', name, 'cost_log.jsonl');
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, text);
      return file;
    },
  });
}

const LIMITS =
  'limits:\n  15m: { warn: 3, emergency: 5, kill: 8 }\n  daily: { warn: 20, emergency: 25, kill: 30 }\n';

describe('several logs', () => {
  it('three worker logs of $5 each under one glob: $15, the target is killed', async () => {
    const ws = workers(
      `log: "workers/*/cost_log.jsonl"\n${LIMITS}target:\n  pid_file: state/app.pid\n  grace: 2s\n`,
    );
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    for (const name of ['w1', 'w2', 'w3']) ws.worker(name, ccLine(2.5) + ccLine(2.5));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(spend15(r.json)).toBe(15);
    expect(r.json.new_lines).toBe(6);
    expect(r.json.level).toBe('kill');
    await waitFor('the target to die', () => !alive(tree.pid) && tree.children.every((p) => !alive(p)));
    const status = ws.status().json;
    expect(status.sources.map((s) => [s.path, s.format, s.lines, s.malformed_lines])).toEqual([
      ['workers/w1/cost_log.jsonl', 'jsonl', 2, 0],
      ['workers/w2/cost_log.jsonl', 'jsonl', 2, 0],
      ['workers/w3/cost_log.jsonl', 'jsonl', 2, 0],
    ]);
    expect(status.sources.every((s) => s.size_bytes > 0)).toBe(true);
    expect((status.windows['15m'] as StatusWindowJson).top_sources.map((t) => t.spend_usd)).toEqual([
      5, 5, 5,
    ]);
    expect(r.stderr).toMatch(/top logs \(15m\): workers\/w1\/cost_log\.jsonl \$5\.00/);
  });

  it('a list of a path and a glob; a file that starts to match is read from its start, once', () => {
    const ws = workers(`log: [state/cost_log.jsonl, "workers/*/cost_log.jsonl"]\n${LIMITS}`);
    ws.append(ccLine(0.5));
    ws.worker('a', ccLine(0.25));
    expect(ws.run('validate').code).toBe(0);
    let r = ws.runJson();
    expect(r.code).toBe(0);
    expect(spend15(r.json)).toBe(0.75);
    ws.worker('b', ccLine(1) + ccLine(1));
    ws.worker('a', ccLine(0.25));
    r = ws.runJson();
    expect(r.json.new_lines).toBe(3);
    expect(spend15(r.json)).toBe(3);
    r = ws.runJson();
    expect(r.json.new_lines).toBe(0);
    expect(spend15(r.json)).toBe(3);
    expect(ws.status().json.malformed_lines).toBe(0);
  });

  it('sources: with its own field names per source', () => {
    const ws = workers(
      'sources:\n  - { log: state/cost_log.jsonl }\n' +
        '  - { log: "workers/*/cost_log.jsonl", fields: { cost: price, agent: who } }\n' +
        LIMITS,
    );
    ws.append(ccLine(1));
    ws.worker('a', `${JSON.stringify({ t: Date.now() / 1000, price: 2, who: 'planner' })}\n`);
    const r = ws.runJson();
    expect(spend15(r.json)).toBe(3);
    expect((ws.status().json.windows['15m'] as StatusWindowJson).top_agents).toEqual([
      { name: 'planner', spend_usd: 2 },
    ]);
  });

  it('a rotated worker log: its unread lines and the new file, each once', () => {
    const ws = workers(`log: "workers/*/cost_log.jsonl"\n${LIMITS}`);
    const file = ws.worker('a', ccLine(0.5));
    ws.worker('b', ccLine(0.5));
    expect(spend15(ws.runJson().json)).toBe(1);
    appendFileSync(file, ccLine(0.25)); // written before the rotation, not read yet
    renameSync(file, `${file}.1`);
    writeFileSync(file, ccLine(0.125));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(2);
    expect(spend15(r.json)).toBe(1.375);
    expect(r.json.notes.join()).toMatch(/rotated to cost_log\.jsonl\.1/);
    expect(ws.status().json.sources.map((s) => s.path)).toEqual([
      'workers/a/cost_log.jsonl',
      'workers/b/cost_log.jsonl',
    ]);
  });

  it('a file renamed within the glob keeps its place; one deleted is dropped with a note', () => {
    const ws = workers(`log: "workers/*/*.jsonl"\n${LIMITS}`);
    const a = ws.worker('a', ccLine(1));
    ws.worker('b', ccLine(1));
    expect(spend15(ws.runJson().json)).toBe(2);
    const moved = path.join(path.dirname(a), 'renamed.jsonl');
    renameSync(a, moved);
    appendFileSync(moved, ccLine(0.5));
    let r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBe(2.5);
    expect(r.json.notes.join()).toContain('workers/a/cost_log.jsonl was renamed to workers/a/renamed.jsonl');
    rmSync(moved);
    r = ws.runJson();
    expect(r.code).toBe(0);
    expect(spend15(r.json)).toBe(2.5); // what was counted stays counted
    expect(r.json.notes.join()).toContain(
      'workers/a/renamed.jsonl is gone (deleted, or moved out of its folder): dropped',
    );
    expect(ws.status().json.sources.map((s) => s.path)).toEqual(['workers/b/cost_log.jsonl']);
  });

  it('a file that cannot be read among many: named, exit 1, the others read and kept', () => {
    const ws = workers(`log: "workers/*/cost_log.jsonl"\n${LIMITS}`);
    const files = ['a', 'b', 'c'].map((n) => ws.worker(n, ccLine(0.5)));
    expect(spend15(ws.runJson().json)).toBe(1.5);
    for (const file of files) appendFileSync(file, ccLine(0.25));
    const blind = runWithUnreadable(ws, files[1]!);
    expect(blind.code).toBe(1);
    expect(blind.stderr).toContain(`cannot read the cost log ${files[1]}: permission denied`);
    expect(blind.stderr).not.toMatch(/\n\s+at /);
    const json = JSON.parse(blind.stdout) as RunJson;
    expect(json.new_lines).toBe(2);
    expect(spend15(json)).toBe(2);
    // Readable again (and the workspace root's again, if it was handed to nobody): only its new line
    // is read; the others' places held.
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', '0:0', ws.dir]);
    const r = ws.runJson();
    expect(r.code).toBe(0);
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBe(2.25);
  });

  it('a folder under a glob that cannot be read: named, exit 1, the files elsewhere read', () => {
    const ws = workers(`log: "workers/**/*.jsonl"\n${LIMITS}`);
    ws.worker('a', ccLine(0.5));
    const hidden = ws.worker('b', ccLine(0.25));
    const blind = runWithUnreadable(ws, path.dirname(hidden));
    expect(blind.code).toBe(1);
    expect(blind.stderr).toContain(`cannot read the folder ${path.dirname(hidden)} (of the log glob`);
    expect(blind.stderr).toContain('permission denied');
    expect(blind.stderr).not.toContain('matches no file');
    expect(spend15(JSON.parse(blind.stdout) as RunJson)).toBe(0.5);
  });

  it('a glob with no folder is blind (exit 1); one matching nothing is a WARNING, alerted once', () => {
    const ws = workers(`log: "workers/*/cost_log.jsonl"\n${LIMITS}`);
    let r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read the folder ${path.join(ws.dir, 'workers')} of the log glob`);
    mkdirSync(path.join(ws.dir, 'workers'));
    r = ws.run('run');
    expect(r.code).toBe(0);
    expect(alertsIn(r.stderr).join('\n')).toMatch(
      /the log glob workers\/\*\/cost_log\.jsonl matches no file/,
    );
    expect(alertsIn(ws.run('run').stderr)).toEqual([]);
    const status = ws.status();
    expect(status.code).toBe(1);
    expect(status.json.warnings.map((w) => w.kind)).toEqual(['glob-empty']);
    ws.worker('a', ccLine(0.5));
    expect(spend15(ws.runJson().json)).toBe(0.5);
    expect(ws.status().code).toBe(0);
  });

  it('a plain path in a list that is missing is blind, naming it', () => {
    const ws = workers(`log: [state/cost_log.jsonl, state/other.jsonl]\n${LIMITS}`);
    ws.append(ccLine(1));
    const r = ws.runJson();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `cannot read the cost log ${path.join(ws.dir, 'state', 'other.jsonl')}: no such file`,
    );
    expect(spend15(r.json)).toBe(1);
  });

  it('malformed lines are named by their file', () => {
    const ws = workers(`log: "workers/*/cost_log.jsonl"\n${LIMITS}`);
    ws.worker('a', ccLine(1));
    ws.worker('b', 'not json\n');
    ws.runJson();
    const status = ws.status().json;
    expect(status.malformed_samples[0]!.file).toBe('workers/b/cost_log.jsonl');
    expect(status.sources.find((s) => s.path === 'workers/b/cost_log.jsonl')!.malformed_lines).toBe(1);
    expect(status.malformed_lines).toBe(1);
  });

  it('a file reached twice (a symlinked folder loop, overlapping patterns) is read once', () => {
    const ws = workers(`log: ["workers/**/*.jsonl", "workers/a/cost_log.jsonl"]\n${LIMITS}`);
    ws.worker('a', ccLine(1));
    symlinkSync('..', path.join(ws.dir, 'workers', 'a', 'loop'));
    const r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBe(1);
    expect(ws.status().json.sources.map((s) => s.path)).toEqual(['workers/a/cost_log.jsonl']);
  });

  it('300 files: their places in a base file beside the checkpoint, the changed ones in a delta', () => {
    const ws = workers(`log: "workers/*/cost_log.jsonl"\n${LIMITS}`);
    const files = Array.from({ length: 300 }, (_, i) => ws.worker(`w${i}`, ccLine(0.01)));
    let r = ws.runJson();
    expect(r.json.new_lines).toBe(300);
    expect(spend15(r.json)).toBe(3);
    const placesFiles = (): string[] => readdirSync(ws.stateDir).filter((n) => /^places\..*\.json$/.test(n));
    expect(placesFiles()).toHaveLength(1);
    const base = placesFiles()[0]!;
    appendFileSync(files[7]!, ccLine(0.5));
    r = ws.runJson();
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBe(3.5);
    const cp = readJsonFile(path.join(ws.stateDir, 'checkpoint.json')) as {
      files_base: { file: string; count: number };
      files: { path: string }[];
    };
    expect(cp.files_base).toEqual({ file: base, count: 300 });
    expect(cp.files.map((f) => f.path)).toEqual([files[7]]);
    expect(ws.runJson().json.new_lines).toBe(0);
    // One place in it damaged (its line cut short): found when its file is read; all read again.
    const baseFile = path.join(ws.stateDir, base);
    const baseLines = readFileSync(baseFile, 'utf8').split('\n');
    const at = baseLines.findIndex((l) => l.startsWith(`{"path":${JSON.stringify(files[5])},`));
    expect(at).toBeGreaterThan(0);
    baseLines[at] = baseLines[at]!.slice(0, 60);
    writeFileSync(baseFile, baseLines.join('\n'));
    appendFileSync(files[5]!, ccLine(0.125));
    r = ws.runJson();
    expect(r.json.rebuilt).toMatch(
      /a place in the checkpoint's file of places is damaged .*: rebuilt from the log/,
    );
    expect(spend15(r.json)).toBe(3.625);
    const rebuiltBase = placesFiles()[0]!;
    expect(rebuiltBase).not.toBe(base);
    // A base file that is damaged: the checkpoint is rebuilt from the logs, exactly.
    writeFileSync(path.join(ws.stateDir, rebuiltBase), '[{');
    appendFileSync(files[9]!, ccLine(0.25));
    r = ws.runJson();
    expect(r.json.rebuilt).toMatch(/file of places .* is corrupt: rebuilt from the log/);
    expect(spend15(r.json)).toBe(3.875);
    expect(placesFiles()).toHaveLength(1);
    expect(placesFiles()[0]).not.toBe(rebuiltBase);
  });

  it('a version-2 checkpoint of the same one log is kept (nothing read again)', () => {
    const ws = workspace();
    ws.append(ccLine(1));
    ws.runJson();
    const file = path.join(ws.stateDir, 'checkpoint.json');
    const cp = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      files: { current: unknown; previous: unknown }[];
    };
    const { files, sources: _sources, ...rest } = cp;
    writeFileSync(
      file,
      JSON.stringify({
        ...rest,
        version: 2,
        log: ws.log,
        current: files[0]!.current,
        previous: files[0]!.previous,
      }),
    );
    ws.append(ccLine(0.5));
    const r = ws.runJson();
    expect(r.json.rebuilt).toBeNull();
    expect(r.json.new_lines).toBe(1);
    expect(spend15(r.json)).toBe(1.5);
  });
});

describe('watch over a glob', () => {
  it('a new file in a new folder, and a breaching line in it: flag, then the tree killed', async () => {
    const ws = workers(
      `log: "workers/*/cost_log.jsonl"\n${LIMITS}target:\n  pid_file: state/app.pid\n  grace: 2s\n` +
        'watch:\n  schedule: "0 0 * * *"\n',
    );
    ws.worker('a', ccLine(1));
    const tree = await startTree(path.join(ws.dir, 'state', 'app.pid'));
    const daemon = await startWatch(ws);
    await waitFor('the first check', () => ws.status().json.windows['15m']!.spend_usd === 1, 30_000);
    // A worker that starts later: a folder and a file that did not exist when watch started.
    ws.worker('late', ccLine(4.5));
    await waitFor('the flag', () => existsSync(path.join(ws.dir, 'state', 'cost_emergency.flag')), 30_000);
    const flag = JSON.parse(readFileSync(path.join(ws.dir, 'state', 'cost_emergency.flag'), 'utf8'));
    expect(flag.spend_usd).toBe(5.5);
    expect(flag.triggered_by).toBe('watch');
    expect(alive(tree.pid)).toBe(true);
    ws.worker('late', ccLine(3));
    await waitFor('the kill', () => !alive(tree.pid), 30_000);
    expect(ws.status().json.sources.map((s) => s.path)).toEqual([
      'workers/a/cost_log.jsonl',
      'workers/late/cost_log.jsonl',
    ]);
    // A worker's log deleted: said on watch's own output (the journal), not only in the audit log.
    rmSync(path.join(ws.dir, 'workers', 'a', 'cost_log.jsonl'));
    await waitFor('the note', () => daemon.stderr().includes('workers/a/cost_log.jsonl is gone'), 30_000);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });
});

describe('scopes over several logs', () => {
  it('a budget per log: the worker whose log crosses is killed, the other spared', async () => {
    const ws = workers(
      'log: "workers/*/cost_log.jsonl"\nlimits:\n  daily: { warn: 100 }\nscopes:\n' +
        '  - name: w1\n    match: { source: "workers/w1/*" }\n    limits: { 15m: { kill: 4 } }\n' +
        '    target: { pid_file: state/w1.pid, grace: 2s }\n' +
        '  - name: w2\n    match: { source: "workers/w2/*" }\n    limits: { 15m: { kill: 4 } }\n' +
        '    target: { pid_file: state/w2.pid, grace: 2s }\n',
    );
    const one = await startTree(path.join(ws.dir, 'state', 'w1.pid'));
    const two = await startTree(path.join(ws.dir, 'state', 'w2.pid'));
    ws.worker('w1', ccLine(2.5) + ccLine(2.5));
    ws.worker('w2', ccLine(2.5));
    const r = ws.runJson();
    expect(r.code).toBe(0);
    await waitFor('w1 to die', () => !alive(one.pid) && one.children.every((p) => !alive(p)));
    expect(alive(two.pid)).toBe(true);
    expect(two.children.every((p) => alive(p))).toBe(true);
    const scopes = ws.status().json.scopes;
    expect(scopes.map((s) => [s.name, s.level, s.windows['15m']!.spend_usd])).toEqual([
      ['w1', 'kill', 5],
      ['w2', 'ok', 2.5],
    ]);
  });
});
