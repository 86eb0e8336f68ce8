// Spend the price table cannot tell: models without a price, calls logged at cost 0. Pure.
import { isCurrencyCode, usd, usdOfMicros } from '../money.js';
import type { UnpricedModel } from '../scan.js';
import { type Finding, findingKey, NAMED_AT_MOST, quoted } from './finding.js';

/** Unpriced models seen within this long are reported. */
export const UNPRICED_RECENT_MS = 24 * 3_600_000;

/**
 * Models with tokens and no price, counted at the unpriced rate (a logged cost above 0 is used where there is
 * one).
 */
export function unpricedFindings(
  unpriced: Readonly<Record<string, UnpricedModel>>,
  perMillion: number,
  nowMs: number,
): Finding[] {
  const recent = Object.entries(unpriced)
    .filter(([, entry]) => entry.at_rate > 0 && nowMs - entry.last_ms <= UNPRICED_RECENT_MS)
    .sort((a, b) => b[1].micros - a[1].micros || (a[0] < b[0] ? -1 : 1));
  const out: Finding[] = recent.slice(0, NAMED_AT_MOST).map(([model, entry]) => ({
    key: findingKey('unpriced', model),
    kind: 'unpriced' as const,
    text:
      `model ${quoted(model)} has no price: ${entry.at_rate} call${entry.at_rate === 1 ? '' : 's'} wi` +
      `thout a logged cost counted at ${usd(perMillion)} per million tokens (` +
      `${usdOfMicros(entry.micros)} so far); set cost.prices for it`,
  }));
  if (recent.length > NAMED_AT_MOST) {
    const rest = recent.slice(NAMED_AT_MOST);
    out.push({
      key: findingKey('unpriced', '+more'),
      kind: 'unpriced',
      text:
        `and ${rest.length} more models without a price, counted at ${usd(perMillion)} per million ` +
        `tokens (${usdOfMicros(rest.reduce((sum, [, e]) => sum + e.micros, 0))}): see \`cost-watchdog` +
        ` status\``,
    });
  }
  return out;
}

export function zeroCostFinding(lines: number, usdCounted: number): Finding | null {
  if (lines <= 0) return null;
  return {
    key: findingKey('zero-cost'),
    kind: 'zero-cost',
    text:
      `the app logged cost 0 for ${lines} call${lines === 1 ? '' : 's'} with tokens; counted from ` +
      `their tokens instead (${usd(usdCounted)})`,
  };
}

/**
 * Lines whose cost is in a currency without a rate in cost.currency_rates: malformed, counted
 * neither as $0 nor as dollars. One finding per currency (alerted once), while such lines were
 * seen within the last day.
 */
export function currencyFindings(
  unrated: Readonly<Record<string, { lines: number; last_ms: number }>> | undefined,
  nowMs: number,
): Finding[] {
  return Object.entries(unrated ?? {})
    .filter(([, entry]) => nowMs - entry.last_ms <= UNPRICED_RECENT_MS)
    .sort((a, b) => b[1].lines - a[1].lines || (a[0] < b[0] ? -1 : 1))
    .slice(0, NAMED_AT_MOST)
    .map(([code, entry]) => ({
      key: findingKey('currency', code),
      kind: 'currency' as const,
      text: isCurrencyCode(code)
        ? `${entry.lines} line${entry.lines === 1 ? '' : 's'} logged a cost in ${quoted(code)}, which ` +
          `has no rate in cost.currency_rates: malformed, not counted (neither as $0 nor as USD). Add ` +
          `its rate (USD per unit) and the log is read again at it`
        : `${entry.lines} line${entry.lines === 1 ? '' : 's'} logged a cost in ${quoted(code)}, which ` +
          `is not an ISO 4217 currency code: malformed, not counted (neither as $0 nor as USD). The ` +
          `app writes a currency the watchdog cannot convert: fix its "currency" field (or fields.currency)`,
    }));
}
