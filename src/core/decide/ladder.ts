// The alert ladder: each window's climb (enter, escalate) and fall back to ok (recovery), and the
// level that decides the flag and the kill once acknowledged levels are set aside. Pure.
import { type Level, levelRank, type WindowStatus } from '../levels.js';
import type { AlertEvent } from '../types.js';
import type { AlertState, DecideInput } from './state.js';

/** A window's level for flag and kill: what was acknowledged by a forced clear counts as warn at most. */
export function effectiveLevel(level: Level, acknowledged: Level | undefined): Level {
  if (acknowledged === undefined || levelRank(level) > levelRank(acknowledged)) return level;
  return levelRank(level) > levelRank('warn') ? 'warn' : level;
}

export function limitFor(window: WindowStatus, level: Level): number | null {
  if (level === 'ok') return null;
  return window.limits[level] ?? null;
}

/** The windows' transitions since the last check, remembered in `next`; the deciding level and window. */
export function climb(
  input: DecideInput,
  next: AlertState,
): { level: Level; trigger: WindowStatus | null; events: AlertEvent[] } {
  const { nowMs, windows, state } = input;
  const events: AlertEvent[] = [];
  let level: Level = 'ok';
  let trigger: WindowStatus | null = null;
  // A window no longer in the config is forgotten, silently.
  for (const name of Object.keys(next.windows))
    if (!windows.some((w) => w.name === name)) delete next.windows[name];
  for (const name of Object.keys(next.acknowledged))
    if (!windows.some((w) => w.name === name)) delete next.acknowledged[name];

  for (const window of windows) {
    const previous = state.windows[window.name]?.level ?? 'ok';
    if (window.level === 'ok') {
      delete next.acknowledged[window.name];
      if (previous !== 'ok') {
        events.push({
          kind: 'recovery',
          window: window.name,
          level: 'ok',
          previous,
          spend: window.spend,
          limit: null,
        });
      }
      delete next.windows[window.name];
    } else if (levelRank(window.level) > levelRank(previous)) {
      events.push({
        kind: previous === 'ok' ? 'enter' : 'escalate',
        window: window.name,
        level: window.level,
        previous,
        spend: window.spend,
        limit: limitFor(window, window.level),
        ...(window.detail !== undefined ? { detail: window.detail } : {}),
      });
      next.windows[window.name] = { level: window.level, since_ms: nowMs };
    }
    const effective = effectiveLevel(window.level, next.acknowledged[window.name]);
    if (levelRank(effective) > levelRank(level)) {
      level = effective;
      trigger = window;
    }
  }
  return { level, trigger, events };
}
