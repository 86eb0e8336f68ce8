// After every check (check/after-check.ts), while alerts.daily_summary is set: the check's
// window spend and scope spend into the summary's book (summary.json), when they raise a peak.
// Written atomically (a temporary file renamed over it) but not fsynced: it is a record of
// peaks, and a crash loses at most the last check's figure. Under the check's lock, as every
// write of this file is.
import type { CheckOutcome } from '../check/types.js';
import type { Config } from '../config/index.js';
import { DayCalendar } from '../core/calendar.js';
import { summaryFile } from '../effects/state-paths.js';
import { readJson, writeFileAtomic } from '../effects/store.js';
import { BOOK_DAYS, parseBook, recordCheck, scopeLabel, type SummaryBook } from './book.js';

export function loadBook(stateDir: string): { book: SummaryBook; problem: string | null } {
  const read = readJson(summaryFile(stateDir));
  if (read.kind === 'ok') return { book: parseBook(read.value), problem: null };
  return {
    book: parseBook(null),
    problem: read.kind === 'corrupt' ? `${summaryFile(stateDir)}: ${read.reason} (started anew)` : null,
  };
}

/** Record one check's figures; a problem in words (never fatal), or null. */
export function recordPeaks(config: Config, outcome: CheckOutcome): string | null {
  if (config.alerts.dailySummary === null || outcome.logError !== null) return null;
  const calendar = new DayCalendar(config.timezone);
  const now = outcome.nowMs;
  const { book } = loadBook(config.stateDir);
  const next = recordCheck(book, {
    date: calendar.dayOf(now).key,
    atIso: new Date(now).toISOString(),
    windows: outcome.windows.map((w) => ({ name: w.name, spend: w.spend })),
    scopes: outcome.scopes.flatMap((s) => {
      const daily = s.windows.find((w) => w.seconds === null);
      return daily === undefined ? [] : [{ label: scopeLabel(s.name, s.each, s.value), spend: daily.spend }];
    }),
    keepFrom: calendar.dayOf(now - (BOOK_DAYS - 1) * 86_400_000).key,
  });
  if (next === null) return null;
  try {
    writeFileAtomic(summaryFile(config.stateDir), `${JSON.stringify(next)}\n`, 0o644, false);
    return null;
  } catch (error) {
    const file = summaryFile(config.stateDir);
    return `cannot write the daily summary's peaks to ${file}: ${(error as Error).message}`;
  }
}
