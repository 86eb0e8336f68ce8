// Money. Spend is counted in integer micro-dollars (µ$): a line's cost is rounded to µ$ once, where
// it is read, and every sum after that is a sum of integers, exact in a double up to 2^53 µ$
// ($9e9). Limits are compared in µ$. Dollars appear only in output (µ$ / 1e6, which prints as the
// decimal it is: 5, not 4.999999999). (Not toLocaleString: its first call loads ICU, ~10 ms a run; Intl
// is asked only once, and only when a config shows figures in another currency.)
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

let isoCodes: Set<string> | null = null;

/** Whether `code` is an ISO 4217 currency code in use (the list the runtime's ICU knows). */
export function isCurrencyCode(code: string): boolean {
  isoCodes ??= new Set(Intl.supportedValuesOf('currency'));
  return /^[A-Z]{3}$/.test(code) && isoCodes.has(code);
}

/** The currency figures are shown in, where people read them: USD unless a config says otherwise. */
export interface DisplayCurrency {
  /** ISO 4217 code. */
  code: string;
  /** USD per unit (cost.currency_rates). */
  rate: number;
}

interface Shown {
  code: string;
  rate: number;
  /** `€`, `£`, `¥`, `CA$`, `CHF ` (a symbol of letters is followed by a space). */
  symbol: string;
  /** Minor digits: 2 for EUR, 0 for JPY, 3 for KWD. */
  digits: number;
}

const DOLLARS: Shown = { code: 'USD', rate: 1, symbol: '$', digits: 2 };
let shown: Shown = DOLLARS;

/**
 * Show every figure of this process in `currency` (cost.display_currency), converted from USD at
 * its fixed rate: set once where a command has loaded its config (and by the dashboard from its
 * snapshot). Only text: JSON, metrics, perfdata and the flag stay in USD. The symbol and the minor
 * digits are the currency's own (Intl, English): €4.62, £3.93, ¥746, CHF 4.41.
 */
export function showFiguresIn(currency: DisplayCurrency): void {
  if (currency.code === 'USD' || !(currency.rate > 0)) {
    shown = DOLLARS;
    return;
  }
  let symbol = currency.code;
  let digits = 2;
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: currency.code });
    symbol = format
      .formatToParts(1)
      .filter((p) => p.type === 'currency')
      .map((p) => p.value)
      .join('');
    digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // A runtime without that currency's data: its code, two digits.
  }
  if (/[A-Za-z]$/.test(symbol)) symbol = `${symbol} `;
  shown = { code: currency.code, rate: currency.rate, symbol, digits: Math.min(6, Math.max(0, digits)) };
}

/**
 * Where figures are not in USD, what they are in: `figures in EUR (1 EUR = 1.08 USD)`, for the
 * foot of status and of every alert; null in USD.
 */
export function figuresNote(): string | null {
  return shown === DOLLARS ? null : `figures in ${shown.code} (1 ${shown.code} = ${shown.rate} USD)`;
}

/** The currency figures are shown in now. */
export function figuresCurrency(): DisplayCurrency {
  return { code: shown.code, rate: shown.rate };
}

/**
 * Money for people, one rule everywhere in text: two decimals ($4.20, $0.30, $1,234.50), cut and
 * never rounded up; a non-zero amount under one cent shows its digits down to the micro-dollar
 * instead ($0.0042, $0.000001), so that it never reads as nothing. JSON keeps the exact numbers.
 * Never "$Infinity.undefined": a figure that is not finite says so. `amount` is in USD; it is
 * shown in the display currency (showFiguresIn), by the same rule in that currency's own digits.
 */
export function usd(amount: number): string {
  return money(inShown(amount), shown);
}

/** A USD amount in whole units of the display currency, for a chart's axis: `$120`, `€111`. */
export function usdWhole(amount: number): string {
  return `${shown.symbol}${Math.round(inShown(amount))}`;
}

/** A USD amount in units of the display currency (USD itself untouched, not divided by 1). */
function inShown(amount: number): number {
  return shown === DOLLARS ? amount : amount / shown.rate;
}

/** An amount already in the shown currency's units. */
function money(amount: number, as: Shown): string {
  if (!Number.isFinite(amount)) return `${as.symbol}(not a number)`;
  // Cut, not rounded, from the whole micro-units: a figure shown never exceeds what was spent,
  // so $4.999999 reads $4.99 beside an emergency limit of $5.00 that it has not reached (rounded,
  // it read "$5.00 ok"), and half-cents never fall either way by a double's error.
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const micros = Math.round(abs * MICROS_PER_USD);
  const zero = as.digits === 0 ? '0' : `0.${'0'.repeat(as.digits)}`;
  if (micros === 0) return `${as.symbol}${zero}`;
  const unit = 10 ** (6 - as.digits);
  if (micros < unit) return `${sign}${as.symbol}0.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  // toFixed writes 1e+21 and above in exponent form: whole units by BigInt there.
  const minor = 10 ** as.digits;
  const [whole, part] =
    abs < 1e9
      ? (Math.floor(micros / unit) / minor).toFixed(as.digits).split('.')
      : abs < 1e15
        ? abs.toFixed(as.digits).split('.')
        : [BigInt(Math.round(abs)).toString(), as.digits === 0 ? undefined : '0'.repeat(as.digits)];
  const grouped = (whole ?? '0').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${as.symbol}${grouped}${part === undefined ? '' : `.${part}`}`;
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
