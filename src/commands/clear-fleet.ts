// `clear-emergency --fleet`: a person's decision to let every host of the fleet spend again. The
// fleet emergency is ended in Redis (a tombstone each host's next check honours, and a message
// `watch` hosts hear at once), and this host clears its own flag in the same command, as the
// local clear does. Refused while a fleet window (or this host's own) is still at emergency or
// above, unless --force; refused, with nothing cleared, when the fleet's Redis cannot be reached.
// Loaded only with --fleet (it loads the Redis client).
import type { Config } from '../config/index.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import { afterClear, clearVerdict } from '../core/decide.js';
import type { Level, WindowStatus } from '../core/levels.js';
import { dollarsOf, usd } from '../core/money.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { announceCleared, type Delivery } from '../check/deliver.js';
import { round6 } from '../check/figures.js';
import type { CheckResult } from '../check/types.js';
import type { Auditor } from '../effects/audit.js';
import { readFlag, removeFlag } from '../effects/flag.js';
import { host, who } from '../effects/identity.js';
import { EXIT, FailureError } from '../errors.js';
import { fleetWindowsShown } from '../fleet/act.js';
import { clearFleet, outcomeOfView, viewFleet } from '../fleet/exchange.js';
import { loadFleetMemory, saveFleetMemory } from '../fleet/memory.js';
import type { FleetEmergency } from '../fleet/types.js';
import { printable } from '../format.js';
import { mainFlagScopes } from '../scopes/clear.js';
import { removeWhy, spendText, windowsJson } from './clear-words.js';

/** The fleet's windows as this command names them: `fleet 15m`, beside this host's `15m`. */
const FLEET_PREFIX = 'fleet ';

function emergencyText(e: FleetEmergency): string {
  return (
    `${e.window} ${usd(dollarsOf(e.spend))} at ${e.level}, limit ${usd(dollarsOf(e.limit))}, since ` +
    `${new Date(e.since_ms).toISOString()} (made by host ${e.by})`
  );
}

function emergencyJson(e: FleetEmergency): Record<string, unknown> {
  return {
    id: e.id,
    level: e.level,
    window: e.window,
    spend_usd: round6(dollarsOf(e.spend)),
    limit_usd: round6(dollarsOf(e.limit)),
    since: new Date(e.since_ms).toISOString(),
    by_host: e.by,
  };
}

