// Words and numbers for people: money, ages, gauges. No colour unless stdout is a TTY and
// NO_COLOR is unset.
import type { Level, WindowStatus } from './core/levels.js';
import { limitsText, usd } from './core/money.js';

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return (
    stream.isTTY === true &&
    (process.env.NO_COLOR === undefined || process.env.NO_COLOR === '') &&
    process.env.TERM !== 'dumb'
  );
}

export { limitsText, usd };

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

const COLORS: Record<Level, string> = { ok: '32', warn: '33', emergency: '31', kill: '1;31' };

export function levelText(level: Level, color: boolean, width = 0): string {
  const word = level === 'ok' ? 'ok' : level.toUpperCase();
  const padded = word.padEnd(width);
  return color ? `\u001b[${COLORS[level]}m${padded}\u001b[0m` : padded;
}

/**
 * A gauge of spend against the limits: filled up to the spend, a mark at each limit, scaled so
 * the highest limit sits at 80% of the width. `[#####|###:......|.......|....]`
 */
export function gauge(window: WindowStatus, width: number, unicode: boolean): string {
  const marks = [window.limits.warn, window.limits.emergency, window.limits.kill].filter(
    (v): v is number => v !== undefined,
  );
  const top = marks.length > 0 ? Math.max(...marks) : Math.max(window.spend, 1);
  const scale = top / (width * 0.8);
  const fill = unicode ? '█' : '#';
  const empty = unicode ? '░' : '.';
  const cells: string[] = [];
  for (let i = 0; i < width; i++) {
    const upTo = (i + 1) * scale;
    const isMark = marks.some((m) => m > i * scale && m <= upTo);
    if (isMark) cells.push('|');
    else cells.push(window.spend >= upTo - scale / 2 ? fill : empty);
  }
  const overflow = window.spend > width * scale ? '>' : ']';
  return `[${cells.join('')}${overflow}`;
}

/** Make text from the log safe on one terminal line: no control characters or escapes. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
