// The words and shapes both clears (clear-emergency.ts, and clear-fleet.ts for --fleet) use.
import { errnoWords } from '../core/flag.js';
import type { WindowStatus } from '../core/levels.js';
import { limitsText, usd } from '../core/money.js';
import { round6 } from '../check/figures.js';

/** The windows a refusal names, in words: `15m $6.00 at emergency (warn $3.00 / ...)`. */
export function spendText(ws: readonly WindowStatus[]): string {
  return ws
    .map((w) =>
      w.detail !== undefined
        ? `${w.detail} at ${w.level}`
        : `${w.name} ${usd(w.spend)} at ${w.level} (${limitsText(w.limits)})`,
    )
    .join('; ');
}

export function windowsJson(
  ws: readonly WindowStatus[],
): Record<string, { spend_usd: number; level: string }> {
  return Object.fromEntries(ws.map((w) => [w.name, { spend_usd: round6(w.spend), level: w.level }]));
}

/** Why the flag could not be removed, in words (a folder in its place is not a flag anybody wrote). */
export function removeWhy(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? null;
  return code === 'EISDIR'
    ? `it is a folder, not a flag file (remove it by hand if it is not the app's)`
    : errnoWords(code, (error as Error).message);
}
