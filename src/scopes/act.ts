// Scoped budgets, acting: per scope instance, the decision (decide.ts), then its flag (its own
// flag_file with the value made safe, or the main flag) and its kill (its own target, or the main
// target, stopped once per check), and the alerts it gives, which go out with the main ones.
import path from 'node:path';
import type { Config, ScopeConfig, TargetConfig } from '../config/index.js';
import type { AlertFacts, FlagOutcome, KillSummary } from '../core/alert-text.js';
import {
  type AlertState,
  type DecideInput,
  type Decision,
  decide,
  type ScopeMemory,
} from '../core/decide.js';
import { flagInForce } from '../core/flag.js';
import { highestLevel, type Level } from '../core/levels.js';
import type { Auditor } from '../effects/audit.js';
import { flagSeen, readFlag } from '../effects/flag.js';
import { host } from '../effects/identity.js';
import { flagContentOf, placeFlag } from '../check/place-flag.js';
import { type KillResult, stopTarget } from '../check/stop.js';
import type { ScopeStatus } from './counter.js';
import type { ScopeAction } from './types.js';

export type { ScopeAction } from './types.js';
import { keepMemories, memoryKey, memoryOf, scopeLabel, stateOf, toDecide } from './decide.js';
import { fillPath, fillPattern } from './match.js';

/** `--key agent=research` for a command line ('' without each); the value quoted when it needs it. */
function keyArg(key: Readonly<Record<string, string>>): string {
  return Object.entries(key)
    .map(
      ([f, v]) =>
        ` --key ${/^[A-Za-z0-9._:@%+=-]+$/.test(`${f}=${v}`) ? `${f}=${v}` : JSON.stringify(`${f}=${v}`)}`,
    )
    .join('');
}

/** The scope's flag file for this instance; null when the filled name would leave its folder. */
export function scopeFlagFile(config: Config, scope: ScopeConfig, value: string | null): string | null {
  if (scope.flagFile === null) return config.flagFile;
  if (scope.each === null || value === null) return scope.flagFile;
  const filled = fillPath(scope.flagFile, scope.each, value);
  return path.dirname(filled) === path.dirname(scope.flagFile) ? filled : null;
}

/** The scope's target for this instance (placeholders filled), or the main target. */
export function scopeTarget(config: Config, scope: ScopeConfig, value: string | null): TargetConfig | null {
  const target = scope.target;
  if (target === null) return config.target;
  if (scope.each === null || value === null) return target;
  const field = scope.each;
  const pidFile = target.pidFile === null ? null : fillPath(target.pidFile, field, value);
  return {
    ...target,
    pidFile:
      pidFile !== null && path.dirname(pidFile) === path.dirname(target.pidFile as string) ? pidFile : null,
    cmdline: target.cmdline === null ? null : fillPattern(target.cmdline, field, value),
  };
}

/** An instance's status by its key (a remembered one too: at $0 when nothing is counted for it). */
export function scopeLookup(
  config: Config,
  status: (name: string, value: string | null) => ScopeStatus | null,
): (name: string, key: Record<string, string>) => ScopeStatus | null {
  return (name, key) => {
    const scope = config.scopes.find((s) => s.name === name);
    if (scope === undefined) return null;
    const value = scope.each === null ? null : (key[scope.each] ?? null);
    if (scope.each !== null && value === null) return null;
    return status(name, value);
  };
}

/** One instance decided on, its flag placed: what its kill and its alert need. */
interface Decided {
  scope: ScopeConfig;
  status: ScopeStatus;
  label: string;
  input: DecideInput;
  decision: Decision;
  flag: FlagOutcome;
  problems: string[];
}

function decideOne(
  config: Config,
  scope: ScopeConfig,
  status: ScopeStatus,
  memories: Readonly<Record<string, ScopeMemory>>,
  nowMs: number,
  mode: 'run' | 'watch',
  dryRun: boolean,
  audit: Auditor | null,
  failures: string[],
): Decided {
  const k = memoryKey(status.name, status.key);
  const label = scopeLabel(status.name, status.key);
  const flagFile = scopeFlagFile(config, scope, status.value);
  const problems: string[] = [];
  if (flagFile === null) problems.push(`${label}: its flag file would leave its folder: not written`);
  const read = flagFile === null ? null : readFlag(flagFile);
  const seen = read === null ? null : flagSeen(read);
  const input: DecideInput = {
    nowMs,
    windows: status.windows,
    state: stateOf(memories[k]),
    flagExists: seen !== null && flagInForce(seen),
    flagUnknown: seen?.kind === 'unknown',
    targetRunning: false,
    reminderMs: config.alerts.reminderMs,
  };
  const decision = decide(input);
  let flag: FlagOutcome =
    read?.kind === 'present' && flagFile !== null ? { kind: 'exists', file: flagFile } : { kind: 'none' };
  if (decision.writeFlag && flagFile !== null) {
    flag = placeFlag(
      { ...config, flagFile },
      { ...flagContentOf(decision, mode, nowMs, label), scope: status.name, key: status.key },
      dryRun,
      audit,
    );
    if (flag.kind === 'failed') {
      problems.push(`${label}: flag not written: ${flag.file}: ${flag.error}`);
      failures.push(`${label}: emergency flag not written: ${flag.file}: ${flag.error}`);
    }
  }
  decision.next.flag_seen =
    flag.kind === 'written' ||
    flag.kind === 'exists' ||
    (flag.kind === 'would-write' && decision.next.flag_seen);
  return { scope, status, label, input, decision, flag, problems };
}

