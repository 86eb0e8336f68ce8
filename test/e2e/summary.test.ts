// The daily summary end to end: the real CLI under libfaketime (so that "yesterday" is a day the
// test made), a Slack stand-in on 127.0.0.1. Checks run "yesterday" record the peaks; `summary`
// sends once and then says it was sent; `watch` sends it at alerts.daily_summary and a `summary`
// after it sends nothing (one per day, whoever sends it); a send that fails everywhere is not
// marked, so the next try sends.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { cli, cliAsync, DEFAULT_LIMITS, type Workspace, workspace } from './helpers.js';
import { startWatch } from './daemon.js';
import { waitFor } from './procs.js';
import { LIBFAKETIME } from '../faults/fleet-support.js';
import { standIn } from '../faults/alerts-support.js';

const DAY = '2026-12-01';

function config(extra = ''): string {
  return `log: state/cost_log.jsonl\nalerts:\n  daily_summary: "09:00"\n${DEFAULT_LIMITS}${extra}`;
}

/** A line of the tracker dated at `iso`. */
function lineAt(iso: string, cost: number, model: string, agent: string): string {
  const t = Date.parse(iso) / 1000;
  return `${JSON.stringify({ t, request_id: `r${t}-${model}`, in: 1200, out: 300, cost, model, agent })}\n`;
}

/** The CLI with its clock at `at` (UTC), moving on from there. */
function at(ws: Workspace, when: string, args: string[], env: Record<string, string> = {}) {
  return cliAsync([...args, '-c', ws.config], {
    cwd: ws.dir,
    env: { LD_PRELOAD: LIBFAKETIME as string, FAKETIME: `@${when}`, TZ: 'UTC', ...env },
  });
}

/** Yesterday's spend: $4.40 within minutes at 14:00 (15m at warn), and checks at 14:05 and 14:30. */
async function yesterday(ws: Workspace, env: Record<string, string>): Promise<void> {
  ws.append(
    lineAt(`${DAY}T14:00:00Z`, 2.4, 'gpt-4o', 'research') +
      lineAt(`${DAY}T14:02:00Z`, 1.5, 'claude-sonnet', 'support') +
      lineAt(`${DAY}T14:03:00Z`, 0.5, 'gpt-4o', '<!channel>'),
  );
  // The log as written then (the app's clock and the file's agree: no "log behind" finding).
  const then = new Date(`${DAY}T14:03:30Z`);
  utimesSync(ws.log, then, then);
  expect((await at(ws, `${DAY} 14:05:00`, ['run'], env)).code).toBe(0);
  expect((await at(ws, `${DAY} 14:30:00`, ['run'], env)).code).toBe(0);
}

