// The systemd units, as text. Pure: paths and timings in, unit files out, so that what
// `cost-watchdog systemd` prints and what ships in systemd/ are the same function's output and
// can be tested without systemd.
//
// The layout: a oneshot service for one check started every minute by a timer; a second timer and
// service for check-heartbeat; the `watch` daemon as the alternative to the first timer; and a
// template unit that OnFailure= of each of them starts, which alerts naming the unit that failed.

export interface UnitOptions {
  /** Per-user units (`systemctl --user`), or system units. */
  user: boolean;
  /** The command that runs cost-watchdog: absolute paths (node and the script, or an installed binary). */
  exec: readonly string[];
  /** Absolute path of the config file. */
  config: string;
  /** How often the timer runs a check. */
  intervalMs: number;
  /** The emergency flag's folder (written by the checking units only), when known. */
  flagFolder: string | null;
  /** The state folder when the config sets one (otherwise StateDirectory= makes it). */
  stateFolder: string | null;
  /** The folder of metrics.textfile (written by the checking units), when set. */
  metricsFolder?: string | null;
  /**
   * The longest a check may take (lock wait, stop command, grace, alerts): beyond, it is killed and reported.
   */
  checkTimeoutMs: number;
  /** The environment file with the webhook URL (may start with %h). */
  envFile: string;
  /** The shipped example: its paths are placeholders to change. */
  example?: boolean;
  /**
   * One of several watchdogs on the host (`systemd --name`): its units are named
   * cost-watchdog-<instance>*, with a state folder and environment file of their own.
   */
  instance?: string | null;
  /** alerts.daily_summary, with the config's timezone: a timer and service for `summary` too. */
  dailySummary?: { hour: number; minute: number; timezone: string } | null;
}

/** Unit names a second instance's own would collide with (`a` has cost-watchdog-a-watch.service). */
const RESERVED = /(^|-)(heartbeat|watch|notify|summary)$/;
const UNIT_SUFFIX = /\.(service|timer|socket|target|path|mount|slice|scope|device|swap|automount)$/i;

/** Why an instance name cannot name units, or null when it can: systemd-safe, and no collision. */
export function instanceNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
    return (
      'expected 1 to 64 letters, digits, "_", "." or "-" (starting with a letter or digit), ' +
      `got ${JSON.stringify(name)}`
    );
  // `a.` would make `cost-watchdog-a..service`; `shop.service` would make `...shop.service.service`.
  if (name.endsWith('.') || name.includes('..'))
    return `${JSON.stringify(name)}: a "." may not end the name or follow another "."`;
  if (UNIT_SUFFIX.test(name))
    return `${JSON.stringify(name)} ends in a unit type: give the name alone (units add .service, .timer)`;
  if (RESERVED.test(name))
    return (
      `${JSON.stringify(name)} would name units that collide with another instance's ` +
      '(it ends in heartbeat, watch, notify or summary)'
    );
  return null;
}

/** The names every unit of an install starts with: cost-watchdog, or cost-watchdog-<instance>. */
export function unitPrefix(instance: string | null | undefined): string {
  return instance ? `cost-watchdog-${instance}` : 'cost-watchdog';
}

export interface UnitFile {
  name: string;
  text: string;
}

/**
 * The units shipped in systemd/ (regenerate with `npm run units`): the installed command found
 * on systemd's fixed PATH (/usr/local/bin, /usr/bin), the config in /etc/cost-watchdog, and an
 * example app folder for the flag. `cost-watchdog systemd` fills in this install's real paths.
 */
export const SHIPPED_UNITS: UnitOptions = {
  user: false,
  exec: ['/usr/bin/env', 'cost-watchdog'],
  config: '/etc/cost-watchdog/watchdog.yaml',
  intervalMs: 60_000,
  flagFolder: '/srv/my-agent/state',
  stateFolder: null,
  // Lock wait 30s + stop_timeout 30s + grace 10s + verify 5s + alerts 10s + ping 5s + 60s margin.
  checkTimeoutMs: 150_000,
  envFile: '/etc/cost-watchdog/env',
  example: true,
};

/**
 * An OnCalendar= expression for "every interval", or null when the interval does not divide a minute, hour or
 * day.
 */
export function onCalendarFor(intervalMs: number): string | null {
  if (!Number.isInteger(intervalMs) || intervalMs < 1000 || intervalMs % 1000 !== 0) return null;
  const s = intervalMs / 1000;
  if (s < 60) return 60 % s === 0 ? `*-*-* *:*:00/${s}` : null;
  if (s % 60 !== 0) return null;
  const m = s / 60;
  if (m === 1) return '*-*-* *:*:00';
  if (m < 60) return 60 % m === 0 ? `*-*-* *:00/${m}:00` : null;
  if (m % 60 !== 0) return null;
  const h = m / 60;
  if (h === 24) return '*-*-* 00:00:00';
  return h < 24 && 24 % h === 0 ? `*-*-* 00/${h}:00:00` : null;
}

