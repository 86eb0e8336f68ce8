// `status`'s sparkline of spend per minute and `status --watch`, through the real CLI: piped
// (ASCII, one view after another, NDJSON with --json), under a real pseudo-terminal (util-linux
// `script`: blocks, redrawn in place), stopped by SIGTERM or Ctrl-C with exit 0.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, ccLine, type Workspace, workspace } from './helpers.js';
import { waitFor } from './procs.js';

const ESC = '\u001b';
const ASCII_SPARK = /^ {2}last hour {3}([_.:\-=+*#%@]{60}) {2}(.*)$/m;
const UNICODE_SPARK = /^ {2}last hour {3}([▁▂▃▄▅▆▇█]{60}) {2}(.*)$/m;

/** Costs at known minutes back: $2 twenty minutes ago (the busiest), $0.50 and $0.25 elsewhere. */
function knownHour(ws: Workspace): void {
  ws.append(
    ccLine(0.5, 30 * 60 + 20) +
      ccLine(2, 20 * 60 + 20) +
      ccLine(0.25, 10 * 60 + 20) +
      ccLine(0.25, 40) +
      // Seventy minutes ago: in the day, not in the last hour.
      ccLine(5, 70 * 60),
  );
}

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Running {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

function count(text: string, what: string): number {
  return text.split(what).length - 1;
}

describe('status: the last hour per minute', () => {
  it('piped: an ASCII sparkline of 60 minutes, the busiest minute and the hour total said', () => {
    const ws = workspace();
    knownHour(ws);
    const r = ws.run('status');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    // The monitoring-plugin line stays first.
    expect(lines[0]).toMatch(/^COST-WATCHDOG OK - /);
    const m = ASCII_SPARK.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [, spark, scale] = m as RegExpExecArray;
    expect(scale).toBe('max $2.00/min, $3.00 in 60 min');
    // One column a minute, oldest first: the $2 minute is 20 (or, across a minute's turn, 19 or
    // 21) columns from the right, the only full mark; the others are drawn smaller, not as nothing.
    const at = (spark as string).indexOf('@');
    expect(at).toBeGreaterThanOrEqual(59 - 21);
    expect(at).toBeLessThanOrEqual(59 - 19);
    expect(count(spark as string, '@')).toBe(1);
    expect((spark as string).replace(/_/g, '')).toHaveLength(4);
    // No escape sequences when piped.
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).toContain('(_ none, @ the busiest minute)');
  });

  it('an idle hour says so', () => {
    const ws = workspace();
    ws.append(ccLine(1, 2 * 3600));
    const m = ASCII_SPARK.exec(ws.run('status').stdout);
    expect(m?.[1]).toBe('_'.repeat(60));
    expect(m?.[2]).toBe('no spend in 60 min');
  });

  it('status --json: spend_per_minute, 60 minutes in dollars from a minute start', () => {
    const ws = workspace();
    knownHour(ws);
    const { code, json } = ws.status();
    expect(code).toBe(0);
    const spm = json.spend_per_minute;
    expect(spm.minutes).toHaveLength(60);
    expect(Date.parse(spm.from) % 60_000).toBe(0);
    const lastMinute = Math.floor(Date.parse(json.checked_at) / 60_000) * 60_000;
    expect(Date.parse(spm.from)).toBe(lastMinute - 59 * 60_000);
    expect(spm.minutes.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 9);
    expect(Math.max(...spm.minutes)).toBe(2);
    // The keys of before are all still there.
    for (const key of ['status', 'level', 'windows', 'emergency', 'heartbeat', 'log', 'checked_at'])
      expect(json).toHaveProperty(key);
  });
});

describe('status --watch, piped', () => {
  it('prints a view per interval, a blank line between, no escapes; SIGTERM ends it with 0', async () => {
    const ws = workspace();
    knownHour(ws);
    const w = start(
      process.execPath,
      [BIN, 'status', '--watch', '--interval', '1s', '-c', ws.config],
      ws.dir,
    );
    await waitFor('two views', () => count(w.stdout(), '  watching         every 1s') >= 2, 30_000);
    // A line written between two views shows in the next one.
    ws.append(ccLine(0.5, 1));
    const seen = count(w.stdout(), '  watching ');
    await waitFor('a view after the append', () => {
      const views = w.stdout().split(/^COST-WATCHDOG /m);
      return count(w.stdout(), '  watching ') > seen && /\$3\.50 in 60 min/.test(views.at(-1) ?? '');
    });
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const out = w.stdout();
    expect(out).not.toContain(ESC);
    expect(out).toMatch(/^COST-WATCHDOG OK - /);
    // Each view starts with its plugin line, after the footer of the one before and a blank line.
    expect(out).toMatch(/; Ctrl-C stops\n\nCOST-WATCHDOG OK - /);
    expect(ASCII_SPARK.test(out)).toBe(true);
    expect(w.stderr()).toBe('');
  });

  it('--json: one JSON line per view (NDJSON); SIGINT ends it with 0', async () => {
    const ws = workspace();
    knownHour(ws);
    const w = start(
      process.execPath,
      [BIN, 'status', '--watch', '--json', '--interval', '1s', '-c', ws.config],
      ws.dir,
    );
    await waitFor('two JSON lines', () => w.stdout().split('\n').length >= 3, 30_000);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    const views = w
      .stdout()
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { status: string; checked_at: string; spend_per_minute: { minutes: number[] } },
      );
    expect(views.length).toBeGreaterThanOrEqual(2);
    for (const v of views) {
      expect(v.status).toBe('OK');
      expect(v.spend_per_minute.minutes).toHaveLength(60);
    }
    // About a second apart (taken at each interval, not back to back).
    const gap = Date.parse(views[1]?.checked_at ?? '') - Date.parse(views[0]?.checked_at ?? '');
    expect(gap).toBeGreaterThanOrEqual(900);
  });

  it('an unreadable log is in each view and said once on stderr; the watch goes on', async () => {
    // The log is a folder: each check says UNKNOWN, and why.
    const ws = workspace('log: state\nlimits:\n  15m: { warn: 3 }\n');
    const w = start(
      process.execPath,
      [BIN, 'status', '--watch', '--interval', '1s', '-c', ws.config],
      ws.dir,
    );
    await waitFor('two views', () => count(w.stdout(), '  watching ') >= 2, 30_000);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const views = w
      .stdout()
      .split(/^COST-WATCHDOG /m)
      .filter((v) => v !== '');
    expect(views.length).toBeGreaterThanOrEqual(2);
    for (const v of views) expect(v).toMatch(/^UNKNOWN - cannot read the cost log .*: not a regular file/);
    expect(w.stderr()).toMatch(/^cost-watchdog: cannot read the cost log .*: not a regular file\n$/);
  });
});

describe('status --watch: bad usage and a bad config', () => {
  const cases = [
    { args: ['--watch', '--interval', '0.5s'], says: '--interval: expected at least "1s", got "0.5s"' },
    { args: ['--watch', '--interval', '5'], says: '--interval: expected a duration like "5s"' },
    { args: ['--interval', '5s'], says: '--interval: only with --watch' },
  ];
  it.each(cases)('status $args: 64 naming the option', ({ args, says }) => {
    const ws = workspace();
    const r = ws.run('status', ...args);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`cost-watchdog: ${says}`);
    expect(r.stdout).toBe('');
  });

  it('a bad config at start: UNKNOWN, exit 3, no watching', () => {
    const ws = workspace('log: state/cost_log.jsonl\nlimits:\n  15m: { warn: lots }\n');
    const r = ws.run('status', '--watch', '--interval', '1s');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^COST-WATCHDOG UNKNOWN - /);
    expect(r.stdout).not.toContain('watching');
    expect(r.stderr).toContain('limits.15m.warn');
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasScript)('status --watch on a terminal (util-linux script)', () => {
  it('redraws in place with blocks, and Ctrl-C restores the cursor and exits 0', async () => {
    const ws = workspace();
    knownHour(ws);
    const command = `'${process.execPath}' '${BIN}' status --watch --interval 1s -c '${ws.config}'`;
    const w = start('script', ['-qfc', command, '/dev/null'], ws.dir, { TERM: 'xterm' });
    await waitFor('two redraws', () => count(w.stdout(), `${ESC}[H`) >= 3, 30_000);
    const out = w.stdout();
    // Cursor hidden, wrap off, screen cleared once; then home, lines cleared to their end.
    expect(out.startsWith(`${ESC}[?25l${ESC}[?7l${ESC}[H${ESC}[2J${ESC}[HCOST-WATCHDOG OK - `)).toBe(true);
    expect(out).toContain(`${ESC}[K`);
    expect(out).toContain(`${ESC}[J`);
    const m = UNICODE_SPARK.exec(out.replaceAll(`${ESC}[K`, '').replaceAll('\r', ''));
    expect(m, out).not.toBeNull();
    expect(m?.[1]).toContain('█');
    expect(m?.[2]).toBe('max $2.00/min, $3.00 in 60 min');
    expect(out).toContain('█ the busiest minute');
    // Ctrl-C through the terminal (its line discipline sends SIGINT).
    w.child.stdin?.write('\u0003');
    expect(await w.exited).toBe(0);
    expect(w.stdout().endsWith(`${ESC}[?7h${ESC}[?25h\r\n`)).toBe(true);
  });

  it('SIGTERM to the watcher itself: exit 0, the cursor restored', async () => {
    const ws = workspace();
    const pidFile = `${ws.dir}/pid`;
    // The shell execs node, so $$ is the watcher's pid.
    const watcher = `'${process.execPath}' '${BIN}' status --watch -c '${ws.config}'`;
    const command = `echo $$ > '${pidFile}'; exec ${watcher}`;
    const w = start('script', ['-qfc', command, '/dev/null'], ws.dir, { TERM: 'xterm' });
    await waitFor('a view', () => w.stdout().includes('every 5s, this view at'), 30_000);
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stdout().endsWith(`${ESC}[?7h${ESC}[?25h\r\n`)).toBe(true);
  });
});
