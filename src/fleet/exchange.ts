// One check's exchange with the fleet's Redis: push what this host's read changed (or everything
// in its horizon when Redis does not know its session), and read back the fleet's windows, the
// changes of level this host announces, the fleet emergency, hosts gone silent. Within
// `fleet.timeout` in all; a failure is an outcome (the fleet view lost or refused), never a thrown
// error, so local limits always go on. Imported only when a config has `fleet:`.
import { createHash } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { FleetConfig } from '../config/sections/fleet.js';
import { DayCalendar } from '../core/calendar.js';
import { formatDuration } from '../core/duration.js';
import type { Finding } from '../core/findings/index.js';
import { LEVELS, type Level, type WindowStatus } from '../core/levels.js';
import { dollarsOf, toMicros, usd } from '../core/money.js';
import type { AlertEvent } from '../core/types.js';
import { VERSION } from '../version.js';
import type { CheckResult } from '../check/types.js';
import { FleetError, claim, closeLink, runScript } from './link.js';
import { type FleetEmergency, type FleetMemory, loadFleetMemory, newId, saveFleetMemory } from './memory.js';
import { CLEAR_SCRIPT, PUSH_SCRIPT, RESTORE_SCRIPT, VIEW_SCRIPT } from './scripts.js';
import type { FleetHost, FleetOutcome, FleetProblem, FleetView } from './types.js';
import { redisUrlSource } from './url.js';

/** A push refused (settings, a second watchdog), with what Redis still told: the emergency. */
class RefusedPush extends FleetError {
  constructor(
    message: string,
    readonly reply: Record<string, unknown>,
  ) {
    super('refused', message);
  }
}

/** Every key of a fleet starts with this: one hash slot per fleet (`{name}`), apart from others. */
export function fleetPrefix(name: string): string {
  return `cost-watchdog:{${name}}:`;
}

/** Hosts that have not pushed for this long are forgotten by the fleet. */
export const DROP_HOST_MS = 48 * 3_600_000;
const DAY_TTL_SECONDS = 3 * 86_400;
/** Seconds dated this far ahead of Redis's clock still count (a host's clock may run ahead). */
const AHEAD_SECONDS = 600;

/** The settings every host of a fleet must share, in words: its timezone and its limits. */
export function settingsText(config: Pick<Config, 'timezone'>, fleet: Pick<FleetConfig, 'windows'>): string {
  const limits = fleet.windows.map((w) => {
    const parts = (['warn', 'emergency', 'kill'] as const)
      .filter((level) => w.limits[level] !== undefined)
      .map((level) => `${level} ${w.limits[level]}`);
    return `${w.name} ${parts.join(' ')}`;
  });
  return `timezone ${config.timezone}; ${limits.join('; ')}`;
}

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function windowArgs(fleet: FleetConfig): [string, number, number, number, number][] {
  const micros = (v: number | undefined): number => (v === undefined ? -1 : toMicros(v));
  return fleet.windows.map((w) => [
    w.name,
    w.seconds ?? 0,
    micros(w.limits.warn),
    micros(w.limits.emergency),
    micros(w.limits.kill),
  ]);
}

function longestRolling(fleet: FleetConfig): number {
  return Math.max(0, ...fleet.windows.map((w) => w.seconds ?? 0));
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asNumber = (value: unknown): number => {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? n : 0;
};
const asText = (value: unknown): string => (typeof value === 'string' ? value : '');

function levelOfRank(rank: unknown): Level {
  return LEVELS[Math.max(0, Math.min(3, Math.round(asNumber(rank))))] as Level;
}

function windowsOf(fleet: FleetConfig, rows: unknown): WindowStatus[] {
  const byName = new Map(asArray(rows).map((row) => [asText(asArray(row)[0]), asArray(row)]));
  return fleet.windows.map((w) => {
    const row = byName.get(w.name) ?? [];
    return { ...w, spend: dollarsOf(asNumber(row[1])), level: levelOfRank(row[2]) };
  });
}

function emergencyOf(value: unknown): FleetEmergency | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string') return null;
  return {
    id: v.id,
    level: v.level === 'kill' ? 'kill' : 'emergency',
    window: asText(v.window),
    spend: asNumber(v.spend),
    limit: asNumber(v.limit),
    since_ms: asNumber(v.since_ms),
    by: asText(v.by),
  };
}