/**
 * One word of a command line or path list as systemd reads it: specifiers and variables escaped, quoted if
 * needed.
 */
export function unitWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function command(o: UnitOptions, args: readonly string[]): string {
  return [...o.exec, ...args].map(unitWord).join(' ');
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}

/** The unit's opening comment (each line of `what`), then where it came from. */
function header(o: UnitOptions, ...what: string[]): string[] {
  const args = `${o.user ? ' --user' : ''}${o.instance ? ` --name ${o.instance}` : ''}`;
  return [
    ...what.map((line) => `# ${line}`),
    `# Generated by \`cost-watchdog systemd${args}\`; regenerate it rather than edit it by hand.`,
  ];
}

/** Settings every unit shares: the config's environment file and the state folder. */
function common(o: UnitOptions): string[] {
  const state = o.user
    ? `~/.local/state/${unitPrefix(o.instance)}`
    : `/var/lib/${unitPrefix(o.instance)} (0700)`;
  return [
    '# The Slack webhook URL (SLACK_WEBHOOK_URL=https://hooks.slack.com/...) lives here, readable only',
    `# by ${o.user ? 'you (chmod 600)' : 'root'}, never in the unit or the config. The leading "-" lets ` +
      'the unit run without it.',
    // Not escaped: a user unit's path starts with the %h specifier.
    `EnvironmentFile=-${o.envFile}`,
    `# ${state}, passed as $STATE_DIRECTORY: the state folder when the config sets no state_dir.`,
    `StateDirectory=${unitPrefix(o.instance)}`,
    'StateDirectoryMode=0700',
    '# Files it creates (state, audit log, flag) are readable by their owner only, unless the ' +
      'folder says otherwise.',
    'UMask=0077',
  ];
}

/**
 * Hardening, as far as killing the target allows. `kill`: this unit signals the app and writes the
 * flag; other units only read and alert.
 */
function hardening(o: UnitOptions, kill: boolean): string[] {
  if (o.user) {
    return [
      '# Hardening: a user unit cannot use most sandboxing settings without user namespaces, and',
      "# PrivateUsers= would make the app's processes unkillable; so only this:",
      '# no privilege gain through setuid programs.',
      'NoNewPrivileges=yes',
    ];
  }
  const paths = [
    ...new Set([
      ...(kill && o.flagFolder !== null ? [o.flagFolder] : []),
      ...(o.stateFolder !== null ? [o.stateFolder] : []),
      ...(kill && o.metricsFolder != null ? [o.metricsFolder] : []),
    ]),
  ];
  const writable = paths.map((p) => `-${unitWord(p)}`).join(' ');
  const what = [
    kill && o.flagFolder !== null ? "the emergency flag's folder" : null,
    o.stateFolder !== null ? 'the state folder set in the config' : null,
    kill && o.metricsFolder != null ? "the metrics textfile's folder" : null,
  ]
    .filter((x) => x !== null)
    .join(' and ');
  return [
    '# ---- Hardening, as far as killing the target allows ----',
    kill
      ? '# Runs as root (no User=) so that it can signal the app whatever user runs it. To run as ' +
        "the\n# app's user instead, add User= and Group=: it can then signal only that user's " +
        'processes\n# (a refused signal is alerted and the check exits 1).'
      : '# Runs as root (no User=) like the check it watches, to read the same state folder.',
    '# No privilege gain through setuid programs (a stop_command that needs sudo would need this removed).',
    'NoNewPrivileges=yes',
    '# The whole file system is read-only to it, except its state folder and the paths below: it',
    "# only reads the cost log, the PID file and the app's state file.",
    'ProtectSystem=strict',
    ...(writable === ''
      ? [
          kill
            ? '# ReadWritePaths=: nothing besides the state folder (no config was read to find the ' +
              "flag's folder)."
            : '# Nothing is writable besides the state folder.',
        ]
      : [
          `# Writable: ${what} ("-": no failure if missing).`,
          ...(o.example === true && kill
            ? ["# EXAMPLE PATH: put your flag_file's folder here (`cost-watchdog systemd` does it for you)."]
            : []),
          `ReadWritePaths=${writable}`,
        ]),
    '# Home folders stay readable (a cost log may live there) but not writable.',
    'ProtectHome=read-only',
    '# Its own /tmp and /dev: nothing it does there is seen by, or affected by, other services.',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    '# It never needs to change the kernel, its modules, logs, clock, hostname or cgroups.',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    "# Slack and the dead-man's-switch ping (IPv4/IPv6), and systemctl or docker in a stop_command " +
      '(unix sockets).',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    kill
      ? "# Only the powers the job needs: signal other users' processes (KILL), read /proc/<pid>/exe " +
        "for\n# long process names (SYS_PTRACE), and read the log and write the flag in the app's " +
        'folders\n# whatever their owner (DAC_*). Add more if your stop_command needs ' +
        'them.\nCapabilityBoundingSet=CAP_KILL CAP_SYS_PTRACE CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH ' +
        'CAP_FOWNER'
      : '# Only reading and writing in folders whatever their owner; it signals ' +
        'nothing.\nCapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH',
    "# Deliberately not set: ProtectProc=invisible and PrivatePIDs= would hide the app's processes",
    '# (nothing left to kill); PrivateUsers= would make their owner "nobody" (signals refused);',
    "# MemoryDenyWriteExecute= breaks Node's JIT; PrivateNetwork= and IPAddressDeny= cut off Slack.",
  ];
}

