// `balance`: the prepaid balance (limits.balance). With --add <amount> --reason <text>, a person
// records a top-up (credit bought) without editing the config: written to balance.json under the
// state lock, audited, and announced on the alert channels with the balance as it now stands.
// Without --add: the balance, what is left and the top-ups, read-only. A top-up never touches the
// emergency flag: once the balance is under its limits again, clear-emergency (without --force)
// lets the app spend again.
import { type Config, configPath, loadConfig } from '../config/index.js';
import type { BalanceSpec } from '../config/sections/balance.js';
import { toUsd } from '../config/sections/balance.js';
import { loadAlerts, rememberAlerts } from '../check/alert-state.js';
import { announceCleared } from '../check/deliver.js';
import { balanceOf, inspect } from '../check/inspect.js';
import { underLock } from '../check/run-check.js';
import { balanceWords } from '../core/balance.js';
import { readTopUps, type TopUp, writeTopUps } from '../effects/balance-store.js';
import { readFlag } from '../effects/flag.js';
import { host, who } from '../effects/identity.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { figuresCurrency } from '../core/money.js';
import { levelText, printable, usd, useColor } from '../format.js';
import { sayNotes } from './render/notes.js';
import { balanceJson } from './render/status-json.js';

export interface BalanceOptions {
  config?: string;
  add?: string;
  reason?: string;
  json?: boolean;
}

/** The largest top-up taken at once (as limits.balance.usd): a typo of zeros is refused, not counted. */
const MAX_TOP_UP = 1e9;

/** `--add`'s amount: a plain positive number, in the limits' currency. */
export function parseAmount(text: string, currency: string, rate = 1): number {
  const trimmed = text.trim().replace(/^\+/, '');
  const amount = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  // Under half a micro-dollar it would be recorded as nothing: refused like 0.
  if (!(amount > 0 && amount <= MAX_TOP_UP && Math.round(amount * rate * 1e6) > 0))
    throw new UsageError(
      `--add: expected the amount added, a number above 0 and up to ${MAX_TOP_UP} in ${currency} ` +
        `(the limits' currency), like --add 50; got ${JSON.stringify(text)}` +
        (/^-/.test(text.trim())
          ? ' (a top-up cannot be taken back: to start over, set limits.balance.since and usd in the ' +
            'config; top-ups before since are not counted)'
          : ''),
    );
  return amount;
}

function specOf(config: Config): BalanceSpec {
  if (config.balance === null)
    throw new UsageError(
      `balance: no limits.balance in ${config.file}; add one, like limits: { balance: { since: ` +
        '"2026-01-27T09:00:00Z", usd: 50, warn: 80%, emergency: 90%, kill: 95% } }',
    );
  return config.balance;
}

