// The metrics after a check: the counters carried forward in the state folder, the exposition
// rendered, the node_exporter textfile written, and the text kept for `watch`'s /metrics. Only
// when metrics are wanted (metrics.textfile or http.listen). Problems are returned, never thrown.
import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CheckOutcome, Mode } from '../check/types.js';
import type { Config } from '../config/index.js';
import { errnoWords } from '../core/flag.js';
import { metricsFile } from '../effects/state-paths.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../effects/store.js';
import { addCounts, type Counters, loadCounters, savedCounters, zeroCounters } from './counters.js';
import { checkCounts, metricsFigures } from './figures.js';
import { drainTally } from './tally.js';

let latest: { text: string; contentType: string } | null = null;

/** The exposition of the last check in this process (for /metrics under `watch`); null before one. */
export function latestMetrics(): { text: string; contentType: string } | null {
  return latest;
}

/** The counters saved in the state folder: none yet is zero; a damaged file is zero, with a note. */
function readCounters(file: string): { counters: Counters; note: string | null } {
  const read = readJson(file);
  if (read.kind === 'missing') return { counters: zeroCounters(), note: null };
  const loaded = read.kind === 'ok' ? loadCounters(read.value) : { ok: false as const, why: read.reason };
  if (loaded.ok) return { counters: loaded.counters, note: null };
  return {
    counters: zeroCounters(),
    note:
      `note: metrics counters ${file} damaged (${loaded.why}): they start again at 0 (Prometheus ` +
      `sees a counter reset)`,
  };
}

function systemWords(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return errnoWords(e.code, e.message);
}

/** Write the textfile atomically (a temporary file beside it, then rename), readable by all (0644). */
export function writeTextfile(file: string, text: string): string | null {
  const dir = path.dirname(file);
  try {
    if (!statSync(dir).isDirectory())
      return `metrics textfile ${file} not written: ${dir} is not a folder (metrics.textfile)`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return (
        `metrics textfile ${file} not written: its folder ${dir} does not exist (create it: it is ` +
        `node_exporter's --collector.textfile.directory; or fix metrics.textfile)`
      );
    return `metrics textfile ${file} not written: ${dir}: ${systemWords(error)}`;
  }
  try {
    // Not fsynced: it is written again after every check, and a crash leaves the old one whole.
    writeFileAtomic(file, text, 0o644, false);
    // The umask may have taken bits away: node_exporter often runs as a user of its own.
    chmodSync(file, 0o644);
    return null;
  } catch (error) {
    return `metrics textfile ${file} not written: ${systemWords(error)}`;
  }
}

/** Are metrics wanted at all: a textfile, or /metrics (`watch` with http.listen)? */
export function metricsWanted(config: Pick<Config, 'metrics' | 'http'>): boolean {
  return config.metrics.textfile !== null || config.http.listen !== null;
}

/**
 * After a check (not a dry run), under the state folder's lock: add what it did to the counters,
 * render, write the textfile. Returns the problems met (said on stderr by the caller).
 */
export async function updateMetrics(
  config: Config,
  outcome: CheckOutcome,
  timing: { mode: Mode; startedMs: number; finishedMs: number; ok: boolean },
): Promise<string[]> {
  const alerts = drainTally();
  if (!metricsWanted(config)) return [];
  const problems: string[] = [];
  const file = metricsFile(config.stateDir);
  const before = readCounters(file);
  if (before.note !== null) problems.push(before.note);
  const counters = addCounts(before.counters, checkCounts(outcome, timing.ok, alerts));
  try {
    writeJsonAtomic(file, savedCounters(counters));
  } catch (error) {
    problems.push(`metrics counters not saved: ${file}: ${systemWords(error)}`);
  }
  // prom-client is loaded only by a check that renders (its own chunk in dist/).
  let text: string;
  try {
    const { METRICS_CONTENT_TYPE, renderMetrics } = await import('./render.js');
    text = await renderMetrics(metricsFigures(config, outcome, timing, counters));
    latest = { text, contentType: METRICS_CONTENT_TYPE };
  } catch (error) {
    problems.push(`metrics not rendered: ${(error as Error).message}`);
    return problems;
  }
  if (config.metrics.textfile !== null) {
    const problem = writeTextfile(config.metrics.textfile, text);
    if (problem !== null) problems.push(problem);
  }
  return problems;
}