function onFailure(prefix: string): string[] {
  return [
    '# A failed check (exit 1: log unreadable, flag not written, kill failed; 78: bad config) or a',
    '# timeout alerts, naming this unit: a blind watchdog is never silent.',
    `OnFailure=${prefix}-notify@%n.service`,
  ];
}

function network(): string[] {
  return [
    '# Alerts need the network; a check does not wait for it longer than its own bounds.',
    'Wants=network-online.target',
    'After=network-online.target',
  ];
}

export function systemdUnits(o: UnitOptions): UnitFile[] {
  const calendar = onCalendarFor(o.intervalMs);
  if (calendar === null)
    throw new Error(`interval ${o.intervalMs} ms does not divide a minute, an hour or a day`);
  const every = o.intervalMs === 60_000 ? 'every minute' : `every ${seconds(o.intervalMs)}`;
  const configArgs = ['-c', o.config];
  const lines = (parts: (string | string[])[]): string => `${parts.flat().join('\n')}\n`;
  const installTarget = o.user ? 'default.target' : 'multi-user.target';
  const p = unitPrefix(o.instance);
  // What Description= and the journal call this install.
  const who = o.instance ? `cost-watchdog ${o.instance}` : 'cost-watchdog';

  const runService = lines([
    header(o, `${who}: one check of AI spend (read the cost log, recompute, alert / flag / kill).`),
    `# Started ${every} by ${p}.timer. Run it by hand with: ` +
      `systemctl${o.user ? ' --user' : ''} start ${p}.service`,
    '[Unit]',
    `Description=${who}: one check of AI spend against its limits`,
    network(),
    onFailure(p),
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${command(o, ['run', ...configArgs])}`,
    '# A check is bounded (lock wait, stop command, grace, alerts); one that hangs is killed and',
    '# reported through OnFailure= rather than holding up every later check.',
    `TimeoutStartSec=${seconds(o.checkTimeoutMs)}`,
    common(o),
    hardening(o, true),
  ]);

  const runTimer = lines([
    header(o, `${who}: start one check ${every}.`),
    '[Unit]',
    `Description=${who}: check AI spend ${every}`,
    '',
    '[Timer]',
    `OnCalendar=${calendar}`,
    '# To the second: the default accuracy (1 minute) could delay a check by a whole interval.',
    'AccuracySec=1s',
    '# A check missed while the machine was off or asleep runs as soon as it is back.',
    'Persistent=true',
    `Unit=${p}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ]);

  const heartbeatService = lines([
    header(
      o,
      `${who}: who watches the watchdog. Checks that a check completed recently (heartbeat.max_age).`,
    ),
    `# Started every 5 minutes by ${p}-heartbeat.timer.`,
    '[Unit]',
    `Description=${who}: check that the watchdog is alive (heartbeat)`,
    network(),
    '# Exit 3 (cannot tell: bad config, unreadable heartbeat) alerts through the notify unit.',
    `OnFailure=${p}-notify@%n.service`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${command(o, ['check-heartbeat', ...configArgs])}`,
    ...(o.instance
      ? [
          '# So that its alert names these units, not the unnamed ones.',
          `Environment=COST_WATCHDOG_UNITS=${p}`,
        ]
      : []),
    '# 1 (last check failed) and 2 (stale or missing) are its verdicts, and it has already alerted',
    '# on them itself, once (and once on recovery): they are not failures of this unit, or every',
    '# 5 minutes would bring another alert.',
    'SuccessExitStatus=1 2',
    'TimeoutStartSec=60s',
    common(o),
    hardening(o, false),
  ]);

  const heartbeatTimer = lines([
    header(o, `${who}: check the heartbeat every 5 minutes.`),
    '[Unit]',
    `Description=${who}: check the watchdog's heartbeat every 5 minutes`,
    '',
    '[Timer]',
    'OnCalendar=*-*-* *:00/5:30',
    'AccuracySec=1s',
    'Persistent=true',
    `Unit=${p}-heartbeat.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ]);

  const watchService = lines([
    header(
      o,
      `${who} watch: the daemon alternative to ${p}.timer. The same check on every`,
      'change to the cost log (sub-second) and on watch.schedule. It shares the lock with `run`, so it',
      'may run beside the timer (belt and braces) or instead of it.',
    ),
    '[Unit]',
    `Description=${who} watch: check AI spend on every change to the cost log`,
    network(),
    onFailure(p),
    '# Keep restarting however often it fails: a watchdog that gives up is a silent one.',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${command(o, ['watch', ...configArgs])}`,
    '# SIGHUP reloads the config; a bad one is refused and the running one kept.',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=5s',
    '# Except after bad usage (64) or a bad config (78): restarting cannot fix those; the unit fails',
    '# and OnFailure= alerts instead.',
    'RestartPreventExitStatus=64 78',
    '# SIGTERM goes to the daemon only, which finishes the check in progress (its stop command',
    '# included) and exits 0; whatever is left gets SIGKILL after TimeoutStopSec.',
    'KillMode=mixed',
    `TimeoutStopSec=${seconds(o.checkTimeoutMs)}`,
    common(o),
    hardening(o, true),
    '',
    '[Install]',
    `WantedBy=${installTarget}`,
  ]);

  const notifyService = lines([
    header(
      o,
      `${who}: alert that a ${p} unit failed. Started by OnFailure= with the`,
      `failed unit's name as the instance: ${p}-notify@${p}.service.service.`,
    ),
    '[Unit]',
    `Description=${who}: alert that %i failed`,
    network(),
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${command(o, ['notify', '--unit', '%i', ...configArgs]).replace('%%i', '%i')}`,
    'TimeoutStartSec=60s',
    common(o),
    hardening(o, false),
  ]);

  const summary = o.dailySummary ?? null;
  // A minute after alerts.daily_summary: a `watch` running too sends it first; one is sent either way.
  const summaryAt = summary === null ? null : (summary.hour * 60 + summary.minute + 1) % 1440;
  const summaryUnits: UnitFile[] =
    summary === null || summaryAt === null
      ? []
      : [
          {
            name: `${p}-summary.service`,
            text: lines([
              header(o, `${who}: yesterday's daily summary to every alert channel, once a day.`),
              `# Started by ${p}-summary.timer. One summary per day, also beside ${p}-watch.service.`,
              '[Unit]',
              `Description=${who}: send yesterday's daily summary`,
              network(),
              '# Exit 1 (every channel failed; the day is not marked, the next start sends) alerts.',
              `OnFailure=${p}-notify@%n.service`,
              '',
              '[Service]',
              'Type=oneshot',
              `ExecStart=${command(o, ['summary', ...configArgs])}`,
              'TimeoutStartSec=120s',
              common(o),
              hardening(o, false),
            ]),
          },
          {
            name: `${p}-summary.timer`,
            text: lines([
              header(o, `${who}: send the daily summary (alerts.daily_summary, in its timezone).`),
              '[Unit]',
              `Description=${who}: send the daily summary once a day`,
              '',
              '[Timer]',
              `OnCalendar=*-*-* ${String(Math.floor(summaryAt / 60)).padStart(2, '0')}:` +
                `${String(summaryAt % 60).padStart(2, '0')}:00 ${summary.timezone}`,
              'AccuracySec=1s',
              "# Missed while the machine was off: sent when it is back (it sends yesterday's).",
              'Persistent=true',
              `Unit=${p}-summary.service`,
              '',
              '[Install]',
              'WantedBy=timers.target',
            ]),
          },
        ];

  return [
    { name: `${p}.service`, text: runService },
    { name: `${p}.timer`, text: runTimer },
    { name: `${p}-heartbeat.service`, text: heartbeatService },
    { name: `${p}-heartbeat.timer`, text: heartbeatTimer },
    { name: `${p}-watch.service`, text: watchService },
    { name: `${p}-notify@.service`, text: notifyService },
    ...summaryUnits,
  ];
}