export async function balanceCommand(options: BalanceOptions): Promise<number> {
  const config = loadConfig(configPath(options.config, process.env, process.cwd()));
  const spec = specOf(config);
  if (options.add === undefined) {
    if (options.reason !== undefined)
      throw new UsageError('--reason goes with --add <amount>: it says why the balance was topped up');
    return show(config, spec, options.json === true);
  }
  const currency = config.cost.limitsCurrency;
  const amount = parseAmount(options.add, currency.code, currency.rate);
  const reason = options.reason?.trim() ?? '';
  if (reason === '')
    throw new UsageError(
      'balance --add needs --reason <text>: say where the credit came from (it goes to the audit ' +
        'log and the alert channels)',
    );
  return underLock(config, Date.now, async (result, audit) => {
    const nowMs = result.nowMs;
    sayNotes(result);
    const read = readTopUps(config.stateDir);
    if (!read.ok) {
      audit.record('balance_add_failed', { reason, amount, error: read.problem });
      throw new FailureError(
        `cannot record the top-up: ${read.file} cannot be read (${read.problem}). Nothing was ` +
          'written: fix the file, or move it away (its top-ups are then no longer counted) and add ' +
          'them again',
      );
    }
    const person = who();
    const topUp: TopUp = {
      atMs: nowMs,
      usd: toUsd(amount, currency.rate),
      amount,
      currency: currency.code,
      reason,
      by: `${person}@${host()}`,
    };
    const topUps = [...read.topUps, topUp];
    try {
      writeTopUps(config.stateDir, topUps);
    } catch (error) {
      audit.record('balance_add_failed', { reason, amount, error: (error as Error).message });
      throw new FailureError(`cannot record the top-up in ${config.stateDir}: ${(error as Error).message}`);
    }
    const after = balanceOf(config, spec, result.ledger, nowMs, { ok: true, topUps }).status;
    const counted = nowMs >= spec.sinceMs;
    audit.record('balance_topped_up', {
      by: person,
      host: host(),
      reason,
      amount,
      currency: currency.code,
      usd: topUp.usd,
      counted,
      balance: balanceJson(after),
      ...(result.logError !== null ? { error: result.logError } : {}),
    });
    const shownIn = figuresCurrency().code;
    const amountText = `${usd(topUp.usd)}${currency.code === shownIn ? '' : ` (${amount} ${currency.code})`}`;
    const flag = readFlag(config.flagFile);
    const flagWords =
      flag.kind !== 'present'
        ? null
        : after.window.level === 'emergency' || after.window.level === 'kill'
          ? `the emergency flag is still in force, and the balance is still at ${after.window.level}: ` +
            `it stays until \`cost-watchdog clear-emergency --reason ...\` (which needs --force while ` +
            `spend is at emergency or above)`
          : 'the emergency flag is still in force: a top-up does not lift it; once it is safe, ' +
            '`cost-watchdog clear-emergency --reason ...` lets the app spend again';
    const { state } = loadAlerts(config);
    const delivery = await announceCleared(
      config,
      `BALANCE TOPPED UP by ${person}: +${amountText}: ${reason}` +
        (counted ? '' : ` (not counted: before limits.balance.since ${spec.sinceText})`) +
        (result.logError === null
          ? ''
          : ` (COULD NOT READ the log: the spend below is as last read: ${result.logError})`),
      [...result.windows, after.window],
      state,
      audit,
      nowMs,
      undefined,
      { by: 'balance', balance: balanceWords(after) },
    );
    const failures = rememberAlerts(config, state, delivery, audit);
    if (options.json === true)
      process.stdout.write(
        `${JSON.stringify({
          recorded: true,
          top_up: {
            at: new Date(nowMs).toISOString(),
            amount,
            currency: currency.code,
            usd: topUp.usd,
            reason,
            by: topUp.by,
            counted,
          },
          balance: balanceJson(after),
          flag_active: flag.kind === 'present',
          failures,
          ...(result.logError !== null ? { error: result.logError } : {}),
        })}\n`,
      );
    else {
      const lines = [
        `top-up recorded: +${amountText} (${reason}, by ${person})`,
        ...(counted
          ? []
          : [
              `not counted: it is before limits.balance.since ${spec.sinceText} (top-ups before since ` +
                'do not count)',
            ]),
        `balance: ${usd(after.window.spend)} spent, ${balanceWords(after)}`,
        `level: ${after.window.level}`,
        ...(flagWords === null ? [] : [flagWords]),
        ...(result.logError === null
          ? []
          : [`COULD NOT READ the log (the spend above is as last read): ${result.logError}`]),
      ];
      process.stdout.write(`${lines.map(printable).join('\n')}\n`);
    }
    // The top-up is recorded either way; a log that cannot be read fails the command (exit 1).
    const problems = [...(result.logError === null ? [] : [result.logError]), ...failures];
    if (problems.length > 0) throw new FailureError(problems.join('\n'));
    return EXIT.OK;
  });
}

/** The balance as it stands and the top-ups recorded: read-only, like status. */
function show(config: Config, spec: BalanceSpec, asJson: boolean): number {
  const result = inspect(config, Date.now(), false);
  sayNotes(result);
  const b = result.balance;
  if (b === null) throw new FailureError('the balance could not be computed');
  const read = readTopUps(config.stateDir);
  const topUps = read.ok ? read.topUps : [];
  if (asJson) {
    process.stdout.write(
      `${JSON.stringify({
        balance: balanceJson(b),
        top_ups: topUps.map((t) => ({
          at: new Date(t.atMs).toISOString(),
          amount: t.amount,
          currency: t.currency,
          usd: t.usd,
          reason: t.reason,
          by: t.by,
          counted: t.atMs >= spec.sinceMs,
        })),
        ...(read.ok ? {} : { problem: `${read.file}: ${read.problem}` }),
        ...(result.logError !== null ? { error: result.logError } : {}),
      })}\n`,
    );
  } else {
    const lines = [
      `balance  ${usd(b.window.spend)} spent  ${levelText(b.window.level, useColor(), 9)}`,
      `  ${balanceWords(b, true)}`,
      ...(topUps.length === 0
        ? ['  no top-ups recorded (cost-watchdog balance --add <amount> --reason <text>)']
        : topUps.map(
            (t) =>
              `  top-up ${new Date(t.atMs).toISOString()}  +${usd(t.usd)}  ${t.reason} (by ${t.by})` +
              (t.atMs >= spec.sinceMs ? '' : '  not counted: before since'),
          )),
      ...(read.ok ? [] : [`  PROBLEM: ${read.file} cannot be read (${read.problem}): top-ups not counted`]),
      ...(result.logError !== null ? [`  COULD NOT READ the log: ${result.logError}`] : []),
    ];
    process.stdout.write(`${lines.map((l) => printable(l).trimEnd()).join('\n')}\n`);
  }
  return read.ok && result.logError === null ? EXIT.OK : EXIT.FAILURE;
}
