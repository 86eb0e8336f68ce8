// `kill`: the manual kill switch. Writes the flag (triggered_by: kill), stops the target, alerts,
// whatever the spend. The kill switch then stays on: a target that comes back is killed again by
// every check until `clear-emergency`.
import { configPath, loadConfig } from '../config/index.js';
import { actionLines, type AlertFacts, killJson } from '../core/alert-text.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { AlertDispatch } from '../check/deliver.js';
import { topsOf } from '../check/figures.js';
import { graceMeter } from '../check/grace-meter.js';
import { placeFlag } from '../check/place-flag.js';
import { underLock } from '../check/run-check.js';
import { stopTarget } from '../check/stop.js';
import { EXIT, FailureError } from '../errors.js';
import { killProblem } from '../core/decide.js';
import { host, who } from '../effects/identity.js';
import { printable } from '../format.js';
import { sayNotes } from './render/notes.js';

export interface KillOptions {
  config?: string;
  reason?: string;
  dryRun?: boolean;
  json?: boolean;
}

export async function killCommand(options: KillOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const reason = options.reason?.trim() || 'manual kill (no reason given)';
  const dryRun = options.dryRun === true;
  const print = (lines: string[], json: Record<string, unknown>): void => {
    process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${lines.map(printable).join('\n')}\n`);
  };
  if (dryRun) {
    const stopped = await stopTarget(config, true, null);
    const lines = [
      `dry run: would write the emergency flag ${config.flagFile} (triggered_by: kill)`,
      ...actionLines({ kind: 'none' }, stopped.summary),
      'dry run: nothing was written, signalled or sent',
    ];
    print(lines, {
      dry_run: true,
      flag: { kind: 'would-write', file: config.flagFile },
      kill: killJson(stopped.summary),
    });
    return EXIT.OK;
  }
  return underLock(config, Date.now, async (result, audit) => {
    sayNotes(result);
    const nowMs = result.nowMs;
    const person = who();
    audit.record('manual_kill', { by: person, host: host(), reason });
    const flag = placeFlag(
      config,
      {
        reason: `manual kill by ${person}: ${reason}`,
        window: null,
        spend_usd: null,
        limit_usd: null,
        triggered_at: new Date(nowMs).toISOString(),
        triggered_by: 'kill',
        host: host(),
        level: 'kill',
      },
      false,
      audit,
    );
    const stopped = await stopTarget(config, false, audit, () => graceMeter(config, result.meterStart));
    const failures: string[] = [];
    if (flag.kind === 'failed') failures.push(`emergency flag not written: ${flag.file}: ${flag.error}`);
    if (stopped.failed !== null) failures.push(stopped.failed);
    const { state } = loadAlerts(config);
    const next = {
      ...state,
      kill_switch: { since_ms: nowMs, by: `kill by ${person}` },
      flag_seen: flag.kind === 'written' || flag.kind === 'exists' || state.flag_seen,
      last_reminder_ms: nowMs,
    };
    const facts: AlertFacts = {
      host: host(),
      atIso: new Date(nowMs).toISOString(),
      by: 'kill',
      headline: `MANUAL KILL by ${person}: ${reason}`,
      events: [],
      windows: result.windows,
      tops: topsOf(config, result, result.windows.find((w) => w.seconds !== null)?.name ?? null),
      flag,
      kill: stopped.summary,
      // A flag that failed is in the "done" line already.
      problems: stopped.failed === null ? [] : [killProblem(stopped.failed)],
    };
    const delivery = await new AlertDispatch().deliver(
      config,
      [{ facts, level: 'kill' }],
      next,
      audit,
      nowMs,
      false,
    );
    failures.push(...rememberAlerts(config, next, delivery, audit));
    print(
      [
        `manual kill: ${reason}`,
        ...actionLines(flag, stopped.summary),
        stopped.summary.unconfigured === true
          ? 'the emergency flag is the only brake: configure target: so that the app can be killed'
          : 'kill switch on: the target is killed again if it comes back, until `cost-watchdog ' +
            'clear-emergency`',
      ],
      {
        flag,
        kill: killJson(stopped.summary),
        alerts: { sent: delivery.sent, failed: delivery.failed },
        failures,
      },
    );
    if (failures.length > 0) throw new FailureError(failures.join('\n'));
    return EXIT.OK;
  });
}
