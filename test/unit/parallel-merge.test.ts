// The merge of a two-thread full read (src/parallel/merge.ts), without a thread: a log read by one
// scanner must count exactly what a scanner reading its first lines counts after taking in what a
// second scanner counted reading the rest (spend, top spenders, totals, malformed samples and
// their line numbers, unpriced models, calls logged at 0), wherever the log is split. And the
// folder keeps its one entry.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Attribution } from '../../src/core/attribution.js';
import { DayCalendar } from '../../src/core/calendar.js';
import { MAX_LABELS } from '../../src/core/labels.js';
import { Ledger } from '../../src/core/ledger.js';
import { feed, newAssembler, SCAN_PADDING } from '../../src/core/lines.js';
import { PriceBook, ratesFromConfig } from '../../src/core/prices.js';
import { fieldTable } from '../../src/core/fields.js';
import { LineParser } from '../../src/core/record.js';
import { newTotals, SpendScanner } from '../../src/core/scan.js';
import { absorbPart, partOf } from '../../src/parallel/merge.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const HORIZON = 86_400;

const lookup = (model: string): ReturnType<typeof ratesFromConfig> | null =>
  model === 'priced' ? ratesFromConfig({ input: 1, output: 2, cached: 0.5 }) : null;

/** Every kind of line the merge must carry: priced, unpriced, cost 0, malformed, blank, future. */
function logLines(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 240; i++) {
    const t = NOW / 1000 - 3600 + i * 7;
    const model = ['priced', 'acme-private', 'other-private', 'priced'][i % 4];
    const fields: Record<string, unknown> = { t, model, agent: `agent-${i % 3}`, in: 1000 + i, out: 100 };
    if (i % 5 !== 0) fields.cost = i % 11 === 0 ? 0 : 0.001 * (i % 13);
    out.push(JSON.stringify(fields));
    if (i % 37 === 0) out.push('{"t": "not a time", "cost": 1}');
    if (i % 53 === 0) out.push('');
    if (i % 61 === 0) out.push(JSON.stringify({ t: NOW / 1000 + 7200, cost: 0.5 }));
  }
  return out;
}

function scanner(): SpendScanner {
  const calendar = new DayCalendar('UTC');
  return new SpendScanner(
    new LineParser(fieldTable({}, { labels: true, tokens: true })),
    new Ledger(HORIZON, calendar, NOW),
    NOW,
    newTotals(),
    new Attribution(HORIZON, calendar, NOW),
    { policy: 'max', prices: new PriceBook(lookup, MAX_LABELS), unpricedPerMillion: 75 },
  );
}

/** Feed whole lines to `s` as the reader does; returns the number of lines read. */
function read(s: SpendScanner, lines: string[]): number {
  const text = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''));
  const bytes = new Uint8Array(text.length + SCAN_PADDING).fill(10);
  bytes.set(text);
  const asm = newAssembler();
  feed(asm, bytes, s.sinkFor('cost_log.jsonl'), true, text.length);
  return asm.lineNo;
}

function counted(s: SpendScanner): unknown {
  return {
    ledger: s.ledger.toState(),
    attribution: s.attribution?.toState(),
    totals: s.totals,
    found: s.found,
    foundCount: s.foundCount,
    newestReadMs: s.newestReadMs,
  };
}

describe('absorbPart: the worker part taken in as if read here', () => {
  const lines = logLines();
  const whole = scanner();
  const total = read(whole, lines);

  it.each([1, 2, 40, 150, 200, lines.length - 1])('split after line %i', (split) => {
    const main = scanner();
    const before = read(main, lines.slice(0, split));
    const helper = scanner();
    const after = read(helper, lines.slice(split));
    absorbPart(main, partOf(helper, after), before, () => '');
    expect(before + after).toBe(total);
    expect(counted(main)).toEqual(counted(whole));
  });

  it('the log really has what the merge carries', () => {
    expect(whole.totals.malformed).toBeGreaterThan(5);
    expect(whole.totals.future_lines).toBeGreaterThan(0);
    expect(whole.totals.zero_cost_lines).toBeGreaterThan(0);
    expect(Object.keys(whole.totals.unpriced).sort()).toEqual(['acme-private', 'other-private']);
    // Samples in the second part keep the line numbers of the whole file.
    const bad = lines.flatMap((l, k) => (l.includes('not a time') ? [k + 1] : []));
    expect(whole.found.map((f) => f.line)).toEqual(bad.slice(0, 5));
    expect(bad[4]).toBeGreaterThan(150); // split after 150: the fifth sample is in the second part
  });
});

describe('src/parallel/ has one entry', () => {
  it('nothing outside it imports anything of it but index.ts', () => {
    const src = new URL('../../src/', import.meta.url);
    const reaching: string[] = [];
    let entryUsers = 0;
    for (const name of readdirSync(src, { recursive: true }) as string[]) {
      if (!name.endsWith('.ts') || name.replaceAll('\\', '/').startsWith('parallel/')) continue;
      const text = readFileSync(new URL(name, src), 'utf8');
      for (const [, what] of text.matchAll(/from '([^']*parallel\/[^']*)'/g))
        if (what?.endsWith('parallel/index.js')) entryUsers++;
        else reaching.push(`${name}: ${what}`);
    }
    expect(reaching).toEqual([]);
    expect(entryUsers).toBe(1); // the check
  });
});
