// The words of an alert: one message per check that has something to say, for Slack (several
// lines, with `&`, `<` and `>` escaped so that text from the log such as a model named
// `<!channel>` cannot ping anyone) and for stderr (one line, control characters escaped).
// Pure: the facts come in, text goes out.
import type { Top } from './attribution.js';
import type { AlertEvent } from './types.js';
import { type Level, levelRank, type WindowStatus } from './levels.js';
import { figuresNote, limitsText, usd } from './money.js';

export interface KillSummary {
  /** No target in the config: nothing can be killed (not an error). */
  unconfigured?: boolean;
  /** The target was not running: nothing to kill (not an error). */
  notRunning: boolean;
  /** What --dry-run would signal, or what was signalled: pid -> name. */
  tree: { pid: number; name: string }[];
  exited: number[];
  killed: number[];
  refused: number[];
  survivors: number[];
  stop: { ok: boolean; exitCode: number | null; timedOut: boolean; error?: string } | null;
  /** Why a PID file or process was not trusted, or the process list failed. */
  notes: string[];
  dryRun: boolean;
  /** SIGKILL came before the grace period was over: the log gained this much after the kill decision. */
  graceCut?: { spendUsd: number; afterMs: number };
}

/** Why SIGKILL came early (target.grace_spend). */
export function graceCutText(spendUsd: number): string {
  return `SIGKILL after ${usd(spendUsd)} more spend during the grace period`;
}

export type FlagOutcome =
  | { kind: 'none' }
  | { kind: 'written' | 'exists' | 'would-write'; file: string }
  | { kind: 'failed'; file: string; error: string }
  /** The flag could not be seen (not written either, nothing needed it): `error` says why. */
  | { kind: 'unknown'; file: string; error: string };

export interface AlertFacts {
  host: string;
  atIso: string;
  /** The command that acted: run, watch, kill, clear-emergency. */
  by: string;
  events: readonly AlertEvent[];
  windows: readonly WindowStatus[];
  /** With limits.balance: what is left, in words (core/balance.ts balanceWords), under its window. */
  balance?: string;
  /** Top spenders of the window the headline is about. */
  tops: { window: string; models: Top; agents: Top; sources?: Top } | null;
  flag: FlagOutcome;
  kill: KillSummary | null;
  /** A headline of its own (manual kill, clear-emergency), before the events. */
  headline?: string;
  /** Extra lines (a kill that failed, a flag that could not be written, ...). */
  problems?: readonly string[];
  /** What else was found (core/findings/): an app that under-reports, a burn rate, ... */
  findings?: readonly string[];
  /** A scoped budget's alert (src/scopes/): for structured channels (a PagerDuty incident each). */
  scope?: { name: string; key: Readonly<Record<string, string>> };
}

export function levelWord(level: Level): string {
  return level === 'ok' ? 'OK' : level.toUpperCase();
}

function eventText(event: AlertEvent, flagFile: string | null): string {
  switch (event.kind) {
    case 'enter':
    case 'escalate': {
      if (event.detail !== undefined)
        return (
          `${levelWord(event.level)}: ${event.detail}` +
          (event.kind === 'escalate' ? ` (was ${event.previous})` : '')
        );
      const limit = event.limit === null ? '' : ` crossed the ${event.level} limit ${usd(event.limit)}`;
      const was = event.kind === 'escalate' ? ` (was ${event.previous})` : '';
      return `${levelWord(event.level)}: ${event.window} spend ${usd(event.spend)}${limit}${was}`;
    }
    case 'recovery':
      return (
        `RECOVERED: ${event.window} spend ${usd(event.spend)} is back under its limits (was ` +
        `${event.previous})`
      );
    case 'reminder':
      return (
        `REMINDER: the emergency flag is still in force` +
        (event.window !== '' ? ` (${event.window} ${usd(event.spend)}, now ${event.level})` : '') +
        `; clear it with \`cost-watchdog clear-emergency --reason ...\` once it is safe`
      );
    case 'came-back': {
      // The fleet's kill (window `fleet`) is ended for every host by clear-emergency --fleet.
      const clear = event.window === 'fleet' ? 'clear-emergency --fleet' : 'clear-emergency';
      return (
        `TARGET CAME BACK: the kill switch is on (until ${clear}), so it was killed again; ` +
        `stop its supervisor or run ${clear}`
      );
    }
    case 'flag-removed':
      return (
        `FLAG REMOVED: the emergency flag${flagFile === null ? '' : ` ${flagFile}`} was deleted ` +
        `without \`cost-watchdog clear-emergency\`; the kill switch is off`
      );
  }
}

