// `watch` with http.listen: the real daemon serving the dashboard, /status.json, /metrics and
// /events on 127.0.0.1, and the page itself in headless Chromium (figures read from its live DOM,
// changed by an append to the log, a screenshot kept in test-output/ for a person to look at).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { StatusJson } from '../../src/commands/render/status-json.js';
import { replayHtml } from '../../src/web/replay-page.js';
import type { DashboardSnapshot } from '../../src/web/snapshot.js';
import { sampleReplay } from '../unit/replay-sample.js';
import { CHROMIUM, launchChromium } from './chromium.js';
import { type Daemon, startWatch } from './daemon.js';
import { ccLine, cliAsync, DEFAULT_LIMITS, flagFile, lines, workspace } from './helpers.js';
import { waitFor } from './procs.js';
import { openaiStandIn } from './provider-standins.js';

const OUTPUT = path.resolve(import.meta.dirname, '../../test-output');

async function poll<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function config(listen: string, extra = ''): string {
  return `log: state/cost_log.jsonl\n${DEFAULT_LIMITS}http:\n  listen: ${JSON.stringify(listen)}\n${extra}`;
}

/** The base URL from what watch says on stderr at start. */
async function baseUrl(daemon: Daemon, nth = 1): Promise<string> {
  return waitFor('the dashboard address on stderr', () => {
    const all = [...daemon.stderr().matchAll(/dashboard on (http:\/\/\S+\/) /g)];
    return all.length >= nth ? (all[nth - 1]?.[1] as string) : null;
  });
}

async function statusOf(base: string): Promise<StatusJson> {
  const r = await fetch(`${base}status.json`);
  if (r.status !== 200) throw new Error(`status.json: ${r.status}`);
  return (await r.json()) as StatusJson;
}

/** Snapshots of /events as they arrive, read from a streaming fetch. */
function follow(url: string): { events: DashboardSnapshot[]; comments: number; stop(): void } {
  const abort = new AbortController();
  const out = { events: [] as DashboardSnapshot[], comments: 0, stop: () => abort.abort() };
  void (async () => {
    const r = await fetch(url, { signal: abort.signal });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      let end = text.indexOf('\n\n');
      while (end >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        if (block.startsWith(':')) out.comments++;
        const data = /^data: (.*)$/m.exec(block);
        if (block.startsWith('event: snapshot') && data !== null)
          out.events.push(JSON.parse(data[1] as string) as DashboardSnapshot);
        end = text.indexOf('\n\n');
      }
    }
  })().catch(() => undefined);
  return out;
}

