// The words of `cost-watchdog --help` and `cost-watchdog <command> --help`: what each command does
// and its exit codes. cli.ts wires the commands; the text a reader sees lives here.

export const CONFIG_HELP = 'config file (default: $COST_WATCHDOG_CONFIG, then ./watchdog.yaml)';

export const PROGRAM_DESCRIPTION =
  "External safety net for runaway AI spend: re-reads the app's JSONL cost log, recomputes spend " +
  '(rolling windows and the calendar day) without trusting the app, and when limits are crossed ' +
  'alerts (stderr, Slack, webhook, PagerDuty), writes an emergency flag the app honours, ' +
  "and kills the app's process tree.";

export const PROGRAM_AFTER = `
Exit codes:
  run, watch, kill, clear-emergency, validate, init, systemd, notify, summary, replay
                        0 did its job (whatever the spend), 1 could not (log unreadable, flag not
                        written, kill failed, clear refused), 64 bad usage, 78 bad config
  status, check-heartbeat
                        0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention);
                        64 bad usage (unknown option, bad --max-age or --interval)

Examples:
  cost-watchdog init                 write a starter ./watchdog.yaml
  cost-watchdog validate -c /etc/cost-watchdog/watchdog.yaml
  cost-watchdog run                  one check (for a systemd timer or cron, every minute)
  cost-watchdog watch                the same check on every log change, and every 15 s
  cost-watchdog check-heartbeat      is the watchdog alive? (a second timer or cron line)
  cost-watchdog systemd              print the systemd units for this install
  cost-watchdog status --json        spend per window against limits
  cost-watchdog status --watch       the same, redrawn every 5 s
  cost-watchdog kill --reason "runaway retry loop"
  cost-watchdog clear-emergency --reason "bug fixed in v1.4.2"
  cost-watchdog replay --from 7d     what the limits would have done over the last week`;

export const REPLAY_FROM_HELP =
  'replay from this time: a date (2026-11-23, local midnight in the config timezone), an ISO time ' +
  '(2026-11-23T14:00:00Z), or a time before now (7d, 24h); lines before it still fill the windows';

export const CLEAR_FORCE_HELP =
  'clear even though spend is still at emergency or above: acknowledges that spend; the flag returns ' +
  'only when a window climbs higher, or drops to ok and crosses again';

export const CLEAR_FLEET_HELP =
  "end the fleet emergency for every host of the fleet (fleet: in the config), and this host's flag";

export const STATUS_WATCH_HELP =
  'show the status again every --interval until Ctrl-C or SIGTERM (exit 0): redrawn in place on a ' +
  'terminal, one view after another when piped';

export type CommandName =
  | 'run'
  | 'watch'
  | 'kill'
  | 'clear-emergency'
  | 'balance'
  | 'status'
  | 'check-heartbeat'
  | 'notify'
  | 'summary'
  | 'systemd'
  | 'validate'
  | 'init'
  | 'replay';

