// The audit log: one JSON object per line, appended, never rewritten. Every decision and action
// goes here, so that after an incident the operator can see what the watchdog saw and did.
import { appendFileSync } from 'node:fs';
import path from 'node:path';

export function auditPath(stateDir: string): string {
  return path.join(stateDir, 'audit.jsonl');
}

/** Append one event. Throws the system error; the caller decides whether that fails the check. */
export function appendAudit(stateDir: string, event: string, fields: Record<string, unknown>, nowMs: number): void {
  const line = JSON.stringify({ ts: new Date(nowMs).toISOString(), event, pid: process.pid, ...fields });
  appendFileSync(auditPath(stateDir), `${line}\n`, { mode: 0o644 });
}
