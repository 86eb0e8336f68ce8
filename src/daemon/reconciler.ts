// `watch`'s reconciling: the providers are read on a timer of their own, beside the checks
// (never holding one back), and after a read a check is asked for, so that unlogged spend is
// acted on within moments of being seen. A read in flight when the daemon stops is cut off
// after a bound. Re-followed on SIGHUP.
import type { Config } from '../config/index.js';
import { formatDuration } from '../core/duration.js';
import { printable } from '../format.js';
import type { ClientFactory } from '../reconcile/poll.js';

/** How often the timer looks whether a provider's turn has come (reads are `reconcile.every` apart). */
const TICK_MS = 5_000;

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private config: Config | null = null;

  constructor(
    private readonly say: (text: string) => void,
    private readonly requestCheck: () => void,
    private readonly clients: () => Promise<ClientFactory>,
  ) {}

  /** Follow this config (again after a reload); returns the words for watch's start line. */
  follow(config: Config): string | null {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.config = config;
    const rc = config.reconcile;
    if (rc === null) return null;
    this.timer = setInterval(() => this.read(), Math.min(TICK_MS, rc.everyMs));
    this.read();
    return (
      `reconciling with ${rc.providers.map((p) => p.name).join(', ')} every ` +
      `${formatDuration(rc.everyMs)}`
    );
  }

  private read(): void {
    const config = this.config;
    if (config === null || config.reconcile === null || this.reading !== null || this.abort.signal.aborted)
      return;
    this.reading = (async () => {
      const { anyDue, pollProviders } = await import('../reconcile/poll.js');
      if (!anyDue(config, Date.now())) return;
      const read = await pollProviders(config, await this.clients(), Date.now(), this.abort.signal);
      if (read.length > 0) this.requestCheck();
    })()
      .catch((error: unknown) =>
        this.say(`reconcile: ${printable(error instanceof Error ? error.message : String(error))}`),
      )
      .finally(() => {
        this.reading = null;
      });
  }

  /** Stop reading; a read in flight gets `ms`, then is cut off. */
  async stop(ms: number): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const reading = this.reading;
    if (reading === null) {
      this.abort.abort();
      return;
    }
    const cut = setTimeout(() => this.abort.abort(), ms);
    await reading;
    clearTimeout(cut);
    this.abort.abort();
  }
}
