// One check: take the lock, load the checkpoint, read what the log gained, recompute spend, save.
// The decisions are in core/; this file only wires the effects around them. `readOnly` (status,
// run --dry-run) reads the same way but takes no lock and writes nothing.
import path from 'node:path';
import { type Config, horizonSeconds } from './config.js';
import { Attribution } from './core/attribution.js';
import { DayCalendar } from './core/calendar.js';
import { Ledger } from './core/ledger.js';
import { assess, type WindowStatus } from './core/levels.js';
import { fieldTable } from './core/fields.js';
import { LineParser } from './core/record.js';
import { type MalformedSample, newTotals, type ScanTotals, SpendScanner, type Costing } from './core/scan.js';
import { PriceBook } from './core/prices.js';
import { MAX_LABELS } from './core/labels.js';
import { baseExpired, type Storm, StormTracker } from './core/storms.js';
import { stormSignal } from './core/findings.js';
import { loadPriceCache, type PriceCache, priceLookup } from './price-table.js';
import { startParallelScan } from './parallel/index.js';
import { FailureError } from './errors.js';
import { loadCursor, loadGenerations, readNewLines, saveCursor, type TailState } from './effects/log-tail.js';
import { writeHeartbeat } from './effects/heartbeat.js';
import { acquireLock, ensureDir, readJson, writeFileAtomic, writeJsonAtomic } from './effects/store.js';
import { closeSync, fstatSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { VERSION } from './version.js';
import type { AlertFacts, FlagOutcome, KillSummary } from './core/alert-text.js';
import { type AlertEvent, type Decision, decide, limitFor, routineCheck, troubles } from './core/decide.js';
import type { Level } from './core/levels.js';
import { dollarsOf, usd } from './core/money.js';
import { flagSeen, readFlag } from './effects/flag.js';
import { flagCheckFailed, flagInForce } from './core/flag.js';
import {
  type AlertOutbox,
  Auditor,
  deliver,
  host,
  loadAlerts,
  placeFlag,
  rememberAlerts,
  stopTarget,
} from './enforce.js';
import { announce, type Finding, findingsToSay } from './core/findings.js';
import { type Observation, observe } from './observe.js';
import { graceMeter, type MeterStart } from './grace-meter.js';

// 2: amounts in whole micro-dollars (core/money.ts). A version-1 checkpoint (dollar floats) is
// rebuilt from the log once, with a note.
const CHECKPOINT_VERSION = 2;
export const LOCK_WAIT_MS = 30_000;

export interface CheckResult {
  nowMs: number;
  windows: WindowStatus[];
  /** Spend per model and agent, for the top spenders of a window. */
  attribution: Attribution;
  totals: ScanTotals;
  /** Lines read in this check (records and malformed). */
  newRecords: number;
  newMalformed: number;
  /** Lines dated more than 5 minutes ahead, counted as now, in this check. */
  newFuture: number;
  newMalformedSamples: MalformedSample[];
  bytesRead: number;
  /** Why the checkpoint was rebuilt from the log, or null when it was used. */
  rebuilt: string | null;
  notes: string[];
  /** The log could not be read: the check is blind and must fail loudly. */
  logError: string | null;
  log: { path: string; size: number; mtimeMs: number } | null;
  /** Ids billed again and again inside the retry-storm window (empty when that check is off). */
  storms: Storm[];
  /** More ids than can be followed were in the window: storms among the rest go unseen. */
  stormOverflow: boolean;
  /** The newest line time read in this check (as dated, before clamping); 0 when none was read. */
  newestReadMs: number;
  /** Spend over the burn-rate windows (null when that check is off). */
  burn: { shortUsd: number; longUsd: number } | null;
  /** The ledger, for figures at other times (the app's state file is dated). */
  ledger: Ledger;
  /** The windows, and signals that act like one (a retry storm at its level): what decisions see. */
  signals: WindowStatus[];
  /** Threads that read the log in this check: 2 when a helper thread read part of it. */
  scanThreads: number;
  /** Lines read in this check that logged cost 0 with tokens the price table prices, and what they counted for. */
  newZeroCost: number;
  newZeroCostUsd: number;
  /** Where reading stopped, for a kill's grace-period meter (grace-meter.ts). */
  meterStart: MeterStart;
}

export function checkpointPath(config: Config): string {
  return path.join(config.stateDir, 'checkpoint.json');
}

interface Loaded {
  tail: TailState | null;
  ledger: Ledger;
  attribution: Attribution;
  totals: ScanTotals;
  storms: StormTracker | null;
  /** The retry-storm ids seen once that the checkpoint names. */
  singlesRef: SinglesRef | null;
  prices: PriceCache;
  savedAtMs: number | null;
  rebuilt: string | null;
  /** Spend saved as dated beyond now + the tolerance was moved to now (the clock went back): save that. */
  clockMoved: boolean;
}

function isTotals(value: unknown): value is ScanTotals {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  const counts = ['records', 'malformed', 'future_lines', 'uncosted_lines', 'newest_ms'];
  return (
    counts.every((k) => typeof v[k] === 'number' && (v[k] as number) >= 0) &&
    Array.isArray(v.malformed_samples) &&
    v.malformed_samples.every(isSample)
  );
}

/** Totals saved by an older version lack the newer counts: they start at zero. */
function withNewCounts(totals: ScanTotals): ScanTotals {
  const fresh = newTotals();
  const v = totals as Partial<ScanTotals>;
  const unpriced: ScanTotals['unpriced'] = {};
  if (v.unpriced !== null && typeof v.unpriced === 'object') {
    for (const [name, entry] of Object.entries(v.unpriced)) {
      if (
        entry !== null &&
        typeof entry === 'object' &&
        ['lines', 'tokens', 'micros', 'at_rate', 'last_ms'].every(
          (k) => typeof (entry as unknown as Record<string, unknown>)[k] === 'number',
        )
      )
        unpriced[name] = entry;
    }
  }
  return {
    ...totals,
    zero_cost_lines: typeof v.zero_cost_lines === 'number' ? v.zero_cost_lines : fresh.zero_cost_lines,
    zero_cost_micros: typeof v.zero_cost_micros === 'number' ? v.zero_cost_micros : fresh.zero_cost_micros,
    unpriced,
  };
}

function stormSettings(config: Config): { count: number; windowMs: number } | null {
  return config.retryStorm === null
    ? null
    : { count: config.retryStorm.count, windowMs: config.retryStorm.windowMs };
}

function isSample(value: unknown): value is MalformedSample {
  const s = value as Partial<MalformedSample> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    typeof s.file === 'string' &&
    typeof s.line === 'number' &&
    typeof s.reason === 'string' &&
    typeof s.excerpt === 'string'
  );
}