function tombOf(
  value: unknown,
): { id: string; by: string; host: string; reason: string; atMs: number; forced: boolean } | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string') return null;
  return {
    id: v.id,
    by: asText(v.by),
    host: asText(v.host),
    reason: asText(v.reason),
    atMs: asNumber(v.at_ms),
    forced: v.forced === true,
  };
}

function recordOf(e: FleetEmergency): Record<string, string> {
  return {
    id: e.id,
    level: e.level,
    window: e.window,
    spend: String(e.spend),
    limit: String(e.limit),
    since_ms: String(e.since_ms),
    by: e.by,
  };
}

const notice = (name: string, about: string, text: string): Finding => ({
  key: `fleet:${name}:${about}`,
  kind: 'fleet',
  text: `fleet ${name}: ${text}`,
});

function clockOf(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

interface Connection {
  url: string;
  password: string | null;
  shown: string;
  deadline: number;
  timeoutMs: number;
}

function connection(fleet: FleetConfig): Connection | FleetProblem {
  const source = redisUrlSource(fleet, process.env);
  if (source.kind === 'broken') return { kind: 'refused', text: `${source.from} ${source.problem}` };
  return {
    url: source.url,
    password: source.password,
    shown: source.shown,
    deadline: Date.now() + fleet.timeoutMs,
    timeoutMs: fleet.timeoutMs,
  };
}

function problemOf(error: unknown): FleetProblem {
  if (error instanceof FleetError) return { kind: error.kind, text: error.message };
  return { kind: 'refused', text: error instanceof Error ? error.message : String(error) };
}

/**
 * Push this check's spend and read the fleet (run, watch). `keep`: leave the connection open for
 * the next check (watch); otherwise it is closed before returning.
 */
export async function exchangeFleet(
  config: Config,
  result: CheckResult,
  keep: boolean,
): Promise<FleetOutcome> {
  const fleet = config.fleet as FleetConfig;
  const started = Date.now();
  const memory = loadFleetMemory(config.stateDir, fleet.name);
  const conn = connection(fleet);
  const base = { shown: 'url' in conn ? conn.shown : '(no URL)' };
  let outcome: FleetOutcome;
  try {
    if (!('url' in conn)) throw new FleetError(conn.kind, conn.text);
    outcome = await push(config, fleet, result, memory, conn);
  } catch (error) {
    outcome = blindOutcome(fleet, memory, problemOf(error), base.shown, result.nowMs);
    // Refused, but told of the fleet emergency: honoured (and its clear) as by any host.
    if (error instanceof RefusedPush) {
      const record = emergencyOf(error.reply.emergency);
      const tomb = tombOf(error.reply.cleared);
      if (record !== null) {
        memory.emergency = record;
        outcome.emergency = record;
      } else if (memory.emergency !== null && tomb !== null && tomb.id === memory.emergency.id) {
        memory.emergency = null;
        outcome.emergency = null;
        outcome.cleared = tomb;
      }
    }
  } finally {
    if (!keep) await closeLink();
  }
  outcome.ms = Date.now() - started;
  saveFleetMemory(config.stateDir, memory);
  return outcome;
}

/** The fleet cannot be seen: said once (and its kind, if that changes), the session resynced later. */
function blindOutcome(
  fleet: FleetConfig,
  memory: FleetMemory,
  problem: FleetProblem,
  shown: string,
  nowMs: number,
): FleetOutcome {
  memory.session = null;
  const notices: Finding[] = [];
  if (memory.lost === null || memory.lost.kind !== problem.kind) {
    const blind =
      fleet.onLost === 'emergency'
        ? '; fleet.on_lost is emergency: the emergency flag is written while the fleet cannot be seen'
        : problem.kind === 'lost'
          ? "; only this host's own limits apply until it is back"
          : "; only this host's own limits apply until this is fixed (a fleet emergency is still " +
            'honoured when Redis tells of it)';
    notices.push(
      notice(
        fleet.name,
        `lost:${nowMs}`,
        problem.kind === 'lost'
          ? `FLEET VIEW LOST: ${problem.text} (Redis at ${shown})${blind}`
          : `FLEET REFUSED: ${problem.text} (Redis at ${shown})${blind}`,
      ),
    );
    memory.lost = { since_ms: nowMs, kind: problem.kind, why: problem.text };
  }
  return {
    name: fleet.name,
    host: fleet.host,
    shown,
    reachable: false,
    problem,
    windows: fleet.windows.map((w) => ({ ...w, spend: 0, level: 'ok' as Level })),
    // A fleet emergency known before the loss is still honoured.
    emergency: memory.emergency,
    blind: fleet.onLost === 'emergency',
    events: [],
    notices,
    cleared: null,
    hosts: 0,
    resynced: false,
    ms: 0,
  };
}

async function push(
  config: Config,
  fleet: FleetConfig,
  result: CheckResult,
  memory: FleetMemory,
  conn: Connection,
): Promise<FleetOutcome> {
  const nowMs = result.nowMs;
  const prefix = fleetPrefix(fleet.name);
  const calendar = new DayCalendar(config.timezone);
  const todayRange = calendar.dayOf(nowMs);
  const today = todayRange.key;
  const yesterday = calendar.dayOf(todayRange.startMs - 1).key;
  const longest = longestRolling(fleet);
  const fromSec = Math.floor(nowMs / 1000) - longest - AHEAD_SECONDS;
  const pick = (c: { secs: [number, number][]; days: [string, number][] }) => ({
    secs: longest === 0 ? [] : c.secs.filter(([sec]) => sec > fromSec),
    days: c.days.filter(([key]) => key === today || key === yesterday),
  });
  const settings = settingsText(config, fleet);
  const payload = (full: boolean, session: string, nextSession: string, data: ReturnType<typeof pick>) => ({
    p: prefix,
    host: fleet.host,
    instance: memory.instance,
    session,
    full,
    new_session: nextSession,
    fp: fingerprint(settings),
    settings,
    secs: data.secs,
    days: data.days,
    today,
    windows: windowArgs(fleet),
    roll_ttl: longest + AHEAD_SECONDS + 300,
    silent_ms: fleet.silentAfterMs,
    drop_ms: DROP_HOST_MS,
    day_ttl: DAY_TTL_SECONDS,
    new_id: newId(),
    mode: 'check',
    version: VERSION,
  });
  const call = (script: string, args: unknown) =>
    runScript(conn.url, conn.password, script, args, conn.deadline, conn.timeoutMs) as Promise<
      Record<string, unknown>
    >;

  let full = memory.session === null || result.fleetChanges === null;
  const next = newId();
  let reply = await call(
    PUSH_SCRIPT,
    payload(
      full,
      memory.session ?? '',
      next,
      pick(full ? result.ledger.everything(fromSec) : result.fleetChanges!),
    ),
  );
  if (reply.resync === true) {
    full = true;
    reply = await call(PUSH_SCRIPT, payload(true, '', next, pick(result.ledger.everything(fromSec))));
  }
  const ago = formatDuration(Math.max(0, asNumber(reply.now_ms) - asNumber(reply.last_ms)));
  if (reply.refused === 'settings')
    throw new RefusedPush(
      `host ${asText(reply.other)} (seen ${ago} ago) has other fleet settings: ` +
        `${asText(reply.settings)}; this host has: ${settings}. Every host of a fleet needs the same ` +
        'timezone and fleet.limits (a host is refused while more hosts, or as many with theirs in ' +
        'force, have other settings; its spend is not counted, but it still honours the fleet emergency)',
      reply,
    );
  if (reply.refused === 'instance')
    throw new RefusedPush(
      `another watchdog pushes as host ${fleet.host} (${ago} ago, from another machine or state ` +
        'folder): give each host its own fleet.host',
      reply,
    );
  if (!Array.isArray(reply.windows) && typeof reply.windows !== 'object')
    throw new FleetError('refused', 'Redis answered the fleet push in a shape this version does not know');
  memory.session = next;

  const notices: Finding[] = [];
  const serverNow = asNumber(reply.now_ms);
  if (memory.lost !== null) {
    notices.push(
      notice(
        fleet.name,
        `back:${memory.lost.since_ms}`,
        `fleet view back after ${formatDuration(Math.max(0, nowMs - memory.lost.since_ms))} ` +
          `(Redis at ${conn.shown})`,
      ),
    );
    memory.lost = null;
  }
  for (const row of asArray(reply.refused_hosts)) {
    const [host, other] = asArray(row);
    notices.push(
      notice(
        fleet.name,
        `refused-host:${asText(host)}`,
        `host ${asText(host)} is REFUSED: it has other fleet settings (${asText(other)}) than the ` +
          `fleet's (${settings}): its spend is not counted in the fleet's windows until its config is ` +
          'fixed',
      ),
    );
  }
  for (const row of asArray(reply.silent)) {
    const [host, last] = asArray(row);
    notices.push(
      notice(
        fleet.name,
        `silent:${asText(host)}:${asNumber(last)}`,
        `host ${asText(host)} has not pushed for ` +
          `${formatDuration(Math.max(0, serverNow - asNumber(last)))} (last at ` +
          `${clockOf(asNumber(last))}): its watchdog may be down; what it pushed still counts until ` +
          "it leaves the fleet's windows",
      ),
    );
  }
  if (reply.back !== undefined)
    notices.push(
      notice(
        fleet.name,
        `host-back:${fleet.host}:${asNumber(reply.back)}`,
        `host ${fleet.host} pushes again (it was silent since ${clockOf(asNumber(reply.back))})`,
      ),
    );

  const windows = windowsOf(fleet, reply.windows);
  const limitsOf = new Map(fleet.windows.map((w) => [w.name, w.limits]));
  const events: AlertEvent[] = asArray(reply.grants).map((row) => {
    const [name, rank, previous, total] = asArray(row);
    const level = levelOfRank(rank);
    const was = levelOfRank(previous);
    const limits = limitsOf.get(asText(name)) ?? {};
    return {
      kind: level === 'ok' ? 'recovery' : was === 'ok' ? 'enter' : 'escalate',
      window: `fleet ${asText(name)}`,
      level,
      previous: was,
      spend: dollarsOf(asNumber(total)),
      limit: level === 'ok' ? null : (limits[level] ?? null),
    };
  });

  let emergency = emergencyOf(reply.emergency);
  let cleared: FleetOutcome['cleared'] = null;
  const tomb = tombOf(reply.cleared);
  if (emergency !== null) {
    memory.emergency = emergency;
  } else if (memory.emergency !== null) {
    const held = memory.emergency;
    if (tomb !== null && tomb.id === held.id) {
      cleared = tomb;
      memory.emergency = null;
    } else {
      // Redis lost the fleet emergency (restarted empty) while this host holds its flag for it.
      const restored = await call(RESTORE_SCRIPT, { p: prefix, record: recordOf(held) });
      const gone = tombOf(restored.cleared);
      if (gone !== null && gone.id === held.id) {
        cleared = gone;
        memory.emergency = null;
      } else {
        emergency = held;
        if (restored.restored === true)
          notices.push(
            notice(
              fleet.name,
              `restored:${held.id}`,
              `the fleet emergency (${held.window} ${usd(dollarsOf(held.spend))}, since ` +
                `${clockOf(held.since_ms)}) was missing from Redis: put back from host ` +
                `${fleet.host}'s memory`,
            ),
          );
      }
    }
  }
  return {
    name: fleet.name,
    host: fleet.host,
    shown: conn.shown,
    reachable: true,
    problem: null,
    windows,
    emergency,
    blind: false,
    events,
    notices,
    cleared,
    hosts: asNumber(reply.hosts),
    resynced: full,
    ms: 0,
  };
}

/** A check that saved its checkpoint without pushing (kill, clear-emergency): resync next time. */
export function forgetSession(config: Config): void {
  const fleet = config.fleet as FleetConfig;
  const memory = loadFleetMemory(config.stateDir, fleet.name);
  if (memory.session === null) return;
  memory.session = null;
  saveFleetMemory(config.stateDir, memory);
}

/** The fleet's reminder of an emergency in force is said by one host per interval: this one? */
export async function claimReminder(config: Config, reminderMs: number): Promise<boolean> {
  const fleet = config.fleet as FleetConfig;
  const conn = connection(fleet);
  if (!('url' in conn)) return true;
  try {
    return await claim(
      conn.url,
      conn.password,
      `${fleetPrefix(fleet.name)}remind`,
      fleet.host,
      Math.max(1000, reminderMs - 5000),
      conn.deadline,
      conn.timeoutMs,
    );
  } catch {
    // Redis cannot say who reminds: this host does (a reminder too many beats none).
    return true;
  } finally {
    await closeLink();
  }
}

/** The fleet as it stands, without pushing (status, run --dry-run, clear-emergency --fleet). */
export async function viewFleet(config: Config, nowMs: number): Promise<FleetView> {
  const fleet = config.fleet as FleetConfig;
  const conn = connection(fleet);
  const shown = 'url' in conn ? conn.shown : '(no URL)';
  const empty: FleetView = {
    name: fleet.name,
    host: fleet.host,
    shown,
    reachable: false,
    problem: null,
    windows: fleet.windows.map((w) => ({ ...w, spend: 0, level: 'ok' as Level })),
    emergency: null,
    cleared: null,
    hosts: [],
  };
  if (!('url' in conn)) return { ...empty, problem: conn };
  try {
    const calendar = new DayCalendar(config.timezone);
    const reply = (await runScript(
      conn.url,
      conn.password,
      VIEW_SCRIPT,
      { p: fleetPrefix(fleet.name), windows: windowArgs(fleet), today: calendar.dayOf(nowMs).key },
      conn.deadline,
      conn.timeoutMs,
    )) as Record<string, unknown>;
    const serverNow = asNumber(reply.now_ms);
    const parts = (reply.parts ?? {}) as Record<string, Record<string, unknown>>;
    const hosts: FleetHost[] = asArray(reply.hosts).map((row) => {
      const [host, last, mode, version, settings, silent, refused] = asArray(row);
      const spend: Record<string, number> = {};
      for (const w of fleet.windows) {
        const part = parts[w.name];
        spend[w.name] = dollarsOf(
          asNumber(part !== null && typeof part === 'object' ? part[asText(host)] : 0),
        );
      }
      const ageMs = Math.max(0, serverNow - asNumber(last));
      return {
        host: asText(host),
        lastPushAgeSeconds: Math.round(ageMs / 1000),
        mode: asText(mode),
        version: asText(version),
        // The mark comes with another host's push: with none (one host left), the age tells.
        silent: silent === true || ageMs >= fleet.silentAfterMs,
        settings: asText(settings),
        refused: refused === true,
        spend,
      };
    });
    hosts.sort((a, b) => a.host.localeCompare(b.host));
    const emergency = emergencyOf(reply.emergency);
    return {
      ...empty,
      reachable: true,
      windows: windowsOf(fleet, reply.windows),
      emergency: emergency === null ? null : { ...emergency, active: true },
      cleared: tombOf(reply.cleared),
      hosts,
    };
  } catch (error) {
    return { ...empty, problem: problemOf(error) };
  } finally {
    await closeLink();
  }
}

/** clear-emergency --fleet: end the fleet emergency for every host (each clears its own flag). */
export async function clearFleet(
  config: Config,
  who: {
    by: string;
    host: string;
    reason: string;
    forced: boolean;
    acknowledged: Record<string, Level>;
    /** The fleet emergency this host holds its flag for (fleet.json): cleared too if Redis lost it. */
    held?: FleetEmergency | null;
  },
): Promise<{ cleared: FleetEmergency | null; problem: FleetProblem | null }> {
  const fleet = config.fleet as FleetConfig;
  const conn = connection(fleet);
  if (!('url' in conn)) return { cleared: null, problem: conn };
  try {
    const ack: Record<string, number> = {};
    for (const [window, level] of Object.entries(who.acknowledged)) ack[window] = LEVELS.indexOf(level);
    const reply = (await runScript(
      conn.url,
      conn.password,
      CLEAR_SCRIPT,
      {
        p: fleetPrefix(fleet.name),
        by: who.by,
        host: who.host,
        reason: who.reason,
        forced: who.forced,
        ack,
        ...(who.held != null ? { held: recordOf(who.held) } : {}),
      },
      conn.deadline,
      conn.timeoutMs,
    )) as Record<string, unknown>;
    return { cleared: emergencyOf(reply.cleared), problem: null };
  } catch (error) {
    return { cleared: null, problem: problemOf(error) };
  } finally {
    await closeLink();
  }
}

/** A view as one check's outcome (run --dry-run): nothing announced, nothing remembered. */
export function outcomeOfView(view: FleetView): FleetOutcome {
  return {
    name: view.name,
    host: view.host,
    shown: view.shown,
    reachable: view.reachable,
    problem: view.problem,
    windows: view.windows,
    emergency: view.emergency,
    blind: false,
    events: [],
    notices: [],
    cleared: null,
    hosts: view.hosts.length,
    resynced: false,
    ms: 0,
  };
}

/** The fleet's event channel, for `watch`. */
export function fleetChannel(name: string): string {
  return `${fleetPrefix(name)}events`;
}
