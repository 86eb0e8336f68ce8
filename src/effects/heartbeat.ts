// heartbeat.json: proof that the watchdog completed a check, read by `status` and (later)
// `check-heartbeat`. Written atomically so a reader never sees half of it.
import { parseHeartbeat } from '../core/saved/heartbeat.js';
import { badField } from '../core/saved/parse.js';
import { FailureError } from '../errors.js';
import { heartbeatFile } from './state-paths.js';
import { readJson, writeJsonAtomic } from './store.js';

export interface Heartbeat {
  time: string;
  pid: number;
  version: string;
  mode: string;
  result: {
    ok: boolean;
    levels: Record<string, string>;
    level?: string;
    actions?: Record<string, unknown>;
    error?: string;
  };
  duration_ms: number;
}

export function writeHeartbeat(stateDir: string, heartbeat: Heartbeat): void {
  try {
    writeJsonAtomic(heartbeatFile(stateDir), heartbeat);
  } catch (error) {
    throw new FailureError(
      `cannot write the heartbeat ${heartbeatFile(stateDir)}: ${(error as Error).message}`,
    );
  }
}

export type HeartbeatRead =
  | { kind: 'ok'; heartbeat: Heartbeat; timeMs: number }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string };

export function readHeartbeat(stateDir: string): HeartbeatRead {
  const read = readJson(heartbeatFile(stateDir));
  if (read.kind !== 'ok') return read;
  const parsed = parseHeartbeat(read.value);
  if (!parsed.ok) return { kind: 'corrupt', reason: badField(parsed) };
  return {
    kind: 'ok',
    heartbeat: parsed.value as unknown as Heartbeat,
    timeMs: Date.parse(parsed.value.time),
  };
}
