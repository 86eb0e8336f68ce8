// `watch`: the long-running alternative to a timer (systemd Type=simple). The same check as `run`,
// on every change to the cost log, the flag or the app's state file (sub-second), and on a cron
// schedule (watch.schedule, every 15 s by default) because windows move with time: spend leaves a
// window, reminders fall due, and the heartbeat must be written even when nothing is logged.
// Checks never overlap (CheckQueue) and take the same lock as `run`. Alerts and pings never hold a
// check back: the AlertSender sends alerts beside the checks, and at most one ping is in flight.
// SIGTERM / SIGINT finish the check in progress, give unsent alerts a last bounded try (what is
// left stays pending in alerts.json), and exit 0; SIGHUP reloads the config (a bad one is refused
// and the old one kept). With a fleet, the fleet's events on Redis (a fleet emergency made or
// cleared) ask for a check at once too (daemon/fleet-events.ts). With http.listen, the dashboard's
// server (src/http/) is told of every check; it never holds one back, and a server that cannot
// listen is said loudly while the checks go on.
import { existsSync } from 'node:fs';
import { type Config, configPath, loadConfig } from '../config/index.js';
import { formatDuration } from '../core/duration.js';
import { repeatDue } from '../core/decide.js';
import { pingDue, WATCH_PING_EVERY_MS } from '../core/heartbeat.js';
import { highestLevel } from '../core/levels.js';
import { showFiguresIn } from '../core/money.js';
import { actionLines } from '../core/alert-text.js';
import { CheckQueue } from '../daemon/check-queue.js';
import { Reconciler } from '../daemon/reconciler.js';
import { checkSucceeded, runCheck } from '../check/run-check.js';
import type { CheckOutcome } from '../check/types.js';
import { CliError, ConfigError, EXIT } from '../errors.js';
import { type FileWatcher, foldersNow, watchFiles, watchPlan } from '../effects/watcher.js';
import { AlertSender } from '../daemon/alert-sender.js';
import { DailySummary } from '../daemon/daily-summary.js';
import type { FleetEvents } from '../daemon/fleet-events.js';
import { fleetWindowsShown } from '../fleet/act.js';
import { alertsPath } from '../check/alert-state.js';
import { AlertDispatch } from '../check/deliver.js';
import { pingAfterCheck } from '../check/ping.js';
import { Auditor } from '../effects/audit.js';
import { printable, usd } from '../format.js';
import { runJson } from './render/run-json.js';
import type { DashboardServer } from '../http/server.js';

export interface WatchOptions {
  config?: string;
  json?: boolean;
}

/** A burst of file events becomes one check this long after its first event. */
export const DEBOUNCE_MS = 20;
/** On SIGTERM, unsent alerts (and a ping in flight) get this long before the daemon exits. */
export const STOP_SEND_MS = 3_000;
/** The same failure is said again at most this often (it is in the heartbeat and the ping too). */
const REPEAT_FAILURE_MS = 5 * 60_000;

function say(text: string): void {
  process.stderr.write(`cost-watchdog watch: ${text}\n`);
}

/** The cron expression checked by node-cron itself: a ConfigError naming the key when it is bad. */
export async function checkSchedule(config: Config): Promise<void> {
  const { validateDetailed } = await import('node-cron');
  const result = validateDetailed(config.watch.schedule);
  if (!result.valid) {
    throw new ConfigError(config.file, [
      `watch.schedule: not a valid cron expression ${JSON.stringify(config.watch.schedule)}: ` +
        `${result.errors.map((e) => e.message.replace(' a invalid ', ' an invalid ')).join('; ')} (ex` +
        `pected e.g. "*/15 * * * * *", every 15 seconds)`,
    ]);
  }
}

interface Scheduled {
  destroy(): void | Promise<void>;
}

