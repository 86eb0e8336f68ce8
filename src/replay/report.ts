// What `replay` prints: its --json (the ReplayJson of types.ts, dollars at this edge) and the text
// for people (a table per window and scope, times in the config's timezone).
import { shapeOfName, shapeWords } from '../core/storms/shapes.js';
import type { Config } from '../config/index.js';
import { isUtc } from '../core/calendar.js';
import { dollarsOf } from '../core/money.js';
import { keyText } from '../scopes/match.js';
import { printable, usd } from '../format.js';
import type { ReplayOutcome } from './engine.js';
import type { ReplayJson } from './types.js';

/** Crossings listed in the text (the rest counted; --json has them all). */
export const TEXT_CROSSINGS = 200;

const iso = (ms: number): string => new Date(ms).toISOString();

export function replayJson(outcome: ReplayOutcome, config: Config): ReplayJson {
  const level = config.retryStorm?.level ?? 'warn';
  return {
    from: outcome.fromMs === null ? null : iso(outcome.fromMs),
    to: outcome.toMs === null ? null : iso(outcome.toMs),
    total_usd: dollarsOf(outcome.total),
    lines: { records: outcome.records, malformed: outcome.malformed, outside: outcome.outside },
    crossings: outcome.crossings.map((c) => ({
      window: c.window,
      scope: c.scope,
      key: c.key,
      level: c.level,
      at: iso(c.atMs),
      spend_usd: dollarsOf(c.spend),
      followed_usd: dollarsOf(c.followed),
      ok_again_at: c.okAgainMs === null ? null : iso(c.okAgainMs),
    })),
    storms: [
      ...outcome.storms.map((s) => ({
        id: s.id,
        count: s.count,
        spend_usd: dollarsOf(s.micros),
        first_at: iso(s.firstMs),
        last_at: iso(s.lastMs),
        level,
      })),
      ...outcome.shapeStorms.map((s) => {
        const shape = shapeOfName(s.id);
        return {
          id: shapeWords(shape),
          count: s.count,
          spend_usd: dollarsOf(s.micros),
          first_at: iso(s.firstMs),
          last_at: iso(s.lastMs),
          level: config.shapeStorm?.level ?? 'warn',
          shape,
        };
      }),
    ],
    unpriced: Object.entries(outcome.totals.unpriced)
      .sort((a, b) => b[1].micros - a[1].micros)
      .map(([model, u]) => ({ model, lines: u.lines, tokens: u.tokens, spend_usd: dollarsOf(u.micros) })),
    minutes: outcome.minutes.map(([ms, micros]): [number, number] => [ms, dollarsOf(micros)]),
    series: outcome.series.map((s) => ({
      window: s.window,
      scope: s.scope,
      key: s.key,
      seconds: s.seconds,
      limits: s.limits,
      points: s.points.map(([ms, micros]): [number, number] => [ms, dollarsOf(micros)]),
    })),
  };
}

/** `YYYY-MM-DD HH:MM:SS` in the zone. */
export function localTime(timeZone: string): (ms: number) => string {
  if (isUtc(timeZone)) return (ms) => iso(ms).slice(0, 19).replace('T', ' ');
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return (ms) => {
    const p: Record<string, string> = {};
    for (const part of format.formatToParts(ms)) p[part.type] = part.value;
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function replayText(report: ReplayJson, config: Config): string {
  const at = localTime(config.timezone);
  const when = (s: string | null): string => (s === null ? '-' : at(Date.parse(s)));
  const out: string[] = [];
  const l = report.lines;
  out.push(
    `replay ${when(report.from)} .. ${when(report.to)} (${config.timezone}): ${l.records} line` +
      `${l.records === 1 ? '' : 's'}, ${usd(report.total_usd)}` +
      (l.malformed > 0 ? `, ${l.malformed} malformed` : '') +
      (l.outside > 0 ? `, ${l.outside} outside --from/--to` : ''),
  );
  out.push('');
  if (report.crossings.length === 0) {
    out.push('no window and no scope would have reached a limit');
  } else {
    out.push('would have fired (followed: spend from then until the window was back at ok):');
    const rows = [['window', 'scope', 'level', 'at', 'spend then', 'followed', 'ok again']];
    for (const c of report.crossings.slice(0, TEXT_CROSSINGS)) {
      const scope = c.scope === null ? '-' : c.key === null ? c.scope : `${c.scope} ${keyText(c.key)}`;
      rows.push([
        c.window,
        printable(scope),
        c.level,
        when(c.at),
        usd(c.spend_usd),
        usd(c.followed_usd),
        c.ok_again_at === null ? 'not by the end' : when(c.ok_again_at),
      ]);
    }
    out.push(...table(rows).map((r) => `  ${r}`));
    if (report.crossings.length > TEXT_CROSSINGS)
      out.push(`  ... and ${report.crossings.length - TEXT_CROSSINGS} more (see --json)`);
    const kills = report.crossings.filter((c) => c.level === 'kill');
    if (kills.length > 0) {
      const saved = kills.reduce((sum, c) => sum + c.followed_usd, 0);
      out.push(
        `  ${kills.length} kill${kills.length === 1 ? '' : 's'}; spend after them until back at ok: ` +
          `${usd(saved)} (what the kills would have saved, summed per window)`,
      );
    }
  }
  const idStorms = report.storms.filter((s) => s.shape === undefined);
  const shapeStorms = report.storms.filter((s) => s.shape !== undefined);
  if (idStorms.length > 0) {
    out.push('', `retry storms (${config.retryStorm?.key ?? 'request_id'} seen again and again):`);
    for (const s of idStorms.slice(0, 20))
      out.push(
        `  ${printable(JSON.stringify(s.id))} ${s.count} times, ${when(s.first_at)} .. ${when(s.last_at)} ` +
          `(${usd(s.spend_usd)}), level ${s.level}`,
      );
    if (idStorms.length > 20) out.push(`  ... and ${idStorms.length - 20} more (see --json)`);
  }
  if (shapeStorms.length > 0) {
    out.push('', 'shape storms (calls without ids of the same shape billed again and again):');
    for (const s of shapeStorms.slice(0, 20))
      out.push(
        `  ${printable(s.id)}: ${s.count} times, ${when(s.first_at)} .. ${when(s.last_at)} ` +
          `(${usd(s.spend_usd)}), level ${s.level}`,
      );
    if (shapeStorms.length > 20) out.push(`  ... and ${shapeStorms.length - 20} more (see --json)`);
  }
  if (report.unpriced.length > 0) {
    out.push('', 'models without a price (counted at their logged cost, or the unpriced rate):');
    for (const u of report.unpriced)
      out.push(
        `  ${printable(JSON.stringify(u.model))}: ${u.lines} line${u.lines === 1 ? '' : 's'}, ` +
          `${u.tokens} tokens, ${usd(u.spend_usd)}`,
      );
  }
  out.push('', `total: ${usd(report.total_usd)}`);
  return `${out.join('\n')}\n`;
}
