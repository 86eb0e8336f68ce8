// The sparkline of `status`: spend per minute as one character per minute, oldest on the left,
// scaled to the busiest minute, with the scale said beside it (the busiest minute in dollars and
// the total). Block characters on a terminal, plain ASCII elsewhere (a log, a mail, `| tee`).
// Pure: the minutes come from Ledger.perMinute, in whole micro-dollars.
import { usdOfMicros } from './money.js';

/**
 * The marks, lowest first. The first is a minute without spend, drawn (not blank) so that the
 * line keeps its width in a log and an idle hour still shows as a line; any spend at all is at
 * least the second, and the busiest minute is the last.
 */
export const SPARK_MARKS = {
  unicode: ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
  ascii: ['_', '.', ':', '-', '=', '+', '*', '#', '%', '@'],
} as const;

/** One character per value (µ$ per minute), linear from nothing to the largest value. */
export function sparkline(values: readonly number[], unicode: boolean): string {
  const marks = unicode ? SPARK_MARKS.unicode : SPARK_MARKS.ascii;
  const steps = marks.length - 1;
  const top = Math.max(0, ...values);
  let out = '';
  for (const v of values) {
    // A refund (negative cost) or nothing is the baseline; a little is never drawn as nothing.
    const step = v > 0 && top > 0 ? Math.max(1, Math.min(steps, Math.ceil((v / top) * steps))) : 0;
    out += marks[step];
  }
  return out;
}

export interface SparkSummary {
  /** The sparkline itself, one character per minute. */
  line: string;
  /** The busiest minute's spend, µ$. */
  maxMicros: number;
  /** The spend of all the minutes, µ$. */
  totalMicros: number;
  minutes: number;
}

export function sparkSummary(values: readonly number[], unicode: boolean): SparkSummary {
  let total = 0;
  for (const v of values) total += v;
  return {
    line: sparkline(values, unicode),
    maxMicros: Math.max(0, ...values),
    totalMicros: total,
    minutes: values.length,
  };
}

/** The line of `status`: `  last hour   ▁▁▂▅█▇▃▁  max $0.42/min, $3.10 in 60 min`. */
export function sparkText(values: readonly number[], unicode: boolean, label = 'last hour'): string {
  const s = sparkSummary(values, unicode);
  const scale =
    s.maxMicros === 0
      ? `no spend in ${s.minutes} min`
      : `max ${usdOfMicros(s.maxMicros)}/min, ${usdOfMicros(s.totalMicros)} in ${s.minutes} min`;
  return `  ${label}   ${s.line}  ${scale}`;
}
