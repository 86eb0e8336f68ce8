// `status --watch`: the view of `status` again every interval until SIGINT or SIGTERM (exit 0).
// On a terminal the text view is redrawn in place (cursor home, each line cleared to its end,
// the rest of the screen cleared: no flicker), cut to the terminal's height, with the cursor
// hidden and line wrap off while it runs and both restored at the end. Anywhere else (a pipe,
// `| tee`, a file) each view is printed after the last one, a blank line between, with no
// escape sequences; with --json each view is one JSON line (NDJSON). The config is read once.
import { formatDuration } from '../core/duration.js';

/** One view of `status`: what it prints on stdout and on stderr, and its exit code. */
export interface StatusView {
  code: number;
  stdout: string;
  stderr: string;
}

export interface WatchStatusOptions {
  intervalMs: number;
  json: boolean;
  /** stdout is a terminal: redraw in place. */
  tty: boolean;
}

const ESC = '\u001b[';
/** Hide the cursor, stop wrapping long lines (the terminal cuts them), clear the screen. */
export const TTY_START = `${ESC}?25l${ESC}?7l${ESC}H${ESC}2J`;
/** Wrap again and show the cursor. */
export const TTY_END = `${ESC}?7h${ESC}?25h`;

/** The line under each text view: how often, when this one was taken, how to stop. */
export function watchFooter(intervalMs: number, atMs: number): string {
  const at = new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `  watching         every ${formatDuration(intervalMs)}, this view at ${at}; Ctrl-C stops`;
}

/**
 * The lines of a view as a terminal of `rows` rows shows them: all of them when they fit (or the
 * height is not known), else the first ones, a line saying how many are cut, and the last one
 * (the footer: when the view was taken).
 */
export function fitRows(lines: readonly string[], rows: number | undefined): string[] {
  if (rows === undefined || !Number.isFinite(rows) || rows <= 0 || lines.length <= rows) return [...lines];
  if (rows < 3) return lines.slice(0, rows);
  const kept = lines.slice(0, rows - 2);
  const cut = lines.length - kept.length - 1;
  return [...kept, `  ... ${cut} more line(s): a taller terminal shows them`, lines[lines.length - 1] ?? ''];
}

/** One redraw: home, each line cleared to its end, the rest of the screen cleared; no final newline. */
export function ttyFrame(lines: readonly string[]): string {
  return `${ESC}H${lines.map((line) => `${line}${ESC}K`).join('\n')}${ESC}J`;
}

export async function watchStatus(
  view: () => Promise<StatusView>,
  options: WatchStatusOptions,
): Promise<number> {
  const { intervalMs, json, tty } = options;
  const redraw = tty && !json;
  const out = process.stdout;
  let stopped = false;
  let wake: (() => void) | null = null;
  let lastLines: string[] | null = null;
  const said = new Set<string>();

  let restored = false;
  const restore = (): void => {
    if (!redraw || restored) return;
    restored = true;
    out.write(`${TTY_END}\n`);
  };

  let stop: () => void = () => {};
  const stoppedBySignal = new Promise<void>((resolve) => {
    stop = () => {
      if (stopped) return;
      stopped = true;
      wake?.();
      resolve();
    };
  });
  const onResize = (): void => {
    if (lastLines !== null && !stopped) out.write(ttyFrame(fitRows(lastLines, out.rows)));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // However the process ends (a closed pipe, a bug), the terminal gets its cursor back.
  process.on('exit', restore);
  if (redraw) {
    out.write(TTY_START);
    out.on('resize', onResize);
  }

  const loop = async (): Promise<void> => {
    let first = true;
    while (!stopped) {
      const startedMs = Date.now();
      const v = await view();
      if (stopped) break;
      // What status says on stderr (an unreadable log, a bug's trace) is in the view as well: said
      // once when it first appears, and not at all over a redrawn screen.
      if (!redraw && v.stderr !== '' && !said.has(v.stderr)) {
        said.add(v.stderr);
        process.stderr.write(v.stderr);
      }
      if (json) out.write(v.stdout);
      else {
        const lines = [...v.stdout.replace(/\n$/, '').split('\n'), watchFooter(intervalMs, startedMs)];
        if (redraw) {
          lastLines = lines;
          out.write(ttyFrame(fitRows(lines, out.rows)));
        } else out.write(`${first ? '' : '\n'}${lines.join('\n')}\n`);
      }
      first = false;
      const waitMs = Math.max(0, startedMs + intervalMs - Date.now());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  };

  // A signal ends the watch at once, even while a view is being read (its output is dropped).
  await Promise.race([loop(), stoppedBySignal]);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  out.off('resize', onResize);
  restore();
  process.off('exit', restore);
  return 0;
}
