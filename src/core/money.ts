// Money. Spend is counted in integer micro-dollars (µ$): a line's cost is rounded to µ$ once, where
// it is read, and every sum after that is a sum of integers, exact in a double up to 2^53 µ$
// ($9e9). Limits are compared in µ$. Dollars appear only in output (µ$ / 1e6, which prints as the
// decimal it is: 5, not 4.999999999). (Not toLocaleString: its first call loads ICU, ~10 ms a run.)
import type { Limits } from './types.js';

export const MICROS_PER_USD = 1_000_000;

/** Dollars -> whole micro-dollars. */
export function toMicros(dollars: number): number {
  return Math.round(dollars * MICROS_PER_USD);
}

/** Whole micro-dollars -> dollars, for output. */
export function dollarsOf(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Money for people, one rule everywhere in text: two decimals ($4.20, $0.30, $1,234.50), cut and
 * never rounded up; a non-zero amount under one cent shows its digits down to the micro-dollar
 * instead ($0.0042, $0.000001), so that it never reads as nothing. JSON keeps the exact numbers.
 * Never "$Infinity.undefined": a figure that is not finite says so.
 */
export function usd(amount: number): string {
  if (!Number.isFinite(amount)) return '$(not a number)';
  // Cut, not rounded, from the whole micro-dollars: a figure shown never exceeds what was spent,
  // so $4.999999 reads $4.99 beside an emergency limit of $5.00 that it has not reached (rounded,
  // it read "$5.00 ok"), and half-cents never fall either way by a double's error.
  const abs = Math.abs(amount);
  const micros = Math.round(abs * MICROS_PER_USD);
  if (micros === 0) return '$0.00';
  if (micros < MICROS_PER_USD / 100)
    return `${amount < 0 ? '-' : ''}$0.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  // toFixed writes 1e+21 and above in exponent form: whole dollars by BigInt there.
  const [whole, part] =
    abs < 1e9
      ? ((Math.floor(micros / 10_000) / 100).toFixed(2).split('.') as [string, string])
      : abs < 1e15
        ? (abs.toFixed(2).split('.') as [string, string])
        : [BigInt(Math.round(abs)).toString(), '00'];
  return `${amount < 0 ? '-' : ''}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${part}`;
}

/** usd() of an amount in micro-dollars. */
export function usdOfMicros(micros: number): string {
  return usd(dollarsOf(micros));
}

export function limitsText(limits: Limits): string {
  const parts: string[] = [];
  if (limits.warn !== undefined) parts.push(`warn ${usd(limits.warn)}`);
  if (limits.emergency !== undefined) parts.push(`emergency ${usd(limits.emergency)}`);
  if (limits.kill !== undefined) parts.push(`kill ${usd(limits.kill)}`);
  return parts.length > 0 ? parts.join(' / ') : 'no limits';
}