/**
 * Retry-storm ids seen once are kept beside the checkpoint as raw bytes ([hash, time, cost] as
 * doubles): tens of thousands of them would make the JSON checkpoint slow to read and write.
 * The checkpoint names the file (a new name each time) and its length, so a file that does not
 * belong to it is never used: the ids in it would be counted twice when the log is read again.
 * Not fsynced: losing it after a crash loses at most one sighting per id.
 */
const SINGLES_PREFIX = 'storm-ids.';

/** What the checkpoint says of the ids seen once: the base file (or none) and the few since. */
interface SinglesRef {
  file: string | null;
  count: number;
  written_ms: number;
  delta: number[];
}

function singlesRefOf(value: unknown): SinglesRef | null {
  const r = value as Partial<SinglesRef> | null | undefined;
  if (
    r === null ||
    r === undefined ||
    typeof r !== 'object' ||
    typeof r.count !== 'number' ||
    typeof r.written_ms !== 'number' ||
    !Array.isArray(r.delta)
  )
    return null;
  if (
    r.file !== null &&
    (typeof r.file !== 'string' || !r.file.startsWith(SINGLES_PREFIX) || r.file.includes('/'))
  )
    return null;
  return {
    file: r.file ?? null,
    count: r.count,
    written_ms: r.written_ms,
    delta: r.delta.filter((n): n is number => typeof n === 'number'),
  };
}