describe.skipIf(LIBFAKETIME === null)('daily summary (needs libfaketime: Debian package faketime)', () => {
  it('`summary` sends yesterday once; a second `summary` says it was sent and sends nothing', async () => {
    const slack = await standIn();
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    await yesterday(ws, env);
    const book = JSON.parse(readFileSync(path.join(ws.stateDir, 'summary.json'), 'utf8'));
    expect(book.peaks[DAY]['15m'].usd).toBe(4.4);
    expect(book.peaks[DAY]['15m'].at).toMatch(/^2026-12-01T14:05:0\d/);
    // Today's spend is not yesterday's.
    ws.append(lineAt('2026-12-02T09:30:00Z', 7, 'gpt-4o', 'research'));
    const alertsBefore = slack.requests.length;

    const first = await at(ws, '2026-12-02 10:00:00', ['summary'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`daily summary of ${DAY} sent to slack`);
    const sent = slack.requests.slice(alertsBefore);
    expect(sent).toHaveLength(1);
    const text = sent[0]?.text ?? '';
    expect(text).toContain(`daily summary for ${DAY} (UTC)`);
    expect(text).toContain('15m: peak $4.40 at 14:05 (warn $3.00 / emergency $5.00 / kill $8.00): warn');
    expect(text).toContain('daily: total $4.40');
    expect(text).toContain('models: gpt-4o $2.90, claude-sonnet $1.50');
    // A name from the log cannot ping the channel.
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).toMatch(/alerts: 2 \(14:05 15m enter warn; 14:30 15m recovery ok\)/);
    expect(text).toContain('emergency flag now: not in force');
    expect(first.stdout).toContain('15m: peak $4.40 at 14:05');

    const second = await at(ws, '2026-12-02 11:00:00', ['summary'], env);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`daily summary of ${DAY} already sent at 2026-12-02T10:00`);
    expect(second.stdout).toBe('');
    expect(slack.requests.length).toBe(alertsBefore + 1);

    // --json says the same, --dry-run prints and sends nothing, --force sends again.
    const json = await at(ws, '2026-12-02 11:00:00', ['summary', '--json', '--dry-run'], env);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.delivery.result).toBe('dry run');
    expect(parsed.summary.windows[0]).toMatchObject({ window: '15m', peak_usd: 4.4, level: 'warn' });
    expect(parsed.summary.alerts.count).toBe(2);
    expect(slack.requests.length).toBe(alertsBefore + 1);
    const forced = await at(ws, '2026-12-02 11:00:00', ['summary', '--force'], env);
    expect(forced.code).toBe(0);
    expect(slack.requests.length).toBe(alertsBefore + 2);
  }, 60_000);

  it('a send that fails on every channel exits 1 and is not marked: the next try sends', async () => {
    const slack = await standIn([{ status: 403, body: 'invalid_token' }]);
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    ws.append(lineAt(`${DAY}T14:00:00Z`, 1, 'gpt-4o', 'research'));
    const failed = await at(ws, '2026-12-02 10:00:00', ['summary'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`daily summary of ${DAY} NOT SENT: slack: HTTP 403`);
    expect(existsSync(path.join(ws.stateDir, `summary-sent.${DAY}.json`))).toBe(false);
    slack.replies = [{ status: 200, body: 'ok' }];
    const retried = await at(ws, '2026-12-02 10:05:00', ['summary'], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain('sent to slack');
    // No peaks were recorded (no check ran that day): said, and the daily total still comes from the log.
    expect(slack.requests.at(-1)?.text).toContain('daily: total $1.00');
    expect(slack.requests.at(-1)?.text).toContain('15m: not recorded');
  }, 60_000);

  it('two `summary` at once: one sends, the other says it is being sent and sends nothing', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    ws.append(lineAt(`${DAY}T14:00:00Z`, 1, 'gpt-4o', 'research'));
    const first = at(ws, '2026-12-02 10:00:00', ['summary'], env);
    await waitFor('the first summary to reach Slack', () => slack.requests.length === 1);
    const second = await at(ws, '2026-12-02 10:00:01', ['summary'], env);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('is being sent by summary');
    slack.recover();
    expect((await first).code).toBe(0);
    expect(slack.requests).toHaveLength(1);
    const third = await at(ws, '2026-12-02 10:01:00', ['summary'], env);
    expect(third.stderr).toContain('already sent');
    expect(slack.requests).toHaveLength(1);
  }, 60_000);

  it('without a channel it prints the summary and says so; bad usage is 64', async () => {
    const ws = workspace(config());
    const r = await at(ws, '2026-12-02 10:00:00', ['summary']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`daily summary for ${DAY}`);
    expect(r.stderr).toContain('no alert channel configured, printed here only');
    expect((await at(ws, '2026-12-02 10:00:00', ['summary', '--date', '2026-12-02'])).code).toBe(64);
    expect((await at(ws, '2026-12-02 10:00:00', ['summary', '--date', '2026-02-30'])).code).toBe(64);
  }, 60_000);

  it('`watch` sends it at daily_summary; a `summary` after it sends nothing', async () => {
    const slack = await standIn();
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    await yesterday(ws, env);
    const before = slack.requests.length;
    // 20 seconds before 09:00 on the next day.
    const daemon = await startWatch(ws, {
      ...env,
      LD_PRELOAD: LIBFAKETIME as string,
      FAKETIME: '@2026-12-02 08:59:40',
      TZ: 'UTC',
    });
    expect(daemon.stderr()).toContain('daily summary at 09:00 UTC');
    // A reload re-schedules it: still one summary, not two.
    daemon.child.kill('SIGHUP');
    await waitFor('the reload', () => daemon.stderr().includes('SIGHUP: config reloaded'));
    const summary = await waitFor(
      'the daily summary from watch',
      () => slack.requests.slice(before).find((r) => r.text.includes('daily summary for')),
      60_000,
    );
    expect(summary.text).toContain('15m: peak $4.40 at 14:05');
    await waitFor('watch to say it sent', () =>
      daemon.stderr().includes(`daily summary of ${DAY} sent to slack`),
    );
    const after = await at(ws, '2026-12-02 09:02:00', ['summary'], env);
    expect(after.code).toBe(0);
    expect(after.stderr).toContain('already sent');
    expect(after.stderr).toContain('by watch');
    expect(slack.requests.slice(before).filter((r) => r.text.includes('daily summary for'))).toHaveLength(1);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  it('SIGTERM while `watch` sends it: cut off, exit 0, the day left unclaimed for the next try', async () => {
    const slack = await standIn(['hang']);
    const ws = workspace(config());
    const env = { SLACK_WEBHOOK_URL: slack.url };
    ws.append(lineAt(`${DAY}T14:00:00Z`, 1, 'gpt-4o', 'research'));
    const daemon = await startWatch(ws, {
      ...env,
      LD_PRELOAD: LIBFAKETIME as string,
      FAKETIME: '@2026-12-02 08:59:50',
      TZ: 'UTC',
    });
    await waitFor(
      'the summary to reach Slack',
      () => slack.requests.some((r) => r.text.includes('daily summary for')),
      60_000,
    );
    expect(existsSync(path.join(ws.stateDir, `summary-sent.${DAY}.json`))).toBe(true);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.stderr()).toContain(`daily summary of ${DAY} NOT SENT`);
    expect(existsSync(path.join(ws.stateDir, `summary-sent.${DAY}.json`))).toBe(false);
    slack.recover();
    const later = await at(ws, '2026-12-02 09:10:00', ['summary'], env);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stderr).toContain('sent to slack');
  }, 90_000);
});

