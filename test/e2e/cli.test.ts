// The command line as a newcomer meets it: help, version, exit codes, config errors, init,
// validate, and the status contract (JSON shape and monitoring exit codes).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, DEFAULT_LIMITS, lines, workspace } from './helpers.js';

describe('usage', () => {
  it('--help lists the commands and the exit codes', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['run', 'status', 'validate', 'init', 'Exit codes', '-c, --config'])
      expect(r.stdout).toContain(word);
  });

  it('help <command> exits 0', () => {
    const r = cli(['help', 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--json');
  });

  it('<command> --help explains the options', () => {
    const r = cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--dry-run');
    expect(r.stdout).toContain('--json');
    expect(cli(['status', '--help']).stdout).toMatch(/0 OK, 1 WARNING/);
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
  });

  it.each([
    [['bogus'], /^cost-watchdog: unknown command 'bogus'/m],
    [['run', '--bogus'], /^cost-watchdog: unknown option '--bogus'/m],
    [['status', '--jsno'], /^cost-watchdog: unknown option '--jsno'/m],
    [['run', '-c'], /^cost-watchdog: option .* argument missing/m],
    [['clear-emergency'], /^cost-watchdog: required option '--reason <text>' not specified/m],
    [[], /Usage: cost-watchdog/],
  ])('%j exits 64', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [['rn'], "unknown command 'rn' (did you mean run?)"],
    [['status', '--jsno'], "unknown option '--jsno' (did you mean --json?)"],
    [['run', '-c'], "option '-c, --config <file>' argument missing"],
    [['clear-emergency'], "required option '--reason <text>' not specified"],
    [['status', 'extra'], "too many arguments for 'status'. Expected 0 arguments but got 1."],
    [
      ['help', 'bogus'],
      "help: unknown command 'bogus' (commands: run, watch, kill, clear-emergency, balance, status, " +
        'check-heartbeat, notify, summary, systemd, validate, init, replay)',
    ],
  ])("commander's own error %j is one prefixed line, exit 64", (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cost-watchdog: ${message}\n`);
  });
});

describe('bad config exits 78 with the key path, no stack trace', () => {
  it.each([
    [
      'log: state/x.jsonl\nlimits:\n  15m: { warn: lots }\n',
      'limits.15m.warn: expected a number (USD), got "lots"',
    ],
    [
      'limits:\n  15m: { warn: 1 }\n',
      'log: required (the cost log: a path, a glob, or a list of them; or `sources:`)',
    ],
    ['log: x\nlimits: { 15m: { warn: 1 } }\nbogus: 1\n', 'bogus: unknown key'],
    ['log: x\nlimits: { 15m: { warn: 1 }\n', 'line 3, column 1: not valid YAML'],
  ])('%j', (text, message) => {
    const ws = workspace(text);
    for (const command of ['run', 'validate']) {
      const r = ws.run(command);
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(`${ws.config}: ${message}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    // status is a monitoring check: it cannot tell, so UNKNOWN
    expect(ws.run('status').code).toBe(3);
  });

  it('a missing config file names the path and how to make one', () => {
    const ws = workspace();
    const r = cli(['run', '-c', path.join(ws.dir, 'nope.yaml')]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/nope\.yaml: no such file \(write a starter one with `cost-watchdog init/);
  });

  it('finds the config through $COST_WATCHDOG_CONFIG, then ./watchdog.yaml', () => {
    const ws = workspace();
    ws.append(lines(1, 1));
    expect(cli(['run'], { cwd: '/', env: { COST_WATCHDOG_CONFIG: ws.config } }).code).toBe(0);
    expect(cli(['run'], { cwd: ws.dir }).code).toBe(0);
  });
});

describe('run fails loudly when it cannot see', () => {
  it('a missing log exits 1 naming the path', () => {
    const ws = workspace();
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read the cost log ${ws.log}: no such file`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const s = ws.status();
    expect(s.code).toBe(3);
    expect(s.json.log.error).toContain(ws.log);
  });

  it('a state folder that cannot be created exits 1 at once (a dangling symlink, not a hang)', () => {
    const ws = workspace(`log: state/cost_log.jsonl\nstate_dir: disk/cost-watchdog\n${DEFAULT_LIMITS}`);
    ws.append(lines(1, 1));
    symlinkSync(path.join(ws.dir, 'unmounted'), path.join(ws.dir, 'disk'));
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot create state folder ${path.join(ws.dir, 'disk', 'cost-watchdog')}`);
    const init = cli(['init', '-c', path.join(ws.dir, 'disk', 'etc', 'watchdog.yaml')]);
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(/cannot write .*disk\/etc\/watchdog\.yaml/);
  });

  it('a log that is a named pipe exits 1 at once instead of waiting for a writer', () => {
    const ws = workspace();
    execFileSync('mkfifo', [ws.log]);
    const r = ws.run('run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read the cost log ${ws.log}: not a regular file`);
  });

  it('an unreadable log exits 1', () => {
    if (process.getuid?.() === 0) {
      // root reads any file; a folder in the log's place is just as unreadable as a log
      const ws = workspace(`log: state\n${DEFAULT_LIMITS}`);
      const r = ws.run('run');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot read the cost log .*state: not a regular file/);
      return;
    }
    const ws = workspace();
    ws.append(lines(1, 1));
    chmodSync(ws.log, 0o000);
    expect(ws.run('run').code).toBe(1);
  });
});

