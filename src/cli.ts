// The command line. The only place that sets the exit code: commands return a code or throw a
// CliError; anything else escaping is a bug and the one case that prints a stack trace.
// Commands are loaded lazily so that `run` pays only for what `run` needs.
import { Command, CommanderError, Option } from 'commander';
import {
  CLEAR_FLEET_HELP,
  CLEAR_FORCE_HELP,
  COMMAND_HELP,
  CONFIG_HELP,
  type CommandName,
  PROGRAM_AFTER,
  PROGRAM_DESCRIPTION,
  STATUS_WATCH_HELP,
  REPLAY_FROM_HELP,
} from './cli-help.js';
import { CliError, EXIT } from './errors.js';
import { VERSION } from './version.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

function configOption(): Option {
  return new Option('-c, --config <file>', CONFIG_HELP);
}

/** What the command that ran asked the process to exit with. */
let commandResult: number = EXIT.OK;
/** `replay`'s log arguments (commander passes them apart from the options). */
let replayLogs: string[] = [];

/**
 * A subcommand whose code is loaded only when it runs, described by its COMMAND_HELP entry. Every
 * command takes -c; the action's options include the program's (`cost-watchdog -c x run` and
 * `cost-watchdog run -c x` both work).
 */
function lazyCommand(
  cli: Command,
  name: CommandName,
  load: () => Promise<(options: Record<string, unknown>) => Promise<number>>,
): Command {
  const help = COMMAND_HELP[name];
  const command = cli
    .command(name)
    .description(help.description)
    .addOption(configOption())
    .action(async (...args: unknown[]) => {
      // (The command comes last: after the options, and after any arguments it declares.)
      const command = args[args.length - 1] as Command;
      const handler = await load();
      commandResult = await handler(command.optsWithGlobals());
    });
  if (help.after !== undefined) command.addHelpText('after', help.after);
  return command;
}

