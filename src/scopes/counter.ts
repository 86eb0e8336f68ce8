// Scoped budgets, counting: each line's spend goes to every scope it matches (and, for `each`, to
// the ledger of its value). Pure. A scope's ledger is small and sparse (only the seconds with
// spend inside the scope's longest rolling window, and today's total), so that ten thousand values
// of `each` stay within a few megabytes; the main Ledger's ring of one slot per second would not.
import type { DayCalendar } from '../core/calendar.js';
import { FUTURE_TOLERANCE_MS } from '../core/ledger.js';
import { assess, type WindowStatus } from '../core/levels.js';
import type { ScopeConfig } from '../config/sections/scopes.js';
import { matchesAll, type ScopeField, type ScopeValues } from './match.js';

/** Distinct values of one `each` scope kept by name; the rest are counted under OTHER_VALUE. */
export const MAX_VALUES = 100_000;
export const OTHER_VALUE = '(other)';

/** One scope's (or one value's) spend: [second, µ$] pairs oldest first, and µ$ per local date. */
export interface SmallLedgerState {
  rolling: [number, number][];
  daily: Record<string, number>;
}

class SmallLedger {
  /** Seconds and µ$ in two flat lists, oldest first (lines come nearly in order). */
  secs: number[] = [];
  costs: number[] = [];
  dayKeys: string[] = [];
  dayTotals: number[] = [];

  addRolling(sec: number, cost: number): void {
    const n = this.secs.length;
    const last = n === 0 ? -1 : (this.secs[n - 1] as number);
    if (sec === last) this.costs[n - 1] = (this.costs[n - 1] as number) + cost;
    else if (sec > last) {
      this.secs.push(sec);
      this.costs.push(cost);
    } else {
      // Out of order: its place, found from the end.
      let i = n - 1;
      while (i >= 0 && (this.secs[i] as number) > sec) i--;
      if (i >= 0 && this.secs[i] === sec) this.costs[i] = (this.costs[i] as number) + cost;
      else {
        this.secs.splice(i + 1, 0, sec);
        this.costs.splice(i + 1, 0, cost);
      }
    }
  }

  addDay(key: string, cost: number): void {
    const i = this.dayKeys.indexOf(key);
    if (i >= 0) this.dayTotals[i] = (this.dayTotals[i] as number) + cost;
    else {
      this.dayKeys.push(key);
      this.dayTotals.push(cost);
    }
  }

  rollingSince(fromSec: number): number {
    let total = 0;
    for (let i = this.secs.length - 1; i >= 0 && (this.secs[i] as number) > fromSec; i--)
      total += this.costs[i] as number;
    return total;
  }

  day(key: string): number {
    const i = this.dayKeys.indexOf(key);
    return i < 0 ? 0 : (this.dayTotals[i] as number);
  }

  /** Forget seconds at or before `fromSec` and days before `todayKey`; true when nothing is left. */
  prune(fromSec: number, todayKey: string): boolean {
    let cut = 0;
    while (cut < this.secs.length && (this.secs[cut] as number) <= fromSec) cut++;
    if (cut > 0) {
      this.secs.splice(0, cut);
      this.costs.splice(0, cut);
    }
    for (let i = this.dayKeys.length - 1; i >= 0; i--) {
      if ((this.dayKeys[i] as string) < todayKey) {
        this.dayKeys.splice(i, 1);
        this.dayTotals.splice(i, 1);
      }
    }
    return this.secs.length === 0 && this.dayKeys.length === 0;
  }

  toState(): SmallLedgerState {
    const daily: Record<string, number> = {};
    this.dayKeys.forEach((key, i) => {
      daily[key] = this.dayTotals[i] as number;
    });
    return { rolling: this.secs.map((s, i) => [s, this.costs[i] as number]), daily };
  }
}

/** One scope as counted: its ledger, or one per value. */
interface Counted {
  config: ScopeConfig;
  horizonSec: number;
  single: SmallLedger | null;
  values: Map<string, SmallLedger> | null;
}

/** Where one instance of a scope stands: the scope, its key (`{agent: "research"}`; `{}` without each). */
export interface ScopeStatus {
  name: string;
  each: ScopeField | null;
  /** The value under `each`; null for a scope without each. */
  value: string | null;
  key: Record<string, string>;
  windows: WindowStatus[];
}

