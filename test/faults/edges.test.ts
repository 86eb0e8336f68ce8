// The fault suite, edge rows: the flag's folder broken three ways, overlapping checks, files the
// watchdog must not trust (a config or secret others can touch), and files planted in the state
// folder. Every test drives the real CLI (bin/ -> dist/) against real files and processes, with a
// real HTTP server on 127.0.0.1 standing in for Slack.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { StatusJson } from '../../src/commands/render/status-json.js';
import {
  audit,
  cliAsync,
  type CliResult,
  lines,
  readJsonFile,
  workspace,
  type Workspace,
} from '../e2e/helpers.js';
import { slackServer, waitFor } from '../e2e/procs.js';
import {
  chownTree,
  cliAs,
  cliBounded,
  cliInFullTmpfs,
  IS_ROOT,
  mkfifo,
  mountFullTmpfs,
  NOBODY,
  probeTmpfs,
  startWatch,
  writeVictim,
} from './edges-support.js';

const LIMITS = '  15m: { warn: 3, emergency: 5, kill: 8 }\n';
const HIGH = '  15m: { warn: 100000 }\n  daily: { warn: 100000 }\n';
const FLAG_IN_FOLDER = 'flag_file: flags/cost_emergency.flag\n';

function cfg(extra = '', limits = LIMITS): string {
  return `log: state/cost_log.jsonl\nlimits:\n${limits}${extra}`;
}

function run(ws: Workspace, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return cliAsync([...args, '-c', ws.config], { cwd: ws.dir, env });
}

function statusOf(r: CliResult): {
  code: number | null;
  json: { status: string; emergency: { active: boolean; error?: string } };
} {
  return { code: r.code, json: JSON.parse(r.stdout) };
}

/** The lines of stderr that are not alerts or notes: the command's own reasons. */
function reasons(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('cost-watchdog: ') &&
        !l.startsWith('cost-watchdog: ALERT ') &&
        !l.startsWith('cost-watchdog: note: '),
    );
}

