// Act: decide on one check's figures, then flag, kill and alert, in that order (the contract's:
// the flag and the kill first, then the alerts, which are bounded in time and never delay
// either), and remember the alert state for the next check.
import type { Config } from '../config/index.js';
import type { AlertFacts, FlagOutcome, KillSummary } from '../core/alert-text.js';
import { afterClear, decide, effectiveLevel, troubles } from '../core/decide.js';
import { balanceWords } from '../core/balance.js';
import { announce, findingsToSay } from '../core/findings/index.js';
import { flagCheckFailed, flagInForce } from '../core/flag.js';
import { highestLevel, type Level, levelRank } from '../core/levels.js';
import type { Auditor } from '../effects/audit.js';
import { flagSeen, readFlag, removeFlag } from '../effects/flag.js';
import { FLEET_SIGNAL, fleetSignal, fleetWindowsShown, isFleetsToSay } from '../fleet/act.js';
import type { FleetOutcome } from '../fleet/types.js';
import type { AlertState } from '../core/decide.js';
import { host } from '../effects/identity.js';
import { loadAlerts, rememberAlerts } from './alert-state.js';
import type { AlertDispatch, AlertOutbox } from './deliver.js';
import { topsOf } from './figures.js';
import { graceMeter } from './grace-meter.js';
import { observe } from './observe.js';
import { flagContentOf, placeFlag } from './place-flag.js';
import { actScopes } from '../scopes/act.js';
import { type KillResult, stopTarget } from './stop.js';
import type { CheckResult, Enforcement, Mode } from './types.js';

/**
 * Decide and act on one check's figures: flag, kill, alerts, in that order. With dryRun, say
 * what would be done and touch nothing.
 */
