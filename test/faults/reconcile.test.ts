// Reconciling's faults, driven through the real CLI against the provider stand-ins on 127.0.0.1:
// a key refused at run time, 429 with and without Retry-After, 5xx, a response of the wrong shape,
// and a provider clock minutes off. Each is said once, never fails the check or `run`, never prints
// the key, and never turns into unlogged spend that is not there.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { slackServer, waitFor } from '../e2e/procs.js';
import { minuteOf, openaiStandIn } from '../e2e/provider-standins.js';
import { expectNoKey, line, MINUTE, priced, setup } from '../e2e/reconcile-support.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe('a provider that cannot be read', () => {
  it.each([
    [401, /refused|401|key/i],
    [403, /refused|403|key/i],
    [500, /500/],
    [503, /503/],
  ])(
    '%i at run time: alerted once with its reason, run exits 0, the logs still counted',
    async (status, reason) => {
      const slack = await slackServer();
      const openai = await openaiStandIn();
      openai.failAlways({ kind: 'status', status });
      const s = setup([openai], { slack: slack.url });
      s.ws.append(line('gpt-4o', 3, 5000));
      const r = await s.runJson();
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.windows['15m']?.spend_usd).toBe(3);
      expect(r.json.reconcile?.openai?.error).toMatch(reason);
      expect(r.json.reconcile?.openai?.level).toBe('ok');
      await waitFor('the alert', () => slack.requests.length >= 1, 20_000);
      expect(slack.requests.map((q) => q.text).join('\n')).toMatch(
        /reconcile openai: .*only the logs are watched/,
      );
      // Once: the next runs (the provider still failing) say nothing new.
      s.age(15_000);
      expect((await s.run('run')).code).toBe(0);
      s.age(15_000);
      expect((await s.run('run')).code).toBe(0);
      await settle();
      expect(slack.requests).toHaveLength(1);
      const st = await s.status();
      expect(st.code).toBe(1);
      expect(st.json.warnings.some((w) => w.kind === 'reconcile' && reason.test(w.text))).toBe(true);
      expectNoKey(s, r.stderr, st.stdout, ...slack.requests.map((q) => q.body));
    },
  );

  it('a 5xx that recovers: the finding goes, and the read counts again', async () => {
    const openai = await openaiStandIn();
    openai.fault({ kind: 'status', status: 502 });
    const s = setup([openai]);
    const first = await s.runJson();
    expect(first.json.reconcile?.openai?.error).toMatch(/502/);
    s.age(15_000);
    const second = await s.runJson();
    expect(second.json.reconcile?.openai?.error).toBeNull();
    expect(second.json.reconcile?.openai?.last_minute).not.toBeNull();
    expect((await s.status()).json.warnings.filter((w) => w.kind === 'reconcile')).toEqual([]);
  });

  it('429 with Retry-After: not asked again before it has passed', async () => {
    const openai = await openaiStandIn();
    openai.fault({ kind: 'status', status: 429, retryAfter: '120' });
    const s = setup([openai]);
    const r = await s.runJson();
    expect(r.code).toBe(0);
    expect(r.json.reconcile?.openai?.error).toMatch(/429|rate/i);
    const asked = openai.usageRequests().length;
    // `every` (10s) has passed, Retry-After (120s) has not.
    s.age(30_000);
    expect((await s.run('run')).code).toBe(0);
    expect(openai.usageRequests().length).toBe(asked);
    s.age(100_000);
    expect((await s.run('run')).code).toBe(0);
    expect(openai.usageRequests().length).toBeGreaterThan(asked);
  });

  it('429 without Retry-After: asked again after `every`', async () => {
    const openai = await openaiStandIn();
    openai.fault({ kind: 'status', status: 429 });
    const s = setup([openai]);
    expect((await s.run('run')).code).toBe(0);
    const asked = openai.usageRequests().length;
    s.age(5_000);
    expect((await s.run('run')).code).toBe(0);
    expect(openai.usageRequests().length).toBe(asked);
    s.age(10_000);
    expect((await s.run('run')).code).toBe(0);
    expect(openai.usageRequests().length).toBeGreaterThan(asked);
  });

  it('a response of the wrong shape is a failure said once, never $0 of usage', async () => {
    const openai = await openaiStandIn();
    openai.failAlways({ kind: 'wrong-shape' });
    const s = setup([openai]);
    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reconcile?.openai?.error).toMatch(/shape|expected|data/i);
    expect(r.json.reconcile?.openai?.last_minute).toBeNull();
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a wrong shape after a good read keeps the good read', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai]);
    const at = minuteOf(Date.now() - 3 * MINUTE);
    openai.addUsage({
      minuteMs: at,
      model: 'gpt-4o-2024-08-06',
      scope: 'proj_abc',
      input: 4_000_000,
      output: 1_000_000,
    });
    const first = await s.runJson();
    const usd = first.json.reconcile?.openai?.unlogged_usd ?? 0;
    expect(usd).toBeGreaterThan(1);
    openai.failAlways({ kind: 'wrong-shape' });
    s.age(15_000);
    const second = await s.runJson();
    expect(second.json.reconcile?.openai?.error).not.toBeNull();
    expect(second.json.reconcile?.openai?.unlogged_usd).toBeCloseTo(usd, 6);
    expect(second.json.reconcile?.openai?.level).toBe('emergency');
  });
});

describe("the provider's clock minutes off", () => {
  it.each([3, -3])(
    '%i minutes: its minutes are moved onto ours, no false unlogged spend, said once',
    async (offset) => {
      const slack = await slackServer();
      const openai = await openaiStandIn();
      openai.clockOffsetMs = offset * MINUTE;
      const s = setup([openai], { slack: slack.url });
      // The app logs a call at our minute m; the provider, its clock off, dates it m + offset.
      const ours = minuteOf(Date.now() - 5 * MINUTE);
      const usd = priced('gpt-4o-2024-08-06', 4_000_000, 1_000_000);
      s.ws.append(line('gpt-4o', usd, Date.now() - ours - 20_000));
      const tokens = { input: 4_000_000, output: 1_000_000 };
      openai.addUsage({
        minuteMs: ours + offset * MINUTE,
        model: 'gpt-4o-2024-08-06',
        scope: 'proj_abc',
        ...tokens,
      });
      const r = await s.runJson();
      expect(r.code, r.stderr).toBe(0);
      const e = r.json.reconcile?.openai;
      expect(Math.round((e?.clock_offset_seconds ?? 0) / 60)).toBe(offset);
      expect(e?.provider_usd).toBeCloseTo(usd, 6);
      expect(e?.unlogged_usd).toBe(0);
      expect(e?.level).toBe('ok');
      const clock = /clock is \d+s (ahead of|behind) this host's/;
      await waitFor('the clock finding', () => slack.requests.some((q) => clock.test(q.text)), 20_000);
      s.age(15_000);
      expect((await s.run('run')).code).toBe(0);
      await settle();
      expect(slack.requests.filter((q) => clock.test(q.text))).toHaveLength(1);
    },
  );
});

describe('the state file', () => {
  it('a damaged reconcile.json is an empty memory: the next read fills it', async () => {
    const openai = await openaiStandIn();
    const s = setup([openai]);
    expect((await s.run('run')).code).toBe(0);
    const file = path.join(s.ws.stateDir, 'reconcile.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).providers.openai).toBeDefined();
    writeFileSync(file, '{"providers": {"openai": {"buckets": "nonsense", "tried_at_ms": "x"}}');
    const r = await s.runJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reconcile?.openai?.last_minute).not.toBeNull();
  });
});
