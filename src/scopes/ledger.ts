// Scoped budgets, one scope's (or one value's) spend: small and sparse (only the seconds with spend
// inside the scope's longest rolling window, and today's total), so that ten thousand values of
// `each` stay within a few megabytes; the main Ledger's ring of one slot per second would not. Pure.

/**
 * One scope's (or one value's) spend: seconds and µ$ alternating, oldest first (flat: ten
 * thousand values are not a million little arrays), and µ$ per local date.
 */
export interface SmallLedgerState {
  rolling: number[];
  daily: Record<string, number>;
}

export class SmallLedger {
  /** Seconds and µ$ alternating, oldest first (lines come nearly in order): one array, not two. */
  roll: number[] = [];
  /** The day most lines fall in (today), and any other (a line dated into tomorrow). */
  dayKey = '';
  dayTotal = 0;
  otherDays: [string, number][] | null = null;

  addRolling(sec: number, cost: number): void {
    const roll = this.roll;
    const n = roll.length;
    const last = n === 0 ? -1 : (roll[n - 2] as number);
    if (sec === last) roll[n - 1] = (roll[n - 1] as number) + cost;
    else if (sec > last) roll.push(sec, cost);
    else {
      // Out of order: its place, found from the end.
      let i = n - 2;
      while (i >= 0 && (roll[i] as number) > sec) i -= 2;
      if (i >= 0 && roll[i] === sec) roll[i + 1] = (roll[i + 1] as number) + cost;
      else roll.splice(i + 2, 0, sec, cost);
    }
  }

  addDay(key: string, cost: number): void {
    if (this.dayKey === key) {
      this.dayTotal += cost;
      return;
    }
    if (this.dayKey === '') {
      this.dayKey = key;
      this.dayTotal = cost;
      return;
    }
    this.otherDays ??= [];
    const other = this.otherDays.find((d) => d[0] === key);
    if (other !== undefined) other[1] += cost;
    else this.otherDays.push([key, cost]);
  }

  rollingSince(fromSec: number): number {
    const roll = this.roll;
    let total = 0;
    for (let i = roll.length - 2; i >= 0 && (roll[i] as number) > fromSec; i -= 2)
      total += roll[i + 1] as number;
    return total;
  }

  day(key: string): number {
    if (this.dayKey === key) return this.dayTotal;
    return this.otherDays?.find((d) => d[0] === key)?.[1] ?? 0;
  }

  /** Every day kept with its µ$. */
  days(): [string, number][] {
    const out: [string, number][] = this.dayKey === '' ? [] : [[this.dayKey, this.dayTotal]];
    if (this.otherDays !== null) out.push(...this.otherDays);
    return out;
  }

  /** Forget seconds at or before `fromSec` and days before `todayKey`; true when nothing is left. */
  prune(fromSec: number, todayKey: string): boolean {
    let cut = 0;
    while (cut < this.roll.length && (this.roll[cut] as number) <= fromSec) cut += 2;
    if (cut > 0) this.roll.splice(0, cut);
    const kept = this.days().filter(([key]) => key >= todayKey);
    this.dayKey = kept[0]?.[0] ?? '';
    this.dayTotal = kept[0]?.[1] ?? 0;
    this.otherDays = kept.length > 1 ? kept.slice(1) : null;
    return this.roll.length === 0 && this.dayKey === '';
  }

  toState(): SmallLedgerState {
    return { rolling: [...this.roll], daily: Object.fromEntries(this.days()) };
  }
}

function isMicros(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Saved seconds and days into `ledger`; false when they are not the shape written. */
export function restoreInto(ledger: SmallLedger, bits: unknown, latestSec: number, nowSec: number): boolean {
  if (bits === null || typeof bits !== 'object') return false;
  const { rolling, daily } = bits as Partial<SmallLedgerState>;
  if (!Array.isArray(rolling) || daily === null || typeof daily !== 'object' || Array.isArray(daily))
    return false;
  if (rolling.length % 2 !== 0) return false;
  let last = -Infinity;
  for (let i = 0; i < rolling.length; i += 2) {
    const sec = rolling[i] as unknown;
    const cost = rolling[i + 1] as unknown;
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