function topText(top: Top): string {
  return top.map(([name, spend]) => `${name} ${usd(spend)}`).join(', ');
}

/** At most this many PIDs are named in a message; the rest are counted. */
const PIDS_SHOWN = 12;

function pidList(pids: readonly number[], tree: KillSummary['tree']): string {
  const names = new Map(tree.map((p) => [p.pid, p.name]));
  const shown = pids
    .slice(0, PIDS_SHOWN)
    .map((pid) => `${pid}${names.get(pid) ? ` (${names.get(pid)})` : ''}`);
  if (pids.length > PIDS_SHOWN) shown.push(`and ${pids.length - PIDS_SHOWN} more (all in the audit log)`);
  return shown.join(', ');
}

/** What was done, in words: flag, stop command, signals. */
export function actionLines(flag: FlagOutcome, kill: KillSummary | null): string[] {
  const out: string[] = [];
  switch (flag.kind) {
    case 'written':
      out.push(`emergency flag written: ${flag.file}`);
      break;
    case 'exists':
      out.push(`emergency flag in force: ${flag.file}`);
      break;
    case 'would-write':
      out.push(`would write the emergency flag: ${flag.file}`);
      break;
    case 'failed':
      out.push(`EMERGENCY FLAG NOT WRITTEN: ${flag.file}: ${flag.error}`);
      break;
    case 'unknown':
      out.push(`EMERGENCY FLAG UNKNOWN: ${flag.error}`);
      break;
    case 'none':
      break;
  }
  if (kill !== null) {
    if (kill.stop !== null) {
      const s = kill.stop;
      out.push(
        s.ok
          ? 'stop command ran (exit 0)'
          : `STOP COMMAND FAILED: ` +
              `${s.error ?? (s.timedOut ? 'timed out' : `exit ${s.exitCode ?? 'by signal'}`)}`,
      );
    }
    if (kill.dryRun) {
      out.push(
        kill.tree.length === 0
          ? 'would kill: no target running'
          : `would send SIGTERM, then SIGKILL after the grace period, to ${pidList(
              kill.tree.map((p) => p.pid),
              kill.tree,
            )}`,
      );
    } else if (kill.unconfigured === true) {
      out.push('kill: no target configured, nothing to kill (set target: in the config)');
    } else if (kill.notRunning) {
      out.push('kill: no target running');
    } else {
      const gone = [...kill.exited, ...kill.killed];
      if (gone.length > 0) {
        const how =
          kill.killed.length === 0
            ? 'after SIGTERM'
            : kill.exited.length === 0
              ? 'after SIGKILL'
              : `${kill.killed.length} needed SIGKILL`;
        out.push(
          `killed ${gone.length} process${gone.length === 1 ? '' : 'es'} (${how}): ` +
            `${pidList(gone, kill.tree)}`,
        );
      }
      if (kill.graceCut !== undefined)
        out.push(
          `${graceCutText(kill.graceCut.spendUsd)} (${(kill.graceCut.afterMs / 1000).toFixed(2)} s ` +
            `after SIGTERM)`,
        );
      if (kill.refused.length > 0)
        out.push(`KILL REFUSED (EPERM, not ours to signal): ${pidList(kill.refused, kill.tree)}`);
      if (kill.survivors.length > 0)
        out.push(`KILL FAILED, still running: ${pidList(kill.survivors, kill.tree)}`);
    }
    for (const note of kill.notes) out.push(note);
  }
  return out;
}

