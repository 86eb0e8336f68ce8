// Helpers for the money-and-clock fault rows: exact sums in whole micro-dollars, lines at chosen
// times, a check at a chosen "now" (the CLI has no clock hook: a check is engine.inspect at a
// time, over the same real files the CLI reads), and a time zone whose midnight was minutes ago.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { inspect } from '../../src/check/inspect.js';
import type { CheckResult } from '../../src/check/types.js';
import type { Workspace } from '../e2e/helpers.js';

/** A tracker-shaped line dated at `ms`, costing `cost` (any JSON text: "0.05", "NaN", "\"0.05\""). */
export function lineAt(ms: number, cost: string | number, id = `m${++serial}`): string {
  return `{"t":${(ms / 1000).toFixed(3)},"request_id":"${id}","in":1200,"out":300,"cost":${cost}}\n`;
}
let serial = 0;

/** The dollars a list of six-decimal costs sums to, computed exactly (in whole µ$). */
export function exactSum(costs: readonly number[]): number {
  return costs.reduce((sum, c) => sum + Math.round(c * 1e6), 0) / 1e6;
}

/** A deterministic random stream (the tests must say the same thing on every run). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** One check of the workspace's config at `nowMs`, saving the checkpoint as `run` does. */
export function checkAt(ws: Workspace, nowMs: number, save = true): CheckResult {
  mkdirSync(ws.stateDir, { recursive: true }); // as `run` makes it
  return inspect(loadConfig(ws.config, {}), nowMs, save);
}

export function daily(result: CheckResult): number {
  return result.windows.find((w) => w.seconds === null)!.spend;
}

export function checkpoint(ws: Workspace): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ws.stateDir, 'checkpoint.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

/**
 * A fixed-offset zone (Etc/GMT±N) in which local midnight was between 1 and 61 minutes before
 * `nowMs`, and that midnight (epoch ms). Etc/GMT-N is UTC+N; N from -12 to +14.
 */
export function zoneJustPastMidnight(nowMs: number): { zone: string; midnightMs: number } {
  const minuteOfDay = Math.floor((nowMs % 86_400_000) / 60_000);
  // local = utc + offset; local minute in [1, 61)
  const hoursBack = Math.floor((minuteOfDay - 1 + 1440) / 60) % 24;
  let offset = (24 - hoursBack) % 24;
  if (offset > 14) offset -= 24;
  const zone = offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
  const localMs = nowMs + offset * 3_600_000;
  const midnightMs = localMs - (localMs % 86_400_000) - offset * 3_600_000;
  return { zone, midnightMs };
}
