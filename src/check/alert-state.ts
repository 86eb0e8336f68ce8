// The alert state (alerts.json in the state folder): what was alerted and acknowledged, the kill
// switch, and the alerts still waiting to be sent. Read at the start of acting, saved at the end.
import type { Config } from '../config/index.js';
import { type AlertState, emptyAlertState } from '../core/decide.js';
import { parseAlertState } from '../core/saved/alerts.js';
import { badField } from '../core/saved/parse.js';
import type { Auditor } from '../effects/audit.js';
import { alertsFile } from '../effects/state-paths.js';
import { readJson, writeJsonAtomic } from '../effects/store.js';
import type { Delivery } from './deliver.js';

export function alertsPath(config: Config): string {
  return alertsFile(config.stateDir);
}

export function loadAlerts(config: Config): { state: AlertState; note: string | null } {
  const afresh = (why: string) => ({
    state: emptyAlertState(),
    note: `alert state ${alertsPath(config)} unreadable (${why}): started afresh, alerts may repeat once`,
  });
  const read = readJson(alertsPath(config));
  if (read.kind === 'missing') return { state: emptyAlertState(), note: null };
  if (read.kind === 'corrupt') return afresh(read.reason);
  const parsed = parseAlertState(read.value);
  return parsed.ok ? { state: parsed.value, note: null } : afresh(badField(parsed));
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
