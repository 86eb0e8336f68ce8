// `clear-emergency --scope <name> [--key field=value]`: one scope instance's flag removed and its
// remembered state (kill switch, levels) reset, by the same rules as the main clear: a reason,
// refused while that instance is at emergency or above unless --force, audited, announced.
import type { Config } from '../config/index.js';
import { type AlertState, afterClear, clearVerdict } from '../core/decide.js';
import type { WindowStatus } from '../core/levels.js';
import { errnoWords } from '../core/flag.js';
import { limitsText, usd } from '../core/money.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { announceCleared, type Delivery } from '../check/deliver.js';
import { round6 } from '../check/figures.js';
import type { CheckResult } from '../check/types.js';
import type { Auditor } from '../effects/audit.js';
import { readFlag, removeFlag } from '../effects/flag.js';
import { host, who } from '../effects/identity.js';
import { FailureError, UsageError } from '../errors.js';
import { scopeFlagFile, scopeLookup } from './act.js';
import { memoryKey, memoryOf, parseMemoryKey, scopeLabel, stateOf } from './decide.js';

/** The scope and key named on the command line, checked against the config (exit 64 when wrong). */
export function scopeArgs(
  config: Config,
  name: string,
  keyArg: string | undefined,
): { scope: Config['scopes'][number]; key: Record<string, string> } {
  const scope = config.scopes.find((s) => s.name === name);
  if (scope === undefined)
    throw new UsageError(
      `--scope ${JSON.stringify(name)}: no such scope in ${config.file}` +
        (config.scopes.length > 0
          ? ` (scopes: ${config.scopes.map((s) => s.name).join(', ')})`
          : ' (it has none)'),
    );
  if (scope.each === null) {
    if (keyArg !== undefined)
      throw new UsageError(`--key: scope ${name} has no \`each\` (one budget): leave --key out`);
    return { scope, key: {} };
  }
  if (keyArg === undefined)
    throw new UsageError(
      `scope ${name} has a budget per ${scope.each}: say which with --key ${scope.each}=<value>`,
    );
  const eq = keyArg.indexOf('=');
  const field = eq < 0 ? '' : keyArg.slice(0, eq);
  if (field !== scope.each)
    throw new UsageError(
      `--key ${JSON.stringify(keyArg)}: expected ${scope.each}=<value> ` +
        `(scope ${name} is each: ${scope.each})`,
    );
  return { scope, key: { [field]: keyArg.slice(eq + 1) } };
}

