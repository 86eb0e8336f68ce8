// What `status --json` says, built once for both that command and `watch`'s /status.json and
// dashboard (src/http/): read what the log gained since the last check (saving nothing), look for
// the target and at the fleet, and make the JSON and the monitoring-plugin exit code.
import type { Config } from '../config/index.js';
import { highestLevel } from '../core/levels.js';
import { inspect } from '../check/inspect.js';
import { loadAlerts } from '../check/alert-state.js';
import { observe } from '../check/observe.js';
import type { CheckResult } from '../check/types.js';
import { type FlagRead, readFlag } from '../effects/flag.js';
import { readHeartbeat } from '../effects/heartbeat.js';
import { findTarget } from '../effects/target.js';
import { loadFleetMemory } from '../fleet/memory.js';
import { scopeFlagFile } from '../scopes/act.js';
import { type StatusFleetJson, statusFleetJson } from './render/fleet-json.js';
import { type StatusJson, statusJson } from './render/status-json.js';

export interface StatusReport {
  json: StatusJson;
  /** The exit code of `status` (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
  code: number;
  result: CheckResult;
  fleet: StatusFleetJson | null;
  flag: FlagRead;
}

/** The fleet as its Redis says it now, without pushing; null without a fleet (nothing loaded). */
async function fleetOf(config: Config, nowMs: number): Promise<StatusFleetJson | null> {
  if (config.fleet === null) return null;
  const { viewFleet } = await import('../fleet/exchange.js');
  const view = await viewFleet(config, nowMs);
  // Redis cannot be asked: the fleet emergency this host holds its flag for is still honoured.
  // Redis answers but refused this host's last push (its settings, another watchdog as this host):
  // the fleet does not count this host's spend until that is fixed.
  const memory = loadFleetMemory(config.stateDir, config.fleet.name);
  const refused = memory.lost?.kind === 'refused' ? memory.lost : null;
  return statusFleetJson(view, view.reachable ? null : memory.emergency, view.reachable ? refused : null);
}

/** Throws what loading or reading throws (a CliError for what is expected). */
export async function statusReport(config: Config, nowMs: number): Promise<StatusReport> {
  const result = inspect(config, nowMs, false);
  // Asked beside the target's search: it costs status at most fleet.timeout.
  const fleetView = fleetOf(config, nowMs);
  const target = await findTarget(config);
  const fleet = await fleetView;
  const seen = await observe(config, result, highestLevel(result.signals.map((w) => w.level)), target);
  const flag = readFlag(config.flagFile);
  const { json, code } = statusJson({
    config,
    result,
    target,
    seen,
    nowMs,
    flag,
    alerts: loadAlerts(config).state,
    heartbeat: readHeartbeat(config.stateDir),
    scopeFlag: (name, value) => {
      const scope = config.scopes.find((x) => x.name === name);
      if (scope === undefined || scope.flagFile === null) return null;
      const file = scopeFlagFile(config, scope, value);
      return file === null ? null : { file, active: readFlag(file).kind === 'present' };
    },
    fleet,
  });
  return { json, code, result, fleet, flag };
}
