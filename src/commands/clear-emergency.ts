// `clear-emergency`: a person's decision to let the app spend again. Removes the flag, turns the
// kill switch off, and says so on Slack and in the audit log with who and why. Refused while a
// window is still at emergency or above, unless --force, which acknowledges the spend at that
// moment: the flag returns only when a window climbs higher, or drops to ok and crosses again.
// With a fleet, a fleet emergency holds this host's flag: only `--fleet` (clear-fleet.ts) ends it.
import { type Config, configPath, loadConfig } from '../config/index.js';
import { withBalance } from '../core/balance.js';
import { afterClear, clearVerdict } from '../core/decide.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { announceCleared, type Delivery } from '../check/deliver.js';
import { underLock } from '../check/run-check.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { host, who } from '../effects/identity.js';
import { readFlag, removeFlag } from '../effects/flag.js';
import { fleetFile } from '../effects/state-paths.js';
import type { WindowStatus } from '../core/levels.js';
import { printable } from '../format.js';
import { clearScope, mainFlagScopes, scopeArgs } from '../scopes/clear.js';
import { removeWhy, spendText, windowsJson } from './clear-words.js';
import { sayNotes } from './render/notes.js';

export interface ClearOptions {
  config?: string;
  reason?: string;
  force?: boolean;
  json?: boolean;
  /** Clear one scoped budget's flag and state instead (src/scopes/clear.ts). */
  scope?: string;
  key?: string;
  /** End the fleet emergency for every host of the fleet, and this host's flag (clear-fleet.ts). */
  fleet?: boolean;
}

export async function clearEmergencyCommand(options: ClearOptions): Promise<number> {
  const reason = options.reason?.trim() ?? '';
  if (reason === '')
    throw new UsageError(
      'clear-emergency needs --reason <text>: say why it is safe to spend again (it goes to the ' +
        'audit log and Slack)',
    );
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const force = options.force === true;
  if (options.scope === undefined && options.key !== undefined)
    throw new UsageError('--key needs --scope <name>: it names a value of that scope');
  if (options.fleet === true) {
    if (options.scope !== undefined)
      throw new UsageError(
        '--fleet and --scope do not go together: --fleet ends the fleet emergency (and this ' +
          "host's flag); clear a scope on its own with --scope",
      );
    if (config.fleet === null)
      throw new UsageError(
        `--fleet: no fleet is configured in ${config.file} (a fleet: section names the fleet and ` +
          'its Redis); without --fleet, clear-emergency clears this host only',
      );
    const { clearFleetCommand } = await import('./clear-fleet.js');
    return underLock(config, Date.now, (result, audit) => {
      sayNotes(result);
      return clearFleetCommand(config, result, audit, { reason, force, json: options.json === true });
    });
  }
  if (options.scope !== undefined) {
    const scope = options.scope;
    scopeArgs(config, scope, options.key);
    return underLock(config, Date.now, async (result, audit) => {
      sayNotes(result);
      const failures = await clearScope(config, result, audit, {
        scope,
        ...(options.key !== undefined ? { key: options.key } : {}),
        reason,
        force,
        json: options.json === true,
      });
      if (failures.length > 0) throw new FailureError(failures.join('\n'));
      return EXIT.OK;
    });
  }
  return underLock(config, Date.now, async (result, audit) => {
    sayNotes(result);
    const nowMs = result.nowMs;
    const person = who();
    // Scopes that write the main flag are cleared with it (and hold it while over).
    const scoped = mainFlagScopes(config, result);
    // A fleet emergency holds this host's flag until `--fleet` ends it; a fleet that cannot be
    // seen with on_lost: emergency is one more signal at emergency (as in a check).
    const held = config.fleet === null ? null : await fleetHold(config, nowMs);
    if (held?.refusal != null) {
      audit.record('clear_refused', { by: person, reason, why: 'fleet emergency', fleet: held.name });
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({
            removed: false,
            file: config.flagFile,
            refused: 'fleet emergency',
            fleet: { name: held.name },
          })}\n`,
        );
      throw new FailureError(held.refusal);
    }
    const signals = held?.signal != null ? [...result.signals, held.signal] : result.signals;
    const verdict = clearVerdict([...signals, ...scoped.windows], force, result.logError === null);
    const over = verdict.over;
    const flagBefore = readFlag(config.flagFile);
    if (flagBefore.kind === 'unknown') {
      // Not "no flag": the app may be paused by a flag that cannot be seen from here.
      audit.record('clear_failed', { by: person, reason, error: flagBefore.reason, code: flagBefore.code });
      throw new FailureError(`${flagBefore.reason}: nothing was cleared`);
    }
    if (!verdict.allowed) {
      audit.record('clear_refused', {
        by: person,
        reason,
        why: verdict.why,
        ...(result.logError !== null ? { error: result.logError } : {}),
        windows: windowsJson(over),
      });
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({
            removed: false,
            file: config.flagFile,
            refused: verdict.why,
            windows: windowsJson(over),
            ...(result.logError !== null ? { error: result.logError } : {}),
          })}\n`,
        );
      throw new FailureError(
        verdict.why === 'spend unknown'
          ? `refusing to clear the emergency: the spend is not known (${result.logError}).\nFix the ` +
              `log, or run again with --force to clear anyway.`
          : `refusing to clear the emergency: spend is still at emergency or above: ` +
              `${spendText(over)}.\nWait until it drops, or run again with --force to acknowledge this ` +
              `spend (the flag then returns only if a window climbs higher, or drops to ok and crosses ` +
              `again).`,
      );
    }
    let removed: boolean;
    try {
      removed = removeFlag(config.flagFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? null;
      const why = removeWhy(error);
      audit.record('clear_failed', { by: person, reason, error: why, code });
      throw new FailureError(`cannot remove the emergency flag ${config.flagFile}: ${why}`);
    }
    const { state } = loadAlerts(config);
    const hadSwitch = state.kill_switch !== null;
    const next = afterClear(state, signals, force, nowMs);
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
      windows: windowsJson(withBalance(result.windows, result.balance)),
    });
    const failures: string[] = [];
    let delivery: Delivery = { sent: 0, failed: 0, pending: state.pending };
    if (removed || hadSwitch) {
      const forcedText =
        over.length > 0
          ? ` (forced while ${spendText(over)}; the flag returns only above that level, or after ` +
            `spend drops to ok and crosses again)`
          : '';
      delivery = await announceCleared(
        config,
        `EMERGENCY CLEARED by ${person}: ${reason}${forcedText}`,
        withBalance(result.windows, result.balance),
        next,
        audit,
        nowMs,
      );
    }
    failures.push(...rememberAlerts(config, next, delivery, audit));
    const lines = removed
      ? [`emergency flag removed: ${config.flagFile}`, `reason: ${reason} (by ${person})`]
      : [
          `no emergency flag at ${config.flagFile}: nothing to remove` +
            (hadSwitch ? ' (the kill switch is now off)' : ''),
        ];
    if (Object.keys(acknowledged).length > 0)
      lines.push(
        `acknowledged: ${Object.entries(acknowledged)
          .map(([w, l]) => `${w} at ${l}`)
          .join(', ')}`,
      );
    process.stdout.write(
      options.json
        ? `${JSON.stringify({
            removed,
            file: config.flagFile,
            forced: force,
            acknowledged,
            reason,
            by: person,
            failures,
          })}\n`
        : `${lines.map(printable).join('\n')}\n`,
    );
    if (failures.length > 0) throw new FailureError(failures.join('\n'));
    return EXIT.OK;
  });
}