function loadSingles(config: Config, ref: SinglesRef | null): Float64Array | null {
  if (ref === null || ref.file === null) return null;
  const data = new Float64Array(ref.count);
  let fd: number;
  try {
    fd = openSync(path.join(config.stateDir, ref.file), 'r');
  } catch {
    return null;
  }
  try {
    // Read straight into the doubles' memory: no second copy of a file of megabytes.
    const bytes = new Uint8Array(data.buffer);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n <= 0) return null;
      got += n;
    }
    if (fstatSync(fd).size !== bytes.length) return null;
    return data;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Write the ids seen once under a new name; the caller names it in the checkpoint. */
function saveSingles(config: Config, singles: Float64Array): string {
  const file = `${SINGLES_PREFIX}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}.bin`;
  writeFileAtomic(
    path.join(config.stateDir, file),
    new Uint8Array(singles.buffer, singles.byteOffset, singles.byteLength),
    0o644,
    false,
  );
  return file;
}

/** Remove the files of ids seen once that the checkpoint no longer names. */
function pruneSingles(config: Config, keep: string | null): void {
  let names: string[];
  try {
    names = readdirSync(config.stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(SINGLES_PREFIX) && name.endsWith('.bin') && name !== keep) {
      try {
        unlinkSync(path.join(config.stateDir, name));
      } catch {
        // gone already, or not ours to remove: harmless
      }
    }
  }
}

/** The checkpoint, or a fresh start (and why) when it is missing, corrupt or does not fit. */
function loadCheckpoint(config: Config, calendar: DayCalendar, nowMs: number): Loaded {
  const horizon = horizonSeconds(config);
  const settings = stormSettings(config);
  const fresh = (why: string | null): Loaded => ({
    tail: null,
    ledger: new Ledger(horizon, calendar, nowMs),
    attribution: new Attribution(horizon, calendar, nowMs),
    totals: newTotals(),
    storms: settings === null ? null : new StormTracker(settings, nowMs),
    singlesRef: null,
    prices: loadPriceCache(null, nowMs),
    savedAtMs: null,
    rebuilt: why,
    clockMoved: false,
  });
  const read = readJson(checkpointPath(config));
  if (read.kind === 'missing') return fresh('no checkpoint yet: reading the whole log');
  if (read.kind === 'corrupt') return fresh(`checkpoint unreadable (${read.reason}): rebuilt from the log`);
  const cp = read.value as Record<string, unknown> | null;
  if (cp !== null && typeof cp === 'object' && cp.version === 1)
    return fresh(
      'checkpoint of an older version (amounts in dollars, now whole micro-dollars): rebuilt from the log once',
    );
  if (cp === null || typeof cp !== 'object' || cp.version !== CHECKPOINT_VERSION)
    return fresh('checkpoint in an unknown format: rebuilt from the log');
  if (cp.log !== config.log) return fresh('the configured log changed: rebuilt from the log');
  const restored = Ledger.restore(cp.ledger, horizon, calendar, nowMs);
  if (restored === null)
    return fresh('checkpoint does not fit the configured windows or time zone: rebuilt from the log');
  const current = cp.current === null ? null : loadCursor(cp.current);
  if ((cp.current !== null && current === null) || !isTotals(cp.totals))
    return fresh('checkpoint damaged: rebuilt from the log');
  const savedAtMs = typeof cp.saved_at === 'string' ? Date.parse(cp.saved_at) : NaN;
  const previous = loadGenerations(cp.previous, Number.isNaN(savedAtMs) ? null : savedAtMs, nowMs);
  return {
    tail: current === null ? null : { current, previous },
    ledger: restored.ledger,
    attribution: Attribution.fromState(cp.attribution, horizon, calendar, nowMs),
    totals: withNewCounts(cp.totals),
    singlesRef: singlesRefOf(cp.storm_singles),
    prices: loadPriceCache(cp.prices, nowMs),
    storms:
      settings === null
        ? null
        : StormTracker.fromState(
            cp.storms,
            settings,
            nowMs,
            () => loadSingles(config, singlesRefOf(cp.storm_singles)),
            singlesRefOf(cp.storm_singles)?.delta ?? [],
          ),
    savedAtMs: Number.isNaN(savedAtMs) ? null : savedAtMs,
    rebuilt: null,
    clockMoved: restored.moved > 0,
  };
}