describe('fault: the flag folder is a file, unreadable, or full', () => {
  it(
    'flag folder a file (ENOTDIR): run, watch, status, kill and clear-emergency fail loudly and ' +
      'never say "in force"',
    async () => {
      const slack = await slackServer();
      const env = { SLACK_WEBHOOK_URL: slack.url };
      const ws = workspace(cfg(FLAG_IN_FOLDER));
      writeFileSync(path.join(ws.dir, 'flags'), 'a file where the flag folder should be\n');
      const reason = new RegExp(
        '^cost-watchdog: cannot tell whether the emergency flag ' +
          String.raw`\S+\/flags\/cost_emergency\.flag exists: not a folder \(ENOTDIR\)`,
        'm',
      );

      // Spend ok: nothing needs the flag, but the brake is broken: the check failed.
      ws.append(lines(1, 1));
      const ok = await run(ws, ['run'], env);
      expect(ok.code, ok.stderr).toBe(1);
      expect(ok.stdout).not.toMatch(/in force/);
      expect(reasons(ok.stderr)).toHaveLength(1);
      expect(ok.stderr).toMatch(reason);
      expect(audit(ws).find((e) => e.event === 'flag_unknown')).toMatchObject({ code: 'ENOTDIR' });
      expect(slack.requests.map((r) => r.text).join('\n')).toMatch(
        /EMERGENCY FLAG UNKNOWN: cannot tell whether the emergency flag .* \(ENOTDIR\)/,
      );
      const unknown = statusOf(await run(ws, ['status', '--json']));
      expect(unknown.code).toBe(3);
      expect(unknown.json.emergency.active).toBe(false);
      expect(unknown.json.emergency.error).toMatch(/ENOTDIR/);
      expect((await run(ws, ['status'])).stdout).toMatch(/emergency flag\s+UNKNOWN: cannot tell whether/);

      // Spend at emergency: the flag cannot be written, and that is said; status is CRITICAL.
      ws.append(lines(2, 3));
      const em = await run(ws, ['run'], env);
      expect(em.code).toBe(1);
      expect(em.stdout).not.toMatch(/in force/);
      expect(em.stderr).toMatch(
        new RegExp(
          '^cost-watchdog: emergency flag not written: ' +
            String.raw`\S+\/flags\/cost_emergency\.flag: not a folder \(ENOTDIR\): ` +
            String.raw`\S+\/flags, or a folder above it, is a file$`,
          'm',
        ),
      );
      const critical = statusOf(await run(ws, ['status', '--json']));
      expect(critical.code).toBe(2);
      expect(critical.json.emergency).toMatchObject({
        active: false,
        error: expect.stringMatching(/ENOTDIR/),
      });

      const kill = await run(ws, ['kill', '--reason', 'fault test'], env);
      expect(kill.code).toBe(1);
      expect(kill.stderr).toMatch(/emergency flag not written: .*ENOTDIR/);
      const clear = await run(ws, ['clear-emergency', '--reason', 'fault test', '--force']);
      expect(clear.code).toBe(1);
      expect(clear.stderr).toMatch(reason);
      expect(clear.stdout).not.toMatch(/no emergency flag/);

      const validate = await run(ws, ['validate']);
      expect(validate.code).toBe(0); // the config is valid; what it points at is said
      expect(validate.stderr).toMatch(
        /note: cannot tell whether the emergency flag .*ENOTDIR.*: every check fails until it is fixed/,
      );

      const watch = await startWatch(ws, env);
      await waitFor(
        'watch to say the check failed',
        () =>
          new RegExp(
            'CHECK FAILED: emergency flag not written: ' +
              String.raw`\S+\/flags\/cost_emergency\.flag: not a folder \(ENOTDIR\)`,
          ).test(watch.stderr()),
        30_000,
      );
      const hb = readJsonFile(path.join(ws.stateDir, 'heartbeat.json')) as {
        mode: string;
        result: { ok: boolean; error?: string };
      };
      expect(hb.result.ok).toBe(false);
      expect(watch.stderr()).toMatch(/note: \S+\/flags is not a folder, so it cannot be watched/);
      expect(watch.stderr()).not.toMatch(/flags does not exist/);
      watch.child.kill('SIGTERM');
      expect(await watch.exited).toBe(0);
    },
  );

  it(
    `flag folder unreadable (EACCES` +
      `${IS_ROOT ? ', the CLI run as nobody: root bypasses folder permissions' : ''}): the check ` +
      `fails, status UNKNOWN then CRITICAL, clear-emergency refuses`,
    async () => {
      const slack = await slackServer();
      const env = { SLACK_WEBHOOK_URL: slack.url };
      const ws = workspace(cfg(FLAG_IN_FOLDER));
      const flags = path.join(ws.dir, 'flags');
      mkdirSync(flags);
      ws.append(lines(1, 1));
      let as: (args: string[], extra?: Record<string, string>) => Promise<CliResult>;
      if (IS_ROOT) {
        chownTree(ws.dir, NOBODY);
        chownSync(flags, 0, 0);
        chmodSync(flags, 0o700);
        as = (args, extra = {}) => cliAs(NOBODY, ws, args, extra);
      } else {
        chmodSync(flags, 0o000);
        onTestFinished(() => chmodSync(flags, 0o755));
        as = (args, extra = {}) => run(ws, args, extra);
      }
      const reason = new RegExp(
        '^cost-watchdog: cannot tell whether the emergency flag ' +
          String.raw`\S+\/flags\/cost_emergency\.flag exists: permission denied ` +
          String.raw`\(EACCES\)`,
        'm',
      );

      const ok = await as(['run'], env);
      expect(ok.code, ok.stderr).toBe(1);
      expect(ok.stdout).not.toMatch(/in force/);
      expect(reasons(ok.stderr)).toHaveLength(1);
      expect(ok.stderr).toMatch(reason);
      expect(audit(ws).find((e) => e.event === 'flag_unknown')).toMatchObject({ code: 'EACCES' });
      expect(slack.requests.map((r) => r.text).join('\n')).toMatch(
        /EMERGENCY FLAG UNKNOWN: .*permission denied \(EACCES\)/,
      );
      const unknown = statusOf(await as(['status', '--json']));
      expect(unknown.code).toBe(3);
      expect(unknown.json.emergency).toMatchObject({ active: false, error: expect.stringMatching(/EACCES/) });

      ws.append(lines(2, 3)); // $7: emergency
      const em = await as(['run'], env);
      expect(em.code).toBe(1);
      expect(em.stdout).not.toMatch(/in force/);
      expect(em.stderr).toMatch(/emergency flag not written: .*permission denied/);
      const critical = statusOf(await as(['status', '--json']));
      expect(critical.code).toBe(2);
      expect(critical.json.emergency.active).toBe(false);
      expect(critical.json.emergency.error).toMatch(/EACCES/);
      if (IS_ROOT) expect(readdirSync(flags)).toEqual([]); // root looks: nothing was written

      const clear = await as(['clear-emergency', '--reason', 'fault test', '--force']);
      expect(clear.code).toBe(1);
      expect(clear.stderr).toMatch(reason);
      expect(clear.stdout).not.toMatch(/no emergency flag/);
    },
  );

  const tmpfs = probeTmpfs();
  const enospcName =
    tmpfs.way === 'mount'
      ? 'flag folder full (ENOSPC, a real 64 KiB tmpfs filled up): the flag is not written, the ' +
        'check fails, no temp file is left'
      : tmpfs.way === 'unshare'
        ? 'flag folder full (ENOSPC, a real 64 KiB tmpfs filled up inside a user+mount namespace: ' +
          'mount is not permitted here): the flag is not written, the check fails'
        : `flag folder full (ENOSPC): NOT EXERCISED, no tmpfs can be mounted here (` +
          `${tmpfs.way === 'none' ? tmpfs.why : ''}); proves only that mounting is refused`;
  it(enospcName, async () => {
    const ws = workspace(cfg(FLAG_IN_FOLDER));
    const flags = path.join(ws.dir, 'flags');
    ws.append(lines(2, 3)); // $6: emergency
    if (tmpfs.way === 'none') {
      console.warn(`test/faults/edges: the ENOSPC row is NOT exercised on this machine: ${tmpfs.why}`);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', ws.dir]);
      expect(m.status).not.toBe(0);
      return;
    }
    let r: CliResult;
    if (tmpfs.way === 'mount') {
      mountFullTmpfs(flags);
      r = await run(ws, ['run']);
      expect(readdirSync(flags)).toEqual(['filler']); // neither a flag nor a temporary file
    } else {
      r = cliInFullTmpfs(flags, ['run', '-c', ws.config], ws.dir);
    }
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        '^cost-watchdog: emergency flag not written: ' +
          String.raw`\S+\/flags\/cost_emergency\.flag: no space left on the device`,
        'm',
      ),
    );
    expect(r.stdout).not.toMatch(/in force/);
    expect(audit(ws).find((e) => e.event === 'flag_failed')).toMatchObject({ code: 'ENOSPC' });
    if (tmpfs.way === 'mount') {
      const s = statusOf(await run(ws, ['status', '--json']));
      expect(s.code).toBe(2);
      expect(s.json.emergency.active).toBe(false);
    }
  });
});