/**
 * What the fleet holds of this host's flag, for a clear without --fleet: a fleet emergency (in
 * Redis, or remembered in fleet.json while Redis cannot be seen) refuses it, whatever --force; a
 * fleet that cannot be seen with on_lost: emergency is a signal at emergency. One bounded read.
 */
async function fleetHold(
  config: Config,
  nowMs: number,
): Promise<{ name: string; refusal: string | null; signal: WindowStatus | null }> {
  const fleet = config.fleet as NonNullable<Config['fleet']>;
  const { outcomeOfView, viewFleet } = await import('../fleet/exchange.js');
  const { loadFleetMemory } = await import('../fleet/memory.js');
  const { fleetSignal } = await import('../fleet/act.js');
  const view = await viewFleet(config, nowMs);
  const remembered = view.reachable ? null : loadFleetMemory(config.stateDir, fleet.name).emergency;
  const emergency = view.emergency ?? remembered;
  const outcome = { ...outcomeOfView(view), emergency, blind: fleet.onLost === 'emergency' };
  const signal = fleetSignal(outcome);
  if (emergency === null)
    return { name: fleet.name, refusal: null, signal: signal.level === 'ok' ? null : signal };
  const unseen =
    remembered !== null
      ? ` (Redis at ${view.shown} cannot be reached: ${view.problem?.text ?? 'no answer'}; this host ` +
        `remembers the fleet emergency in ${fleetFile(config.stateDir)} and honours it meanwhile)`
      : '';
  return {
    name: fleet.name,
    refusal:
      `refusing to clear: a fleet emergency holds this host's flag: ${signal.detail ?? signal.level}` +
      `${unseen}.\nIt is cleared for every host of the fleet at once, ` +
      `with: cost-watchdog clear-emergency --fleet --reason <text> (--force does not clear one host ` +
      `out of a fleet emergency).`,
    signal,
  };
}