/**
 * Decide and act on every scope instance that has something to say; the memories go into
 * `state.scopes`, the alerts are returned for the main delivery. `mainKilled`: the main target
 * was stopped in this check already (a scope without its own target does not stop it again).
 */
export async function actScopes(
  config: Config,
  statuses: readonly ScopeStatus[],
  statusOf: (name: string, value: string | null) => ScopeStatus | null,
  state: AlertState,
  nowMs: number,
  mode: 'run' | 'watch',
  dryRun: boolean,
  audit: Auditor | null,
  mainKill: KillResult | null,
  meter: Parameters<typeof stopTarget>[3],
): Promise<{ alerts: { facts: AlertFacts; level: Level }[]; actions: ScopeAction[]; failures: string[] }> {
  const alerts: { facts: AlertFacts; level: Level }[] = [];
  const actions: ScopeAction[] = [];
  const failures: string[] = [];
  if (config.scopes.length === 0) return { alerts, actions, failures };
  const memories: Record<string, ScopeMemory> = { ...(state.scopes ?? {}) };
  // First every instance's decision and flag (the flags before any kill), then the kills: the
  // main target stopped once, each scope's own target at the same time as the others (one
  // agent's grace period does not hold up another's kill), then the alerts and the memories.
  const decided: Decided[] = [];
  for (const status of toDecide(statuses, memories, scopeLookup(config, statusOf))) {
    const scope = config.scopes.find((s) => s.name === status.name);
    if (scope === undefined) continue;
    decided.push(decideOne(config, scope, status, memories, nowMs, mode, dryRun, audit, failures));
  }
  const stops = new Map<string, Promise<KillResult>>();
  const mainStop = mainKill === null ? null : Promise.resolve(mainKill);
  const kills = decided.map((d) => {
    if (!d.decision.kill) return Promise.resolve(null);
    const own = d.scope.target !== null;
    const target = scopeTarget(config, d.scope, d.status.value);
    const id = own ? JSON.stringify(target) : 'main';
    let stop = id === 'main' ? (mainStop ?? stops.get(id)) : stops.get(id);
    if (stop === undefined) {
      stop = stopTarget({ ...config, target }, dryRun, audit, meter);
      stops.set(id, stop);
    }
    return stop;
  });
  const stopped = await Promise.all(kills);
  decided.forEach((d, index) => {
    const { status, label, problems, flag, input } = d;
    let { decision } = d;
    const result = stopped[index] ?? null;
    const kill: KillSummary | null = result?.summary ?? null;
    if (result !== null && result.failed !== null) {
      problems.push(`${label}: ${result.failed}`);
      failures.push(`${label}: ${result.failed}`);
    }
    // Known now: was its target running? (A kill switch that finds it again says so.)
    if (kill !== null && !kill.notRunning && !dryRun) {
      const seenBefore = decision.next.flag_seen;
      decision = decide({ ...input, targetRunning: true });
      decision.next.flag_seen = seenBefore;
    }
    const k = memoryKey(status.name, status.key);
    const above = status.windows.some((w) => w.level !== 'ok');
    const previous = memories[k];
    memories[k] = memoryOf(decision.next, above || previous === undefined ? nowMs : previous.last_seen_ms);
    const events = decision.events;
    if (events.length > 0 || problems.length > 0) {
      alerts.push({
        facts: {
          host: host(),
          atIso: new Date(nowMs).toISOString(),
          by: mode,
          headline:
            `${label}: ${decision.level === 'ok' ? 'back under its limits' : `at ${decision.level}`}` +
            (events.some((e) => e.kind === 'reminder' || e.kind === 'came-back')
              ? `; its flag is cleared by \`cost-watchdog clear-emergency --scope ${status.name}` +
                `${keyArg(status.key)} --reason ...\``
              : ''),
          events,
          windows: status.windows,
          tops: null,
          flag,
          kill,
          problems,
          scope: { name: status.name, key: status.key },
        },
        level: problems.length > 0 && decision.level === 'ok' ? 'emergency' : decision.level,
      });
    }
    const action: ScopeAction = {
      name: status.name,
      key: status.key,
      level: highestLevel(status.windows.map((w) => w.level)),
      action_level: decision.level,
      events: events.map((e) => `${e.kind}:${e.window}:${e.level}`),
      flag,
      kill,
    };
    actions.push(action);
    if (events.length > 0 || decision.writeFlag || decision.kill)
      audit?.record('scope_decision', {
        scope: status.name,
        key: status.key,
        level: decision.level,
        events: action.events,
        flag: flag.kind,
        kill: decision.kill,
      });
  });
  state.scopes = keepMemories(memories, new Set(config.scopes.map((s) => s.name)), nowMs);
  return { alerts, actions, failures };
}
