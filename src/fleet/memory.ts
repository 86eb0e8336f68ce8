// What a host remembers of its fleet between checks, in fleet.json in the state folder: its
// instance id (which watchdog pushes as this host), its session with Redis (null: resync on the
// next push), a loss of the fleet view in progress, the fleet emergency it holds its flag for,
// and the last refusal said. Written under the state folder's lock.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { fleetFile } from '../effects/state-paths.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';

export interface FleetEmergency {
  id: string;
  level: 'emergency' | 'kill';
  window: string;
  /** µ$ in that window, and its limit, when it was made (or raised to kill). */
  spend: number;
  limit: number;
  since_ms: number;
  by: string;
}

export interface FleetMemory {
  version: 1;
  /** The fleet this memory is of: another name starts afresh. */
  name: string;
  /** Which watchdog this is (instanceOf): the machine and the state folder. */
  instance: string;
  /** The session Redis acknowledged at the last push (a new one each push); null: resync. */
  session: string | null;
  /** The fleet cannot be seen since then, and why (said once; its end is said once too). */
  lost: { since_ms: number; kind: 'lost' | 'refused'; why: string } | null;
  /** The fleet emergency this host's flag is held for (cleared only by its own clear). */
  emergency: FleetEmergency | null;
}

export function newId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Which watchdog pushes as this host: the machine and the state folder, so that two watchdogs
 * claiming one fleet.host are told apart, and a fleet.json lost is not a new watchdog.
 */
export function instanceOf(stateDir: string): string {
  return createHash('sha256')
    .update(`${hostname()}\0${path.resolve(stateDir)}`)
    .digest('hex')
    .slice(0, 16);
}

function fresh(name: string, stateDir: string): FleetMemory {
  return { version: 1, name, instance: instanceOf(stateDir), session: null, lost: null, emergency: null };
}

export function loadFleetMemory(stateDir: string, name: string): FleetMemory {
  const read = readJson(fleetFile(stateDir));
  if (read.kind !== 'ok') return fresh(name, stateDir);
  const v = read.value as Partial<FleetMemory> | null;
  if (v === null || typeof v !== 'object' || v.version !== 1) return fresh(name, stateDir);
  if (v.name !== name) return fresh(name, stateDir);
  return {
    version: 1,
    name,
    instance: instanceOf(stateDir),
    session: typeof v.session === 'string' ? v.session : null,
    lost:
      v.lost !== null && typeof v.lost === 'object' && typeof v.lost?.since_ms === 'number' ? v.lost : null,
    emergency:
      v.emergency !== null && typeof v.emergency === 'object' && typeof v.emergency?.id === 'string'
        ? v.emergency
        : null,
  };
}

export function saveFleetMemory(stateDir: string, memory: FleetMemory): void {
  writeJsonAtomic(fleetFile(stateDir), memory);
}
