// `app_state`: how the app's own state file is read (its figure per window, its emergency mode)
// and how far its figures may be from ours before that is said.
import * as z from 'zod';
import { parseDuration } from '../../core/duration.js';
import type { WindowSpec } from '../../core/levels.js';
import { positiveDuration, usd } from '../primitives.js';

const stateKey = z.string({ error: 'expected the name of a key in the state file' }).min(1);

export const appStateSchema = z
  .strictObject({
    windows: z
      .record(z.string(), stateKey, {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'expected a mapping of windows to state-file keys, like `15m: cost_15min`'
            : undefined,
      })
      .optional(),
    updated_at: stateKey.default('updated_at'),
    emergency: stateKey.optional(),
    tolerance_usd: usd.default(0.5),
    tolerance_percent: z
      .number({ error: 'expected a percentage' })
      .min(0, { error: 'expected a percentage >= 0' })
      .max(1000, { error: 'expected a percentage <= 1000' })
      .default(10),
    stale_after: positiveDuration.default('5m'),
  })
  .default({ updated_at: 'updated_at', tolerance_usd: 0.5, tolerance_percent: 10, stale_after: '5m' });

export type RawAppState = z.output<typeof appStateSchema>;

/** How the app's state file is read and compared (used when stateFile is set). */
export interface AppStateConfig {
  /** Window name -> the state file's key for the app's own figure. */
  windows: Record<string, string>;
  updatedAt: string;
  /** The keys tried for the app's emergency mode, in order. */
  emergency: string[];
  toleranceUsd: number;
  tolerancePercent: number;
  staleAfterMs: number;
}

/** Cost Control tracker's key per rolling window length (seconds), used unless the config says. */
const TRACKER_KEYS: Record<number, string> = { 300: 'cost_5min', 900: 'cost_15min', 3600: 'cost_1hour' };

/** A figure named for a window that is not configured is a problem. */
export function resolveAppState(
  raw: RawAppState,
  windows: readonly WindowSpec[],
): { appState: AppStateConfig; problems: string[] } {
  const problems: string[] = [];
  const appWindows: Record<string, string> = {};
  if (raw.windows !== undefined) {
    for (const [name, key] of Object.entries(raw.windows)) {
      if (!windows.some((w) => w.name === name))
        problems.push(
          `app_state.windows.${name}: not a configured window (expected one of: ` +
            `${windows.map((w) => w.name).join(', ')})`,
        );
      else appWindows[name] = key;
    }
  } else {
    for (const window of windows) {
      const key = window.seconds === null ? 'cost_daily' : TRACKER_KEYS[window.seconds];
      if (key !== undefined) appWindows[window.name] = key;
    }
  }
  const appState: AppStateConfig = {
    windows: appWindows,
    updatedAt: raw.updated_at,
    emergency: raw.emergency === undefined ? ['emergency_mode', 'emergency'] : [raw.emergency],
    toleranceUsd: raw.tolerance_usd,
    tolerancePercent: raw.tolerance_percent,
    staleAfterMs: parseDuration(raw.stale_after) as number,
  };
  return { appState, problems };
}