export async function clearFleetCommand(
  config: Config,
  result: CheckResult,
  audit: Auditor,
  options: { reason: string; force: boolean; json: boolean },
): Promise<number> {
  const fleet = config.fleet as FleetConfig;
  const { reason, force } = options;
  const nowMs = result.nowMs;
  const person = who();
  const failed = (error: string, extra: Record<string, unknown> = {}): void => {
    audit.record('clear_failed', { by: person, reason, fleet: fleet.name, error, ...extra });
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({ removed: false, file: config.flagFile, fleet: { name: fleet.name }, error })}\n`,
      );
  };

  const view = await viewFleet(config, nowMs);
  if (!view.reachable) {
    const problem = view.problem?.text ?? 'no answer';
    const words =
      view.problem?.kind === 'refused'
        ? `Redis at ${view.shown} refused: ${problem}`
        : `Redis at ${view.shown} cannot be reached: ${problem}`;
    failed(words);
    throw new FailureError(
      `cannot clear the emergency of fleet ${fleet.name}: ${words}.\nNothing was cleared, on this host ` +
        `or any other; run it again when Redis answers.`,
    );
  }
  // Nothing held anywhere (no fleet emergency, none remembered, no flag here): nothing to clear,
  // whatever the spend (a fleet emergency already cleared, and acknowledged, is not refused again).
  if (
    view.emergency === null &&
    loadFleetMemory(config.stateDir, fleet.name).emergency === null &&
    readFlag(config.flagFile).kind === 'absent'
  ) {
    const last =
      view.cleared === null
        ? ''
        : ` (last cleared by ${view.cleared.by} on host ${view.cleared.host} at ` +
          `${new Date(view.cleared.atMs).toISOString()}: ${view.cleared.reason})`;
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({
          removed: false,
          file: config.flagFile,
          fleet: { name: fleet.name, emergency: null },
        })}\n`,
      );
    else
      process.stdout.write(
        `${printable(
          `fleet ${fleet.name}: no fleet emergency in force and no flag at ${config.flagFile}: ` +
            `nothing to clear${last}`,
        )}\n`,
      );
    return EXIT.OK;
  }
  const fleetWindows = fleetWindowsShown(outcomeOfView(view));
  const scoped = mainFlagScopes(config, result);
  const verdict = clearVerdict(
    [...result.signals, ...scoped.windows, ...fleetWindows],
    force,
    result.logError === null,
  );
  const over = verdict.over;
  const flagBefore = readFlag(config.flagFile);
  if (flagBefore.kind === 'unknown') {
    failed(flagBefore.reason, { code: flagBefore.code });
    throw new FailureError(`${flagBefore.reason}: nothing was cleared (on this host or any other)`);
  }
  if (!verdict.allowed) {
    const windows = windowsJson(over);
    audit.record('clear_refused', {
      by: person,
      reason,
      fleet: fleet.name,
      why: verdict.why,
      ...(result.logError !== null ? { error: result.logError } : {}),
      windows,
    });
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({
          removed: false,
          file: config.flagFile,
          fleet: { name: fleet.name },
          refused: verdict.why,
          windows,
          ...(result.logError !== null ? { error: result.logError } : {}),
        })}\n`,
      );
    throw new FailureError(
      verdict.why === 'spend unknown'
        ? `refusing to clear the fleet emergency: this host's spend is not known ` +
            `(${result.logError}).\nFix the log, or run again with --force to clear anyway.`
        : `refusing to clear the fleet emergency: spend is still at emergency or above: ` +
            `${spendText(over)}.\nWait until it drops, or run again with --force to acknowledge this ` +
            `spend for the whole fleet (the fleet emergency then returns only if a fleet window ` +
            `climbs higher, or drops to ok and crosses again).`,
    );
  }

  // What a forced clear acknowledges in Redis: the fleet's windows over, by their own names.
  const fleetAck: Record<string, Level> = {};
  if (force)
    for (const w of over)
      if (w.name.startsWith(FLEET_PREFIX)) fleetAck[w.name.slice(FLEET_PREFIX.length)] = w.level;
  const memory = loadFleetMemory(config.stateDir, fleet.name);
  const outcome = await clearFleet(config, {
    by: person,
    host: fleet.host,
    reason,
    forced: force,
    acknowledged: fleetAck,
    held: memory.emergency,
  });
  if (outcome.problem !== null) {
    const words = `Redis at ${view.shown}: ${outcome.problem.text}`;
    failed(words);
    throw new FailureError(
      `could not clear the emergency of fleet ${fleet.name} (${words}); this host's flag ` +
        `${config.flagFile} is left as it is. Run it again when Redis answers.`,
    );
  }
  // This host forgets it: its next check must neither clear it again nor put it back in Redis.
  memory.emergency = null;
  saveFleetMemory(config.stateDir, memory);
  const cleared = outcome.cleared;

  let removed: boolean;
  try {
    removed = removeFlag(config.flagFile);
  } catch (error) {
    const why = removeWhy(error);
    audit.record('clear_failed', {
      by: person,
      reason,
      fleet: fleet.name,
      error: why,
      code: (error as NodeJS.ErrnoException).code ?? null,
    });
    throw new FailureError(
      `the emergency of fleet ${fleet.name} was cleared for every host, but this host's flag ` +
        `${config.flagFile} could not be removed: ${why}`,
    );
  }
  const { state } = loadAlerts(config);
  const hadSwitch = state.kill_switch !== null;
  const next = afterClear(state, result.signals, force, nowMs);
  scoped.reset(next, force, nowMs);
  const acknowledged = next.acknowledged;
  audit.record('flag_cleared', {
    by: person,
    host: host(),
    reason,
    forced: force,
    removed,
    file: config.flagFile,
    ...(flagBefore.kind === 'present' && flagBefore.content !== null ? { flag: flagBefore.content } : {}),
    acknowledged,
    windows: windowsJson(result.windows),
    via: 'clear-emergency --fleet',
    fleet: fleet.name,
    fleet_host: fleet.host,
    fleet_emergency: cleared === null ? null : emergencyJson(cleared),
    fleet_acknowledged: fleetAck,
    fleet_windows: windowsJson(view.windows),
  });

  const failures: string[] = [];
  let delivery: Delivery = { sent: 0, failed: 0, pending: state.pending };
  if (cleared !== null || removed || hadSwitch) {
    const forcedText =
      over.length > 0
        ? ` (forced while ${spendText(over)}; the emergency returns only above that level, or after ` +
          `spend drops to ok and crosses again)`
        : '';
    const windows: WindowStatus[] = [...result.windows, ...fleetWindows];
    delivery = await announceCleared(
      config,
      `FLEET EMERGENCY CLEARED by ${person} on host ${fleet.host}: ${reason}${forcedText}`,
      windows,
      next,
      audit,
      nowMs,
    );
  }
  failures.push(...rememberAlerts(config, next, delivery, audit));

  const lines = [
    cleared !== null
      ? `fleet ${fleet.name}: emergency cleared for every host (${emergencyText(cleared)})`
      : `fleet ${fleet.name}: no fleet emergency in Redis (nothing to clear for the other hosts)`,
    removed
      ? `emergency flag removed: ${config.flagFile}`
      : `no emergency flag at ${config.flagFile}: nothing to remove` +
        (hadSwitch ? ' (the kill switch is now off)' : ''),
    `reason: ${reason} (by ${person})`,
  ];
  const acked = [
    ...Object.entries(fleetAck).map(([w, l]) => `fleet ${w} at ${l}`),
    ...Object.entries(acknowledged).map(([w, l]) => `${w} at ${l}`),
  ];
  if (acked.length > 0) lines.push(`acknowledged: ${acked.join(', ')}`);
  process.stdout.write(
    options.json
      ? `${JSON.stringify({
          removed,
          file: config.flagFile,
          forced: force,
          acknowledged,
          reason,
          by: person,
          fleet: {
            name: fleet.name,
            host: fleet.host,
            cleared: cleared === null ? null : emergencyJson(cleared),
            acknowledged: fleetAck,
          },
          failures,
        })}\n`
      : `${lines.map(printable).join('\n')}\n`,
  );
  if (failures.length > 0) throw new FailureError(failures.join('\n'));
  return EXIT.OK;
}