describe('fault: a folder where the flag should be', () => {
  it(
    "flag path a folder: clear-emergency --force says what it is, in words, not Node's EISDIR (exit " +
      '1, audited)',
    async () => {
      const ws = workspace(cfg());
      mkdirSync(path.join(ws.dir, 'state', 'cost_emergency.flag'));
      const r = await run(ws, ['clear-emergency', '--reason', 'test', '--force']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          '^cost-watchdog: cannot remove the emergency flag ' +
            String.raw`\S+cost_emergency\.flag: it is a folder, not a flag file`,
          'm',
        ),
      );
      expect(r.stderr).not.toMatch(/EISDIR: illegal operation/);
      expect(audit(ws).some((e) => e.event === 'clear_failed' && e.code === 'EISDIR')).toBe(true);
    },
  );
});

describe('fault: overlapping runs and run beside watch', () => {
  it('overlapping runs: three `run`s at once, five times over, count every line exactly once', async () => {
    const ws = workspace(cfg('', HIGH));
    let total = 0;
    for (let round = 0; round < 5; round++) {
      ws.append(lines(40, 0.25));
      total += 40;
      const rs = await Promise.all([0, 1, 2].map(() => run(ws, ['run'])));
      for (const r of rs) expect(r.code, r.stderr).toBe(0);
    }
    const checks = audit(ws).filter((e) => e.event === 'check');
    expect(checks).toHaveLength(15);
    expect(checks.reduce((sum, e) => sum + (e.new_lines as number), 0)).toBe(total);
    const cp = readJsonFile(path.join(ws.stateDir, 'checkpoint.json')) as { totals: { records: number } };
    expect(cp.totals.records).toBe(total);
    const s = JSON.parse((await run(ws, ['status', '--json'])).stdout) as StatusJson;
    expect(s.lines_counted).toBe(total);
    expect(s.windows['15m']?.spend_usd).toBe(total * 0.25);
    expect(readdirSync(ws.stateDir).filter((n) => n.endsWith('.tmp') || n === 'lock')).toEqual([]);
  });

  it(
    'run beside watch: `run`s while `watch` checks every ' + 'second share the lock and never double count',
    async () => {
      const ws = workspace(cfg('watch:\n  schedule: "* * * * * *"\n', HIGH));
      ws.append(lines(1, 0.25));
      let total = 1;
      const d = await startWatch(ws);
      for (let round = 0; round < 5; round++) {
        ws.append(lines(40, 0.25));
        total += 40;
        const rs = await Promise.all([0, 1].map(() => run(ws, ['run'])));
        for (const r of rs) expect(r.code, r.stderr).toBe(0);
      }
      const records = (): number =>
        (readJsonFile(path.join(ws.stateDir, 'checkpoint.json')) as { totals: { records: number } }).totals
          .records;
      // Every line is in the checkpoint after the last run; a few more watch checks change nothing.
      expect(records()).toBe(total);
      const heartbeat = (): number =>
        Date.parse((readJsonFile(path.join(ws.stateDir, 'heartbeat.json')) as { time: string }).time);
      const after = heartbeat();
      await waitFor('two more watch checks', () => heartbeat() > after + 1000, 30_000);
      expect(records()).toBe(total);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const s = JSON.parse((await run(ws, ['status', '--json'])).stdout) as StatusJson;
      expect(s.lines_counted).toBe(total);
      expect(s.windows['15m']?.spend_usd).toBe(total * 0.25);
      expect(audit(ws).filter((e) => e.event === 'check' && e.mode === 'run')).toHaveLength(10);
    },
  );
});