describe('status', () => {
  it("prints the contract's JSON shape", () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}target:\n  pid_file: state/app.pid\n`);
    ws.append(lines(2, 2.1));
    ws.run('run');
    const s = ws.status();
    expect(s.code).toBe(1);
    expect(s.json).toMatchObject({
      windows: {
        '15m': { spend_usd: 4.2, level: 'warn', limits: { warn: 3, emergency: 5, kill: 8 } },
        daily: { spend_usd: 4.2, level: 'ok', limits: { warn: 20, emergency: 25, kill: 30 } },
      },
      emergency: { active: false },
      target: { running: false, pids: [] },
      heartbeat: { age_seconds: expect.any(Number) },
      malformed_lines: 0,
    });
  });

  it('finds a running target from its PID file', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}target:\n  pid_file: state/app.pid\n`);
    ws.append(lines(1, 1));
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(path.join(ws.dir, 'state', 'app.pid'), `${child.pid}\n`);
      const s = ws.status();
      expect(s.json.target).toMatchObject({ running: true, pids: [child.pid] });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exit codes follow the monitoring convention', () => {
    const ws = workspace();
    ws.append(lines(1, 1));
    expect(ws.status().code).toBe(0);
    ws.append(lines(1, 2.5));
    expect(ws.status().code).toBe(1); // 3.5: warn
    ws.append(lines(1, 2));
    expect(ws.status().code).toBe(2); // 5.5: emergency
  });

  it('is CRITICAL while the emergency flag is in force, even after spend dropped', () => {
    const ws = workspace();
    ws.append(lines(1, 1));
    writeFileSync(
      path.join(ws.dir, 'state', 'cost_emergency.flag'),
      JSON.stringify({ reason: 'test', triggered_by: 'kill' }),
    );
    const s = ws.status();
    expect(s.code).toBe(2);
    expect(s.json.emergency).toMatchObject({ active: true, reason: 'test' });
  });

  it('is CRITICAL when the heartbeat is stale', () => {
    const ws = workspace(`log: state/cost_log.jsonl\n${DEFAULT_LIMITS}heartbeat:\n  max_age: 1s\n`);
    ws.append(lines(1, 1));
    ws.run('run');
    const hb = path.join(ws.stateDir, 'heartbeat.json');
    const beat = JSON.parse(readFileSync(hb, 'utf8'));
    writeFileSync(hb, JSON.stringify({ ...beat, time: new Date(Date.now() - 60_000).toISOString() }));
    const s = ws.status();
    expect(s.code).toBe(2);
    expect(s.json.heartbeat.age_seconds).toBeGreaterThanOrEqual(59);
  });

  it.each([
    // spend in 15m, the first line of `status`, its exit code
    [1, "COST-WATCHDOG OK - no limit reached | 'spend_15m'=1.00;3;5;0 'spend_daily'=1.00;20;25;0", 0],
    [
      6,
      'COST-WATCHDOG CRITICAL - 15m $6.00 >= emergency $5.00' +
        " | 'spend_15m'=6.00;3;5;0 'spend_daily'=6.00;20;25;0",
      2,
    ],
  ])('the text starts with the monitoring-plugin line ($%s)', (spend, line, code) => {
    const ws = workspace();
    ws.append(lines(1, spend));
    const r = ws.run('status');
    expect(r.stdout.split('\n')[0]).toBe(line);
    expect(r.code).toBe(code);
  });

  it('says UNKNOWN on the first line when it cannot tell (no config)', () => {
    const ws = workspace();
    rmSync(ws.config);
    const r = ws.run('status');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^COST-WATCHDOG UNKNOWN - .*watchdog\.yaml: no such file/);
  });

  it('the human view shows gauges, the flag, the target and malformed samples', () => {
    const ws = workspace();
    ws.append(lines(2, 2.1));
    ws.append('not json at all\n');
    ws.run('run');
    const r = ws.run('status');
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(
      "COST-WATCHDOG WARNING - 15m $4.20 >= warn $3.00 | 'spend_15m'=4.20;3;5;0 'spend_daily'=4.20;20;25;0",
    );
    expect(r.stdout).toMatch(/\n {2}gauge: # spent, \. not yet, \| a limit .*\n {2}level: /);
    expect(r.stdout).toContain(`config           ${ws.config}`);
    expect(r.stdout).toMatch(
      /15m\s+\$4\.20\s+WARN\s+\[[#.|]+[\]>]\s+warn \$3\.00 \/ emergency \$5\.00 \/ kill \$8\.00/,
    );
    expect(r.stdout).toMatch(/emergency flag\s+not set/);
    expect(r.stdout).toMatch(/target\s+not configured/);
    expect(r.stdout).toMatch(/malformed lines\s+1\n\s+cost_log\.jsonl:3: not JSON/);
    expect(r.stdout).not.toMatch(/\u001b\[/); // no colour when not a TTY
  });
});

describe('init and validate', () => {
  it('init writes a starter config that validates, and refuses to overwrite it', () => {
    const ws = workspace();
    rmSync(ws.config);
    let r = cli(['init'], { cwd: ws.dir });
    expect(r.code).toBe(0);
    expect(existsSync(ws.config)).toBe(true);
    r = cli(['validate'], { cwd: ws.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${ws.config}: valid`);
    const before = readFileSync(ws.config, 'utf8');
    r = cli(['init'], { cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists: not overwriting it/);
    expect(readFileSync(ws.config, 'utf8')).toBe(before);
  });

  it("init's starter config is quiet beside an app that has only a log: run, then status OK", () => {
    const ws = workspace();
    rmSync(ws.config);
    expect(cli(['init'], { cwd: ws.dir }).code).toBe(0);
    ws.append(lines(2, 0.15));
    const run = cli(['run'], { cwd: ws.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/WARNING/);
    const r = cli(['status'], { cwd: ws.dir });
    expect(r.stdout.split('\n')[0]).toMatch(/^COST-WATCHDOG OK - /);
    expect(r.code).toBe(0);
    // The tracker preset is one comment away.
    expect(readFileSync(ws.config, 'utf8')).toMatch(/^# state_file: state\/cost_tracker\.json$/m);
  });

  it.each([
    ['claude-code', 'log: "~/.claude/projects/**/*.jsonl"'],
    ['otel-genai', 'log: /var/log/otel/genai.jsonl'],
    ['litellm', 'log: /var/log/litellm/standard_logging.jsonl'],
  ])(
    'init --preset %s writes its starter config (log and format), and refuses to overwrite it',
    (preset, log) => {
      const ws = workspace();
      rmSync(ws.config);
      let r = cli(['init', '--preset', preset], { cwd: ws.dir });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`wrote ${ws.config} (preset ${preset})`);
      const text = readFileSync(ws.config, 'utf8');
      expect(text).toContain(`\n${log}\nformat: ${preset}\n`);
      // quiet: warn and emergency levels, no target (a kill is one uncommented block away)
      expect(text).toMatch(/^limits:\n {2}15m: \{ warn: \d+, emergency: \d+ \}$/m);
      expect(text).not.toMatch(/^target:/m);
      r = cli(['init', '--preset', preset], { cwd: ws.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/already exists: not overwriting it/);
      expect(readFileSync(ws.config, 'utf8')).toBe(text);
    },
  );

  it('init --preset claude-code: what protects a Claude Code user, and CLAUDE_CONFIG_DIR', () => {
    const ws = workspace();
    rmSync(ws.config);
    expect(cli(['init', '--preset', 'claude-code'], { cwd: ws.dir }).code).toBe(0);
    const text = readFileSync(ws.config, 'utf8');
    expect(text).toMatch(/CLAUDE_CONFIG_DIR/);
    expect(text).toMatch(/^# {3}process_name: claude$/m);
    expect(text).toMatch(/"UserPromptSubmit"/);
  });

  it('init --preset cost-control is the default starter config, and validates', () => {
    const ws = workspace();
    rmSync(ws.config);
    expect(cli(['init', '--preset', 'cost-control'], { cwd: ws.dir }).code).toBe(0);
    const preset = readFileSync(ws.config, 'utf8');
    expect(cli(['validate'], { cwd: ws.dir }).code).toBe(0);
    rmSync(ws.config);
    expect(cli(['init'], { cwd: ws.dir }).code).toBe(0);
    expect(readFileSync(ws.config, 'utf8')).toBe(preset);
  });

  it('init --preset with an unknown name: one line naming the presets, exit 64, nothing written', () => {
    const ws = workspace();
    rmSync(ws.config);
    const r = cli(['init', '--preset', 'claude'], { cwd: ws.dir });
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      'cost-watchdog: init: unknown preset "claude" ' +
        '(presets: claude-code, otel-genai, litellm, cost-control)\n',
    );
    expect(existsSync(ws.config)).toBe(false);
  });

  it('validate --json shows the resolved config', () => {
    const ws = workspace();
    const r = ws.run('validate', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.valid).toBe(true);
    expect(json.config.log).toBe(ws.log);
    expect(r.stderr).toMatch(/does not exist \(yet\)/);
  });

  it('the bin shim is executable', () => {
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
