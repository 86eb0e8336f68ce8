// Money for people. (Not toLocaleString: its first call loads ICU, ~10 ms a run.)
import type { Limits } from './levels.js';

/** $4.20, $0.0405, $1,234.50. */
export function usd(amount: number): string {
  if (amount === 0) return '$0.00';
  if (Math.abs(amount) < 1) return `$${amount.toFixed(4)}`;
  const [whole, cents] = Math.abs(amount).toFixed(2).split('.') as [string, string];
  return `${amount < 0 ? '-' : ''}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

export function limitsText(limits: Limits): string {
  const parts: string[] = [];
  if (limits.warn !== undefined) parts.push(`warn ${usd(limits.warn)}`);
  if (limits.emergency !== undefined) parts.push(`emergency ${usd(limits.emergency)}`);
  if (limits.kill !== undefined) parts.push(`kill ${usd(limits.kill)}`);
  return parts.length > 0 ? parts.join(' / ') : 'no limits';
}
