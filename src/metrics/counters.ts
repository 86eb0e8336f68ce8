// The metrics' counters, kept across runs in the state folder (metrics.json): each `run` is a
// new process, and a Prometheus counter must only grow. What one check adds is worked out here
// from its outcome. Pure: the file is read and written by index.ts.
import * as z from 'zod';
import type { KillSummary } from '../core/alert-text.js';
import { badField, parseSaved } from '../core/saved/parse.js';
import type { AlertResult } from './tally.js';

export interface Counters {
  lines: { record: number; malformed: number; future: number };
  /** Checks whose kill (of the main target or a scope's) signalled or stopped something. */
  kills: number;
  checks: { ok: number; failed: number };
  /** Per channel and result, in the order first seen. */
  alerts: { channel: string; result: AlertResult; n: number }[];
}

export function zeroCounters(): Counters {
  return {
    lines: { record: 0, malformed: 0, future: 0 },
    kills: 0,
    checks: { ok: 0, failed: 0 },
    alerts: [],
  };
}

/** What one check adds to the counters. */
export interface CheckCounts {
  records: number;
  malformed: number;
  future: number;
  kills: number;
  ok: boolean;
  alerts: readonly (readonly [string, AlertResult, number])[];
}

/** A kill that did something: not a dry run, the target running, a signal sent or the stop command run. */
export function killDidSomething(kill: KillSummary | null): boolean {
  if (kill === null || kill.dryRun || kill.unconfigured === true || kill.notRunning) return false;
  return kill.tree.length > 0 || kill.stop !== null;
}

/** `counters` with one check's counts added (a new object; the old one is left as it was). */
export function addCounts(counters: Counters, counts: CheckCounts): Counters {
  const alerts = counters.alerts.map((a) => ({ ...a }));
  for (const [channel, result, n] of counts.alerts) {
    if (n <= 0) continue;
    const known = alerts.find((a) => a.channel === channel && a.result === result);
    if (known !== undefined) known.n += n;
    else alerts.push({ channel, result, n });
  }
  return {
    lines: {
      record: counters.lines.record + counts.records,
      malformed: counters.lines.malformed + counts.malformed,
      future: counters.lines.future + counts.future,
    },
    kills: counters.kills + counts.kills,
    checks: {
      ok: counters.checks.ok + (counts.ok ? 1 : 0),
      failed: counters.checks.failed + (counts.ok ? 0 : 1),
    },
    alerts,
  };
}

/** The saved form: `{version: 1, lines, kills, checks, alerts: {channel: {result: n}}}`. */
export interface SavedCounters {
  version: 1;
  lines: Counters['lines'];
  kills: number;
  checks: Counters['checks'];
  alerts: Record<string, Partial<Record<AlertResult, number>>>;
}

const tally = z.custom<number>(
  (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  'expected a whole number >= 0',
);

const savedSchema = z.object({
  version: z.literal(1),
  lines: z.object({ record: tally, malformed: tally, future: tally }),
  kills: tally,
  checks: z.object({ ok: tally, failed: tally }),
  alerts: z.record(z.string(), z.partialRecord(z.enum(['sent', 'failed', 'dropped']), tally)),
});

export function savedCounters(counters: Counters): SavedCounters {
  const alerts: SavedCounters['alerts'] = Object.create(null);
  for (const a of counters.alerts) alerts[a.channel] = { ...alerts[a.channel], [a.result]: a.n };
  return { version: 1, lines: counters.lines, kills: counters.kills, checks: counters.checks, alerts };
}

/** The counters saved, or why they cannot be used (then counting starts again at 0). */
export function loadCounters(value: unknown): { ok: true; counters: Counters } | { ok: false; why: string } {
  const parsed = parseSaved(savedSchema, value);
  if (!parsed.ok) return { ok: false, why: badField(parsed) };
  const saved = parsed.value;
  const alerts: Counters['alerts'] = [];
  for (const [channel, results] of Object.entries(saved.alerts))
    for (const result of ['sent', 'failed', 'dropped'] as const) {
      const n = results[result];
      if (n !== undefined) alerts.push({ channel, result, n });
    }
  return {
    ok: true,
    counters: {
      lines: { ...saved.lines },
      kills: saved.kills,
      checks: { ...saved.checks },
      alerts,
    },
  };
}