async function startSchedule(config: Config, tick: () => void): Promise<Scheduled> {
  const { schedule } = await import('node-cron');
  const quiet = () => undefined;
  return schedule(config.watch.schedule, tick, {
    name: 'cost-watchdog',
    timezone: config.timezone,
    // No noOverlap: the tick only asks the CheckQueue (which never overlaps checks) and returns at
    // once; node-cron's own overlap guard has been seen to block every later run
    // (node-cron/node-cron#498).
    // A tick missed while a long check held the event loop is harmless: the next one comes.
    suppressMissedWarning: true,
    logger: {
      info: quiet,
      debug: quiet,
      warn: (m) => say(`scheduler: ${m}`),
      error: (m) => say(`scheduler: ${m instanceof Error ? m.message : m}`),
    },
  });
}

export async function watchCommand(options: WatchOptions): Promise<number> {
  const file = configPath(options.config, process.env, process.cwd());
  let config = loadConfig(file);
  await checkSchedule(config);

  let lastLevels = '';
  let lastFailure: { text: string; atMs: number } | null = null;
  // At most one ping in flight: a newer one cuts off the one before (it says the newer outcome).
  let inFlightPing: { promise: Promise<void>; abort: AbortController } | null = null;
  const dispatch = new AlertDispatch();
  const sender = new AlertSender({
    config: () => config,
    say: (text) => process.stderr.write(`cost-watchdog: ${text}\n`),
  });
  let lastPing: { atMs: number; ok: boolean } | null = null;
  /** Routine checks are left out of the audit log (see routineCheck). */
  const quiet: { last: { levels: string; atMs: number } | null } = { last: null };

  const failureOf = (outcome: CheckOutcome | null, error: string | null): string | null =>
    error ??
    (outcome === null
      ? null
      : [outcome.logError, ...outcome.failures].filter((x) => x !== null).join('; ') || null);
  const report = (outcome: CheckOutcome | null, error: string | null, reasons: string[]): void => {
    if (options.json) {
      const line = outcome === null ? { error, reasons } : { ...runJson(outcome, false), reasons };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    const failure = failureOf(outcome, error);
    if (failure !== null) {
      const now = Date.now();
      if (
        lastFailure === null ||
        lastFailure.text !== failure ||
        repeatDue(lastFailure.atMs, now, REPEAT_FAILURE_MS)
      ) {
        say(`CHECK FAILED: ${printable(failure)}`);
        lastFailure = { text: failure, atMs: now };
      }
    } else if (lastFailure !== null) {
      say('checks succeed again');
      lastFailure = null;
    }
    if (outcome === null || options.json) return;
    // What became of the logs (a rotation, a file dropped, a rebuild): said once, when it happens.
    for (const note of outcome.notes) say(`note: ${printable(note)}`);
    if (outcome.rebuilt !== null && !outcome.rebuilt.startsWith('no checkpoint yet'))
      say(`note: ${printable(outcome.rebuilt)}`);
    // The fleet's windows beside this host's (`fleet 15m`), when the fleet could be seen.
    // The prepaid balance is always named, as a window is.
    const own = outcome.balance === null ? outcome.windows : [...outcome.windows, outcome.balance.window];
    const windows = outcome.fleet === null ? own : [...own, ...fleetWindowsShown(outcome.fleet)];
    // Signals that act like a window (a storm, reconcile's unlogged spend) are named while they hold.
    const named = new Set(own.map((w) => w.name));
    const signals = outcome.signals.filter((w) => !named.has(w.name) && w.level !== 'ok');
    const levels = [...windows, ...signals].map((w) => `${w.name} ${usd(w.spend)} ${w.level}`).join(', ');
    const acted = outcome.events.length > 0 || outcome.flag.kind === 'written' || outcome.kill !== null;
    const level = highestLevel([...windows, ...signals].map((w) => w.level));
    const levelKey = [...windows, ...signals].map((w) => `${w.name}:${w.level}`).join(',');
    if (acted || levelKey !== lastLevels || outcome.newMalformed > 0) {
      const malformed = outcome.newMalformed > 0 ? `; ${outcome.newMalformed} malformed line(s)` : '';
      const actions = actionLines(outcome.flag, outcome.kill).map(printable);
      process.stdout.write(
        `${new Date(outcome.nowMs).toISOString()} ${level}: ${levels}${malformed}` +
          (actions.length > 0 ? ` | ${actions.join('; ')}` : '') +
          `\n`,
      );
      lastLevels = levelKey;
    }
  };

  const queue = new CheckQueue({
    debounceMs: DEBOUNCE_MS,
    run: async (reasons) => {
      const current = config;
      let outcome: CheckOutcome | null = null;
      let error: string | null = null;
      try {
        outcome = await runCheck(current, {
          mode: 'watch',
          dryRun: false,
          now: Date.now,
          quiet,
          outbox: sender,
          dispatch,
        });
      } catch (caught) {
        // A daemon outlives a failed check: it is said, pinged as failed, and tried again.
        error =
          caught instanceof CliError
            ? caught.message
            : `internal error (a bug; please report it with this trace): ` +
              `${caught instanceof Error ? caught.stack : String(caught)}`;
      }
      report(outcome, error, reasons);
      if (outcome !== null) daily.afterCheck(current, outcome);
      const ok = outcome !== null && error === null && checkSucceeded(outcome);
      const now = Date.now();
      httpServer?.checked(current, { atMs: now, ok, error: failureOf(outcome, error) });
      if (current.heartbeat.pingUrl !== null && pingDue(lastPing, ok, now, WATCH_PING_EVERY_MS)) {
        lastPing = { atMs: now, ok };
        inFlightPing?.abort.abort();
        const abort = new AbortController();
        const promise = pingAfterCheck(current, ok, Date.now, abort.signal).catch(() => undefined);
        const mine = { promise, abort };
        inFlightPing = mine;
        void promise.finally(() => {
          if (inFlightPing === mine) inFlightPing = null;
        });
      }
    },
  });

  // Yesterday's summary at alerts.daily_summary, after the check it asks for.
  const daily = new DailySummary(say, () => queue.request('daily summary', true), options.json === true);

  // The providers' usage APIs, read on a timer of their own beside the checks (src/reconcile/).
  const reconciler = new Reconciler(
    say,
    () => queue.request('reconcile', true),
    async () => (await import('../reconcile/clients.js')).clientsFrom(process.env),
  );

  // The fleet's events: followed only with a fleet (the module loads the Redis client).
  let fleetEvents: FleetEvents | null = null;
  const followFleet = async (next: Config): Promise<{ text: string | null; changed: boolean }> => {
    if (next.fleet === null && fleetEvents === null) return { text: null, changed: false };
    if (fleetEvents === null) {
      const { FleetEvents } = await import('../daemon/fleet-events.js');
      fleetEvents = new FleetEvents(() => queue.request('fleet', true));
    }
    return fleetEvents.follow(next);
  };

  // The HTTP server of http.listen: its module loaded only when one is configured.
  let httpServer: DashboardServer | null = null;
  const serveHttp = async (next: Config): Promise<void> => {
    if (next.http.listen === null && httpServer === null) return;
    if (httpServer === null) {
      const { DashboardServer } = await import('../http/server.js');
      httpServer = new DashboardServer(next, say);
    }
    await httpServer.apply(next);
  };

  let watcher: FileWatcher = { missing: [], folders: '', close: async () => undefined };
  let restarting = false;
  let scheduled: Scheduled | null = null;

  const startWatching = async (): Promise<void> => {
    const plan = watchPlan(config);
    watcher = await watchFiles(
      plan,
      (what) => queue.request(what),
      (message) => say(`file watching: ${printable(message)} (timed checks go on)`),
    );
    if (stopping) await watcher.close(); // stopped while it was being set up
    for (const dir of watcher.missing) {
      say(
        existsSync(dir)
          ? `note: ${dir} is not a folder, so it cannot be watched (timed checks only, until it is ` +
              `made a folder)`
          : `note: ${dir} does not exist; it is watched once it does (until then, timed checks only)`,
      );
    }
  };

  const tick = (): void => {
    queue.request('schedule', true);
    // A folder that was missing has appeared, or one was removed and made again: watch it anew.
    if (!restarting && foldersNow(watchPlan(config)) !== watcher.folders) {
      restarting = true;
      say('a watched folder appeared or was replaced: watching it anew');
      void watcher
        .close()
        .then(startWatching)
        .catch((error: unknown) =>
          say(
            `file watching: ${error instanceof Error ? error.message : String(error)} (timed checks go on)`,
          ),
        )
        .finally(() => (restarting = false));
    }
  };

  // Signals are handled from here on, also while the watches are being set up: a SIGTERM that
  // arrives early still ends the daemon cleanly (exit 0), a SIGHUP still reloads.
  let setup: Promise<void> = Promise.resolve();
  let reloading = Promise.resolve();
  let stopping = false;
  const reload = async (): Promise<void> => {
    let next: Config;
    try {
      next = loadConfig(file);
      await checkSchedule(next);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      showFiguresIn(config.cost.display); // the new config may have loaded before the refusal
      say(`SIGHUP: config reload REFUSED, still running with the previous config:`);
      for (const line of why.split('\n')) say(`  ${line}`);
      new Auditor(config.stateDir, Date.now).record('config_reload_refused', { file, error: why });
      return;
    }
    if (stopping) return;
    config = next;
    await watcher.close();
    await scheduled?.destroy();
    await startWatching();
    scheduled = await startSchedule(config, tick);
    await daily.follow(config);
    reconciler.follow(config);
    const followed = await followFleet(config);
    await serveHttp(config);
    say(`SIGHUP: config reloaded from ${file}`);
    if (followed.changed)
      say(followed.text === null ? 'SIGHUP: no fleet any more' : `SIGHUP: now in ${followed.text}`);
    new Auditor(config.stateDir, Date.now).record('config_reloaded', { file });
    queue.request('reload', true);
  };

  const done = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        say(`${signal} again: exiting now, abandoning the check in progress`);
        resolve(128 + (signal === 'SIGINT' ? 2 : 15));
        return;
      }
      stopping = true;
      const started = Date.now();
      if (queue.busy)
        say(`${signal}: finishing the check in progress, then exiting (send it again to exit at once)`);
      void (async () => {
        await setup.catch(() => undefined);
        await reloading;
        await queue.stop();
        await scheduled?.destroy();
        await daily.stop(STOP_SEND_MS);
        await reconciler.stop(STOP_SEND_MS);
        await watcher.close();
        await fleetEvents?.close();
        await httpServer?.close();
        // What is unsent gets one last try within a bound (alerts and the ping in flight side by
        // side), then stays in alerts.json for the next check.
        const ping = inFlightPing;
        const cut = setTimeout(() => ping?.abort.abort(), STOP_SEND_MS);
        const [unsent] = await Promise.all([sender.stop(STOP_SEND_MS), ping?.promise]);
        clearTimeout(cut);
        if (unsent > 0)
          say(
            `${signal}: ${unsent} alert(s) not sent to Slack; kept in ${alertsPath(config)} for ` +
              `the next check to send`,
          );
        process.removeListener('SIGHUP', onHup);
        say(
          `${signal}: stopped` +
            `${Date.now() - started > 1000 ? ` after ${formatDuration(Date.now() - started)}` : ''}`,
        );
        resolve(EXIT.OK);
      })();
    };
    const onHup = (): void => {
      if (stopping) return;
      reloading = reloading.then(() => setup).then(reload, reload);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHup);
  });

  setup = (async () => {
    await startWatching();
    if (stopping) return;
    scheduled = await startSchedule(config, tick);
    const summaryAt = await daily.follow(config);
    const followed = await followFleet(config);
    await serveHttp(config);
    if (stopping) return;
    const reconciling = reconciler.follow(config);
    say(
      `watching ${config.sources.map((s) => s.written).join(', ')}` +
        `${config.stateFile !== null ? `, ${config.stateFile}` : ''} and ` +
        `${config.flagFile}; timed checks "${config.watch.schedule}"` +
        `${summaryAt !== null ? `; ${summaryAt}` : ''}` +
        `${reconciling !== null ? `; ${reconciling}` : ''}` +
        `${followed.text !== null ? `; ${followed.text}` : ''}; state in ${config.stateDir}; pid ` +
        `${process.pid}`,
    );
    queue.request('start', true);
  })();
  await setup;
  return done;
}
