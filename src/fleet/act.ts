// How a check acts on the fleet: the fleet emergency (or, with on_lost: emergency, a fleet that
// cannot be seen) is one more signal for the local decision, named `fleet`, so that the local
// flag, the kill and the kill switch work as they do for a window. Its alerts are the fleet's:
// a change of the fleet's level is announced by the one host Redis chose, a reminder by one host
// per interval; a host says only what is its own (its target came back, a kill that failed).
import type { AlertEvent } from '../core/types.js';
import type { Level, WindowStatus } from '../core/levels.js';
import { dollarsOf, usd } from '../core/money.js';
import type { FleetOutcome } from './types.js';

export const FLEET_SIGNAL = 'fleet';

function clockOf(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** The `fleet` signal of this check: at the fleet emergency's level, or ok. */
export function fleetSignal(fleet: FleetOutcome): WindowStatus {
  const e = fleet.emergency;
  if (e !== null) {
    const level: Level = e.level;
    return {
      name: FLEET_SIGNAL,
      seconds: null,
      limits: { [level]: dollarsOf(e.limit) },
      spend: dollarsOf(e.spend),
      level,
      detail:
        `fleet ${fleet.name}: ${e.window} spend ${usd(dollarsOf(e.spend))} crossed the fleet's ${level} ` +
        `limit ${usd(dollarsOf(e.limit))} (fleet emergency since ${clockOf(e.since_ms)}, by host ${e.by})`,
    };
  }
  if (fleet.blind && !fleet.reachable)
    return {
      name: FLEET_SIGNAL,
      seconds: null,
      limits: {},
      spend: 0,
      level: 'emergency',
      detail:
        `fleet ${fleet.name} cannot be seen (${fleet.problem?.text ?? 'unknown'}) and fleet.on_lost is ` +
        'emergency',
    };
  return { name: FLEET_SIGNAL, seconds: null, limits: {}, spend: 0, level: 'ok' };
}

/** The local decision's events about the `fleet` signal that the fleet says instead. */
export function isFleetsToSay(event: AlertEvent): boolean {
  return (
    event.window === FLEET_SIGNAL &&
    (event.kind === 'enter' || event.kind === 'escalate' || event.kind === 'recovery')
  );
}

/** The fleet's windows, as an alert lists them beside the host's own. */
export function fleetWindowsShown(fleet: FleetOutcome): WindowStatus[] {
  if (!fleet.reachable) return [];
  return fleet.windows.map((w) => ({ ...w, name: `fleet ${w.name}` }));
}
