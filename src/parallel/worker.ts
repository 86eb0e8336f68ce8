// The worker thread of a two-thread full read (helper.ts starts it; scripts/build.mjs bundles it
// alone into dist/parallel-worker.js): reads bytes [start, end) of the log (whole lines) and
// counts them exactly as the main thread would, into its own ledger, attribution, totals and
// retry-storm tracker, then posts them back and wakes the main thread. Started by a main thread
// of another build, it reads nothing and says so.
// Its calls into core/ (the hot path): fieldTable (fields.ts), a LineParser and its lastStorm*() (record.ts),
// feed/newAssembler (lines.ts), SpendScanner (scan.ts), StormTracker startBulk/finishBulk/toState.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Attribution } from '../core/attribution.js';
import { DayCalendar } from '../core/calendar.js';
import { MAX_LABELS } from '../core/labels.js';
import { Ledger } from '../core/ledger.js';
import { feed, newAssembler, SCAN_PADDING } from '../core/lines.js';
import { type ModelRates, PriceBook } from '../core/prices.js';
import { fieldTable } from '../core/fields.js';
import { LineParser } from '../core/record.js';
import { newTotals, SpendScanner } from '../core/scan.js';
import { StormTracker } from '../core/storms.js';
import { ShapeNotes, shapeTrackerSettings } from '../core/storms/shapes.js';
import { priceLookup } from '../price-table.js';
import { BUILD_ID } from './build-id.js';
import { type PartShapes, partOf } from './merge.js';
import { ScopeCounter } from '../scopes/counter.js';
import {
  ANSWERS,
  DONE,
  type HelperAnswer,
  type HelperJob,
  type PriceAnswer,
  type PriceQuestion,
  type WorkerData,
} from './protocol.js';

const CHUNK = 1024 * 1024;

/** The chunk being read: where it starts in the file, and its bytes. */
let chunkBase = 0;
let chunkBytes: Uint8Array = new Uint8Array(0);

/**
 * Notes where each id seen once is in the log (so that the main thread can read its name, should
 * it see the id too), or its name when it is not plain bytes of a chunk.
 */
class PlacingTracker extends StormTracker {
  readonly names = new Map<number, string>();
  /** The scan's parser (set before the first line): where the id add() is given was read. */
  parser!: LineParser;

  override add(hash: number, timeMs: number, cost: number, text: () => string): void {
    let ref = 0;
    if (timeMs > this.sinceMs) {
      const parser = this.parser;
      const length = parser.lastStormEnd() - parser.lastStormStart();
      if (
        text === parser.lastStormText &&
        parser.lastStormIsBytes() &&
        parser.lastStormBytes() === chunkBytes &&
        length > 0 &&
        length < 65_536
      )
        ref = (chunkBase + parser.lastStormStart()) * 65_536 + length;
      else if (!this.names.has(hash)) this.names.set(hash, text());
    }
    super.add(hash, timeMs, cost, text, ref);
  }
}