describe('fault: writable config or secret file', () => {
  it(
    'writable config or secret file: a config group- or world-writable is refused (78) by every ' +
      'command, with chmod go-w',
    async () => {
      const ws = workspace(cfg());
      ws.append(lines(1, 1));
      for (const mode of [0o664, 0o646]) {
        chmodSync(ws.config, mode);
        for (const command of [
          ['validate'],
          ['run'],
          ['kill', '--reason', 'x'],
          ['clear-emergency', '--reason', 'x'],
        ]) {
          const r = await run(ws, command);
          expect(r.code, `${command[0]} ${mode.toString(8)}`).toBe(78);
          expect(r.stderr).toMatch(
            new RegExp(
              `refusing a config file writable by (group|others) \\(mode 0${mode.toString(8)}\\).*chm` +
                `od go-w ${ws.config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`,
            ),
          );
        }
        expect((await run(ws, ['status'])).code).toBe(3); // the monitoring convention: UNKNOWN
        const watch = await startWatch(ws);
        expect(await watch.exited).toBe(78);
      }
    },
  );

  it(
    'writable config or secret file: a webhook file readable by group or others is refused like an ' +
      'unprotected private key (78, chmod 600), at start and on reload',
    async () => {
      const slack = await slackServer();
      const ws = workspace(cfg('slack:\n  webhook_url_file: secret/slack-url\n'));
      mkdirSync(path.join(ws.dir, 'secret'), { mode: 0o700 });
      const file = path.join(ws.dir, 'secret', 'slack-url');
      writeFileSync(file, `${slack.url}\n`, { mode: 0o600 });
      ws.append(lines(1, 3.5)); // warn: one alert
      const fix = `chmod 600 ${file}`;
      for (const mode of [0o644, 0o640, 0o604, 0o666]) {
        chmodSync(file, mode);
        for (const command of [['validate'], ['run'], ['kill', '--reason', 'x', '--dry-run']]) {
          const r = await run(ws, command);
          expect(r.code, `${command[0]} ${mode.toString(8)}`).toBe(78);
          expect(r.stderr).toContain(`slack.webhook_url_file: ${file} is open to`);
          expect(r.stderr).toMatch(/UNPROTECTED SECRET FILE/);
          expect(r.stderr).toContain(fix);
          expect(r.stderr).not.toMatch(/decides what gets killed/);
          expect(r.stderr).not.toContain(slack.url);
        }
        const watch = await startWatch(ws);
        expect(await watch.exited).toBe(78);
      }
      expect(slack.requests).toHaveLength(0);
      chmodSync(file, 0o600);
      expect((await run(ws, ['validate'])).code).toBe(0);
      const watch = await startWatch(ws);
      await waitFor('the alert to reach Slack', () => slack.requests.length > 0, 30_000);
      chmodSync(file, 0o644);
      watch.child.kill('SIGHUP');
      // The refusal is several lines, written one by one: waited for to its end (the fix).
      await waitFor(
        'the reload to be refused, with the fix',
        () => /SIGHUP: config reload REFUSED/.test(watch.stderr()) && watch.stderr().includes(fix),
        30_000,
      );
      expect(watch.stderr()).toContain(fix);
      expect(watch.child.exitCode).toBeNull(); // still running, with the previous config
      watch.child.kill('SIGTERM');
      expect(await watch.exited).toBe(0);
    },
  );

  it(
    'writable config or secret file: a webhook file that is a folder, unreadable, or owned by ' +
      'another user is refused (78); a symlink is followed and its target checked',
    async () => {
      const slack = await slackServer();
      const ws = workspace(cfg('slack:\n  webhook_url_file: slack-url\n'));
      const file = path.join(ws.dir, 'slack-url');
      ws.append(lines(1, 3.5));

      mkdirSync(file);
      const folder = await run(ws, ['run']);
      expect(folder.code).toBe(78);
      expect(folder.stderr).toContain(
        `slack.webhook_url_file: ${file} is a folder, expected a file holding the URL`,
      );
      expect((await run(ws, ['validate'])).code).toBe(78);
      rmSync(file, { recursive: true });

      // A symlink: the target is what is checked (and named in the link's message).
      const target = path.join(ws.dir, 'real-url');
      writeFileSync(target, `${slack.url}\n`, { mode: 0o644 });
      symlinkSync(target, file);
      const open = await run(ws, ['validate']);
      expect(open.code).toBe(78);
      expect(open.stderr).toMatch(/UNPROTECTED SECRET FILE.*chmod 600/);
      chmodSync(target, 0o600);
      expect((await run(ws, ['validate'])).code).toBe(0);
      const sent = await run(ws, ['run']);
      expect(sent.code, sent.stderr).toBe(0);
      expect(slack.requests).toHaveLength(1);

      if (IS_ROOT) {
        // Owned by another user than the watchdog's (nobody's, the watchdog root).
        chownSync(target, NOBODY, NOBODY);
        const other = await run(ws, ['run']);
        expect(other.code).toBe(78);
        expect(other.stderr).toMatch(
          /is owned by uid 65534, not by root or the user the watchdog runs as \(root\).*chown root/,
        );
        // Unreadable to the watchdog's user: the CLI as nobody, the file root's (mode 0600).
        chownTree(ws.dir, NOBODY);
        chownSync(target, 0, 0);
        const unreadable = await cliAs(NOBODY, ws, ['validate']);
        expect(unreadable.code).toBe(78);
        expect(unreadable.stderr).toMatch(
          new RegExp(
            String.raw`cannot be read by the user the watchdog runs as \(uid 65534\): ` +
              String.raw`permission denied \(EACCES\) \(fix: chown 65534 `,
          ),
        );
        const unreadableRun = await cliAs(NOBODY, ws, ['run']);
        expect(unreadableRun.code).toBe(78);
      } else {
        chmodSync(target, 0o000);
        const unreadable = await run(ws, ['validate']);
        expect(unreadable.code).toBe(78);
        expect(unreadable.stderr).toMatch(
          /cannot be read by the user the watchdog runs as .*permission denied \(EACCES\)/,
        );
      }
      expect(slack.requests).toHaveLength(1);
    },
  );
});