/** The saved form (checkpoint.json `scopes`). `signature`: what the counting depended on. */
export interface ScopeCounterState {
  signature: string;
  scopes: Record<string, { single?: SmallLedgerState; values?: Record<string, SmallLedgerState> }>;
}

/** What a scope's counting depends on: a change means its spend so far must be read again. */
export function scopesSignature(scopes: readonly ScopeConfig[], timeZone: string): string {
  return JSON.stringify([
    timeZone,
    scopes.map((s) => [
      s.name,
      s.match.map((m) => [m.field, m.value]),
      s.each,
      s.windows.map((w) => w.seconds),
    ]),
  ]);
}

function horizonOf(scope: ScopeConfig): number {
  let longest = 0;
  for (const w of scope.windows) if (w.seconds !== null && w.seconds > longest) longest = w.seconds;
  return longest;
}

/**
 * The spend of every scope, per value for `each`. `add` is called for every line counted (from
 * SpendScanner.count); `statuses` gives the windows of each instance at the time of the check.
 */
export class ScopeCounter {
  private readonly counted: Counted[];
  private nowSec: number;
  private todayKey: string;
  private readonly values: ScopeValues = {
    agent: null,
    model: null,
    provider: null,
    task: null,
    source: null,
  };
  /** The day that the last line fell in (nearly every line falls in it). */
  private hotDay = { key: '', startMs: 0, endMs: 0 };
  /** Values beyond MAX_VALUES were counted under OTHER_VALUE (per scope name). */
  readonly overflowed = new Set<string>();

  constructor(
    readonly scopes: readonly ScopeConfig[],
    private readonly calendar: DayCalendar,
    nowMs: number,
  ) {
    this.nowSec = Math.floor(nowMs / 1000);
    this.todayKey = calendar.dayOf(nowMs).key;
    this.counted = scopes.map((config) => ({
      config,
      horizonSec: horizonOf(config),
      single: config.each === null ? new SmallLedger() : null,
      values: config.each === null ? null : new Map(),
    }));
  }

  get empty(): boolean {
    return this.counted.length === 0;
  }

  /** Count one line (µ$ at `timeMs`, already moved to now when far in the future). */
  add(
    timeMs: number,
    cost: number,
    agent: string | null,
    model: string | null,
    provider: string | null,
    task: string | null,
    source: string | null,
  ): void {
    if (cost === 0) return;
    const v = this.values;
    v.agent = agent;
    v.model = model;
    v.provider = provider;
    v.task = task;
    v.source = source;
    const sec = Math.floor(timeMs / 1000);
    let dayKey: string | null = null;
    for (const c of this.counted) {
      if (c.config.match.length > 0 && !matchesAll(c.config.match, v)) continue;
      let ledger = c.single;
      if (c.values !== null) {
        const value = v[c.config.each as ScopeField];
        if (value === null) continue;
        ledger = c.values.get(value) ?? null;
        if (ledger === null) {
          ledger = new SmallLedger();
          if (c.values.size >= MAX_VALUES) {
            this.overflowed.add(c.config.name);
            ledger = c.values.get(OTHER_VALUE) ?? ledger;
            c.values.set(OTHER_VALUE, ledger);
          } else c.values.set(value, ledger);
        }
      }
      if (ledger === null) continue;
      if (sec > this.nowSec - c.horizonSec) ledger.addRolling(sec, cost);
      dayKey ??= this.dayKeyOf(timeMs);
      if (dayKey >= this.todayKey) ledger.addDay(dayKey, cost);
    }
  }

  private dayKeyOf(timeMs: number): string {
    const hot = this.hotDay;
    if (timeMs >= hot.startMs && timeMs < hot.endMs) return hot.key;
    const range = this.calendar.dayOf(timeMs);
    this.hotDay = { key: range.key, startMs: range.startMs, endMs: range.endMs };
    return range.key;
  }

  private statusOf(c: Counted, value: string | null, ledger: SmallLedger | null): ScopeStatus {
    const nowSec = this.nowSec;
    const today = this.todayKey;
    const spend = {
      rolling: (seconds: number) => ledger?.rollingSince(nowSec - seconds) ?? 0,
      today: () => ledger?.day(today) ?? 0,
    };
    const each = c.config.each;
    return {
      name: c.config.name,
      each,
      value,
      key: each === null || value === null ? {} : { [each]: value },
      windows: assess(c.config.windows, spend),
    };
  }

