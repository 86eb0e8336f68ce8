// Scoped budgets, deciding: each scope instance is decided on by the same decide() as the main
// windows, on its own slice of the alert state (alerts.json `scopes`), so that its alerts, flag and
// kill are de-duplicated per scope and per value. Pure.
import { type AlertState, emptyAlertState, type ScopeMemory } from '../core/decide.js';
import { levelRank } from '../core/levels.js';
import type { ScopeStatus } from './counter.js';

/** A remembered instance is forgotten once back at ok and not seen above ok for this long. */
export const FORGET_AFTER_MS = 86_400_000;

/** The alerts.json key of an instance: `research`, or `every-agent/agent=research`. */
export function memoryKey(name: string, key: Readonly<Record<string, string>>): string {
  const [field, value] = Object.entries(key)[0] ?? [];
  return field === undefined ? name : `${name}/${field}=${value}`;
}

/** The name and key back from memoryKey (a name never holds `/`, a field never `=`). */
export function parseMemoryKey(text: string): { name: string; key: Record<string, string> } {
  const slash = text.indexOf('/');
  if (slash < 0) return { name: text, key: {} };
  const rest = text.slice(slash + 1);
  const eq = rest.indexOf('=');
  return { name: text.slice(0, slash), key: eq < 0 ? {} : { [rest.slice(0, eq)]: rest.slice(eq + 1) } };
}

/** A whole alert state from an instance's slice (nothing pending, no findings: those are the main's). */
export function stateOf(memory: ScopeMemory | undefined): AlertState {
  const state = emptyAlertState();
  if (memory === undefined) return state;
  return {
    ...state,
    windows: { ...memory.windows },
    acknowledged: { ...memory.acknowledged },
    kill_switch: memory.kill_switch,
    flag_seen: memory.flag_seen,
    last_reminder_ms: memory.last_reminder_ms,
    incidents: { ...memory.incidents },
  };
}

export function memoryOf(state: AlertState, lastSeenMs: number): ScopeMemory {
  return {
    windows: state.windows,
    acknowledged: state.acknowledged,
    kill_switch: state.kill_switch,
    flag_seen: state.flag_seen,
    last_reminder_ms: state.last_reminder_ms,
    incidents: state.incidents,
    last_seen_ms: lastSeenMs,
  };
}

/** Nothing left to remember: no window above ok, no flag, no kill switch, no trouble. */
export function idle(memory: ScopeMemory): boolean {
  return (
    Object.values(memory.windows).every((w) => w.level === 'ok') &&
    Object.keys(memory.acknowledged).length === 0 &&
    memory.kill_switch === null &&
    !memory.flag_seen &&
    Object.keys(memory.incidents).length === 0
  );
}

export function aboveOk(status: ScopeStatus): boolean {
  return status.windows.some((w) => levelRank(w.level) > 0);
}

/**
 * The instances to decide on in a check: those above ok now, and those remembered (their
 * recovery, their flag, their kill switch). An instance at ok and not remembered has nothing to
 * say: skipped, so that ten thousand quiet values cost nothing but their count.
 */
export function toDecide(
  statuses: readonly ScopeStatus[],
  memories: Readonly<Record<string, ScopeMemory>>,
  lookup: (name: string, key: Record<string, string>) => ScopeStatus | null,
): ScopeStatus[] {
  const out: ScopeStatus[] = [];
  const taken = new Set<string>();
  for (const status of statuses) {
    const k = memoryKey(status.name, status.key);
    if (aboveOk(status) || Object.hasOwn(memories, k)) {
      out.push(status);
      taken.add(k);
    }
  }
  for (const k of Object.keys(memories)) {
    if (taken.has(k)) continue;
    const { name, key } = parseMemoryKey(k);
    const status = lookup(name, key);
    if (status !== null) out.push(status);
  }
  return out;
}

/**
 * The memories to keep: of the scopes still configured; an idle one only while seen within
 * FORGET_AFTER_MS (bounded: a value that went quiet is let go).
 */
export function keepMemories(
  memories: Readonly<Record<string, ScopeMemory>>,
  names: ReadonlySet<string>,
  nowMs: number,
): Record<string, ScopeMemory> {
  const out: Record<string, ScopeMemory> = {};
  for (const [k, memory] of Object.entries(memories)) {
    if (!names.has(parseMemoryKey(k).name)) continue;
    if (idle(memory) && nowMs - memory.last_seen_ms > FORGET_AFTER_MS) continue;
    out[k] = memory;
  }
  return out;
}

/** How an instance is named in alerts: `scope every-agent agent="research"` (the value quoted, cut at 80). */
export function scopeLabel(name: string, key: Readonly<Record<string, string>>): string {
  const parts = Object.entries(key).map(
    ([field, value]) => `${field}=${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`,
  );
  return `scope ${name}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}`;
}
