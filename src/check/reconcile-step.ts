// `run` with `reconcile:`: the check first (never held back by a provider), then the providers
// whose turn it is are read, each request bounded by its timeout. When what they said changes
// what the check would decide or say (a provider's unlogged spend over the tolerance, a provider
// that cannot be read), a second check acts on it at once: it reads nothing new, and alerts,
// flags and kills like any check.
import type { Config } from '../config/index.js';
import { priceLookup } from '../price-table.js';
import { type ClientFactory, pollProviders } from '../reconcile/poll.js';
import { readReconcileState } from '../reconcile/state.js';
import { type ReconcileView, reconcileView } from '../reconcile/view.js';
import { runCheck } from './run-check.js';
import type { CheckOutcome } from './types.js';

/** What a check decides on and says about reconciling: its signals' levels and its findings. */
function said(view: ReconcileView | null): string {
  if (view === null) return '';
  return JSON.stringify([
    view.signals.map((s) => [s.name, s.level]).sort(),
    view.findings.map((f) => f.key).sort(),
  ]);
}

export async function reconcileAfterRun(
  config: Config,
  first: CheckOutcome,
  clients: ClientFactory,
  now: () => number,
): Promise<CheckOutcome> {
  const read = await pollProviders(config, clients, now(), AbortSignal.timeout(120_000));
  if (read.length === 0) return first;
  const nowMs = now();
  const view = reconcileView(
    config,
    readReconcileState(config.stateDir),
    first.ledger,
    first.attribution,
    priceLookup(config.cost.prices, nowMs),
    nowMs,
  );
  if (said(view) === said(first.reconcile)) return { ...first, reconcile: view };
  const second = await runCheck(config, { mode: 'run', dryRun: false, now });
  // One outcome for the command's output: the second check's figures, both checks' actions.
  return {
    ...second,
    events: [...first.events, ...second.events],
    announced: [...first.announced, ...second.announced],
    flag:
      second.flag.kind === 'none' || second.flag.kind === 'exists'
        ? first.flag.kind === 'written'
          ? first.flag
          : second.flag
        : second.flag,
    kill: second.kill ?? first.kill,
    failures: [...first.failures, ...second.failures],
    alerts: {
      sent: first.alerts.sent + second.alerts.sent,
      failed: first.alerts.failed + second.alerts.failed,
      pending: second.alerts.pending,
    },
    newRecords: first.newRecords + second.newRecords,
    newMalformed: first.newMalformed + second.newMalformed,
    bytesRead: first.bytesRead + second.bytesRead,
  };
}
