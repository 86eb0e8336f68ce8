// `replay`: the config's limits applied to past logs as if the watchdog had run at every line
// (src/replay/). Reads only: never the state folder, the flag, a target or an alert channel. Exit
// 0, or 1 when a log cannot be read (the report of the rest is still printed), 64 bad usage, 78
// bad config.
import path from 'node:path';
import { configPath, loadConfig } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { writeFileAtomic } from '../effects/store.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { bytes, printable } from '../format.js';
import { replay } from '../replay/engine.js';
import { replayFiles } from '../replay/files.js';
import { parseWhen } from '../replay/range.js';
import { replayJson, replayText } from '../replay/report.js';
import { replayHtml } from '../web/replay-page.js';

export interface ReplayOptions {
  config?: string;
  json?: boolean;
  from?: string;
  to?: string;
  html?: string;
  logs?: string[];
}

/** Is `file` the folder `dir` or inside it? */
function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The progress line: on a terminal only, after a second, redrawn in place, cleared at the end. */
function progressLine(total: number): { update: (done: number) => void; clear: () => void } {
  const started = Date.now();
  let shown = false;
  const tty = process.stderr.isTTY === true;
  return {
    update: (done) => {
      if (!tty || Date.now() - started < 1000) return;
      const share = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
      process.stderr.write(`\rcost-watchdog: replay: ${share}% (${bytes(done)} of ${bytes(total)})\x1b[K`);
      shown = true;
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export async function replayCommand(options: ReplayOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const nowMs = Date.now();
  const calendar = new DayCalendar(config.timezone);
  const when = (flag: string, text: string | undefined, otherwise: number): number => {
    if (text === undefined) return otherwise;
    const ms = parseWhen(text, nowMs, calendar);
    if (typeof ms === 'string') throw new UsageError(`replay: ${flag}: ${ms}`);
    return ms;
  };
  const fromMs = when('--from', options.from, -Infinity);
  const toMs = when('--to', options.to, Infinity);
  if (fromMs > toMs) throw new UsageError('replay: --from is after --to');
  let htmlFile: string | null = null;
  if (options.html !== undefined) {
    if (options.html.trim() === '') throw new UsageError('replay: --html: expected a file name');
    htmlFile = path.resolve(process.cwd(), options.html);
    if (inside(htmlFile, config.stateDir))
      throw new UsageError(
        `replay: --html ${options.html} is inside the state folder ${config.stateDir}: ` +
          'replay writes nothing there; choose another file',
      );
  }
  const listing = replayFiles(config, options.logs ?? [], process.cwd());
  const total = listing.files.reduce((sum, f) => sum + f.size, 0);
  const progress = progressLine(total);
  let outcome: ReturnType<typeof replay>;
  try {
    outcome = replay({ config, files: listing.files, fromMs, toMs, nowMs, progress: progress.update });
  } finally {
    progress.clear();
  }
  const report = replayJson(outcome, config);
  for (const note of listing.notes) process.stderr.write(`cost-watchdog: note: ${printable(note)}\n`);
  if (config.balance !== null)
    process.stderr.write(
      'cost-watchdog: note: limits.balance is not replayed (its top-ups are not in the logs): ' +
        'replay applies the rolling and daily windows and the scopes; see `cost-watchdog balance`\n',
    );
  if (outcome.overflowed.length > 0)
    process.stderr.write(
      `cost-watchdog: note: scope(s) ${outcome.overflowed.join(', ')} had more values than are ` +
        'followed by name: the rest were counted as "(other)"\n',
    );
  const errors = [...listing.errors, ...outcome.errors];
  const read = report.lines.records + report.lines.malformed + report.lines.outside;
  // Nothing could be read: no report (an empty one would read as "no limit would have fired").
  if (errors.length > 0 && read === 0) throw new FailureError(errors.map(printable).join('\n'));
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : replayText(report, config));
  if (htmlFile !== null) {
    try {
      writeFileAtomic(htmlFile, replayHtml(report, config.cost.display), 0o644, false);
    } catch (error) {
      errors.push(`cannot write ${htmlFile}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) throw new FailureError(errors.map(printable).join('\n'));
  return EXIT.OK;
}