const ANALYZE = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;

describe('systemd units for the daily summary', () => {
  it.skipIf(!ANALYZE)(
    'with daily_summary set, `systemd` adds a summary timer a minute after it, in the config timezone, ' +
      'and the units pass systemd-analyze verify (needs systemd-analyze)',
    () => {
      const ws = workspace(`timezone: Europe/Berlin\n${config()}`);
      const dir = mkdtempSync(path.join(tmpdir(), 'cw-units-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const r = cli(['systemd', '-c', ws.config, '--dir', dir], { cwd: ws.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('cost-watchdog-summary.timer');
      const timer = readFileSync(path.join(dir, 'cost-watchdog-summary.timer'), 'utf8');
      expect(timer).toContain('OnCalendar=*-*-* 09:01:00 Europe/Berlin');
      const service = readFileSync(path.join(dir, 'cost-watchdog-summary.service'), 'utf8');
      expect(service).toMatch(/^ExecStart=.* summary -c /m);
      const names = readdirSync(dir).filter((n) => !n.includes('@'));
      const v = spawnSync(
        'systemd-analyze',
        ['verify', ...names, 'cost-watchdog-notify@cost-watchdog-summary.service.service'],
        { cwd: dir, encoding: 'utf8' },
      );
      expect(`${v.stdout}${v.stderr}`).toBe('');
      expect(v.status).toBe(0);
    },
  );
});
