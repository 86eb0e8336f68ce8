// The command line. The only place that sets the exit code: commands return a code or throw a
// CliError; anything else escaping is a bug and the one case that prints a stack trace.
// Commands are loaded lazily so that `run` pays only for what `run` needs.
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './errors.js';
import { VERSION } from './version.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

const CONFIG_HELP = 'config file (default: $COST_WATCHDOG_CONFIG, then ./watchdog.yaml)';

function configOption(): Option {
  return new Option('-c, --config <file>', CONFIG_HELP);
}

/** What the command that ran asked the process to exit with. */
let commandResult: number = EXIT.OK;

/**
 * A subcommand whose code is loaded only when it runs. Every command takes -c; the action's
 * options include the program's (`cost-watchdog -c x run` and `cost-watchdog run -c x` both work).
 */
function lazyCommand(
  cli: Command,
  name: string,
  description: string,
  load: () => Promise<(options: Record<string, unknown>) => Promise<number>>,
): Command {
  return cli
    .command(name)
    .description(description)
    .addOption(configOption())
    .action(async (_options, command: Command) => {
      const handler = await load();
      commandResult = await handler(command.optsWithGlobals());
    });
}

function program(): Command {
  const cli = new Command('cost-watchdog')
    .description(
      "External safety net for runaway AI spend: re-reads the app's JSONL cost log, recomputes spend " +
        '(rolling windows and the calendar day) without trusting the app, and when limits are crossed alerts (Slack and stderr), ' +
        "writes an emergency flag the app honours, and kills the app's process tree.",
    )
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .addOption(configOption())
    .addHelpText(
      'after',
      `
Exit codes:
  run, watch, kill, clear-emergency, validate, init, systemd, notify
                        0 did its job (whatever the spend), 1 could not (log unreadable, flag not
                        written, kill failed, clear refused), 64 bad usage, 78 bad config
  status, check-heartbeat
                        0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention);
                        64 bad usage (unknown option, bad --max-age)

Examples:
  cost-watchdog init                 write a starter ./watchdog.yaml
  cost-watchdog validate -c /etc/cost-watchdog/watchdog.yaml
  cost-watchdog run                  one check (for a systemd timer or cron, every minute)
  cost-watchdog watch                the same check on every log change, and every 15 s
  cost-watchdog check-heartbeat      is the watchdog alive? (a second timer or cron line)
  cost-watchdog systemd              print the systemd units for this install
  cost-watchdog status --json        spend per window against limits
  cost-watchdog kill --reason "runaway retry loop"
  cost-watchdog clear-emergency --reason "bug fixed in v1.4.2"`,
    );

  lazyCommand(
    cli,
    'run',
    'one check: read new log lines, recompute spend per window (the logged cost, or the estimate from tokens when higher: cost.policy), act on the limits and on retry storms (warn: alert; emergency: alert + flag; kill: alert + flag + kill the target), alert once on what else it finds (an app that under-reports, a burn rate, a silent log), write the heartbeat',
    async () => (await import('./commands/run.js')).runCommand,
  )
    .option('--dry-run', 'decide and print what would be done; write, signal and send nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExit: 0 did its job, whatever the spend (also when no target is configured or running), 1 could\nnot (log unreadable, flag not written or its state unknown, kill failed, state folder not\nwritable), 64 bad usage,\n78 bad config. Alerts go to stderr always and to Slack when $SLACK_WEBHOOK_URL (or\nslack.webhook_url_file) is set.',
    );

  lazyCommand(
    cli,
    'watch',
    'long-running: the same check as `run` on every change to the cost log, the flag or the state file (sub-second), and on watch.schedule (every 15 s by default)',
    async () => (await import('./commands/watch.js')).watchCommand,
  )
    .option('--json', "print each check's result as one JSON line")
    .addHelpText(
      'after',
      '\nFor a systemd Type=simple service (`cost-watchdog systemd` prints one). Checks never overlap\nand share the lock with `run`. SIGTERM or SIGINT: finish the check in progress, exit 0 (again:\nexit at once). SIGHUP: reload the config; a bad one is refused and the running one kept.\nA failed check is said on stderr, recorded in the heartbeat and pinged as failed; watching goes on.\n\nExit: 0 stopped by SIGTERM/SIGINT, 64 bad usage, 78 bad config at start.',
    );

  lazyCommand(
    cli,
    'kill',
    'manual kill switch: write the emergency flag, stop the target (stop_command, SIGTERM, SIGKILL after grace), alert, whatever the spend',
    async () => (await import('./commands/kill.js')).killCommand,
  )
    .option('--reason <text>', 'why (goes into the flag, the alert and the audit log)')
    .option('--dry-run', 'print which processes would be signalled; touch nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nThe kill switch stays on: while the flag is in force, every check kills the target again if it\ncomes back (a supervisor restarted it), until `cost-watchdog clear-emergency`.\n\nExit: 0 done (also when no target is configured or running), 1 flag not written or kill failed\n(EPERM, survivors), 64 bad usage, 78 bad config.',
    );

  lazyCommand(
    cli,
    'clear-emergency',
    "remove the emergency flag after a person's decision; refused while a window (or a retry storm) is still at emergency or above, unless --force",
    async () => (await import('./commands/clear-emergency.js')).clearEmergencyCommand,
  )
    .requiredOption('--reason <text>', 'why it is safe to spend again (required; audited and announced)')
    .option(
      '--force',
      'clear even though spend is still at emergency or above: acknowledges that spend; the flag returns only when a window climbs higher, or drops to ok and crosses again',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExit: 0 cleared (or there was no flag), 1 refused (a window still at emergency or above, or the\nlog unreadable so the spend is not known) or the flag could not be removed, 64 no --reason, 78 bad config.',
    );

  lazyCommand(
    cli,
    'status',
    "spend per window against limits with the top models and agents, emergency flag, target, heartbeat, malformed lines, unpriced models, retry storms, the app's own figures, warnings (read-only)",
    async () => (await import('./commands/status.js')).statusCommand,
  )
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      "\nExit: 0 OK, 1 WARNING (a window at warn, or a warning: an app that under-reports, a burn\nrate, an unpriced model, a blind spot), 2 CRITICAL (a window or a retry storm at emergency or\nkill, the flag in force, or the heartbeat stale), 3 UNKNOWN (bad config, log unreadable, the flag's folder cannot be looked into).",
    );

  lazyCommand(
    cli,
    'check-heartbeat',
    'is the watchdog alive? Exit non-zero and alert (once, and once on recovery) when its last completed check is older than allowed',
    async () => (await import('./commands/check-heartbeat.js')).checkHeartbeatCommand,
  )
    .option(
      '--max-age <duration>',
      'how old the last check may be, like 90s, 5m, 1h (default: heartbeat.max_age, 5m)',
    )
    .option('--json', 'print the verdict as JSON')
    .addHelpText(
      'after',
      '\nRun it from a second timer or cron line (every 5 minutes), or from the app itself. It never\ntakes the check lock, so it reports a watchdog that hangs.\n\nExit: 0 OK (fresh), 1 WARNING (the last check ran but could not do its job), 2 CRITICAL\n(heartbeat older than --max-age, or none at all), 3 UNKNOWN (bad config, unreadable heartbeat),\n64 bad usage.',
    );

  lazyCommand(
    cli,
    'notify',
    'send an alert that a watchdog unit failed (for systemd OnFailure=, or cron): Slack and stderr',
    async () => (await import('./commands/notify.js')).notifyCommand,
  )
    .option('--unit <name>', 'the systemd unit that failed (OnFailure= passes it as %i)')
    .option('--message <text>', 'what to say (with --unit: said as well)')
    .option('--json', 'print what was sent as JSON')
    .addHelpText(
      'after',
      '\nWorks even when the config does not load (that may be why the unit failed): it then sends\nthrough $SLACK_WEBHOOK_URL and says why. The same unit failing again is announced at most\nevery alerts.reminder, unless a good check came in between.\n\nExit: 0 sent (or printed, with no webhook set), 1 Slack could not be reached, 64 bad usage.',
    );

  lazyCommand(
    cli,
    'systemd',
    'print the systemd units for this install (check timer, heartbeat timer, watch service, OnFailure alert), with absolute paths filled in',
    async () => (await import('./commands/systemd.js')).systemdCommand,
  )
    .option('--user', 'units for `systemctl --user` (no root; kills only your own processes)')
    .option('--interval <duration>', 'how often the timer runs a check: 10s, 30s, 1m, 5m, ... (default 1m)')
    .option('--dir <folder>', 'write the unit files into this folder instead of printing them')
    .option('--exec <command>', 'the command to put in ExecStart= (default: this node and this install)')
    .option('--name <instance>', 'one of several watchdogs on this host: units cost-watchdog-<instance>*')
    .option('--json', 'print the units as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  sudo cost-watchdog systemd -c /etc/cost-watchdog/watchdog.yaml --dir /etc/systemd/system\n  sudo systemctl daemon-reload\n  sudo systemctl enable --now cost-watchdog.timer cost-watchdog-heartbeat.timer\n\nExit: 0 done, 1 could not write --dir, 64 bad usage, 78 bad config.',
    );

  lazyCommand(
    cli,
    'validate',
    'check a config file and print what it resolves to',
    async () => (await import('./commands/validate.js')).validateCommand,
  ).option('--json', 'print the resolved config as JSON');

  lazyCommand(
    cli,
    'init',
    'write a starter config (refuses to overwrite an existing file)',
    async () => (await import('./commands/init.js')).initCommand,
  );

  return cli;
}

