// What a host remembers of its fleet between checks, in fleet.json in the state folder: its
// instance id (which watchdog pushes as this host), its session with Redis (null: resync on the
// next push), a loss of the fleet view in progress, the fleet emergency it holds its flag for,
// and the last refusal said. Written under the state folder's lock.
import { randomBytes } from 'node:crypto';
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
  instance: string;
  session: string | null;
  /** The fleet cannot be seen since then, and why (said once; its end is said once too). */
  lost: { since_ms: number; kind: 'lost' | 'refused'; why: string } | null;
  /** The fleet emergency this host's flag is held for (cleared only by its own clear). */
  emergency: FleetEmergency | null;
}

export function newId(): string {
  return randomBytes(8).toString('hex');
}

function fresh(name: string): FleetMemory {
  return { version: 1, name, instance: newId(), session: null, lost: null, emergency: null };
}

export function loadFleetMemory(stateDir: string, name: string): FleetMemory {
  const read = readJson(fleetFile(stateDir));
  if (read.kind !== 'ok') return fresh(name);
  const v = read.value as Partial<FleetMemory> | null;
  if (v === null || typeof v !== 'object' || v.version !== 1 || typeof v.instance !== 'string')
    return fresh(name);
  // A memory of another fleet keeps only the instance (the same watchdog on the same host).
  if (v.name !== name) return { ...fresh(name), instance: v.instance };
  return {
    version: 1,
    name,
    instance: v.instance,
    session: typeof v.session === 'string' ? v.session : null,
    lost:
      v.lost !== null && typeof v.lost === 'object' && typeof v.lost?.since_ms === 'number' ? v.lost : null,
    emergency:
      v.emergency !== null && typeof v.emergency === 'object' && typeof v.emergency?.id === 'string'
        ? v.emergency
        : null,
  };
}

/**
 * Write fleet.json, only when it would change: most checks change nothing in it (the same
 * session), and a durable write (two fsyncs) took ~10 ms of each check on a busy VM.
 */
export function saveFleetMemory(stateDir: string, memory: FleetMemory): void {
  const file = fleetFile(stateDir);
  const read = readJson(file);
  if (read.kind === 'ok' && JSON.stringify(read.value) === JSON.stringify(memory)) return;
  writeJsonAtomic(file, memory);
}