/**
 * Read what the log gained and recompute spend. With `save`, the new checkpoint is written (the
 * caller holds the lock); without it nothing is written (status, --dry-run).
 */
export function inspect(config: Config, nowMs: number, save: boolean): CheckResult {
  const calendar = new DayCalendar(config.timezone);
  const loaded = loadCheckpoint(config, calendar, nowMs);
  const storms = loaded.storms;
  const estimates = config.cost.policy !== 'reported';
  const lookup = priceLookup(config.cost.prices, nowMs, loaded.prices);
  const costing: Costing = {
    policy: config.cost.policy,
    // Under `reported`, prices are still needed for lines that log tokens but no cost.
    prices: new PriceBook(lookup, MAX_LABELS),
    unpricedPerMillion: config.cost.unpricedPerMillion,
    maxLineUsd: config.cost.maxLineUsd,
  };
  const table = fieldTable(config.fields, {
    labels: true,
    tokens: estimates,
    ...(storms !== null && config.retryStorm !== null
      ? { idsSinceMs: storms.sinceMs, stormKey: config.retryStorm.key }
      : {}),
  });
  const parser = new LineParser(table);
  const scanner = new SpendScanner(
    parser,
    loaded.ledger,
    nowMs,
    loaded.totals,
    loaded.attribution,
    costing,
    storms,
  );
  // A whole large log to read: a second thread reads its second part (src/parallel/).
  const helper =
    loaded.tail === null
      ? startParallelScan(scanner, lookup, {
          file: config.log,
          nowMs,
          horizonSec: horizonSeconds(config),
          timezone: config.timezone,
          fields: config.fields,
          tokens: estimates,
          stormKey: config.retryStorm?.key ?? null,
          storms: stormSettings(config),
          policy: config.cost.policy,
          unpricedPerMillion: config.cost.unpricedPerMillion,
          maxLineUsd: config.cost.maxLineUsd,
          prices: config.cost.prices,
          priceCache: loaded.prices,
        })
      : null;
  const recordsBefore = loaded.totals.records;
  const zeroBefore = loaded.totals.zero_cost_lines;
  const zeroMicrosBefore = loaded.totals.zero_cost_micros;
  const futureBefore = loaded.totals.future_lines;
  let tail: ReturnType<typeof readNewLines>;
  try {
    tail = readNewLines(config.log, loaded.tail, (name) => scanner.sinkFor(name), nowMs, {
      lastSavedMs: loaded.savedAtMs,
      horizonMs: horizonSeconds(config) * 1000,
    });
  } finally {
    helper?.stop();
  }
  // Anything this check learned must be saved, or the next check learns (and reports) it again:
  // bytes read, a rebuild, a rotation, a malformed line (also one with no new bytes: the cut-off
  // last line of a rotated file), or a rotated file no longer followed.
  const changed =
    tail.bytesRead > 0 ||
    loaded.rebuilt !== null ||
    loaded.clockMoved ||
    tail.notes.length > 0 ||
    scanner.foundCount > 0 ||
    tail.followChanged;
  if (save && changed) {
    const before = loaded.rebuilt === null ? loaded.singlesRef : null;
    let singlesRef: SinglesRef | null = null;
    // The base file is rewritten once it is older than the window (mostly expired by then).
    const plan =
      storms?.singlesToSave(
        baseExpired(before?.file != null ? before.written_ms : null, nowMs, storms.settings.windowMs),
      ) ?? null;
    if (storms === null) singlesRef = null;
    else if (plan === null) singlesRef = before;
    else if (plan.base === null)
      singlesRef = {
        file: before?.file ?? null,
        count: before?.count ?? 0,
        written_ms: before?.written_ms ?? nowMs,
        delta: plan.delta,
      };
    else {
      try {
        singlesRef = {
          file: plan.base.length > 0 ? saveSingles(config, plan.base) : null,
          count: plan.base.length,
          written_ms: nowMs,
          delta: [],
        };
      } catch (error) {
        throw new FailureError(
          `cannot write ${path.join(config.stateDir, SINGLES_PREFIX)}*.bin: ${(error as Error).message}`,
        );
      }
    }
    const checkpoint = {
      version: CHECKPOINT_VERSION,
      log: config.log,
      saved_at: new Date(nowMs).toISOString(),
      current: tail.state.current === null ? null : saveCursor(tail.state.current),
      previous: tail.state.previous.map(saveCursor),
      ledger: loaded.ledger.toState(),
      attribution: loaded.attribution.toState(),
      totals: loaded.totals,
      ...(storms !== null ? { storm_singles: singlesRef } : {}),
      prices: loaded.prices,
    };
    try {
      // The storm ids by name may be 100,000 of them: written as JSON text, one id at a time.
      writeJsonAtomic(
        checkpointPath(config),
        checkpoint,
        storms !== null ? { storms: (write) => storms.writeStateJson(write) } : {},
      );
    } catch (error) {
      throw new FailureError(
        `cannot write the checkpoint ${checkpointPath(config)}: ${(error as Error).message}`,
      );
    }
    if (plan?.base != null || storms === null || loaded.rebuilt !== null)
      pruneSingles(config, singlesRef?.file ?? null);
  }
  const windows = assess(config.windows, loaded.ledger);
  const found = storms?.storms() ?? [];
  const storm = config.retryStorm === null ? null : stormSignal(found, config.retryStorm);
  const signals: WindowStatus[] = storm === null ? [...windows] : [...windows, storm];
  return {
    nowMs,
    windows,
    signals,
    scanThreads: helper?.used === true ? 2 : 1,
    newZeroCost: loaded.totals.zero_cost_lines - zeroBefore,
    newZeroCostUsd: dollarsOf(loaded.totals.zero_cost_micros - zeroMicrosBefore),
    attribution: loaded.attribution,
    totals: loaded.totals,
    newRecords: loaded.totals.records - recordsBefore,
    newMalformed: scanner.foundCount,
    newFuture: loaded.totals.future_lines - futureBefore,
    newMalformedSamples: scanner.found,
    bytesRead: tail.bytesRead,
    rebuilt: loaded.rebuilt,
    notes: tail.notes,
    logError: tail.error,
    log: tail.log === null ? null : { path: config.log, ...tail.log },
    storms: found,
    stormOverflow: storms?.overflow ?? false,
    newestReadMs: scanner.newestReadMs,
    burn:
      config.burnRate === null
        ? null
        : {
            shortUsd: dollarsOf(loaded.ledger.rolling(Math.round(config.burnRate.shortMs / 1000))),
            longUsd: dollarsOf(loaded.ledger.rolling(Math.round(config.burnRate.longMs / 1000))),
          },
    ledger: loaded.ledger,
    meterStart: { tail: tail.state, prices: loaded.prices },
  };
}

