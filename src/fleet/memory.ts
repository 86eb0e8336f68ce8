// What a host remembers of its fleet between checks, in fleet.json in the state folder: its
// instance id (which watchdog pushes as this host: made from the machine and the state folder, so
// the same again if fleet.json is lost), its session with Redis (null: resync on the
// next push), a loss of the fleet view in progress, the fleet emergency it holds its flag for,
// and the last refusal said. Written under the state folder's lock.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { fleetFile } from '../effects/state-paths.js';
import { readJson, writeFileAtomic } from '../effects/store.js';

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

/**
 * Which watchdog this is: this machine (hostname, machine id) and its state folder, so that
 * another state folder (or machine) pushing as the same fleet.host is told apart, and a lost
 * fleet.json is not (it was random once: a deleted fleet.json made the same watchdog "another
 * watchdog" and refused it until fleet.silent_after had passed).
 */
export function instanceOf(stateDir: string): string {
  let machine = '';
  try {
    machine = readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    // no machine id (some containers): the hostname and the folder say it
  }
  let folder = stateDir;
  try {
    folder = realpathSync(stateDir);
  } catch {
    // not made yet: its path as configured
  }
  return createHash('sha256').update(`${hostname()}\0${machine}\0${folder}`).digest('hex').slice(0, 16);
}

function fresh(name: string, instance: string): FleetMemory {
  return { version: 1, name, instance, session: null, lost: null, emergency: null };
}

export function loadFleetMemory(stateDir: string, name: string): FleetMemory {
  const instance = instanceOf(stateDir);
  const read = readJson(fleetFile(stateDir));
  if (read.kind !== 'ok') return fresh(name, instance);
  const v = read.value as Partial<FleetMemory> | null;
  if (v === null || typeof v !== 'object' || v.version !== 1) return fresh(name, instance);
  if (v.name !== name) return fresh(name, instance);
  return {
    version: 1,
    name,
    instance,
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
/**
 * Written at every push (the session moves on with each), without fsync: a write lost in a crash
 * leaves an older session behind, and the next push is then told to resync (a full push, which
 * counts nothing twice). Unchanged content is not written again.
 */
export function saveFleetMemory(stateDir: string, memory: FleetMemory): void {
  const file = fleetFile(stateDir);
  const read = readJson(file);
  if (read.kind === 'ok' && JSON.stringify(read.value) === JSON.stringify(memory)) return;
  writeFileAtomic(file, `${JSON.stringify(memory)}\n`, 0o644, false);
}
