// A small ReplayJson (what `replay --json` prints) for the tests of the page `replay --html`
// writes: two windows of the config and one scope instance, crossings, a storm, an unpriced model.
import type { ReplayJson } from '../../src/replay/types.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const min = (n: number) => T0 + n * 60_000;

export function sampleReplay(): ReplayJson {
  const minutes: [number, number][] = [];
  for (let i = 0; i < 60; i++) minutes.push([min(i), i >= 20 && i < 30 ? 0.9 : 0.05]);
  const rolling: [number, number][] = minutes.map(([t], i) => [
    t + 60_000,
    minutes.slice(Math.max(0, i - 14), i + 1).reduce((s, [, v]) => s + v, 0),
  ]);
  let total = 0;
  const daily: [number, number][] = minutes.map(([t, v]) => [t + 60_000, (total += v)]);
  return {
    from: new Date(min(0)).toISOString(),
    to: new Date(min(60)).toISOString(),
    total_usd: total,
    lines: { records: 1200, malformed: 3, outside: 0 },
    crossings: [
      {
        window: '15m',
        scope: null,
        key: null,
        level: 'warn',
        at: new Date(min(23)).toISOString(),
        spend_usd: 3.15,
        followed_usd: 5.9,
        ok_again_at: new Date(min(40)).toISOString(),
      },
      {
        window: '15m',
        scope: null,
        key: null,
        level: 'emergency',
        at: new Date(min(25)).toISOString(),
        spend_usd: 5.05,
        followed_usd: 4.1,
        ok_again_at: new Date(min(40)).toISOString(),
      },
      {
        window: '1h',
        scope: 'per-agent',
        key: { agent: 'research' },
        level: 'warn',
        at: new Date(min(28)).toISOString(),
        spend_usd: 4.2,
        followed_usd: 1.3,
        ok_again_at: null,
      },
    ],
    storms: [
      {
        id: 'req-42',
        count: 21,
        spend_usd: 2.1,
        first_at: new Date(min(20)).toISOString(),
        last_at: new Date(min(29)).toISOString(),
        level: 'emergency',
      },
    ],
    unpriced: [{ model: 'mystery-model', lines: 12, tokens: 48_000, spend_usd: 0.48 }],
    minutes,
    series: [
      {
        window: '15m',
        scope: null,
        key: null,
        seconds: 900,
        limits: { warn: 3, emergency: 5, kill: 8 },
        points: rolling,
      },
      {
        window: 'daily',
        scope: null,
        key: null,
        seconds: null,
        limits: { warn: 20, emergency: 25 },
        points: daily,
      },
      {
        window: '1h',
        scope: 'per-agent',
        key: { agent: 'research' },
        seconds: 3600,
        limits: { warn: 4 },
        points: rolling.map(([t, v]) => [t, v * 0.6]),
      },
    ],
  };
}
