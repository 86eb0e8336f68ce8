// The fleet's part of `status --json` and `run --json` (DESIGN.md "Fleet"): its typed shapes, built
// here from what the fleet's Redis said (a FleetView for status, a FleetOutcome for a check). Pure.
import type { Level, Limits, WindowStatus } from '../../core/levels.js';
import { dollarsOf, usd } from '../../core/money.js';
import { round6 } from '../../check/figures.js';
import type { FleetEmergency, FleetOutcome, FleetView } from '../../fleet/types.js';

export interface FleetWindowJson {
  spend_usd: number;
  level: Level;
  limits: Limits;
}

/** The fleet emergency: `active` and, while it is, its record (spend and limit when it was made). */
export interface FleetEmergencyJson {
  active: boolean;
  level?: 'emergency' | 'kill';
  window?: string;
  spend_usd?: number;
  limit_usd?: number;
  /** When it was made (ISO). */
  since?: string;
  /** The host that made it. */
  by?: string;
  /** Redis could not be asked: the emergency this host remembers, and honours meanwhile. */
  remembered?: true;
}

export interface FleetHostJson {
  host: string;
  last_push_age_seconds: number;
  /** This host's part of each fleet window, by window name. */
  spend_usd: Record<string, number>;
  /** It has not pushed for fleet.silent_after (its watchdog may be down). */
  silent: boolean;
  /** Its last push was refused (other settings than the fleet's): its spend is not counted. */
  refused: boolean;
}

/** `status --json` `fleet`: absent without a fleet. Not reachable: no windows, no hosts, `error`. */
export interface StatusFleetJson {
  name: string;
  /** This host's name in the fleet. */
  host: string;
  /** Where Redis is, without the password. */
  redis: string;
  reachable: boolean;
  error?: string;
  /** Redis answers, but refused this host's last push (other settings, another watchdog as it). */
  refused?: { since: string; reason: string };
  windows: Record<string, FleetWindowJson>;
  emergency: FleetEmergencyJson;
  hosts: FleetHostJson[];
}

/** `run --json` `fleet`: what this check's exchange with Redis said; `hosts` is a count. */
export interface RunFleetJson {
  name: string;
  host: string;
  redis: string;
  reachable: boolean;
  error?: string;
  windows: Record<string, FleetWindowJson>;
  emergency: FleetEmergencyJson;
  hosts: number;
}

function windowsJson(windows: readonly WindowStatus[]): Record<string, FleetWindowJson> {
  return Object.fromEntries(
    windows.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level, limits: { ...w.limits } }]),
  );
}

export function fleetEmergencyJson(e: FleetEmergency | null, remembered = false): FleetEmergencyJson {
  if (e === null) return { active: false };
  return {
    active: true,
    level: e.level,
    window: e.window,
    spend_usd: dollarsOf(e.spend),
    limit_usd: dollarsOf(e.limit),
    since: new Date(e.since_ms).toISOString(),
    by: e.by,
    ...(remembered ? { remembered: true as const } : {}),
  };
}

/**
 * `remembered`: the fleet emergency this host holds its flag for (fleet.json), shown while Redis
 * cannot be asked; `refused`: the refusal of this host's last push, if it was (fleet.json).
 */
export function statusFleetJson(
  view: FleetView,
  remembered: FleetEmergency | null,
  refused: { since_ms: number; why: string } | null = null,
): StatusFleetJson {
  const base = { name: view.name, host: view.host, redis: view.shown };
  if (!view.reachable)
    return {
      ...base,
      reachable: false,
      error: view.problem?.text ?? 'the fleet could not be seen',
      windows: {},
      emergency: fleetEmergencyJson(remembered, true),
      hosts: [],
    };
  return {
    ...base,
    reachable: true,
    ...(refused === null
      ? {}
      : { refused: { since: new Date(refused.since_ms).toISOString(), reason: refused.why } }),
    windows: windowsJson(view.windows),
    emergency: fleetEmergencyJson(view.emergency),
    hosts: view.hosts.map((h) => ({
      host: h.host,
      last_push_age_seconds: h.lastPushAgeSeconds,
      spend_usd: Object.fromEntries(Object.entries(h.spend).map(([w, v]) => [w, round6(v)])),
      silent: h.silent,
      refused: h.refused,
    })),
  };
}

export function runFleetJson(outcome: FleetOutcome): RunFleetJson {
  return {
    name: outcome.name,
    host: outcome.host,
    redis: outcome.shown,
    reachable: outcome.reachable,
    ...(outcome.problem !== null ? { error: outcome.problem.text } : {}),
    windows: outcome.reachable ? windowsJson(outcome.windows) : {},
    // Not reachable: the emergency it honours is the one it remembers.
    emergency: fleetEmergencyJson(outcome.emergency, !outcome.reachable),
    hosts: outcome.hosts,
  };
}

function clockOf(iso: string | undefined): string {
  return iso === undefined ? '?' : `${iso.slice(11, 19)} UTC`;
}

/** The fleet emergency in words: `15m $45.00 >= emergency $40.00, since 04:40:00 UTC by host web-1`. */
export function fleetEmergencyText(e: FleetEmergencyJson): string {
  return (
    `${e.window ?? '?'} ${usd(e.spend_usd ?? 0)} >= ${e.level ?? 'emergency'} ${usd(e.limit_usd ?? 0)}, ` +
    `since ${clockOf(e.since)} by host ${e.by ?? '?'}`
  );
}

/**
 * The fleet as signals for the `status` verdict and its plugin line: the fleet emergency at its
 * level (CRITICAL: every host holds its flag for it); a fleet window above ok without one, at
 * warn (WARNING: the fleet warns, or a forced clear acknowledged its emergency).
 */
export function fleetSignals(fleet: StatusFleetJson): WindowStatus[] {
  const out: WindowStatus[] = [];
  const e = fleet.emergency;
  if (e.active && e.level !== undefined)
    out.push({
      name: 'fleet',
      seconds: null,
      limits: {},
      spend: e.spend_usd ?? 0,
      level: e.level,
      detail:
        `fleet ${fleet.name} emergency: ${fleetEmergencyText(e)}` +
        (e.remembered ? ' (remembered: Redis cannot be asked)' : ''),
    });
  for (const [name, w] of Object.entries(fleet.windows))
    if (w.level !== 'ok')
      out.push({ name: `fleet ${name}`, seconds: null, limits: w.limits, spend: w.spend_usd, level: 'warn' });
  return out;
}

/** Why the fleet cannot be seen, or refuses this host, as a warning of `status`; null when neither. */
export function fleetLostText(fleet: StatusFleetJson): string | null {
  if (!fleet.reachable) return `fleet ${fleet.name}: fleet view lost: ${fleet.error ?? 'unknown'}`;
  if (fleet.refused !== undefined)
    return (
      `fleet ${fleet.name}: this host's pushes are refused since ${clockOf(fleet.refused.since)}: ` +
      fleet.refused.reason
    );
  return null;
}
