// Pure: a part of the log counted by another scanner (the worker's) into a PartScan, and taken
// in by the main thread's scanner as if it had read those lines itself. No thread needed: the
// unit tests hold the merge equal to one scanner reading everything.
import { SAMPLE_LIMIT, type SpendScanner, UNPRICED_NAMES } from '../core/scan.js';
import { noteName } from '../core/storms/shapes.js';
import type { PartScan } from './protocol.js';

/** Storm sightings of a part, grouped (StormTracker.finishBulk) and named where not in the log. */
export interface PartStorms {
  named: PartScan['stormNamed'];
  singles: Float64Array;
  refs: Float64Array;
  names: [number, string][];
}

const NO_STORMS: PartStorms = {
  named: [],
  singles: new Float64Array(0),
  refs: new Float64Array(0),
  names: [],
};

/** Call shapes of a part (the worker's shape tracker, grouped), with what names those seen once. */
export interface PartShapes {
  named: PartScan['shapeNamed'];
  singles: Float64Array;
  notes: Float64Array;
  names: string[];
}

function noShapes(): PartShapes {
  return { named: [], singles: new Float64Array(0), notes: new Float64Array(0), names: [] };
}

/** What `scanner` counted reading `lines` complete lines of a part of the log. */
export function partOf(
  scanner: SpendScanner,
  lines: number,
  storms: PartStorms = NO_STORMS,
  shapes: PartShapes = noShapes(),
): PartScan {
  return {
    lines,
    ledger: scanner.ledger.toState(),
    attribution: scanner.attribution?.toState() ?? { minutes: [], days: {} },
    totals: scanner.totals,
    found: scanner.found,
    foundCount: scanner.foundCount,
    newestReadMs: scanner.newestReadMs,
    stormNamed: storms.named,
    stormSingles: storms.singles,
    stormRefs: storms.refs,
    stormNames: storms.names,
    scopes: scanner.scopes?.pack() ?? null,
    shapeNamed: shapes.named,
    shapeSingles: shapes.singles,
    shapeNotes: shapes.notes,
    shapeNoteNames: shapes.names,
  };
}

/**
 * Count what a helper thread found in a part of the log that follows `linesBefore` lines of this
 * file, as if `scanner` had read it. `nameAt` reads an id's name from the log's bytes.
 */
export function absorbPart(
  scanner: SpendScanner,
  part: PartScan,
  linesBefore: number,
  nameAt: (offset: number, length: number) => string,
): void {
  if (part.scopes !== null) scanner.scopes?.absorbPacked(part.scopes);
  // The worker numbered its lines from 1: they follow the lines read here.
  for (const sample of part.found) sample.line += linesBefore;
  scanner.ledger.absorb(part.ledger);
  scanner.attribution?.absorb(part.attribution);
  const t = scanner.totals;
  const p = part.totals;
  t.records += p.records;
  t.malformed += p.malformed;
  t.future_lines += p.future_lines;
  t.uncosted_lines += p.uncosted_lines;
  t.skipped_lines += p.skipped_lines;
  t.zero_cost_lines += p.zero_cost_lines;
  t.zero_cost_micros += p.zero_cost_micros;
  if (p.newest_ms > t.newest_ms) t.newest_ms = p.newest_ms;
  for (const [model, entry] of Object.entries(p.unpriced)) {
    const key =
      Object.hasOwn(t.unpriced, model) || Object.keys(t.unpriced).length < UNPRICED_NAMES ? model : '(other)';
    const held = Object.hasOwn(t.unpriced, key) ? t.unpriced[key] : undefined;
    if (held === undefined) t.unpriced[key] = { ...entry };
    else {
      held.lines += entry.lines;
      held.tokens = Math.min(held.tokens + entry.tokens, Number.MAX_SAFE_INTEGER);
      held.micros += entry.micros;
      held.at_rate += entry.at_rate;
      if (entry.last_ms > held.last_ms) held.last_ms = entry.last_ms;
    }
  }
  for (const [code, entry] of Object.entries(p.unrated ?? {})) {
    t.unrated ??= {};
    const held = Object.hasOwn(t.unrated, code) ? t.unrated[code] : undefined;
    if (held === undefined) t.unrated[code] = { ...entry };
    else {
      held.lines += entry.lines;
      if (entry.last_ms > held.last_ms) held.last_ms = entry.last_ms;
    }
  }
  for (const sample of part.found) {
    if (t.malformed_samples.length < SAMPLE_LIMIT) t.malformed_samples.push(sample);
    if (scanner.found.length < SAMPLE_LIMIT) scanner.found.push(sample);
  }
  scanner.foundCount += part.foundCount;
  if (part.newestReadMs > scanner.newestReadMs) scanner.newestReadMs = part.newestReadMs;
  const storms = scanner.storms;
  if (storms !== null) {
    let names: Map<number, string> | null = null;
    storms.absorb(part.stormNamed, part.stormSingles, (k) => {
      const ref = part.stormRefs[k] ?? 0;
      if (ref > 0) return nameAt(Math.floor(ref / 65_536), ref % 65_536);
      names ??= new Map(part.stormNames);
      return names.get(k) ?? '';
    });
  }
  const shapes = scanner.shapes;
  if (shapes !== null)
    shapes.absorb(part.shapeNamed, part.shapeSingles, (k) =>
      noteName(part.shapeNotes, k * 4, part.shapeNoteNames),
    );
}
