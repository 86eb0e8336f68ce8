// The shapes the fleet passes to the check and to `status`. Types only.
import type { Finding } from '../core/findings/index.js';
import type { WindowStatus } from '../core/levels.js';
import type { AlertEvent } from '../core/types.js';
import type { FleetEmergency } from './memory.js';

export type { FleetEmergency } from './memory.js';

/** Why the fleet cannot be seen: `lost` (unreachable, too slow) or `refused` (a fault to fix). */
export interface FleetProblem {
  kind: 'lost' | 'refused';
  text: string;
}

/** What the fleet's Redis said in one check (exchange.ts). */
export interface FleetOutcome {
  name: string;
  host: string;
  /** Where Redis is, without the password (redis://host:6379). */
  shown: string;
  reachable: boolean;
  problem: FleetProblem | null;
  /** The fleet's windows as Redis summed them (names as in fleet.limits: `15m`, `daily`). */
  windows: WindowStatus[];
  /** The fleet emergency this host honours: from Redis, or remembered while Redis lost it. */
  emergency: FleetEmergency | null;
  /** on_lost: emergency, and the fleet cannot be seen: the local flag is written meanwhile. */
  blind: boolean;
  /** Changes of the fleet's levels that this host announces (exactly one host does). */
  events: AlertEvent[];
  /** The fleet view lost, back, refused; hosts gone silent; an emergency restored: said now. */
  notices: Finding[];
  /** The fleet emergency this host held its flag for was cleared (clear-emergency --fleet). */
  cleared: { by: string; host: string; reason: string; forced: boolean; atMs: number } | null;
  /** Hosts that pushed within the last two days, this one included. */
  hosts: number;
  /** This check pushed every second of its horizon (a new session: Redis did not know it). */
  resynced: boolean;
  /** How long the exchange with Redis took. */
  ms: number;
}

/** The fleet as `status` shows it (a read, no push). */
export interface FleetView {
  name: string;
  host: string;
  shown: string;
  reachable: boolean;
  problem: FleetProblem | null;
  windows: WindowStatus[];
  emergency: (FleetEmergency & { active: true }) | null;
  cleared: { id: string; by: string; host: string; reason: string; atMs: number } | null;
  hosts: FleetHost[];
}

export interface FleetHost {
  host: string;
  lastPushAgeSeconds: number;
  mode: string;
  version: string;
  /** Marked silent by the fleet, or not pushed for fleet.silent_after (as this host counts it). */
  silent: boolean;
  /** The timezone and fleet limits it last pushed with, in words (exchange.ts settingsText). */
  settings: string;
  /** Its last push was refused (other settings than the fleet's): its spend is not counted. */
  refused: boolean;
  /** This host's part of each fleet window (USD), by window name. */
  spend: Record<string, number>;
}
