// The daily summary's book (state_dir/summary.json): per local date, the highest spend each
// window was seen at by a check (and when), and each scope's spend that day, so that tomorrow's
// summary can say how far yesterday went. Rolling windows move between checks, so a peak is as
// seen at checks (a check every minute: minute resolution). Pure: the file's text is parsed
// without trusting it, and a check's figures go in; what to write comes out.

/** Dates kept (a week and a day: `summary --date` reaches back that far). */
export const BOOK_DAYS = 8;
/** Scopes kept per date, the highest first (an `each` scope may have thousands of values). */
export const BOOK_SCOPES = 10;

export interface Peak {
  /** USD, exact to the micro-dollar. */
  usd: number;
  /** When the check that saw it ran (ISO 8601). */
  at: string;
}

export interface SummaryBook {
  version: 1;
  /** date -> window name -> the highest spend seen at a check that day. */
  peaks: Record<string, Record<string, Peak>>;
  /** date -> scope label ("research", "every-agent agent=bob") -> its spend that day, as last seen. */
  scopes: Record<string, Record<string, number>>;
}

export function emptyBook(): SummaryBook {
  return { version: 1, peaks: {}, scopes: {} };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isAmount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** The book from what summary.json held; anything not of the shape written is dropped. */
export function parseBook(value: unknown): SummaryBook {
  const book = emptyBook();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return book;
  const v = value as Record<string, unknown>;
  if (v.peaks !== null && typeof v.peaks === 'object' && !Array.isArray(v.peaks)) {
    for (const [date, windows] of Object.entries(v.peaks as Record<string, unknown>)) {
      if (!DATE.test(date) || windows === null || typeof windows !== 'object') continue;
      const day: Record<string, Peak> = {};
      for (const [name, peak] of Object.entries(windows as Record<string, unknown>)) {
        const p = peak as Partial<Peak> | null;
        if (p === null || typeof p !== 'object' || !isAmount(p.usd) || typeof p.at !== 'string') continue;
        if (Number.isNaN(Date.parse(p.at))) continue;
        day[name] = { usd: p.usd, at: p.at };
      }
      book.peaks[date] = day;
    }
  }
  if (v.scopes !== null && typeof v.scopes === 'object' && !Array.isArray(v.scopes)) {
    for (const [date, scopes] of Object.entries(v.scopes as Record<string, unknown>)) {
      if (!DATE.test(date) || scopes === null || typeof scopes !== 'object') continue;
      const day: Record<string, number> = {};
      for (const [label, usd] of Object.entries(scopes as Record<string, unknown>))
        if (isAmount(usd)) day[label] = usd;
      book.scopes[date] = day;
    }
  }
  return book;
}

export interface CheckFigures {
  /** The check's local date (config timezone). */
  date: string;
  atIso: string;
  /** Each window's spend at the check (USD). */
  windows: { name: string; spend: number }[];
  /** Each scope instance's spend today (USD), by label. */
  scopes: { label: string; spend: number }[];
  /** Dates before this one are dropped. */
  keepFrom: string;
}

/**
 * The book with one check's figures in: a window's peak rises when the check saw more than before;
 * a scope's spend is the highest seen that day. Returns null when nothing changed (no write).
 */
export function recordCheck(book: SummaryBook, figures: CheckFigures): SummaryBook | null {
  let changed = false;
  const peaks: SummaryBook['peaks'] = {};
  const scopes: SummaryBook['scopes'] = {};
  for (const [date, day] of Object.entries(book.peaks))
    if (date >= figures.keepFrom) peaks[date] = day;
    else changed = true;
  for (const [date, day] of Object.entries(book.scopes))
    if (date >= figures.keepFrom) scopes[date] = day;
    else changed = true;
  const day = { ...(peaks[figures.date] ?? {}) };
  for (const w of figures.windows) {
    if (!isAmount(w.spend)) continue;
    // A window at $0 is recorded once too: the day had checks, and the window stayed at $0.
    const held = day[w.name];
    if (held !== undefined && held.usd >= w.spend) continue;
    day[w.name] = { usd: w.spend, at: figures.atIso };
    changed = true;
  }
  if (Object.keys(day).length > 0) peaks[figures.date] = day;
  if (figures.scopes.length > 0) {
    const seen = { ...(scopes[figures.date] ?? {}) };
    let moved = false;
    for (const s of figures.scopes) {
      if (!isAmount(s.spend) || s.spend === 0 || (seen[s.label] ?? 0) >= s.spend) continue;
      seen[s.label] = s.spend;
      moved = true;
    }
    if (moved) {
      const kept = Object.entries(seen)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, BOOK_SCOPES);
      scopes[figures.date] = Object.fromEntries(kept);
      changed = true;
    }
  }
  return changed ? { version: 1, peaks, scopes } : null;
}

/** A scope instance as the summary names it: its name, and its value under `each`. */
export function scopeLabel(name: string, each: string | null, value: string | null): string {
  return each === null || value === null ? name : `${name} ${each}=${value}`;
}