  /** Every instance with spend kept (each scope without `each` always, at $0 too). */
  statuses(): ScopeStatus[] {
    const out: ScopeStatus[] = [];
    for (const c of this.counted) {
      if (c.single !== null) out.push(this.statusOf(c, null, c.single));
      else for (const [value, ledger] of c.values ?? []) out.push(this.statusOf(c, value, ledger));
    }
    return out;
  }

  /** One instance, also one with nothing counted (a value remembered from an earlier check). */
  status(name: string, value: string | null): ScopeStatus | null {
    const c = this.counted.find((x) => x.config.name === name);
    if (c === undefined) return null;
    if (c.values === null) return this.statusOf(c, null, c.single);
    if (value === null) return null;
    return this.statusOf(c, value, c.values.get(value) ?? null);
  }

  /** Forget what no window can see any more (and values left with nothing). */
  private prune(): void {
    for (const c of this.counted) {
      const from = this.nowSec - c.horizonSec;
      c.single?.prune(from, this.todayKey);
      if (c.values !== null)
        for (const [value, ledger] of c.values) if (ledger.prune(from, this.todayKey)) c.values.delete(value);
    }
  }

  toState(): ScopeCounterState {
    this.prune();
    const scopes: ScopeCounterState['scopes'] = {};
    for (const c of this.counted) {
      if (c.single !== null) scopes[c.config.name] = { single: c.single.toState() };
      else {
        const values: Record<string, SmallLedgerState> = {};
        for (const [value, ledger] of c.values ?? []) values[value] = ledger.toState();
        scopes[c.config.name] = { values };
      }
    }
    return { signature: scopesSignature(this.scopes, this.calendar.timeZone), scopes };
  }

  /**
   * The counter from a checkpoint's `scopes`; never throws. Null when it cannot be trusted to hold
   * the spend so far (another scope config, a damaged entry): the caller rebuilds from the log.
   * With no scopes configured and none saved, a fresh (empty) counter.
   */
  static fromState(
    state: unknown,
    scopes: readonly ScopeConfig[],
    calendar: DayCalendar,
    nowMs: number,
  ): ScopeCounter | null {
    const counter = new ScopeCounter(scopes, calendar, nowMs);
    if (scopes.length === 0) return counter;
    if (state === undefined || state === null) return null;
    try {
      const s = state as ScopeCounterState;
      if (typeof s !== 'object' || s.signature !== scopesSignature(scopes, calendar.timeZone)) return null;
      if (s.scopes === null || typeof s.scopes !== 'object') return null;
      const latest = counter.nowSec + FUTURE_TOLERANCE_MS / 1000;
      for (const c of counter.counted) {
        const saved = Object.hasOwn(s.scopes, c.config.name) ? s.scopes[c.config.name] : undefined;
        if (saved === undefined || saved === null || typeof saved !== 'object') return null;
        if (c.single !== null) {
          if (!restoreInto(c.single, saved.single, latest, counter.nowSec)) return null;
        } else {
          const values = saved.values;
          if (values === null || typeof values !== 'object' || Array.isArray(values)) return null;
          for (const [value, bits] of Object.entries(values)) {
            const ledger = new SmallLedger();
            if (!restoreInto(ledger, bits, latest, counter.nowSec)) return null;
            c.values?.set(value, ledger);
          }
        }
      }
      return counter;
    } catch {
      return null;
    }
  }
}

function isMicros(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Saved seconds and days into `ledger`; false when they are not the shape written. */
function restoreInto(ledger: SmallLedger, bits: unknown, latestSec: number, nowSec: number): boolean {
  if (bits === null || typeof bits !== 'object') return false;
  const { rolling, daily } = bits as Partial<SmallLedgerState>;
  if (!Array.isArray(rolling) || daily === null || typeof daily !== 'object' || Array.isArray(daily))
    return false;
  let last = -Infinity;
  for (const entry of rolling) {
    if (!Array.isArray(entry) || entry.length !== 2) return false;
    const [sec, cost] = entry as [unknown, unknown];
    if (!Number.isSafeInteger(sec) || !isMicros(cost) || (sec as number) <= last) return false;
    last = sec as number;
    // Saved ahead of now beyond the tolerance: the clock went back; counted as now.
    ledger.addRolling((sec as number) > latestSec ? nowSec : (sec as number), cost);
  }
  for (const [key, cost] of Object.entries(daily)) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(key) || !isMicros(cost)) return false;
    ledger.addDay(key, cost);
  }
  return true;
}