/** The message as lines, unescaped. The first line is the headline. */
export function alertLines(facts: AlertFacts): string[] {
  const flagFile = facts.flag.kind === 'none' ? null : facts.flag.file;
  const events = [...facts.events].sort((a, b) => rank(b) - rank(a));
  const lines: string[] = [];
  if (facts.headline !== undefined) lines.push(facts.headline);
  for (const event of events) lines.push(eventText(event, flagFile));
  if (lines.length === 0 && facts.problems !== undefined && facts.problems.length > 0)
    lines.push(...facts.problems.slice(0, 1));
  const findings = facts.findings ?? [];
  if (lines.length === 0 && findings.length > 0) lines.push(`WARNING: ${findings[0] as string}`);
  for (const finding of findings) if (lines[0] !== `WARNING: ${finding}`) lines.push(`  also: ${finding}`);
  for (const w of facts.windows) {
    lines.push(`  ${w.name}: ${usd(w.spend)} ${levelWord(w.level)} (${limitsText(w.limits)})`);
    if (w.name === 'balance' && facts.balance !== undefined) lines.push(`    ${facts.balance}`);
  }
  if (facts.tops !== null) {
    if (facts.tops.models.length > 0)
      lines.push(`  top models (${facts.tops.window}): ${topText(facts.tops.models)}`);
    if (facts.tops.agents.length > 0)
      lines.push(`  top agents (${facts.tops.window}): ${topText(facts.tops.agents)}`);
    if (facts.tops.sources !== undefined && facts.tops.sources.length > 0)
      lines.push(`  top logs (${facts.tops.window}): ${topText(facts.tops.sources)}`);
  }
  // Said once: a problem that is the headline or a "done" entry already is not repeated.
  const done = actionLines(facts.flag, facts.kill);
  const doneShown = done.filter((d) => d !== lines[0]);
  if (doneShown.length > 0) lines.push(`  done: ${doneShown.join('; ')}`);
  for (const problem of facts.problems ?? [])
    if (!lines.includes(problem) && !done.includes(problem)) lines.push(`  ${problem}`);
  const note = figuresNote();
  lines.push(
    `  host ${facts.host} at ${facts.atIso} (cost-watchdog ${facts.by})${note === null ? '' : `; ${note}`}`,
  );
  return lines;
}

function rank(event: AlertEvent): number {
  const kindRank =
    event.kind === 'came-back' || event.kind === 'flag-removed' ? 5 : event.kind === 'recovery' ? -1 : 0;
  return kindRank * 10 + levelRank(event.level);
}

/**
 * Slack's three control characters: text can no longer make a link or a mention (`<!channel>`,
 * `<@U123>`). The bare words @here, @channel and @everyone get a zero-width space after the `@`,
 * so that they cannot ping even where Slack links names.
 */
export function slackEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(here|channel|everyone)\b/gi, '@\u200b$1');
}

const EMOJI: Record<Level, string> = {
  ok: ':white_check_mark:',
  warn: ':warning:',
  emergency: ':rotating_light:',
  kill: ':skull_and_crossbones:',
};

/** The Slack message: an emoji for the level, the headline in bold, the rest as it is. */
export function slackText(facts: AlertFacts, level: Level): string {
  const [head = '', ...rest] = alertLines(facts).map(slackEscape);
  return [`${EMOJI[level]} *cost-watchdog: ${head}*`, ...rest.map((l) => l.replace(/^ {2}/, '• '))].join(
    '\n',
  );
}

/** One line for stderr / the journal. */
export function consoleLine(facts: AlertFacts): string {
  return `ALERT ${alertLines(facts)
    .map((l) => l.trim())
    .join(' | ')}`;
}

/** A kill as `run --json` and `kill --json` print it. */
export interface KillJson {
  configured: boolean;
  running: boolean;
  dry_run: boolean;
  tree: { pid: number; name: string }[];
  exited_after_sigterm: number[];
  killed_by_sigkill: number[];
  refused: number[];
  survivors: number[];
  stop_command: { ok: boolean; exit_code: number | null; timed_out: boolean; error?: string } | null;
  notes: string[];
  grace_cut?: { spend_usd: number; after_ms: number };
}

/** A kill summary for --json output, in the snake_case of the rest of the output. */
export function killJson(kill: KillSummary | null): KillJson | null {
  if (kill === null) return null;
  return {
    configured: kill.unconfigured !== true,
    running: !kill.notRunning,
    dry_run: kill.dryRun,
    tree: kill.tree,
    exited_after_sigterm: kill.exited,
    killed_by_sigkill: kill.killed,
    refused: kill.refused,
    survivors: kill.survivors,
    stop_command:
      kill.stop === null
        ? null
        : {
            ok: kill.stop.ok,
            exit_code: kill.stop.exitCode,
            timed_out: kill.stop.timedOut,
            ...(kill.stop.error !== undefined ? { error: kill.stop.error } : {}),
          },
    notes: kill.notes,
    ...(kill.graceCut !== undefined
      ? { grace_cut: { spend_usd: kill.graceCut.spendUsd, after_ms: kill.graceCut.afterMs } }
      : {}),
  };
}

/**
 * A message about the watchdog itself (heartbeat, a failed unit) rather than about spend: a
 * headline and detail lines, escaped like every other alert.
 */
export function noticeSlackText(level: Level, headline: string, details: readonly string[]): string {
  return [`${EMOJI[level]} *${slackEscape(headline)}*`, ...details.map((d) => `• ${slackEscape(d)}`)].join(
    '\n',
  );
}

export function noticeConsoleLine(headline: string, details: readonly string[]): string {
  return `ALERT ${[headline, ...details].join(' | ')}`;
}