export async function clearScope(
  config: Config,
  result: CheckResult,
  audit: Auditor,
  options: { scope: string; key?: string; reason: string; force: boolean; json: boolean },
): Promise<string[]> {
  const { scope, key } = scopeArgs(config, options.scope, options.key);
  const nowMs = result.nowMs;
  const person = who();
  const value = scope.each === null ? null : (key[scope.each] as string);
  const status = scopeLookup(config, result.scopeStatus)(scope.name, key);
  if (status === null) throw new UsageError(`--scope ${scope.name}: nothing to clear`);
  const label = scopeLabel(scope.name, key);
  const verdict = clearVerdict(status.windows, options.force, result.logError === null);
  const flagFile = scopeFlagFile(config, scope, value);
  if (flagFile === null)
    throw new FailureError(`${label}: its flag file would leave its folder: nothing cleared`);
  const over = verdict.over
    .map((w) => `${w.name} ${usd(w.spend)} at ${w.level} (${limitsText(w.limits)})`)
    .join('; ');
  if (!verdict.allowed) {
    audit.record('clear_refused', {
      by: person,
      reason: options.reason,
      why: verdict.why,
      scope: scope.name,
      key,
    });
    throw new FailureError(
      verdict.why === 'spend unknown'
        ? `refusing to clear ${label}: the spend is not known (${result.logError}).\nFix the log, or run ` +
            `again with --force to clear anyway.`
        : `refusing to clear ${label}: its spend is still at emergency or above: ${over}.\nWait until it ` +
            `drops, or run again with --force to acknowledge this spend.`,
    );
  }
  const before = readFlag(flagFile);
  if (before.kind === 'unknown') throw new FailureError(`${before.reason}: nothing was cleared`);
  let removed: boolean;
  try {
    removed = removeFlag(flagFile);
  } catch (error) {
    const why = errnoWords((error as NodeJS.ErrnoException).code ?? null, (error as Error).message);
    audit.record('clear_failed', { by: person, reason: options.reason, error: why, scope: scope.name, key });
    throw new FailureError(`cannot remove the flag ${flagFile} of ${label}: ${why}`);
  }
  const { state } = loadAlerts(config);
  const k = memoryKey(scope.name, key);
  const memory = state.scopes?.[k];
  const hadSwitch = memory?.kill_switch != null;
  const cleared = afterClear(stateOf(memory), status.windows, options.force, nowMs);
  state.scopes = { ...(state.scopes ?? {}), [k]: memoryOf(cleared, nowMs) };
  audit.record('flag_cleared', {
    by: person,
    host: host(),
    reason: options.reason,
    forced: options.force,
    removed,
    file: flagFile,
    scope: scope.name,
    key,
    acknowledged: cleared.acknowledged,
    windows: Object.fromEntries(
      status.windows.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
    ),
  });
  let delivery: Delivery = { sent: 0, failed: 0, pending: state.pending };
  if (removed || hadSwitch) {
    delivery = await announceCleared(
      config,
      `EMERGENCY CLEARED for ${label} by ${person}: ${options.reason}` +
        (verdict.over.length > 0 ? ` (forced while ${over})` : ''),
      status.windows,
      state,
      audit,
      nowMs,
      { name: scope.name, key },
    );
  }
  const failures = rememberAlerts(config, state, delivery, audit);
  const text = removed
    ? `flag of ${label} removed: ${flagFile}\nreason: ${options.reason} (by ${person})`
    : `no flag of ${label} at ${flagFile}: nothing to remove` +
      (hadSwitch ? ' (its kill switch is now off)' : '');
  process.stdout.write(
    options.json
      ? `${JSON.stringify({
          removed,
          file: flagFile,
          scope: scope.name,
          key,
          forced: options.force,
          acknowledged: cleared.acknowledged,
          reason: options.reason,
          by: person,
          failures,
        })}\n`
      : `${text}\n`,
  );
  return failures;
}

/**
 * Scopes without a flag_file of their own write the main flag: the main `clear-emergency` takes
 * them in. `windows`: their instances' windows (named `scope <name> <key> <window>`), so that the
 * main clear is refused while one is at emergency or above; `reset`: their remembered state is
 * cleared with the main flag (no "flag removed" alert next check, the kill switch off).
 */
export function mainFlagScopes(
  config: Config,
  result: CheckResult,
): { windows: WindowStatus[]; reset(state: AlertState, force: boolean, nowMs: number): void } {
  const names = new Set(config.scopes.filter((s) => s.flagFile === null).map((s) => s.name));
  const windows: WindowStatus[] = [];
  for (const status of result.scopes) {
    if (!names.has(status.name)) continue;
    const label = scopeLabel(status.name, status.key);
    for (const w of status.windows) windows.push({ ...w, name: `${label} ${w.name}` });
  }
  return {
    windows,
    reset(state, force, nowMs) {
      const memories = { ...(state.scopes ?? {}) };
      for (const [k, memory] of Object.entries(memories)) {
        const { name, key } = parseMemoryKey(k);
        if (!names.has(name)) continue;
        const status = scopeLookup(config, result.scopeStatus)(name, key);
        memories[k] = memoryOf(afterClear(stateOf(memory), status?.windows ?? [], force, nowMs), nowMs);
      }
      state.scopes = memories;
    },
  };
}