export type Mode = 'run' | 'watch';

export interface RunOptions {
  mode: Mode;
  dryRun: boolean;
  /** The clock, passed in so that a check is one instant from start to end. */
  now: () => number;
  /**
   * `watch`: leave routine checks out of the audit log (see routineCheck); the daemon keeps this
   * object between checks: the levels and time of the last check recorded.
   */
  quiet?: { last: { levels: string; atMs: number } | null };
  /** `watch`: its sender, which takes the alerts so that the check never waits for Slack. */
  outbox?: AlertOutbox | null;
}

export interface Enforcement {
  decision: Decision;
  /** The events alerted (the decision's, and a target that came back). */
  events: AlertEvent[];
  flag: FlagOutcome;
  kill: KillSummary | null;
  /** Why the command must exit 1 (flag not written, kill failed, state not saved). */
  failures: string[];
  alerts: { sent: number; failed: number; pending: number };
  /** What else the check found (app state, storms, burn rate, blind spots), and which were alerted now. */
  observation: Observation;
  announced: Finding[];
}

export interface CheckOutcome extends CheckResult, Enforcement {}

/** Did the check do its job: read the log, and write, kill and record all it had to? */
export function checkSucceeded(outcome: CheckOutcome): boolean {
  return outcome.logError === null && outcome.failures.length === 0;
}

