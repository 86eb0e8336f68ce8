// What the server hands out after a check: the JSON of `status --json` (for /status.json, as that
// command prints it) and the dashboard's snapshot (for /events), built by the same code as the
// command (commands/status-report.ts). A status that cannot be made is the JSON `status --json`
// prints then: {status: "UNKNOWN", error}.
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { HISTORY_MINUTES } from '../core/ledger.js';
import { dollarsOf } from '../core/money.js';
import { CliError } from '../errors.js';
import type { StatusErrorJson, StatusJson } from '../commands/render/status-json.js';
import { statusReport } from '../commands/status-report.js';
import type { DashboardSnapshot } from '../web/snapshot.js';

export interface CheckSeen {
  atMs: number;
  ok: boolean;
  error: string | null;
}

export interface Built {
  /** The body of /status.json. */
  statusText: string;
  /** The snapshot as one line of JSON (an event's data). */
  snapshotText: string;
  /** Why the status could not be made (a bug's trace included), or null. */
  problem: string | null;
}

export async function buildSnapshot(config: Config, check: CheckSeen | null, nowMs: number): Promise<Built> {
  let status: StatusJson | StatusErrorJson;
  let minutes: [number, number][] = [];
  let problem: string | null = null;
  try {
    const report = await statusReport(config, nowMs);
    status = report.json;
    minutes = report.result.ledger
      .perMinute(nowMs - HISTORY_MINUTES * 60_000, nowMs)
      .map(([start, micros]) => [start, dollarsOf(micros)]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    status = { status: 'UNKNOWN', error: message };
    problem =
      error instanceof CliError
        ? message
        : `internal error (a bug; please report it with this trace): ` +
          `${error instanceof Error ? error.stack : message}`;
  }
  const snapshot: DashboardSnapshot = {
    generated_at: new Date(nowMs).toISOString(),
    check:
      check === null ? null : { at: new Date(check.atMs).toISOString(), ok: check.ok, error: check.error },
    status,
    minutes,
    day_start_ms: new DayCalendar(config.timezone).dayOf(nowMs).startMs,
    display: { code: config.cost.display.code, rate: config.cost.display.rate },
    host: hostname(),
  };
  return {
    statusText: `${JSON.stringify(status, null, 2)}\n`,
    snapshotText: JSON.stringify(snapshot),
    problem,
  };
}
