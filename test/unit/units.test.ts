import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  instanceNameProblem,
  onCalendarFor,
  SHIPPED_UNITS,
  systemdUnits,
  type UnitOptions,
  unitWord,
} from '../../src/core/units.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('onCalendarFor: an interval as OnCalendar=', () => {
  const rows: [number, string | null][] = [
    [M, '*-*-* *:*:00'],
    [10 * S, '*-*-* *:*:00/10'],
    [30 * S, '*-*-* *:*:00/30'],
    [S, '*-*-* *:*:00/1'],
    [5 * M, '*-*-* *:00/5:00'],
    [15 * M, '*-*-* *:00/15:00'],
    [H, '*-*-* 00/1:00:00'],
    [6 * H, '*-*-* 00/6:00:00'],
    [24 * H, '*-*-* 00:00:00'],
    [7 * S, null], // does not divide a minute: the runs would drift at each minute
    [90 * S, null],
    [7 * M, null],
    [5 * H, null],
    [48 * H, null],
    [500, null],
    [1500, null],
  ];
  it.each(rows)('%i ms -> %s', (ms, expected) => {
    expect(onCalendarFor(ms)).toBe(expected);
  });
});

describe('unitWord: a word as systemd reads it', () => {
  const rows: [string, string][] = [
    ['/usr/bin/node', '/usr/bin/node'],
    ['/srv/my app/watchdog.yaml', '"/srv/my app/watchdog.yaml"'],
    ['/srv/100%/w.yaml', '/srv/100%%/w.yaml'],
    ['/srv/$HOME/w.yaml', '/srv/$$HOME/w.yaml'],
    ['/srv/a"b', '"/srv/a\\"b"'],
    ['/srv/a\\b', '"/srv/a\\\\b"'],
    ['', '""'],
  ];
  it.each(rows)('%s', (word, expected) => {
    expect(unitWord(word)).toBe(expected);
  });
});

const BASE: UnitOptions = {
  user: false,
  exec: ['/usr/bin/node', '/opt/cost watchdog/bin/cost-watchdog.js'],
  config: '/etc/cost-watchdog/watchdog.yaml',
  intervalMs: M,
  flagFolder: '/srv/app/state',
  stateFolder: '/var/lib/cost-watchdog',
  checkTimeoutMs: 150 * S,
  envFile: '/etc/cost-watchdog/env',
};

function unit(options: UnitOptions, name: string): string {
  const found = systemdUnits(options).find((u) => u.name === name);
  if (found === undefined) throw new Error(`no ${name}`);
  return found.text;
}

