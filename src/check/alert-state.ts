// The alert state (alerts.json in the state folder): what was alerted and acknowledged, the kill
// switch, and the alerts still waiting to be sent. Read at the start of acting, saved at the end.
import type { Config } from '../config.js';
import { type AlertState, emptyAlertState, loadAlertState } from '../core/decide.js';
import type { Auditor } from '../effects/audit.js';
import { alertsFile } from '../effects/state-paths.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';
import type { Delivery } from './deliver.js';

export function alertsPath(config: Config): string {
  return alertsFile(config.stateDir);
}

export function loadAlerts(config: Config): { state: AlertState; note: string | null } {
  const read = readJson(alertsPath(config));
  if (read.kind === 'missing') return { state: emptyAlertState(), note: null };
  const state = read.kind === 'ok' ? loadAlertState(read.value) : null;
  if (state === null) {
    return {
      state: emptyAlertState(),
      note: `alert state ${alertsPath(config)} unreadable (${read.kind === 'corrupt' ? read.reason : 'unknown format'}): started afresh, alerts may repeat once`,
    };
  }
  return { state, note: null };
}

export function saveAlerts(config: Config, state: AlertState): void {
  writeJsonAtomic(alertsPath(config), state);
}

/**
 * Keep the alert state for the next check (with what is still unsent). Returns why the command
 * must fail: the state could not be saved, or the audit log could not be appended.
 */
export function rememberAlerts(
  config: Config,
  state: AlertState,
  delivery: Delivery,
  audit: Auditor | null,
): string[] {
  const failures: string[] = [];
  state.pending = delivery.pending;
  try {
    saveAlerts(config, state);
  } catch (error) {
    failures.push(`cannot save the alert state ${alertsPath(config)}: ${(error as Error).message}`);
  }
  if (audit?.failed != null) failures.push(audit.failed);
  return failures;
}