/** Each command's one-paragraph description (the command list) and the text after its options. */
export const COMMAND_HELP: Record<CommandName, { description: string; after?: string }> = {
  run: {
    description:
      'one check: read new log lines, recompute spend per window (the logged cost, or the estimate ' +
      'from tokens when higher: cost.policy), act on the limits, on retry storms and on calls ' +
      'without ids of one shape billed again and again (warn: alert; ' +
      'emergency: alert + flag; kill: alert + flag + kill the target), alert once on what else it ' +
      'finds (an app that under-reports, a burn rate, a silent log), write the heartbeat; with ' +
      "reconcile:, then read the providers' usage APIs when due and act on spend the logs never show",
    after: `
With reconcile: in the config, the providers whose turn it is (reconcile.every) are read after
the check, each bounded by its timeout; spend they billed that the logs do not show, over the
tolerance, is acted on at reconcile.unlogged_level by a second check at once. A provider that
cannot be read is alerted once and never makes run fail.

Exit: 0 did its job, whatever the spend (also when no target is configured or running), 1 could
not (log unreadable, flag not written or its state unknown, kill failed, state folder not
writable), 64 bad usage, 78 bad config. Alerts go to stderr always and to Slack when
$SLACK_WEBHOOK_URL (or slack.webhook_url_file) is set.`,
  },
  watch: {
    description:
      'long-running: the same check as `run` on every change to the cost log, the flag or the ' +
      'state file (sub-second), and on watch.schedule (every 15 s by default)',
    after: `
For a systemd Type=simple service (\`cost-watchdog systemd\` prints one). Checks never overlap
and share the lock with \`run\`. SIGTERM or SIGINT: finish the check in progress, exit 0 (again:
exit at once). SIGHUP: reload the config; a bad one is refused and the running one kept.
A failed check is said on stderr, recorded in the heartbeat and pinged as failed; watching goes on.
With a fleet (fleet: in the config), each event on the fleet's Redis channel (a fleet emergency
made or cleared) asks for a check at once, so it reaches this host's flag within a second. A
Redis that is down does not stop watch (local limits go on; the subscription reconnects by
itself); SIGHUP follows a new fleet name or Redis URL.
With reconcile: in the config, the providers' usage APIs are read every reconcile.every on a
timer of their own, beside the checks (a slow or hanging provider never holds one back); each
read is followed by a check, which acts on spend the logs never show.

Exit: 0 stopped by SIGTERM/SIGINT, 64 bad usage, 78 bad config at start.`,
  },
  kill: {
    description:
      'manual kill switch: write the emergency flag, stop the target (stop_command, SIGTERM, ' +
      'SIGKILL after grace), alert, whatever the spend',
    after: `
The kill switch stays on: while the flag is in force, every check kills the target again if it
comes back (a supervisor restarted it), until \`cost-watchdog clear-emergency\`.

Exit: 0 done (also when no target is configured or running), 1 flag not written or kill failed
(EPERM, survivors), 64 bad usage, 78 bad config.`,
  },
  'clear-emergency': {
    description:
      "remove the emergency flag after a person's decision; refused while a window (or a retry or " +
      "shape storm, or reconcile's unlogged spend) is still at emergency or above, unless --force",
    after: `
A scope's flag (scopes: in the config): --scope <name>, and --key <field>=<value> for a scope
with each (e.g. --scope every-agent --key agent=research). A plain clear-emergency also clears
the scopes that write the main flag.

A fleet (fleet: in the config): a fleet emergency holds every host's flag, and only --fleet ends
it, for every host at once: this host's flag goes now, each other host's at its next check
(a \`watch\` host within a second), each audited on its host. Refused while a fleet window is at
emergency or above (unless --force, which acknowledges it for the fleet), and when the fleet's
Redis cannot be reached (nothing is cleared). A plain clear-emergency is refused while the fleet
emergency is in force.

Exit: 0 cleared (or there was no flag), 1 refused (a window, fleet window or scope still at
emergency or above, a fleet emergency in force without --fleet, the fleet's Redis unreachable,
or the log unreadable so the spend is not known) or the flag could not be removed, 64 no
--reason, an unknown --scope, --key missing, wrong or without --scope, --fleet with no fleet
configured or with --scope, 78 bad config.`,
  },
  balance: {
    description:
      'the prepaid balance (limits.balance): with --add <amount> --reason <text>, record a top-up ' +
      '(credit bought) without editing the config, audited and announced; without --add, show the ' +
      'balance, what is left and the top-ups',
    after: `
The amount is in the limits' currency (limits_currency, USD by default), converted at
cost.currency_rates. A top-up is kept in the state folder's balance.json and counts from the
moment it is recorded; top-ups before limits.balance.since do not count (to start over, set a new
since and usd in the config). Limits given as a share ("90%") are shares of usd plus the top-ups;
limits given as an amount spent move up by the top-ups. A top-up never lifts the emergency flag:
run clear-emergency once it is safe (no --force needed once the balance is under its limits).

Examples:
  cost-watchdog balance --add 50 --reason "bought $50 of credit, invoice 1234"
  cost-watchdog balance --json

Exit: 0 recorded (or shown), 1 balance.json unreadable (nothing written) or the log unreadable,
64 bad usage (no limits.balance, an amount that is not a positive number, --add without
--reason), 78 bad config.`,
  },
  status: {
    description:
      'spend per window against limits with the top models, agents and logs, scoped budgets, ' +
      'emergency flag, target, heartbeat, the logs read, malformed lines, unpriced models, retry ' +
      "storms, the app's own figures, warnings (read-only)",
    after: `
The first line is a monitoring-plugin line (state - reason | perfdata), e.g.
  COST-WATCHDOG CRITICAL - 15m $6.00 >= emergency $5.00 | 'spend_15m'=6.00;3;5;0

The "last hour" line is spend per minute over the last 60 minutes, oldest on the left, scaled to
the busiest minute (said beside it with the hour's total).

Exit: 0 OK, 1 WARNING (a window or scope at warn, or a warning: an app that under-reports, a
burn rate, an unpriced model, a log glob that matches no file, a blind spot), 2 CRITICAL (a
window, scope, retry or shape storm, or reconcile's unlogged spend at emergency or kill, a flag in
force, or the heartbeat stale), 3
UNKNOWN (bad config, a log or a log folder unreadable, the flag's folder cannot be looked into),
64 bad usage (an unknown option, a bad --interval). With --watch: 0 when stopped by Ctrl-C or
SIGTERM, 3 for a bad config at start, 64 bad usage.`,
  },
  'check-heartbeat': {
    description:
      'is the watchdog alive? Exit non-zero and alert (once, and once on recovery) when its last ' +
      'completed check is older than allowed',
    after: `
Run it from a second timer or cron line (every 5 minutes), or from the app itself. It never
takes the check lock, so it reports a watchdog that hangs.

Exit: 0 OK (fresh), 1 WARNING (the last check ran but could not do its job), 2 CRITICAL
(heartbeat older than --max-age, or none at all), 3 UNKNOWN (bad config, unreadable heartbeat),
64 bad usage.`,
  },
  notify: {
    description:
      'send an alert that a watchdog unit failed (for systemd OnFailure=, or cron): stderr, Slack ' +
      'and alerts.channels',
    after: `
Works even when the config does not load (that may be why the unit failed): it then sends
through $SLACK_WEBHOOK_URL and says why. The same unit failing again is announced at most
every alerts.reminder, unless a good check came in between.

Exit: 0 sent (or printed, with no webhook set), 1 Slack could not be reached, 64 bad usage.

--test sends a harmless test message to every channel (Slack, each webhook, PagerDuty as a
change event that pages nobody) and prints which answered: exit 0 all answered, 1 any did
not, 78 no channel configured (or a bad config).`,
  },
  summary: {
    description:
      "send yesterday's daily summary (spend per window at its peak, top spenders, alerts and kills, " +
      'the flag now) to every alert channel, unless that day was sent already',
    after: `
One summary per day: \`watch\` sends it at alerts.daily_summary; for a timer install, run this
after that time. Whenever run, it sends yesterday's summary if no one has (the day is claimed
before sending, so \`watch\` and a timer never both send it); a send that fails on every channel
is not marked, so the next try sends. Without any channel it prints the summary only.

Exit: 0 sent, printed, or already sent (said on stderr), 1 every channel failed, 64 bad usage
(a bad --date, or one not over yet), 78 bad config.`,
  },
  systemd: {
    description:
      'print the systemd units for this install (check timer, heartbeat timer, watch service, ' +
      'OnFailure alert), with absolute paths filled in',
    after: `
Example:
  sudo cost-watchdog systemd -c /etc/cost-watchdog/watchdog.yaml --dir /etc/systemd/system
  sudo systemctl daemon-reload
  sudo systemctl enable --now cost-watchdog.timer cost-watchdog-heartbeat.timer

Two apps on one host: give each its name (units cost-watchdog-<name>.timer, ...):
  sudo cost-watchdog systemd --name shop -c /etc/cost-watchdog/shop.yaml --dir /etc/systemd/system
  sudo systemctl enable --now cost-watchdog-shop.timer cost-watchdog-shop-heartbeat.timer

Exit: 0 done, 1 could not write --dir, 64 bad usage, 78 bad config.`,
  },
  validate: {
    description: 'check a config file and print what it resolves to',
    after: `
With a fleet, Redis is asked; with reconcile:, each provider's usage API is read once (over the
network, bounded by its timeout): a missing admin key or one refused (401/403) is exit 78, a
provider that is down or slow is a note.

Exit: 0 the config is valid, 64 bad usage, 78 bad config (one line naming the file and the key;
also a fleet's Redis that refuses or cannot be reached, a provider's admin key missing or
refused).`,
  },
  init: {
    description: 'write a starter config (refuses to overwrite an existing file)',
    after: `
The starter config is quiet for an app that has only a cost log (status: OK); edit log, limits
and target, then run \`cost-watchdog validate\`.

Presets, for the logs agents already write:
  cost-watchdog init --preset claude-code    Claude Code sessions (~/.claude/projects/**/*.jsonl)
  cost-watchdog init --preset otel-genai     an OpenTelemetry Collector's file exporter (GenAI spans)
  cost-watchdog init --preset litellm        LiteLLM's standard logging payload as JSON lines
  cost-watchdog init --preset cost-control   an app on the Cost Control tracker (the default)

Exit: 0 written, 1 the file exists or cannot be written, 64 bad usage.`,
  },
  replay: {
    description:
      "the config's limits applied to past logs as if the watchdog had run at every line: when each " +
      'window and scope would have reached warn / emergency / kill, the spend then, the spend that ' +
      'followed until it was back at ok (what a kill would have saved), retry storms, unpriced models',
    after: `
Reads only: writes nothing to the state folder, never writes the flag, signals no process and
sends no alert. Without log arguments it replays the config's sources (and their rotated
generations, name.1, name-20261123); with them, those files (globs allowed, quote them), read in
the format of the config's source whose path or glob matches, else of its first source. Lines of
all files are replayed in time order. Times are shown in the config's timezone.

Examples:
  cost-watchdog replay --from 7d                       the last week with the config's limits
  cost-watchdog replay -c try.yaml --from 2026-11-23 --to 2026-11-30 'state/cost_log.jsonl*'
  cost-watchdog replay --from 24h --json | jq '.crossings[] | select(.level == "kill")'
  cost-watchdog replay --from 7d --html /tmp/replay.html

To try a limit, copy the config, change limits: (a $5 / 15 min kill: 15m: { kill: 5 }) and
replay with -c pointing at the copy.

Exit: 0 done, 1 a log could not be read (named; the rest is still reported) or --html not
written, 64 bad usage (a bad --from/--to, --html inside the state folder), 78 bad config.`,
  },
};
