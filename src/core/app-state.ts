// The app's state file against the watchdog's figures: what it says, read leniently (apps write
// times and money in several ways), and the watchdog's figure for each window at the app's own
// `updated_at`, so that an app that updates its state now and then is compared fairly. Pure.
import type { AppStateView, AppWindowFigure } from './findings/app-state.js';
import { epochToMs, parseTimeString } from './timestamp.js';

/** A time as the app may write it: epoch seconds or milliseconds, or an ISO 8601 string. */
export function timeOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const ms = epochToMs(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (typeof value === 'string') {
    const ms = parseTimeString(value);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/** A USD figure: a finite number >= 0 (a numeric string is accepted: some apps write Decimals so). */
export function figureOf(value: unknown): number | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The app's emergency mode: true / false, 1 / 0, or "true" / "false". */
export function flagOf(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (value === 'true' || value === 'false') return value === 'true';
  return null;
}

export interface AppStateSettings {
  windows: Record<string, string>;
  updatedAt: string;
  emergency: string[];
}

export type AppStateContent =
  | { status: 'ok'; value: Record<string, unknown> }
  | { status: 'missing' }
  | { status: 'unreadable'; error: string };

function own(value: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

/**
 * The view of the app's state: its figures, and the watchdog's for the same windows at the app's
 * `updated_at` (now when it has none, or one in the future). `watchdogAt(window, atMs)` gives the
 * watchdog's figure, or null when it cannot be known for that time.
 */
export function appView(
  file: string,
  content: AppStateContent,
  settings: AppStateSettings,
  watchdogAt: (window: string, atMs: number) => number | null,
  nowMs: number,
): AppStateView {
  const base = {
    file,
    updatedAtKey: settings.updatedAt,
    updatedAtMs: null,
    windows: [] as AppWindowFigure[],
    emergency: null,
    emergencyKey: null,
  };
  if (content.status === 'missing') return { ...base, status: 'missing', error: null };
  if (content.status === 'unreadable') return { ...base, status: 'unreadable', error: content.error };
  const value = content.value;
  const updatedAtMs = timeOf(own(value, settings.updatedAt));
  const atMs = updatedAtMs === null || updatedAtMs > nowMs ? nowMs : updatedAtMs;
  const windows: AppWindowFigure[] = Object.entries(settings.windows).map(([window, key]) => ({
    window,
    key,
    app: figureOf(own(value, key)),
    watchdog: watchdogAt(window, atMs),
  }));
  let emergency: boolean | null = null;
  let emergencyKey: string | null = null;
  for (const key of settings.emergency) {
    const flag = flagOf(own(value, key));
    if (flag !== null) {
      emergency = flag;
      emergencyKey = key;
      break;
    }
  }
  return { ...base, status: 'ok', error: null, updatedAtMs, windows, emergency, emergencyKey };
}