export async function act(
  config: Config,
  result: CheckResult,
  mode: Mode,
  dryRun: boolean,
  audit: Auditor | null,
  outbox: AlertOutbox | null,
  dispatch: AlertDispatch,
): Promise<Enforcement> {
  const nowMs = result.nowMs;
  const failures: string[] = [];
  const loaded = loadAlerts(config);
  if (loaded.note !== null) {
    process.stderr.write(`cost-watchdog: note: ${loaded.note}\n`);
    audit?.record('note', { note: loaded.note });
  }
  const fleet = result.fleet;
  if (fleet?.cleared != null && !dryRun)
    loaded.state = fleetCleared(config, result, fleet, loaded.state, audit, failures);
  const signals = fleet === null ? result.signals : [...result.signals, fleetSignal(fleet)];
  const flagRead = readFlag(config.flagFile);
  const seen = flagSeen(flagRead);
  const input = {
    nowMs,
    windows: signals,
    state: loaded.state,
    flagExists: flagInForce(seen),
    flagUnknown: seen.kind === 'unknown',
    targetRunning: false,
    reminderMs: config.alerts.reminderMs,
  };
  let decision = decide(input);

  // Only a flag confirmed to exist is in force; one that cannot be seen is a failed check.
  let flag: FlagOutcome =
    flagRead.kind === 'present'
      ? { kind: 'exists', file: config.flagFile }
      : flagRead.kind === 'unknown'
        ? { kind: 'unknown', file: config.flagFile, error: flagRead.reason }
        : { kind: 'none' };
  if (flagRead.kind === 'unknown')
    audit?.record('flag_unknown', { file: config.flagFile, error: flagRead.reason, code: flagRead.code });
  if (decision.writeFlag) {
    flag = placeFlag(config, flagContentOf(decision, mode, nowMs), dryRun, audit);
    if (flag.kind === 'failed') failures.push(`emergency flag not written: ${flag.file}: ${flag.error}`);
  }
  const flagUnknown =
    flagRead.kind === 'unknown' && flagCheckFailed(seen, flag.kind) ? flagRead.reason : null;
  if (flagUnknown !== null && flag.kind !== 'failed') failures.push(flagUnknown);

  let kill: KillSummary | null = null;
  let killFailed: string | null = null;
  let mainStop: KillResult | null = null;
  if (decision.kill) {
    const stopped = await stopTarget(config, dryRun, audit, () => graceMeter(config, result.meterStart));
    mainStop = stopped;
    kill = stopped.summary;
    killFailed = stopped.failed;
    if (killFailed !== null) failures.push(killFailed);
    // Known now: was the target running? (A kill switch that finds it again says so.)
    if (!kill.notRunning && !dryRun) decision = decide({ ...input, targetRunning: true });
  }
  // The flag is in force only if it is there now: a write that failed must not look, next time,
  // like a flag somebody deleted.
  // One that cannot be seen is neither: what was known of it is kept.
  decision.next.flag_seen =
    flag.kind === 'written' ||
    flag.kind === 'exists' ||
    (flag.kind === 'would-write' && decision.next.flag_seen) ||
    (flagUnknown !== null && loaded.state.flag_seen);
  const { problems, incidents } = troubles(
    decision.next.incidents,
    {
      killFailed,
      killTried: decision.kill,
      stopFailed: kill?.stop == null ? undefined : kill.stop.ok ? null : (config.target?.stopCommand ?? ''),
      flagFailed: flag.kind === 'failed' ? `${flag.file}: ${flag.error}` : null,
      flagUnknown,
    },
    decision.events.length > 0,
    nowMs,
    config.alerts.reminderMs,
  );
  decision.next.incidents = incidents;

  const observation = await observe(config, result, decision.level);
  const found = announce(observation.findings, decision.next.findings, nowMs);
  decision.next.findings = found.memory;
  for (const finding of found.announce)
    audit?.record('finding', { kind: finding.kind, key: finding.key, text: finding.text });

  // Scoped budgets after the main decision, so that their alerts go out in the same delivery.
  const scoped = await actScopes(
    config,
    result.scopes,
    result.scopeStatus,
    decision.next,
    nowMs,
    mode,
    dryRun,
    audit,
    mainStop,
    () => graceMeter(config, result.meterStart),
  );
  failures.push(...scoped.failures);

  // The fleet's own changes of level are said by the host Redis chose; its reminder by one host.
  const events = decision.events.filter((e) => !isFleetsToSay(e));
  let fleetKilled = false;
  if (fleet !== null) {
    const reminder = events.findIndex((e) => e.kind === 'reminder' && e.window === FLEET_SIGNAL);
    if (reminder >= 0 && !dryRun) {
      const { claimReminder } = await import('../fleet/exchange.js');
      if (!(await claimReminder(config, config.alerts.reminderMs))) events.splice(reminder, 1);
    }
    events.push(...fleet.events);
    for (const notice of fleet.notices) {
      found.announce.push(notice);
      audit?.record('fleet', { fleet: fleet.name, text: notice.text });
    }
    if (fleet.problem?.kind === 'refused') failures.push(`fleet ${fleet.name}: ${fleet.problem.text}`);
    // A host that killed its target for the fleet's kill says so itself, also when another host
    // announced the kill: which hosts were stopped is each host's own news.
    const stopped = kill !== null && !dryRun ? kill.exited.length + kill.killed.length : 0;
    fleetKilled =
      stopped > 0 && decision.trigger?.name === FLEET_SIGNAL && !events.some((e) => e.level === 'kill');
    if (fleetKilled)
      found.announce.push({
        key: `fleet:${fleet.name}:killed:${nowMs}`,
        kind: 'fleet',
        text: `fleet ${fleet.name}: host ${fleet.host} killed its target for the fleet's kill`,
      });
  }
  const alerts: { facts: AlertFacts; level: Level }[] = [];
  if (events.length > 0 || problems.length > 0 || found.announce.length > 0) {
    const about = decision.trigger?.name ?? events.find((e) => e.window !== '')?.window ?? null;
    alerts.push({
      facts: {
        // In a fleet, the host's name in the fleet (several watchdogs may share a machine).
        host: config.fleet?.host ?? host(),
        atIso: new Date(nowMs).toISOString(),
        by: mode,
        events,
        windows: [
          ...result.windows,
          ...(result.balance === null ? [] : [result.balance.window]),
          ...(fleet === null ? [] : fleetWindowsShown(fleet)),
        ],
        ...(result.balance === null ? {} : { balance: balanceWords(result.balance) }),
        tops: topsOf(config, result, about),
        flag,
        kill,
        problems,
        findings: findingsToSay(found.announce, events),
      },
      level:
        problems.length > 0 && decision.level === 'ok'
          ? 'emergency'
          : events.length === 0 && problems.length === 0
            ? fleetKilled
              ? decision.level
              : 'warn'
            : // The fleet's own events (a fleet window at warn) count at their level here too.
              highestLevel([decision.level, ...(fleet?.events ?? []).map((e) => e.level)]),
    });
  }
  audit?.record('decision', {
    level: decision.level,
    trigger: decision.trigger?.name ?? null,
    events: events.map((e) => `${e.kind}:${e.window}:${e.level}`),
    ...(fleet !== null
      ? {
          fleet: fleet.reachable
            ? Object.fromEntries(fleet.windows.map((w) => [w.name, { spend_usd: w.spend, level: w.level }]))
            : { lost: fleet.problem?.text ?? null },
        }
      : {}),
    flag: flag.kind,
    kill: decision.kill,
    kill_switch: decision.next.kill_switch !== null,
  });
  alerts.push(...scoped.alerts);
  const delivery = await dispatch.deliver(config, alerts, decision.next, audit, nowMs, dryRun, outbox);
  if (!dryRun) failures.push(...rememberAlerts(config, decision.next, delivery, null));
  return {
    decision,
    events,
    flag,
    kill,
    failures,
    alerts: { sent: delivery.sent, failed: delivery.failed, pending: delivery.pending.length },
    observation,
    announced: found.announce,
    scopeActions: scoped.actions,
  };
}

