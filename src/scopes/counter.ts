// Scoped budgets, counting: each line's spend goes to every scope it matches (and, for `each`, to
// the ledger of its value, ledger.ts); the saved form, and the packed form a helper thread sends.
// Pure.
import type { DayCalendar } from '../core/calendar.js';
import { FUTURE_TOLERANCE_MS } from '../core/ledger.js';
import { assess, levelOfMicros, type WindowStatus } from '../core/levels.js';
import type { ScopeConfig } from '../config/sections/scopes.js';
import type { CostRecord } from '../core/fields.js';
import type { PackedScopes } from '../core/scan.js';
import { restoreInto, SmallLedger, type SmallLedgerState } from './ledger.js';
import { eachLabelId, matchesAll, type ScopeField, type ScopeValues } from './match.js';

/** Distinct values of one `each` scope kept by name; the rest are counted under OTHER_VALUE. */
export const MAX_VALUES = 100_000;
export const OTHER_VALUE = '(other)';
/** Values of an `each` scope listed besides those above ok: the top ones by spend. */
export const TOP_VALUES = 10;

/** One scope as counted: its ledger, or one per value. */
interface Counted {
  config: ScopeConfig;
  horizonSec: number;
  single: SmallLedger | null;
  values: Map<string, SmallLedger> | null;
  /**
   * Under `each` on agent, model or provider: the ledgers by the scan's label id (core/labels.ts),
   * so that a line whose value has an id finds its ledger without hashing the text.
   */
  byId: (SmallLedger | undefined)[] | null;
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
  /** Scopes with more values than MAX_VALUES (the rest counted as OTHER_VALUE). */
  overflowed?: string[];
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
      byId: config.each === 'agent' || config.each === 'model' || config.each === 'provider' ? [] : null,
    }));
  }

  get empty(): boolean {
    return this.counted.length === 0;
  }

  /** Count one line (µ$ at `timeMs`, already moved to now when far in the future). */
  add(timeMs: number, cost: number, record: CostRecord, source: string): void {
    if (cost === 0) return;
    const v = this.values;
    v.agent = record.agent;
    v.model = record.model;
    v.provider = record.provider;
    v.task = record.task;
    v.source = source === '' ? null : source;
    const sec = Math.floor(timeMs / 1000);
    let dayKey: string | null = null;
    for (const c of this.counted) {
      if (c.config.match.length > 0 && !matchesAll(c.config.match, v)) continue;
      let ledger = c.single;
      if (c.values !== null) {
        const each = c.config.each as ScopeField;
        const id = c.byId === null ? -1 : eachLabelId(record, each);
        ledger = id >= 0 ? (c.byId?.[id] ?? null) : null;
        if (ledger === null) {
          const value = v[each];
          if (value === null) continue;
          ledger = this.valueLedger(c, value);
          if (id >= 0 && c.byId !== null) c.byId[id] = ledger;
        }
      }
      if (ledger === null) continue;
      if (sec > this.nowSec - c.horizonSec) ledger.addRolling(sec, cost);
      dayKey ??= this.dayKeyOf(timeMs);
      if (dayKey >= this.todayKey) ledger.addDay(dayKey, cost);
    }
  }

  private valueLedger(c: Counted, value: string): SmallLedger {
    const values = c.values as Map<string, SmallLedger>;
    let ledger = values.get(value);
    if (ledger !== undefined) return ledger;
    if (values.size >= MAX_VALUES) {
      this.overflowed.add(c.config.name);
      ledger = values.get(OTHER_VALUE);
      if (ledger !== undefined) return ledger;
      value = OTHER_VALUE;
    }
    ledger = new SmallLedger();
    values.set(value, ledger);
    return ledger;
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

  /**
   * The instances to show and decide on: every scope without `each` (at $0 too), and under `each`
   * the values above ok and the `top` others by spend (their largest window). Ten thousand quiet
   * values are not each made a status; `values` counts them all.
   */
  statuses(top = TOP_VALUES): ScopeStatus[] {
    const out: ScopeStatus[] = [];
    for (const c of this.counted) {
      if (c.single !== null) {
        out.push(this.statusOf(c, null, c.single));
        continue;
      }
      const best: [number, string, SmallLedger][] = [];
      for (const [value, ledger] of c.values ?? []) {
        let most = 0;
        let above = false;
        for (const w of c.config.windows) {
          const micros =
            w.seconds === null ? ledger.day(this.todayKey) : ledger.rollingSince(this.nowSec - w.seconds);
          if (micros > most) most = micros;
          if (!above && levelOfMicros(micros, w.limits) !== 'ok') above = true;
        }
        if (above) out.push(this.statusOf(c, value, ledger));
        else if (
          top > 0 &&
          (best.length < top || most > (best[best.length - 1] as [number, string, SmallLedger])[0])
        ) {
          best.push([most, value, ledger]);
          best.sort((a, b) => b[0] - a[0]);
          if (best.length > top) best.pop();
        }
      }
      for (const [, value, ledger] of best) out.push(this.statusOf(c, value, ledger));
    }
    return out;
  }

  /** How many values each `each` scope holds (name -> count). */
  valueCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.counted) if (c.values !== null) out[c.config.name] = c.values.size;
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

  /**
   * The spend counted, packed for a thread to send (the numbers in one transferable buffer):
   * per scope its values (one '' without each), and per ledger in that order: n, n pairs of
   * second and µ$, d, d pairs of date (yyyymmdd) and µ$.
   */
  pack(): PackedScopes {
    const ledgers: SmallLedger[] = [];
    const values: string[][] = [];
    for (const c of this.counted) {
      if (c.single !== null) {
        values.push(['']);
        ledgers.push(c.single);
      } else {
        const names: string[] = [];
        for (const [value, ledger] of c.values ?? []) {
          names.push(value);
          ledgers.push(ledger);
        }
        values.push(names);
      }
    }
    let size = 0;
    for (const l of ledgers) size += 2 + l.roll.length + 2 * l.days().length;
    const data = new Float64Array(size);
    let at = 0;
    for (const l of ledgers) {
      data[at++] = l.roll.length / 2;
      for (const x of l.roll) data[at++] = x;
      const days = l.days();
      data[at++] = days.length;
      for (const [key, total] of days) {
        data[at++] = Number(key.replaceAll('-', ''));
        data[at++] = total;
      }
    }
    return { values, data, overflowed: [...this.overflowed] };
  }

  /** Take in what another reader of the same log at the same time packed (same scopes, same now). */
  absorbPacked(packed: PackedScopes): void {
    const { data } = packed;
    let at = 0;
    this.counted.forEach((c, index) => {
      for (const value of packed.values[index] ?? []) {
        const ledger = c.single ?? this.valueLedger(c, value);
        const n = data[at++] as number;
        for (let i = 0; i < n; i++, at += 2) ledger.addRolling(data[at] as number, data[at + 1] as number);
        const d = data[at++] as number;
        for (let i = 0; i < d; i++, at += 2) {
          const k = String(data[at]);
          ledger.addDay(`${k.slice(0, 4)}-${k.slice(4, 6)}-${k.slice(6, 8)}`, data[at + 1] as number);
        }
      }
    });
    for (const name of packed.overflowed) this.overflowed.add(name);
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
    return {
      signature: scopesSignature(this.scopes, this.calendar.timeZone),
      scopes,
      ...(this.overflowed.size > 0 ? { overflowed: [...this.overflowed] } : {}),
    };
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