/** The top spenders of a window, for the alert. */
export function topsOf(config: Config, result: CheckResult, windowName: string | null): AlertFacts['tops'] {
  const window = config.windows.find((w) => w.name === windowName) ?? config.windows[0];
  if (window === undefined) return null;
  return {
    window: window.name,
    models: result.attribution.top(window.seconds, 'model'),
    agents: result.attribution.top(window.seconds, 'agent'),
  };
}

/**
 * Decide and act on one check's figures: flag, kill, alerts, in that order. With dryRun, say
 * what would be done and touch nothing.
 */
async function enforce(
  config: Config,
  result: CheckResult,
  mode: Mode,
  dryRun: boolean,
  audit: Auditor | null,
  outbox: AlertOutbox | null = null,
): Promise<Enforcement> {
  const nowMs = result.nowMs;
  const failures: string[] = [];
  const loaded = loadAlerts(config);
  if (loaded.note !== null) {
    process.stderr.write(`cost-watchdog: note: ${loaded.note}\n`);
    audit?.record('note', { note: loaded.note });
  }
  const flagRead = readFlag(config.flagFile);
  const seen = flagSeen(flagRead);
  const input = {
    nowMs,
    windows: result.signals,
    state: loaded.state,
    flagExists: flagInForce(seen),
    flagUnknown: seen.kind === 'unknown',
    targetRunning: false,
    reminderMs: config.alerts.reminderMs,
  };
  let decision = decide(input);

  // Only a flag confirmed to exist is in force; one that cannot be seen is a failed check.
  let flag: FlagOutcome =
    flagRead.kind === 'present'
      ? { kind: 'exists', file: config.flagFile }
      : flagRead.kind === 'unknown'
        ? { kind: 'unknown', file: config.flagFile, error: flagRead.reason }
        : { kind: 'none' };
  if (flagRead.kind === 'unknown')
    audit?.record('flag_unknown', { file: config.flagFile, error: flagRead.reason, code: flagRead.code });
  if (decision.writeFlag) {
    const trigger = decision.trigger;
    const limit = trigger === null ? null : limitFor(trigger, decision.level);
    flag = placeFlag(
      config,
      {
        reason:
          trigger === null
            ? `spend at ${decision.level}`
            : (trigger.detail ??
              `${trigger.name} spend ${usd(trigger.spend)} crossed the ${decision.level} limit${limit === null ? '' : ` ${usd(limit)}`}`),
        window: trigger?.name ?? null,
        spend_usd: trigger === null ? null : round6(trigger.spend),
        limit_usd: limit,
        triggered_at: new Date(nowMs).toISOString(),
        triggered_by: mode,
        host: host(),
        level: decision.level,
      },
      dryRun,
      audit,
    );
    if (flag.kind === 'failed') failures.push(`emergency flag not written: ${flag.file}: ${flag.error}`);
  }
  const flagUnknown =
    flagRead.kind === 'unknown' && flagCheckFailed(seen, flag.kind) ? flagRead.reason : null;
  if (flagUnknown !== null && flag.kind !== 'failed') failures.push(flagUnknown);

  let kill: KillSummary | null = null;
  let killFailed: string | null = null;
  if (decision.kill) {
    const stopped = await stopTarget(config, dryRun, audit, () => graceMeter(config, result.meterStart));
    kill = stopped.summary;
    killFailed = stopped.failed;
    if (killFailed !== null) failures.push(killFailed);
    // Known now: was the target running? (A kill switch that finds it again says so.)
    if (!kill.notRunning && !dryRun) decision = decide({ ...input, targetRunning: true });
  }
  // The flag is in force only if it is there now: a write that failed must not look, next time,
  // like a flag somebody deleted.
  // One that cannot be seen is neither: what was known of it is kept.
  decision.next.flag_seen =
    flag.kind === 'written' ||
    flag.kind === 'exists' ||
    (flag.kind === 'would-write' && decision.next.flag_seen) ||
    (flagUnknown !== null && loaded.state.flag_seen);
  const { problems, incidents } = troubles(
    decision.next.incidents,
    {
      killFailed,
      killTried: decision.kill,
      stopFailed: kill?.stop == null ? undefined : kill.stop.ok ? null : (config.target?.stopCommand ?? ''),
      flagFailed: flag.kind === 'failed' ? `${flag.file}: ${flag.error}` : null,
      flagUnknown,
    },
    decision.events.length > 0,
    nowMs,
    config.alerts.reminderMs,
  );
  decision.next.incidents = incidents;

  const observation = await observe(config, result, decision.level);
  const found = announce(observation.findings, decision.next.findings, nowMs);
  decision.next.findings = found.memory;
  for (const finding of found.announce)
    audit?.record('finding', { kind: finding.kind, key: finding.key, text: finding.text });

  const events = decision.events;
  const alerts: { facts: AlertFacts; level: Level }[] = [];
  if (events.length > 0 || problems.length > 0 || found.announce.length > 0) {
    const about = decision.trigger?.name ?? events.find((e) => e.window !== '')?.window ?? null;
    alerts.push({
      facts: {
        host: host(),
        atIso: new Date(nowMs).toISOString(),
        by: mode,
        events,
        windows: result.windows,
        tops: topsOf(config, result, about),
        flag,
        kill,
        problems,
        findings: findingsToSay(found.announce, events),
      },
      level:
        problems.length > 0 && decision.level === 'ok'
          ? 'emergency'
          : events.length === 0 && problems.length === 0
            ? 'warn'
            : decision.level,
    });
  }
  audit?.record('decision', {
    level: decision.level,
    trigger: decision.trigger?.name ?? null,
    events: events.map((e) => `${e.kind}:${e.window}:${e.level}`),
    flag: flag.kind,
    kill: decision.kill,
    kill_switch: decision.next.kill_switch !== null,
  });
  const delivery = await deliver(config, alerts, decision.next, audit, nowMs, dryRun, outbox);
  if (!dryRun) failures.push(...rememberAlerts(config, decision.next, delivery, null));
  return {
    decision,
    events,
    flag,
    kill,
    failures,
    alerts: { sent: delivery.sent, failed: delivery.failed, pending: delivery.pending.length },
    observation,
    announced: found.announce,
  };
}