/**
 * The fleet emergency this host held its flag for was cleared on another host (clear-emergency
 * --fleet): the flag goes here too, and the kill switch with it, unless this host's own spend
 * still holds it. Audited here, as on the host that cleared it.
 */
function fleetCleared(
  config: Config,
  result: CheckResult,
  fleet: FleetOutcome,
  state: AlertState,
  audit: Auditor | null,
  failures: string[],
): AlertState {
  const cleared = fleet.cleared!;
  const over = result.signals.some(
    (w) => levelRank(effectiveLevel(w.level, state.acknowledged[w.name])) >= levelRank('emergency'),
  );
  // A flag this host wrote for an emergency of its own (another window) is not the fleet's.
  const present = readFlag(config.flagFile);
  const window = present.kind === 'present' ? present.content?.window : undefined;
  const localOver = over || (typeof window === 'string' && window !== FLEET_SIGNAL);
  let removed = false;
  if (!localOver) {
    try {
      removed = removeFlag(config.flagFile);
    } catch (error) {
      failures.push(
        `the fleet emergency was cleared, but the flag ${config.flagFile} could not be removed: ` +
          `${(error as Error).message}`,
      );
      return state;
    }
  }
  audit?.record('flag_cleared', {
    by: cleared.by,
    host: cleared.host,
    reason: cleared.reason,
    forced: cleared.forced,
    removed,
    file: config.flagFile,
    via: 'clear-emergency --fleet',
    fleet: fleet.name,
    ...(localOver ? { kept: "this host's own emergency holds the flag" } : {}),
  });
  process.stderr.write(
    `cost-watchdog: fleet ${fleet.name}: the fleet emergency was cleared by ${cleared.by} on ` +
      `${cleared.host} (${cleared.reason})${removed ? `; ${config.flagFile} removed` : ''}` +
      `${localOver ? "; this host's flag stays: it is for an emergency of its own" : ''}\n`,
  );
  return localOver ? state : afterClear(state, result.signals, false, result.nowMs);
}