describe('watch serves the dashboard, /status.json, /metrics and /events (http.listen)', () => {
  it('answers /status.json as `status --json`, /metrics, 404, 405, 421, an event per check', async () => {
    const ws = workspace(config('127.0.0.1:0'));
    ws.append(lines(4, 0.25));
    const daemon = await startWatch(ws);
    const base = await baseUrl(daemon);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const served = await poll('status.json after the first check', () => statusOf(base));
    const cli = ws.status().json;
    expect(served.status).toBe(cli.status);
    for (const name of ['15m', 'daily']) {
      expect(served.windows[name]?.spend_usd).toBe(1);
      expect(served.windows[name]).toEqual(cli.windows[name]);
    }
    expect(served.emergency.active).toBe(false);
    const status = await fetch(`${base}status.json`);
    expect(status.headers.get('content-type')).toBe('application/json');
    expect(status.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(status.headers.get('x-content-type-options')).toBe('nosniff');
    expect(status.headers.get('access-control-allow-origin')).toBeNull();

    // /metrics: the latest check's metrics (text format), or 503 until a check has made them.
    const metrics = await fetch(`${base}metrics`);
    expect([200, 503]).toContain(metrics.status);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await metrics.text()).length).toBeGreaterThan(0);

    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'/);
    expect(policy).toContain("connect-src 'self'");
    expect(await page.text()).toContain('data-page="dashboard"');

    expect((await fetch(`${base}nothing-here`)).status).toBe(404);
    const post = await fetch(base, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}status.json`, { method: 'DELETE' })).status).toBe(405);
    const head = await fetch(`${base}status.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // A name that resolves to 127.0.0.1 (DNS rebinding) does not read the figures.
    const rebound = await new Promise<string>((resolve) => {
      const u = new URL(base);
      const s = net.connect(Number(u.port), u.hostname, () =>
        s.write('GET /status.json HTTP/1.1\r\nHost: attacker.example:80\r\nConnection: close\r\n\r\n'),
      );
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
    });
    expect(rebound).toMatch(/^HTTP\/1\.1 421 /);

    // /events: the latest snapshot at once, then one after the check an append causes.
    const events = follow(`${base}events`);
    await waitFor('the first event', () => events.events.length >= 1);
    const first = events.events[0] as DashboardSnapshot;
    expect('windows' in first.status && first.status.windows['15m']?.spend_usd).toBe(1);
    expect(first.minutes.length).toBeGreaterThan(300);
    expect(first.minutes.reduce((sum, [, v]) => sum + v, 0)).toBeCloseTo(1, 6);
    ws.append(ccLine(0.5));
    const appended = Date.now();
    const later = await waitFor(
      'an event with the appended spend',
      () =>
        events.events.find((e) => 'windows' in e.status && e.status.windows['15m']?.spend_usd === 1.5) ??
        null,
      20_000,
    );
    expect(Date.parse(later.generated_at) - appended).toBeLessThan(5_000);
    events.stop();

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });

  it('takes 32 dashboards at most, and closes with them connected on SIGTERM (exit 0)', async () => {
    const ws = workspace(config('127.0.0.1:0'));
    const daemon = await startWatch(ws);
    const base = await baseUrl(daemon);
    // At most 32 dashboards at once: the 33rd is told to come back later.
    const clients = Array.from({ length: 32 }, () => follow(`${base}events`));
    await waitFor('every dashboard to get an event', () => clients.every((c) => c.events.length > 0));
    const more = await fetch(`${base}events`);
    expect(more.status).toBe(503);
    expect(more.headers.get('retry-after')).toBe('10');
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const c of clients) c.stop();
  });

  it('refuses a non-loopback listen without http.allow_remote (exit 78, naming http.listen)', async () => {
    const ws = workspace(config('0.0.0.0:0'));
    const r = await cliAsync(['watch', '-c', ws.config], { cwd: ws.dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('http.listen: 0.0.0.0:0 is not a loopback address');
    expect(r.stderr).toContain('http.allow_remote');
  });

  it('says loudly at start that a non-loopback listen is open to the network (allow_remote)', async () => {
    const ws = workspace(config('0.0.0.0:0', '  allow_remote: true\n'));
    const daemon = await startWatch(ws);
    await baseUrl(daemon);
    expect(daemon.stderr()).toMatch(/WARNING: 0\.0\.0\.0:0 is NOT a loopback address.*open to the network/);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });

  it('a port in use: says so loudly and goes on protecting (the flag is still written)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const ws = workspace(config(`127.0.0.1:${port}`));
      const daemon = await startWatch(ws);
      expect(daemon.stderr()).toContain(
        `http: DASHBOARD DOWN: 127.0.0.1:${port} is already in use by another process. The dashboard, ` +
          '/status.json and /metrics are unreachable; the watchdog goes on checking and protecting.',
      );
      ws.append(lines(6, 1));
      await waitFor('the emergency flag', () => existsSync(flagFile(ws)));
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('SIGHUP with a changed http.listen serves at the new address', async () => {
    const ws = workspace(config('127.0.0.1:0'));
    const daemon = await startWatch(ws);
    const first = await baseUrl(daemon);
    writeFileSync(ws.config, config('localhost:0'));
    daemon.child.kill('SIGHUP');
    const second = await baseUrl(daemon, 2);
    expect(second).not.toBe(first);
    await poll('status.json at the new address', () => statusOf(second));
    await expect(fetch(`${first}status.json`)).rejects.toThrow();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });
});

const NO_CHROMIUM = ' (SKIPPED: no chromium installed; apt-get install chromium)';
describe.skipIf(CHROMIUM === null)(
  `the dashboard in headless Chromium${CHROMIUM === null ? NO_CHROMIUM : ''}`,
  () => {
    it('shows the figures of /status.json, changes them after an append, keeps to its CSP', async () => {
      const ws = workspace(config('127.0.0.1:0', 'target:\n  pid_file: state/app.pid\n'));
      // The app: a real process, its pid in the pid file (shown as the running target).
      const app = spawn('sleep', ['600'], { stdio: 'ignore' });
      onTestFinished(() => {
        app.kill('SIGKILL');
      });
      writeFileSync(path.join(ws.dir, 'state', 'app.pid'), `${app.pid}\n`);
      // A spread of models and agents over the last hours, for the chart and the top spenders.
      const now = Date.now() / 1000;
      let text = '';
      for (let i = 0; i < 240; i++) {
        const t = now - i * 75;
        text += `${JSON.stringify({
          t,
          request_id: `h${i}`,
          in: 900,
          out: 200,
          cost: 0.02 + (i % 7) * 0.01,
          model: ['gpt-4o', 'claude-sonnet-4', 'gemini-2.5-pro'][i % 3],
          agent: ['research', 'writer'][i % 2],
        })}\n`;
      }
      ws.append(text);
      const daemon = await startWatch(ws);
      const base = await baseUrl(daemon);
      const served = await poll('status.json', () => statusOf(base));
      const browser = await launchChromium();
      const page = await browser.page(1280, 1000);
      await page.navigate(base);
      const shown = (name: string) =>
        page.evaluate<string | null>(`document.getElementById('spend-${name}')?.textContent ?? null`);
      const usd = (v: number | undefined) => `$${(v ?? Number.NaN).toFixed(2)}`;
      await poll(
        'the 15m figure in the page',
        async () => (await shown('15m')) === usd(served.windows['15m']?.spend_usd),
      );
      expect(await shown('daily')).toBe(usd(served.windows.daily?.spend_usd));
      expect(await page.evaluate('document.getElementById("verdict").textContent')).toBe(served.status);
      expect(await page.evaluate('document.querySelectorAll("#chart canvas").length')).toBeGreaterThan(0);
      expect(await page.evaluate('document.querySelector(".tops").textContent')).toContain('gpt-4o');
      const facts = await page.evaluate<string>('document.getElementById("facts").textContent');
      expect(facts).toContain('not set');
      expect(facts).toContain(`running (pid ${app.pid})`);
      expect(await page.evaluate('document.getElementById("live").textContent')).toMatch(/^live/);

      // Append, and time how long until the page shows it (the check, the rebuild, the event, the DOM).
      const latencies: number[] = [];
      for (let round = 0; round < 5; round++) {
        // Apart by more than the 250 ms rebuild throttle: each append is timed alone.
        await new Promise((r) => setTimeout(r, 300));
        const before = await shown('15m');
        await page.evaluate(`(() => {
          const el = document.getElementById('windows');
          window.__changedAt = null;
          new MutationObserver((_m, o) => {
            if (document.getElementById('spend-15m')?.textContent !== ${JSON.stringify(before)}) {
              window.__changedAt = Date.now();
              o.disconnect();
            }
          }).observe(el, { childList: true, subtree: true, characterData: true });
        })()`);
        const t0 = Date.now();
        ws.append(ccLine(0.1));
        const changedAt = await poll('the 15m figure to change', () =>
          page.evaluate<number | null>('window.__changedAt'),
        );
        latencies.push(changedAt - t0);
        const now15 = (await statusOf(base)).windows['15m']?.spend_usd;
        expect(await shown('15m')).toBe(usd(now15));
      }
      process.stderr.write(
        `dashboard update latency (append -> figure changed), ms: ${latencies.join(', ')}\n`,
      );
      expect(Math.max(...latencies), `latencies ${latencies.join(', ')} ms`).toBeLessThan(5_000);

      expect(await page.evaluate('window.__cspViolations')).toEqual([]);
      const height = await page.evaluate<number>('document.documentElement.scrollHeight');
      await page.send('Emulation.setDeviceMetricsOverride', {
        width: 1280,
        height: Math.min(4000, height),
        deviceScaleFactor: 1,
        mobile: false,
      });
      await new Promise((r) => setTimeout(r, 300));
      mkdirSync(OUTPUT, { recursive: true });
      writeFileSync(path.join(OUTPUT, 'dashboard.png'), await page.screenshot());

      // The watchdog gone: the page says its figures are not live any more.
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      await poll('the page to say it is disconnected', async () =>
        /^DISCONNECTED/.test(await page.evaluate<string>('document.getElementById("live").textContent')),
      );
      await browser.close();
    });

    it("shows each provider of reconcile among the watchdog's facts, unlogged spend marked", async () => {
      const openai = await openaiStandIn();
      const at = Math.floor((Date.now() - 2 * 60_000) / 60_000) * 60_000;
      openai.addUsage({
        minuteMs: at,
        model: 'gpt-4o-2024-08-06',
        scope: 'proj_abc',
        input: 4_000_000,
        output: 1_000_000,
      });
      const ws = workspace(
        config(
          '127.0.0.1:0',
          `reconcile:\n  every: 10s\n  providers:\n    - { type: openai, base_url: "${openai.baseUrl}" }\n` +
            '  daily_check: off\n',
        ),
      );
      ws.append('');
      const daemon = await startWatch(ws, { OPENAI_ADMIN_KEY: openai.adminKey });
      const base = await baseUrl(daemon);
      const served = await poll('the reconcile figures', async () => {
        const st = await statusOf(base);
        return (st.reconcile?.openai?.unlogged_usd ?? 0) > 0 ? st : null;
      });
      const browser = await launchChromium();
      const page = await browser.page(1280, 1000);
      await page.navigate(base);
      const unlogged = `unlogged $${(served.reconcile?.openai?.unlogged_usd ?? 0).toFixed(2)}`;
      await poll('the reconcile fact', async () =>
        (await page.evaluate<string>('document.getElementById("facts").textContent')).includes(unlogged),
      );
      const fact = await page.evaluate<string>(
        '[...document.querySelectorAll("#facts dt")].find((d) => d.textContent === "reconcile openai")' +
          '?.nextElementSibling?.className ?? null',
      );
      expect(fact).toBe('bad');
      expect(await page.evaluate('window.__cspViolations')).toEqual([]);
      await browser.close();
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    });

    it('shows figures in cost.display_currency (status.json stays USD), the replay page too', async () => {
      const ws = workspace(
        config('127.0.0.1:0', 'cost:\n  currency_rates: { EUR: 1.08 }\n  display_currency: EUR\n'),
      );
      ws.append(ccLine(3.24) + ccLine(1));
      const daemon = await startWatch(ws);
      const base = await baseUrl(daemon);
      const served = await poll('status.json with the spend', async () => {
        const st = await statusOf(base);
        return (st.windows['15m']?.spend_usd ?? 0) >= 4.24 ? st : null;
      });
      expect(served.windows['15m']?.spend_usd).toBe(4.24); // USD in the JSON
      const browser = await launchChromium();
      const page = await browser.page(1280, 1000);
      await page.navigate(base);
      // $4.24 / 1.08 = €3.9259...: cut to €3.92.
      await poll(
        'the 15m figure in euros',
        async () =>
          (await page.evaluate<string | null>(
            'document.getElementById("spend-15m")?.textContent ?? null',
          )) === '€3.92',
      );
      expect(await page.evaluate('document.getElementById("currency").textContent')).toBe(
        'figures in EUR (1 EUR = 1.08 USD)',
      );
      expect(await page.evaluate<string>('document.getElementById("windows").textContent')).not.toMatch(
        /\$\d/,
      );
      expect(await page.evaluate('window.__cspViolations')).toEqual([]);

      const file = path.join(ws.dir, 'replay.html');
      const report = sampleReplay();
      writeFileSync(file, replayHtml(report, { code: 'EUR', rate: 1.08 }));
      await page.navigate(`file://${file}`);
      const euros = `€${(Math.floor((report.total_usd / 1.08) * 100) / 100).toFixed(2)} spent`;
      await poll('the replay summary in euros', async () =>
        (await page.evaluate<string>('document.getElementById("summary").textContent')).includes(euros),
      );
      await browser.close();
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    });

    it('the replay page opens from file:// and draws every series with the same chart', async () => {
      const ws = workspace();
      const file = path.join(ws.dir, 'replay.html');
      writeFileSync(file, replayHtml(sampleReplay()));
      const browser = await launchChromium();
      const page = await browser.page(1280, 1000);
      await page.navigate(`file://${file}`);
      await poll(
        'the charts',
        async () => (await page.evaluate<number>('document.querySelectorAll(".u-wrap").length')) > 0,
      );
      expect(await page.evaluate('document.querySelectorAll("#charts section").length')).toBe(
        sampleReplay().series.length,
      );
      expect(await page.evaluate('document.querySelectorAll("#crossings tbody tr").length')).toBe(
        sampleReplay().crossings.length,
      );
      expect(await page.evaluate('document.getElementById("unpriced").textContent')).toContain(
        'mystery-model',
      );
      expect(await page.evaluate('window.__cspViolations')).toEqual([]);
      const height = await page.evaluate<number>('document.documentElement.scrollHeight');
      await page.send('Emulation.setDeviceMetricsOverride', {
        width: 1280,
        height: Math.min(4000, height),
        deviceScaleFactor: 1,
        mobile: false,
      });
      mkdirSync(OUTPUT, { recursive: true });
      writeFileSync(path.join(OUTPUT, 'replay.png'), await page.screenshot());
      await browser.close();
    });
  },
);
