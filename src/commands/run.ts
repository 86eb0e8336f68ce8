// `run`: one check, for a systemd timer or cron. Exit 0 whatever the spend; 1 when the watchdog
// could not see (log unreadable) or could not record what it saw.
import { isSingleLog } from '../sources/read.js';
import { configPath, loadConfig } from '../config/index.js';
import { actionLines } from '../core/alert-text.js';
import { balanceWords } from '../core/balance.js';
import { pingAfterCheck } from '../check/ping.js';
import { checkSucceeded, runCheck } from '../check/run-check.js';
import type { CheckOutcome } from '../check/types.js';
import { EXIT, FailureError } from '../errors.js';
import { bytes, levelText, limitsText, printable, usd, useColor } from '../format.js';
import { runJson } from './render/run-json.js';
import { sayNotes } from './render/notes.js';
import { fleetWindowsShown } from '../fleet/act.js';
import type { FleetOutcome } from '../fleet/types.js';
import { dollarsOf } from '../core/money.js';

export interface RunOptions {
  config?: string;
  json?: boolean;
  dryRun?: boolean;
}

/** What the fleet said in this check, under the windows: its emergency, or why it cannot be seen. */
function fleetRunLines(fleet: FleetOutcome): string[] {
  const out: string[] = [];
  if (!fleet.reachable)
    out.push(
      `fleet ${fleet.name}: ${fleet.problem?.kind === 'refused' ? 'refused' : 'view lost'}: ` +
        `${printable(fleet.problem?.text ?? '?')} (Redis at ${fleet.shown})`,
    );
  const e = fleet.emergency;
  const emergency =
    e === null
      ? 'no fleet emergency'
      : `FLEET ${e.level.toUpperCase()} since ${clockOf(e.since_ms)} by host ${e.by} (${e.window} ` +
        `${usd(dollarsOf(e.spend))} >= ${e.level} ${usd(dollarsOf(e.limit))})`;
  if (fleet.reachable) out.push(`fleet ${fleet.name}: ${fleet.hosts} host(s); ${emergency}`);
  else if (e !== null) out.push(`fleet ${fleet.name}: ${emergency}, remembered while Redis cannot be asked`);
  return out;
}

function clockOf(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

export async function runCommand(options: RunOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const dryRun = options.dryRun === true;
  let result: CheckOutcome;
  try {
    result = await runCheck(config, { mode: 'run', dryRun, now: Date.now });
  } catch (error) {
    // The check could not complete (lock held, state folder not writable): the dead-man's switch
    // hears about it at once, not only when the pings stop.
    if (!dryRun) await pingAfterCheck(config, false, Date.now);
    throw error;
  }
  if (!dryRun) await pingAfterCheck(config, checkSucceeded(result), Date.now);
  // The providers whose turn it is are read after the check (never holding it back); what they
  // said is acted on by a second check when it changes anything (check/reconcile-step.ts).
  if (!dryRun && config.reconcile !== null) {
    const { anyDue } = await import('../reconcile/poll.js');
    if (anyDue(config, Date.now())) {
      const { reconcileAfterRun } = await import('../check/reconcile-step.js');
      const { clientsFrom } = await import('../reconcile/clients.js');
      result = await reconcileAfterRun(config, result, clientsFrom(process.env), Date.now);
    }
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(runJson(result, dryRun))}\n`);
  } else {
    const color = useColor();
    const fleet = result.fleet;
    const fleetWindows = fleet === null ? [] : fleetWindowsShown(fleet);
    const balance = result.balance === null ? [] : [result.balance.window];
    const shown = [...result.windows, ...balance, ...fleetWindows];
    const nameWidth = Math.max(...shown.map((w) => w.name.length));
    const lines = shown.map(
      (w) =>
        `${w.name.padEnd(nameWidth)}  ${usd(w.spend).padStart(10)}  ${levelText(w.level, color, 9)} ` +
        ` (${limitsText(w.limits)})`,
    );
    if (result.balance !== null) lines.push(`${' '.repeat(nameWidth + 2)}${balanceWords(result.balance)}`);
    if (fleet !== null) lines.push(...fleetRunLines(fleet));
    const single = isSingleLog(config);
    const read = single
      ? config.log
      : `${result.sources.length} file(s) of ${config.sources.map((s) => s.written).join(', ')}`;
    const malformed = result.newMalformed > 0 ? `, ${result.newMalformed} malformed` : '';
    const first = result.newMalformedSamples[0];
    lines.push(
      result.logError !== null
        ? `${dryRun ? 'dry run: ' : ''}COULD NOT READ ${single ? config.log : result.logError}: ` +
            `the figures above are only what was counted before`
        : `${dryRun ? 'dry run: ' : ''}read ${result.newRecords} new line` +
            `${result.newRecords === 1 ? '' : 's'} (${bytes(result.bytesRead)})${malformed} from ${read}`,
    );
    if (first !== undefined)
      lines.push(
        `first malformed: ${first.file}:${first.line}: ${first.reason}: ${printable(first.excerpt)}`,
      );
    for (const action of actionLines(result.flag, result.kill))
      lines.push(`${dryRun && !action.startsWith('would') ? 'dry run: ' : ''}${printable(action)}`);
    for (const [name, e] of Object.entries(result.reconcile?.entries ?? {}))
      if (e.last_minute !== null)
        lines.push(
          `reconcile ${name}: provider ${usd(e.provider_usd)}, logs ${usd(e.logged_usd)}, unlogged ` +
            `${usd(e.unlogged_usd)} to ${e.last_minute.slice(11, 16)} UTC` +
            `${e.level !== 'ok' ? ` ${levelText(e.level, color, 0).trim()}` : ''}`,
        );
    for (const finding of result.observation.findings) lines.push(`WARNING: ${printable(finding.text)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // Every rebuild but the first run's: a checkpoint not used is news (all was read again).
  sayNotes(result);
  if (result.newFuture > 0) {
    process.stderr.write(
      `cost-watchdog: note: ${result.newFuture} line(s) dated more than 5 minutes in the future ` +
        `(clock skew?) were counted as now\n`,
    );
  }
  if (result.logError !== null) throw new FailureError([result.logError, ...result.failures].join('\n'));
  if (result.failures.length > 0) throw new FailureError(result.failures.join('\n'));
  return EXIT.OK;
}