describe('fault: planted symlinks at every state path', () => {
  const NAMES = [
    'checkpoint.json',
    'alerts.json',
    'heartbeat.json',
    'notify.json',
    'heartbeat-alert.json',
    'lock',
    'lock.break',
    'storm-ids.planted.bin',
    'shape-ids.planted.bin',
  ];

  function victims(): { dir: string; text: (name: string) => string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'cw-victims-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return { dir, text: (name) => `SECRET-${name}-do-not-quote precious\n` };
  }

  it(
    'planted symlinks at every state path (checkpoint, alerts, heartbeat, notify, heartbeat-alert, ' +
      'lock, lock.break, storm ids): every command leaves each victim intact and never quotes it',
    async () => {
      const ws = workspace(cfg());
      mkdirSync(ws.stateDir);
      const v = victims();
      for (const name of NAMES) {
        const victim = writeVictim(v.dir, name, v.text(name));
        const link = path.join(ws.stateDir, name);
        symlinkSync(victim, link);
        // An old link: a lock nobody holds is broken after 5 s; these are older than that.
        lutimesSync(link, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      }
      ws.append(lines(2, 3)); // $6: emergency (flag, alerts state)
      const outputs: CliResult[] = [];
      outputs.push(await run(ws, ['run']));
      expect(outputs[0]?.code, outputs[0]?.stderr).toBe(0);
      outputs.push(await run(ws, ['status', '--json']));
      outputs.push(await run(ws, ['check-heartbeat']));
      outputs.push(await run(ws, ['notify', '--message', 'fault test']));
      outputs.push(await run(ws, ['clear-emergency', '--reason', 'fault test', '--force']));
      outputs.push(await run(ws, ['run']));
      expect(outputs.at(-1)?.code).toBe(0);
      for (const name of NAMES) expect(readFileSync(path.join(v.dir, name), 'utf8'), name).toBe(v.text(name));
      // What the commands wrote replaced the link (or removed it), never went through it. (The
      // heartbeat alert state is written only when an alert is due: its link is only read, as corrupt.)
      for (const name of NAMES.filter((n) => n !== 'heartbeat-alert.json')) {
        const link = path.join(ws.stateDir, name);
        if (lstatExists(link)) expect(lstatSync(link).isSymbolicLink(), name).toBe(false);
      }
      const said = [
        ...outputs.map((o) => o.stdout + o.stderr),
        readFileSync(path.join(ws.stateDir, 'audit.jsonl'), 'utf8'),
      ].join('\n');
      expect(said).not.toMatch(/SECRET-/);
    },
  );

  it(
    'planted symlinks at every state path: at audit.jsonl and at the flag, the victim is never ' +
      'written (the run fails or counts the flag as there)',
    async () => {
      const ws = workspace(cfg());
      mkdirSync(ws.stateDir);
      const v = victims();
      const auditVictim = writeVictim(v.dir, 'audit', v.text('audit'));
      symlinkSync(auditVictim, path.join(ws.stateDir, 'audit.jsonl'));
      ws.append(lines(2, 3));
      const r = await run(ws, ['run']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot append to the audit log/);
      expect(readFileSync(auditVictim, 'utf8')).toBe(v.text('audit'));

      const ws2 = workspace(cfg());
      const flagVictim = writeVictim(v.dir, 'flag', v.text('flag'));
      symlinkSync(flagVictim, path.join(ws2.dir, 'state', 'cost_emergency.flag'));
      ws2.append(lines(2, 3));
      const r2 = await run(ws2, ['run']);
      expect(r2.code, r2.stderr).toBe(0);
      expect(readFileSync(flagVictim, 'utf8')).toBe(v.text('flag'));
      const s = await run(ws2, ['status', '--json']);
      expect(s.stdout + s.stderr).not.toMatch(/SECRET-/);
      // The flag's temporary file (an unpredictable name, O_EXCL|O_NOFOLLOW) is never left behind.
      expect(readdirSync(path.join(ws2.dir, 'state')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
  );

  it(
    'planted files at state paths: a hard link at audit.jsonl is never appended to, one at ' +
      'checkpoint.json or alerts.json never read or quoted',
    async () => {
      const ws = workspace(cfg());
      mkdirSync(ws.stateDir);
      const v = victims();
      const victim = writeVictim(v.dir, 'hardlinked', v.text('hardlinked'));
      linkSync(victim, path.join(ws.stateDir, 'audit.jsonl'));
      ws.append(lines(1, 1));
      const r = await run(ws, ['run']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /cannot append to the audit log .*has 2 names \(a hard link planted there\?\)/,
      );
      expect(readFileSync(victim, 'utf8')).toBe(v.text('hardlinked'));

      const ws2 = workspace(cfg());
      mkdirSync(ws2.stateDir);
      const said: string[] = [];
      for (const name of ['checkpoint.json', 'alerts.json']) {
        const other = writeVictim(v.dir, `linked-${name}`, v.text(name));
        linkSync(other, path.join(ws2.stateDir, name));
      }
      ws2.append(lines(2, 3));
      const r2 = await run(ws2, ['run', '--json']);
      expect(r2.code, r2.stderr).toBe(0);
      expect(JSON.parse(r2.stdout).rebuilt).toMatch(/checkpoint unreadable \(a file with 2 names/);
      said.push(r2.stdout, r2.stderr, readFileSync(path.join(ws2.stateDir, 'audit.jsonl'), 'utf8'));
      for (const name of ['checkpoint.json', 'alerts.json'])
        expect(readFileSync(path.join(v.dir, `linked-${name}`), 'utf8')).toBe(v.text(name));
      expect(said.join('\n')).not.toMatch(/SECRET-/);
    },
  );

  it(
    'planted files at state paths: a FIFO at ' + 'checkpoint.json or audit.jsonl never hangs a check',
    async () => {
      const ws = workspace(cfg());
      mkdirSync(ws.stateDir);
      mkfifo(path.join(ws.stateDir, 'checkpoint.json'));
      ws.append(lines(1, 1));
      const r = await cliBounded(['run', '--json', '-c', ws.config], ws.dir, 20_000);
      expect(r.hung, 'run hung on a FIFO at checkpoint.json').toBe(false);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).rebuilt).toMatch(/checkpoint unreadable \(not a regular file/);
      expect(lstatSync(path.join(ws.stateDir, 'checkpoint.json')).isFile()).toBe(true);

      rmSync(path.join(ws.stateDir, 'audit.jsonl'));
      mkfifo(path.join(ws.stateDir, 'audit.jsonl'));
      ws.append(lines(1, 1));
      const a = await cliBounded(['run', '-c', ws.config], ws.dir, 20_000);
      expect(a.hung, 'run hung on a FIFO at audit.jsonl').toBe(false);
      expect(a.code).toBe(1);
      expect(a.stderr).toMatch(/cannot append to the audit log/);
    },
  );
});

function lstatExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