/**
 * The start of every command that acts (run, watch, kill, clear-emergency): take the state
 * folder's lock (so no two act at once), read what the log gained and save the checkpoint, then
 * act on the figures. The lock is released however `act` ends.
 */
export async function underLock<T>(
  config: Config,
  now: () => number,
  act: (result: CheckResult, audit: Auditor) => Promise<T>,
): Promise<T> {
  ensureDir(config.stateDir);
  const lock = acquireLock(config.stateDir, LOCK_WAIT_MS);
  try {
    const result = inspect(config, now(), true);
    return await act(result, new Auditor(config.stateDir, now));
  } finally {
    lock.release();
  }
}

/**
 * One full check as `run` (and `watch`) does it: under the lock, read and recompute, save the
 * checkpoint, decide and act (flag, kill, alerts), and record it all in the audit log and the
 * heartbeat. --dry-run reads and decides the same way and writes, signals and sends nothing.
 */
export async function runCheck(config: Config, options: RunOptions): Promise<CheckOutcome> {
  const started = options.now();
  if (options.dryRun) {
    const result = inspect(config, started, false);
    return { ...result, ...(await enforce(config, result, options.mode, true, null)) };
  }
  return underLock(config, options.now, async (result, audit) => {
    const nowMs = result.nowMs;
    const quiet = options.quiet ?? null;
    if (quiet !== null) audit.hold();
    audit.record('check', {
      mode: options.mode,
      windows: Object.fromEntries(
        result.windows.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]),
      ),
      new_lines: result.newRecords,
      new_malformed: result.newMalformed,
      ...(result.newFuture > 0 ? { future_lines: result.newFuture } : {}),
      ...(result.newMalformedSamples.length > 0 ? { malformed_samples: result.newMalformedSamples } : {}),
      ...(result.rebuilt !== null ? { rebuilt: result.rebuilt } : {}),
      ...(result.notes.length > 0 ? { notes: result.notes } : {}),
      ...(result.logError !== null ? { error: result.logError } : {}),
    });
    if (audit.failed !== null) throw new FailureError(audit.failed);
    let enforcement: Enforcement;
    try {
      enforcement = await enforce(config, result, options.mode, false, audit, options.outbox ?? null);
    } catch (error) {
      audit.release(true);
      throw error;
    }
    if (quiet !== null) {
      const levels = result.windows.map((w) => w.level).join(',');
      const eventful =
        enforcement.events.length > 0 ||
        enforcement.flag.kind === 'written' ||
        enforcement.flag.kind === 'failed' ||
        enforcement.flag.kind === 'unknown' ||
        enforcement.kill !== null ||
        enforcement.failures.length > 0 ||
        enforcement.announced.length > 0 ||
        result.logError !== null ||
        result.newMalformed > 0 ||
        result.newFuture > 0 ||
        result.rebuilt !== null ||
        result.notes.length > 0;
      const routine = routineCheck({ levels, onlyRoutineLines: audit.holding, eventful }, quiet.last, nowMs);
      audit.release(!routine);
      if (!routine) quiet.last = { levels, atMs: nowMs };
    }
    if (audit.failed !== null) enforcement.failures.push(audit.failed);
    const levels = Object.fromEntries(result.windows.map((w) => [w.name, w.level]));
    const ok = checkSucceeded({ ...result, ...enforcement });
    const finishedMs = options.now();
    // `time` is when the check completed: the moment the watchdog last proved it was alive.
    writeHeartbeat(config.stateDir, {
      time: new Date(finishedMs).toISOString(),
      pid: process.pid,
      version: VERSION,
      mode: options.mode,
      result: {
        ok,
        levels,
        level: enforcement.decision.level,
        actions: {
          flag: enforcement.flag.kind,
          kill:
            enforcement.kill === null
              ? null
              : enforcement.kill.notRunning
                ? 'not running'
                : enforcement.kill.survivors.length > 0 || enforcement.kill.refused.length > 0
                  ? 'failed'
                  : 'killed',
          alerts_sent: enforcement.alerts.sent,
          alerts_failed: enforcement.alerts.failed,
        },
        ...(result.logError !== null
          ? { error: result.logError }
          : enforcement.failures.length > 0
            ? { error: enforcement.failures.join('; ') }
            : {}),
      },
      duration_ms: Math.max(0, finishedMs - started),
    });
    return { ...result, ...enforcement };
  });
}

export function round6(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
