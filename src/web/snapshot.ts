// What the dashboard is sent (GET /events, one event after each check of `watch`): the JSON of
// `status --json` as of that check, the spend per minute over the last hours for the chart, and
// the check itself. Types only: shared by the server (src/http/) and the page (src/web/browser/).
import type { StatusErrorJson, StatusJson } from '../commands/render/status-json.js';

export interface DashboardSnapshot {
  /** When this snapshot was built (ISO): the page ages the heartbeat and the check from it. */
  generated_at: string;
  /** The check it follows; null before the first one has finished. */
  check: { at: string; ok: boolean; error: string | null } | null;
  /** What `status --json` says (its error shape when the check could not be made). */
  status: StatusJson | StatusErrorJson;
  /** Spend per minute over the last 6 hours: [minute start, epoch ms; USD], oldest first. */
  minutes: [number, number][];
  /** When the calendar day of the `daily` window began (epoch ms), for its line in the chart. */
  day_start_ms: number;
  /**
   * The currency the page shows figures in (cost.display_currency) and its rate, USD per unit:
   * every figure sent is in USD, the page converts where it writes one.
   */
  display: { code: string; rate: number };
  /** The process serving the page, for its title. */
  host: string;
}
