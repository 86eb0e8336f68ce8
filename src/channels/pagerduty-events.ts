// What an alert means to PagerDuty (Events API v2), pure: one incident per window or scope (its
// dedup key), triggered when it climbs and resolved when what triggered it is over: a warn when
// its window is back to ok, an emergency or kill when a person clears the flag. Tests and daily
// summaries are change events: they are recorded on the service and never page.
// https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md
import type { Level } from '../core/levels.js';
import type { AlertPayload } from './payload.js';

export type PdSeverity = 'warning' | 'error' | 'critical' | 'info';

export type PdEvent =
  | {
      action: 'trigger';
      dedupKey: string;
      severity: PdSeverity;
      summary: string;
      group: string;
      class: string;
    }
  | { action: 'resolve'; dedupKey: string }
  | { action: 'change'; summary: string };

/** PagerDuty's summary is at most 1024 characters. */
export const SUMMARY_MAX = 1024;

export function severityOf(level: Level): PdSeverity {
  return level === 'kill'
    ? 'critical'
    : level === 'emergency'
      ? 'error'
      : level === 'warn'
        ? 'warning'
        : 'info';
}

export function clip(text: string, max = SUMMARY_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Whose incidents: the host's, or the fleet's for a fleet window (every host adds to one incident). */
function owner(p: AlertPayload, window: string): string {
  if (p.fleet !== null && (window === 'fleet' || window.startsWith('fleet '))) return `fleet:${p.fleet}`;
  return p.host;
}

function scopeKey(p: AlertPayload): string | null {
  if (p.scope === null) return null;
  const key = Object.entries(p.scope.key)
    .map(([f, v]) => `${f}=${v}`)
    .join(',');
  return `cost-watchdog:${p.host}:scope:${p.scope.name}${key === '' ? '' : `:${key}`}`;
}

/** The incident of a window (or of the flag itself, window ''). At most 255 characters. */
export function dedupKey(p: AlertPayload, window: string): string {
  const scoped = scopeKey(p);
  const key = scoped ?? `cost-watchdog:${owner(p, window)}:${window === '' ? 'flag' : window}`;
  return key.slice(0, 255);
}

/** The events to send for one payload, in order. */
export function pagerdutyEvents(p: AlertPayload): PdEvent[] {
  if (p.kind !== 'alert') return [{ action: 'change', summary: clip(p.headline || p.text) }];
  const out: PdEvent[] = [];
  const seen = new Set<string>();
  const add = (e: PdEvent): void => {
    const k = `${e.action}:${'dedupKey' in e ? e.dedupKey : ''}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(e);
  };
  const summaryOf = (line: string): string => clip(`${line} (host ${p.host})`);
  if (p.by === 'clear-emergency') {
    // A person's clear: every incident of this host (or of this scope) is over.
    if (p.scope !== null) add({ action: 'resolve', dedupKey: dedupKey(p, '') });
    else {
      for (const name of Object.keys(p.windows)) add({ action: 'resolve', dedupKey: dedupKey(p, name) });
      add({ action: 'resolve', dedupKey: dedupKey(p, '') });
      add({ action: 'resolve', dedupKey: `cost-watchdog:${p.host}:watchdog` });
    }
    return out;
  }
  const climbs = p.events.filter((e) => e.kind !== 'recovery');
  for (const e of climbs) {
    const window = e.kind === 'came-back' || e.kind === 'flag-removed' ? '' : e.window;
    add({
      action: 'trigger',
      dedupKey: dedupKey(p, window),
      severity: severityOf(e.level === 'ok' ? p.level : e.level),
      summary: summaryOf(p.headline),
      group: p.scope !== null ? `scope ${p.scope.name}` : window === '' ? 'flag' : window,
      class: e.kind,
    });
  }
  if (climbs.length === 0 && p.level !== 'ok' && !p.events.some((e) => e.kind === 'recovery')) {
    // No window climbed: a manual kill (the flag's incident), or problems and findings.
    const window = p.by === 'kill' ? '' : null;
    add({
      action: 'trigger',
      dedupKey: window === null ? `cost-watchdog:${p.host}:watchdog` : dedupKey(p, window),
      severity: severityOf(p.level),
      summary: summaryOf(p.headline),
      group: window === null ? 'watchdog' : 'flag',
      class: p.by === 'kill' ? 'manual-kill' : 'finding',
    });
  }
  // A warn is over when its window is back to ok; an emergency or a kill only when cleared.
  for (const e of p.events)
    if (e.kind === 'recovery' && e.previous === 'warn') {
      const scopeStill = p.scope !== null && Object.values(p.windows).some((w) => w.level !== 'ok');
      if (!scopeStill) add({ action: 'resolve', dedupKey: dedupKey(p, e.window) });
    }
  // A notice about the watchdog itself that says it is well again (check-heartbeat's recovery):
  // the watchdog's own incident is over.
  if (p.by === 'notice' && p.level === 'ok')
    add({ action: 'resolve', dedupKey: `cost-watchdog:${p.host}:watchdog` });
  return out;
}
