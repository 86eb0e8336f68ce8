// `clear-emergency`: a person's decision to let the app spend again. Removes the flag, turns the
// kill switch off, and says so on Slack and in the audit log with who and why. Refused while a
// window is still at emergency or above, unless --force, which acknowledges the spend at that
// moment: the flag returns only when a window climbs higher, or drops to ok and crosses again.
import { configPath, loadConfig } from '../config/index.js';
import { afterClear, clearVerdict } from '../core/decide.js';
import { limitsText, usd } from '../core/money.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { announceCleared, type Delivery } from '../check/deliver.js';
import { round6 } from '../check/figures.js';
import { underLock } from '../check/run-check.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { host, who } from '../effects/identity.js';
import { readFlag, removeFlag } from '../effects/flag.js';
import { errnoWords } from '../core/flag.js';
import { printable } from '../format.js';
import { clearScope, mainFlagScopes, scopeArgs } from '../scopes/clear.js';

export interface ClearOptions {
  config?: string;
  reason?: string;
  force?: boolean;
  json?: boolean;
  /** Clear one scoped budget's flag and state instead (src/scopes/clear.ts). */
  scope?: string;
  key?: string;
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
  if (options.scope !== undefined) {
    const scope = options.scope;
    scopeArgs(config, scope, options.key);
    return underLock(config, Date.now, async (result, audit) => {
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
    const nowMs = result.nowMs;
    const person = who();
    // Scopes that write the main flag are cleared with it (and hold it while over).
    const scoped = mainFlagScopes(config, result);
    const verdict = clearVerdict([...result.signals, ...scoped.windows], force, result.logError === null);
    const over = verdict.over;
    const spendText = (ws: typeof over): string =>
      ws
        .map((w) =>
          w.detail !== undefined
            ? `${w.detail} at ${w.level}`
            : `${w.name} ${usd(w.spend)} at ${w.level} (${limitsText(w.limits)})`,
        )
        .join('; ');
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
        windows: Object.fromEntries(
          over.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
        ),
      });
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({
            removed: false,
            file: config.flagFile,
            refused: verdict.why,
            windows: Object.fromEntries(
              over.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
            ),
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
      // A folder in the flag's place is not a flag anybody wrote: say what it is, not Node's words.
      const why =
        code === 'EISDIR'
          ? `it is a folder, not a flag file (remove it by hand if it is not the app's)`
          : errnoWords(code, (error as Error).message);
      audit.record('clear_failed', { by: person, reason, error: why, code });
      throw new FailureError(`cannot remove the emergency flag ${config.flagFile}: ${why}`);
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
      windows: Object.fromEntries(
        result.windows.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
      ),
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
        result.windows,
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