/** The settings of a unit file, comments left out. */
function settings(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('systemdUnits', () => {
  it('makes the six units', () => {
    expect(systemdUnits(BASE).map((u) => u.name)).toEqual([
      'cost-watchdog.service',
      'cost-watchdog.timer',
      'cost-watchdog-heartbeat.service',
      'cost-watchdog-heartbeat.timer',
      'cost-watchdog-watch.service',
      'cost-watchdog-notify@.service',
    ]);
  });

  it('the check: oneshot, absolute paths quoted, bounded, alerting on failure', () => {
    const s = settings(unit(BASE, 'cost-watchdog.service'));
    expect(s).toContain('Type=oneshot');
    expect(s).toContain(
      'ExecStart=/usr/bin/node "/opt/cost watchdog/bin/cost-watchdog.js" run -c ' +
        '/etc/cost-watchdog/watchdog.yaml',
    );
    expect(s).toContain('OnFailure=cost-watchdog-notify@%n.service');
    expect(s).toContain('TimeoutStartSec=150s');
    expect(s).toContain('ReadWritePaths=-/srv/app/state -/var/lib/cost-watchdog');
    expect(s).toContain('StateDirectory=cost-watchdog');
    expect(s).toContain('EnvironmentFile=-/etc/cost-watchdog/env');
    for (const hardening of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'ProtectHome=read-only',
    ])
      expect(s).toContain(hardening);
    expect(s.find((l) => l.startsWith('CapabilityBoundingSet='))).toMatch(/CAP_KILL/);
    // What would make killing impossible is never set.
    for (const never of [
      'ProtectProc=',
      'PrivatePIDs=',
      'PrivateUsers=',
      'MemoryDenyWriteExecute=',
      'PrivateNetwork=',
    ]) {
      expect(s.some((l) => l.startsWith(never))).toBe(false);
    }
  });

  it('every setting has a comment above it saying why (hardening included)', () => {
    for (const u of systemdUnits(BASE)) {
      const lines = u.text.split('\n');
      const hardeningStart = lines.findIndex((l) => l.startsWith('NoNewPrivileges='));
      if (hardeningStart === -1) continue;
      expect(lines[hardeningStart - 1], u.name).toMatch(/^# /);
      expect(
        lines.find((l) => l.startsWith('ProtectSystem=')) &&
          lines[lines.findIndex((l) => l.startsWith('ProtectSystem=')) - 1],
      ).toMatch(/^# .*only reads|^# .*read-only/);
    }
  });

  it('the timer: every interval, to the second, catching up after downtime', () => {
    expect(settings(unit(BASE, 'cost-watchdog.timer'))).toEqual(
      expect.arrayContaining([
        'OnCalendar=*-*-* *:*:00',
        'AccuracySec=1s',
        'Persistent=true',
        'Unit=cost-watchdog.service',
        'WantedBy=timers.target',
      ]),
    );
    expect(settings(unit({ ...BASE, intervalMs: 30 * S }, 'cost-watchdog.timer'))).toContain(
      'OnCalendar=*-*-* *:*:00/30',
    );
    expect(() => systemdUnits({ ...BASE, intervalMs: 7 * S })).toThrow(/does not divide/);
  });

  it('the heartbeat check: every 5 minutes; its verdicts 1 and 2 are not unit failures', () => {
    const s = settings(unit(BASE, 'cost-watchdog-heartbeat.service'));
    expect(s).toContain(
      'ExecStart=/usr/bin/node "/opt/cost watchdog/bin/cost-watchdog.js" check-heartbeat -c ' +
        '/etc/cost-watchdog/watchdog.yaml',
    );
    expect(s).toContain('SuccessExitStatus=1 2');
    // It writes only its state, never the flag, and signals nothing.
    expect(s).toContain('ReadWritePaths=-/var/lib/cost-watchdog');
    expect(s.find((l) => l.startsWith('CapabilityBoundingSet='))).not.toMatch(/CAP_KILL/);
    expect(settings(unit(BASE, 'cost-watchdog-heartbeat.timer'))).toEqual(
      expect.arrayContaining([
        'OnCalendar=*-*-* *:00/5:30',
        'Persistent=true',
        'Unit=cost-watchdog-heartbeat.service',
      ]),
    );
  });

  it('the daemon: simple, always restarted except on bad usage or config, reloads on HUP', () => {
    const s = settings(unit(BASE, 'cost-watchdog-watch.service'));
    expect(s).toEqual(
      expect.arrayContaining([
        'Type=simple',
        'Restart=always',
        'RestartPreventExitStatus=64 78',
        'ExecReload=/bin/kill -HUP $MAINPID',
        'KillMode=mixed',
        'TimeoutStopSec=150s',
        'StartLimitIntervalSec=0',
        'OnFailure=cost-watchdog-notify@%n.service',
        'WantedBy=multi-user.target',
      ]),
    );
  });

  it('the OnFailure template names the failed unit', () => {
    const s = settings(unit(BASE, 'cost-watchdog-notify@.service'));
    expect(s).toContain(
      'ExecStart=/usr/bin/node "/opt/cost watchdog/bin/cost-watchdog.js" notify --unit %i -c ' +
        '/etc/cost-watchdog/watchdog.yaml',
    );
    expect(s).toContain('Description=cost-watchdog: alert that %i failed');
  });

  it('--user: no sandboxing that needs root or would stop the kill, home-relative environment file', () => {
    const user = { ...BASE, user: true, envFile: '%h/.config/cost-watchdog/env', stateFolder: null };
    const s = settings(unit(user, 'cost-watchdog.service'));
    expect(s).toContain('NoNewPrivileges=yes');
    expect(s).toContain('EnvironmentFile=-%h/.config/cost-watchdog/env');
    expect(s.some((l) => l.startsWith('ProtectSystem=') || l.startsWith('CapabilityBoundingSet='))).toBe(
      false,
    );
    expect(settings(unit(user, 'cost-watchdog-watch.service'))).toContain('WantedBy=default.target');
  });
});

describe('the units shipped in systemd/', () => {
  it('are exactly what the generator makes (run `npm run units` after changing src/core/units.ts)', () => {
    const dir = new URL('../../systemd/', import.meta.url);
    const shipped = readdirSync(dir)
      .filter((n) => n.endsWith('.service') || n.endsWith('.timer'))
      .sort();
    const made = systemdUnits(SHIPPED_UNITS);
    expect(shipped).toEqual(made.map((u) => u.name).sort());
    for (const u of made) expect(readFileSync(new URL(u.name, dir), 'utf8'), u.name).toBe(u.text);
  });
});

describe('systemd --name: an instance name that names units', () => {
  it.each<[string, RegExp | null]>([
    ['app-a', null],
    ['App_2.prod', null],
    ['x'.repeat(64), null],
    ['x'.repeat(65), /1 to 64/],
    ['', /1 to 64/],
    ['a b', /1 to 64/],
    ['-a', /starting with a letter or digit/],
    ['.a', /starting with a letter or digit/],
    ['a/b', /1 to 64/],
    ['a@b', /1 to 64/],
    ['a%i', /1 to 64/],
    ['watch', /collide/],
    ['heartbeat', /collide/],
    ['notify', /collide/],
    ['app-watch', /collide/],
    ['app-heartbeat', /collide/],
    ['watchful', null],
    ['stopwatch', null],
    ['a.', /may not end the name/],
    ['a..b', /may not end the name or follow another/],
    ['shop.service', /ends in a unit type/],
    ['shop.TIMER', /ends in a unit type/],
    ['shop.v2', null],
  ])('%j', (name, problem) => {
    const found = instanceNameProblem(name);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });

  it('names every unit, state folder and cross-reference after the instance; none without it', () => {
    const units = systemdUnits({ ...SHIPPED_UNITS, instance: 'shop' });
    expect(units.map((u) => u.name)).toEqual([
      'cost-watchdog-shop.service',
      'cost-watchdog-shop.timer',
      'cost-watchdog-shop-heartbeat.service',
      'cost-watchdog-shop-heartbeat.timer',
      'cost-watchdog-shop-watch.service',
      'cost-watchdog-shop-notify@.service',
    ]);
    const all = units.map((u) => u.text).join('\n');
    expect(all).not.toMatch(/cost-watchdog(?!-shop)[-.@][a-z@]/);
    expect(all).toContain('StateDirectory=cost-watchdog-shop\n');
    // check-heartbeat's alert names these units (check-heartbeat reads COST_WATCHDOG_UNITS).
    const heartbeat = units.find((u) => u.name === 'cost-watchdog-shop-heartbeat.service');
    expect(heartbeat?.text).toContain('\nEnvironment=COST_WATCHDOG_UNITS=cost-watchdog-shop\n');
    expect(systemdUnits(SHIPPED_UNITS).map((u) => u.name)[0]).toBe('cost-watchdog.service');
    expect(systemdUnits(SHIPPED_UNITS).some((u) => u.text.includes('COST_WATCHDOG_UNITS'))).toBe(false);
  });
});