function program(): Command {
  const cli = new Command('cost-watchdog')
    .description(PROGRAM_DESCRIPTION)
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .addOption(configOption())
    .addHelpText('after', PROGRAM_AFTER);

  lazyCommand(cli, 'run', async () => (await import('./commands/run.js')).runCommand)
    .option('--dry-run', 'decide and print what would be done; write, signal and send nothing')
    .option('--json', 'print the result as JSON');

  lazyCommand(cli, 'watch', async () => (await import('./commands/watch.js')).watchCommand).option(
    '--json',
    "print each check's result as one JSON line",
  );

  lazyCommand(cli, 'kill', async () => (await import('./commands/kill.js')).killCommand)
    .option('--reason <text>', 'why (goes into the flag, the alert and the audit log)')
    .option('--dry-run', 'print which processes would be signalled; touch nothing')
    .option('--json', 'print the result as JSON');

  lazyCommand(
    cli,
    'clear-emergency',
    async () => (await import('./commands/clear-emergency.js')).clearEmergencyCommand,
  )
    .requiredOption('--reason <text>', 'why it is safe to spend again (required; audited and announced)')
    .option('--force', CLEAR_FORCE_HELP)
    .option('--fleet', CLEAR_FLEET_HELP)
    .option('--scope <name>', "clear one scoped budget's flag and state (scopes: in the config)")
    .option('--key <field=value>', 'with --scope of an `each` scope: which value (like agent=research)')
    .option('--json', 'print the result as JSON');

  lazyCommand(cli, 'balance', async () => (await import('./commands/balance.js')).balanceCommand)
    .option('--add <amount>', "record a top-up of this amount, in the limits' currency (like 50)")
    .option('--reason <text>', 'with --add: where the credit came from (required; audited and announced)')
    .option('--json', 'print the result as JSON');

  lazyCommand(cli, 'status', async () => (await import('./commands/status.js')).statusCommand)
    .option('--json', 'print the status as JSON (with --watch: one JSON line per view)')
    .option('--watch', STATUS_WATCH_HELP)
    .option('--interval <duration>', 'with --watch: how often, like 2s, 10s, 1m (default 5s, at least 1s)');

  lazyCommand(
    cli,
    'check-heartbeat',
    async () => (await import('./commands/check-heartbeat.js')).checkHeartbeatCommand,
  )
    .option(
      '--max-age <duration>',
      'how old the last check may be, like 90s, 5m, 1h (default: heartbeat.max_age, 5m)',
    )
    .option('--json', 'print the verdict as JSON');

  lazyCommand(cli, 'notify', async () => (await import('./commands/notify.js')).notifyCommand)
    .option('--unit <name>', 'the systemd unit that failed (OnFailure= passes it as %i)')
    .option('--message <text>', 'what to say (with --unit: said as well)')
    .option('--test', 'send a harmless test to every alert channel and say which answered')
    .option('--json', 'print what was sent as JSON');

  lazyCommand(cli, 'summary', async () => (await import('./commands/summary.js')).summaryCommand)
    .option('--date <YYYY-MM-DD>', "the day to summarise (default: yesterday, in the config's timezone)")
    .option('--force', 'send it even if that day was sent already')
    .option('--dry-run', 'print the summary; send and mark nothing')
    .option('--json', 'print the summary and what was sent as JSON');

  lazyCommand(cli, 'systemd', async () => (await import('./commands/systemd.js')).systemdCommand)
    .option('--user', 'units for `systemctl --user` (no root; kills only your own processes)')
    .option('--interval <duration>', 'how often the timer runs a check: 10s, 30s, 1m, 5m, ... (default 1m)')
    .option('--dir <folder>', 'write the unit files into this folder instead of printing them')
    .option('--exec <command>', 'the command to put in ExecStart= (default: this node and this install)')
    .option('--name <instance>', 'one of several watchdogs on this host: units cost-watchdog-<instance>*')
    .option('--json', 'print the units as JSON');

  lazyCommand(cli, 'validate', async () => (await import('./commands/validate.js')).validateCommand).option(
    '--json',
    'print the resolved config as JSON',
  );

  lazyCommand(cli, 'init', async () => (await import('./commands/init.js')).initCommand).option(
    '--preset <name>',
    'a starter config for: claude-code, otel-genai, litellm, cost-control (the default)',
  );

  // replay takes logs as arguments: they join its options as `logs`.
  lazyCommand(cli, 'replay', async () => {
    const { replayCommand } = await import('./commands/replay.js');
    return (options) => replayCommand({ ...options, logs: replayLogs });
  })
    .argument('[logs...]', "log files or globs to replay (default: the config's sources)")
    .hook('preAction', (_cli, action) => {
      replayLogs = action.args;
    })
    .option('--from <time>', REPLAY_FROM_HELP)
    .option('--to <time>', 'replay up to this time (same forms as --from; default: the last line)')
    .option('--json', 'print the timeline as JSON')
    .option('--html <file>', 'also write a self-contained page with the timeline chart to this file');

  return cli;
}

/** Commander's `error: unknown command 'rn'\n(Did you mean run?)\n` as one prefixed line. */
function usageErrorLine(text: string): string {
  const parts = text
    .replace(/^error: /, '')
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return `cost-watchdog: ${parts.join(' ').replace('(Did you mean', '(did you mean')}`;
}

function stderrLine(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function main(argv: string[]): Promise<number> {
  const cli = program();
  cli.exitOverride();
  // Usage errors carry the same prefix as every other error line, on one line: commander writes
  // `error: ...`, and its suggestion on a line of its own.
  const output = {
    writeErr: (text: string) => process.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) => write(`${usageErrorLine(text)}\n`),
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
    // `help bogus` would print the whole help as if asked: a mistake is one line, like the others.
    const asked = argv[2] === 'help' ? argv[3] : undefined;
    if (asked !== undefined && !asked.startsWith('-') && !cli.commands.some((c) => c.name() === asked)) {
      const names = cli.commands.map((c) => c.name()).join(', ');
      const shown = asked.replace(/[^\x20-\x7e]/g, '?');
      stderrLine(`cost-watchdog: help: unknown command '${shown}' (commands: ${names})`);
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