function stderrLine(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function main(argv: string[]): Promise<number> {
  const cli = program();
  cli.exitOverride();
  // Usage errors carry the same prefix as every other error line (commander writes `error: ...`).
  const output = {
    writeErr: (text: string) => process.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) =>
      write(text.replace(/^error: /, 'cost-watchdog: ')),
  };
  cli.configureOutput(output);
  for (const sub of cli.commands) {
    sub.exitOverride();
    sub.configureOutput(output);
  }
  try {
    if (argv.length <= 2) {
      cli.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await cli.parseAsync(argv);
    return commandResult;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for exits 0; help shown because of a mistake (`help bogus`) is bad usage.
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      }
      return EXIT.USAGE; // commander has already printed the reason
    }
    if (error instanceof CliError) {
      for (const line of error.message.split('\n')) stderrLine(`cost-watchdog: ${line}`);
      return error.exitCode;
    }
    stderrLine(`cost-watchdog: internal error (a bug; please report it with this trace):`);
    stderrLine(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return EXIT.FAILURE;
  }
}

// A closed pipe (`status | head`) is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv);
// The command has finished: leave now even if something it used still holds the event loop (an
// HTTP keep-alive socket, a child that ignored its timeout). A watchdog must not linger.
setTimeout(() => process.exit(), 2_000).unref();