function scanPart(job: HelperJob): HelperAnswer {
  const calendar = new DayCalendar(job.timezone);
  const ledger = new Ledger(job.horizonSec, calendar, job.nowMs, job.balanceSinceMs);
  const attribution = new Attribution(job.horizonSec, calendar, job.nowMs);
  const totals = newTotals();
  const storms = job.storms === null ? null : new PlacingTracker(job.storms, job.nowMs);
  // At most one sighting per line, and a line with a time, an id and a cost takes over 32 bytes.
  storms?.startBulk(Math.min(4_000_000, (job.end - job.start) / 32));
  // Lines without ids, by call shape: noted in bulk too, each sighting with what names its shape.
  const shapes = job.shapes === null ? null : new StormTracker(shapeTrackerSettings(job.shapes), job.nowMs);
  // Sized for every line as the ids are (memory is taken only where written): growing by copies
  // cost a log without ids more time in the collector than the whole grouping.
  const capacity = Math.min(4_000_000, (job.end - job.start) / 32);
  const notes = new ShapeNotes(shapes === null ? 16 : capacity);
  shapes?.startBulk(capacity);
  const table = fieldTable(job.fields, {
    labels: true,
    tokens: job.tokens,
    task: job.task,
    ...(storms !== null && job.stormKey !== null
      ? { idsSinceMs: storms.sinceMs, stormKey: job.stormKey }
      : {}),
    ...(shapes !== null
      ? {
          shapes: true,
          shapesWithIds: job.shapes?.withIds === true,
          idsSinceMs: Math.min(shapes.sinceMs, storms?.sinceMs ?? Infinity),
        }
      : {}),
  });
  const prices = new PriceBook(priceLookup(job.prices, job.nowMs, job.priceCache, askMain), MAX_LABELS);
  const parser = new LineParser(table);
  if (storms !== null) storms.parser = parser;
  const scanner = new SpendScanner(
    parser,
    ledger,
    job.nowMs,
    totals,
    attribution,
    {
      policy: job.policy,
      prices,
      unpricedPerMillion: job.unpricedPerMillion,
      maxLineUsd: job.maxLineUsd,
      currencyRates: job.currencyRates,
    },
    storms,
  );
  if (shapes !== null) {
    scanner.shapes = shapes;
    scanner.shapeRef = (record) => notes.note(record);
  }
  if (job.scopes.length > 0) scanner.scopes = new ScopeCounter(job.scopes, calendar, job.nowMs);
  scanner.source = job.source;
  const sink = scanner.sinkFor(path.basename(job.file));
  const asm = newAssembler();
  const fd = openSync(job.file, 'r');
  let dev: number;
  let ino: number;
  let singles: Float64Array;
  let refs: Float64Array;
  let shaped: PartShapes = { named: [], singles: new Float64Array(0), notes: new Float64Array(0), names: [] };
  try {
    const st = fstatSync(fd);
    dev = st.dev;
    ino = st.ino;
    const buffer = new Uint8Array(CHUNK + SCAN_PADDING);
    let pos = job.start;
    while (pos < job.end) {
      chunkBase = pos;
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, job.end - pos), pos);
      if (n <= 0) return { ok: false, error: 'the log is shorter than when the helper started' };
      buffer.fill(10, n, n + SCAN_PADDING);
      chunkBytes = buffer.subarray(0, n + SCAN_PADDING);
      feed(asm, chunkBytes, sink, false, n);
      pos += n;
    }
    if (asm.pending.length > 0 || asm.overlong)
      return { ok: false, error: 'the part did not end at a line end' };
    // Ids seen more than once in this part are named from the log's bytes (or the names kept).
    const grouped = storms?.finishBulk((ref, hash) => {
      if (ref === 0) return storms.names.get(hash) ?? '';
      const bytes = Buffer.alloc(ref % 65_536);
      readSync(fd, bytes, 0, bytes.length, Math.floor(ref / 65_536));
      return bytes.toString('latin1');
    }) ?? { singles: new Float64Array(0), refs: new Float64Array(0) };
    singles = grouped.singles;
    refs = grouped.refs;
    if (shapes !== null) {
      const found = shapes.finishBulk((ref) => notes.nameOf(ref));
      // Only what names the shapes seen once goes back (the main thread may see them too).
      const kept = new Float64Array(found.refs.length * 4);
      for (let k = 0; k < found.refs.length; k++) {
        const at = ((found.refs[k] as number) - 1) * 4;
        kept.set(notes.data.subarray(at, at + 4), k * 4);
      }
      shaped = { named: shapes.toState(), singles: found.singles, notes: kept, names: notes.names };
    }
  } finally {
    closeSync(fd);
  }
  const names: [number, string][] = [];
  for (let k = 0; k < refs.length; k++)
    if (refs[k] === 0) names.push([k, storms?.names.get(singles[k * 3] as number) ?? '']);
  const part = partOf(
    scanner,
    asm.lineNo,
    {
      named: storms?.toState() ?? [],
      singles,
      refs,
      names,
    },
    shaped,
  );
  return { ok: true, dev, ino, ...part };
}

const { job, signal, port, buildId } = workerData as WorkerData;

let asked = 0;

/** A model's rates from the main thread's price table (it answers between its chunks). */
function askMain(model: string, provider: string | null): ModelRates | null {
  asked++;
  const question: PriceQuestion = { ask: asked, model, provider };
  port.postMessage(question);
  for (;;) {
    const seen = Atomics.load(signal, ANSWERS);
    const received = receiveMessageOnPort(port);
    if (received !== undefined) {
      const answer = received.message as PriceAnswer;
      if (answer.answer === asked) return answer.rates;
      continue;
    }
    Atomics.wait(signal, ANSWERS, seen, 1000);
  }
}
let answer: HelperAnswer;
if (buildId !== BUILD_ID) answer = { ok: false, error: 'another build', otherBuild: BUILD_ID };
else {
  try {
    answer = scanPart(job);
  } catch (error) {
    answer = { ok: false, error: (error as Error).message };
  }
}
// The big arrays are moved, not copied.
port.postMessage(
  answer,
  answer.ok
    ? [
        answer.stormSingles.buffer as ArrayBuffer,
        answer.stormRefs.buffer as ArrayBuffer,
        answer.shapeSingles.buffer as ArrayBuffer,
        answer.shapeNotes.buffer as ArrayBuffer,
        ...(answer.scopes !== null ? [answer.scopes.data.buffer as ArrayBuffer] : []),
      ]
    : [],
);
Atomics.store(signal, DONE, 1);
Atomics.notify(signal, DONE);
