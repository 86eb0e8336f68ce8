// `watch` with a fleet: hear the fleet's events (a fleet emergency made, raised or cleared) on its
// Redis channel and ask for a check at once, so that they reach this host's flag within a second
// rather than at the next timed check. The subscription reconnects by itself while Redis is away
// (timed checks and local limits go on meanwhile). Loaded only with a fleet: it loads node-redis.
import type { Config } from '../config/index.js';
import { fleetChannel } from '../fleet/exchange.js';
import { closeLink, type Subscription, subscribe } from '../fleet/link.js';
import { redisUrlSource } from '../fleet/url.js';

export class FleetEvents {
  /** The fleet followed: its name and Redis URL (another of either: subscribe anew). */
  private key: string | null = null;
  private subscription: Subscription | null = null;

  constructor(private readonly onEvent: (message: string) => void) {}

  /**
   * Follow the fleet of `config` (no fleet: stop following). Returns what is followed in words
   * (for the start line), and whether that changed.
   */
  async follow(config: Config): Promise<{ text: string | null; changed: boolean }> {
    const fleet = config.fleet;
    const source = fleet === null ? null : redisUrlSource(fleet, process.env);
    const url = source?.kind === 'url' ? source.url : null;
    const key = fleet === null || url === null ? null : `${fleet.name}\n${url}`;
    const shown = source?.kind === 'url' ? source.shown : '(no URL)';
    const text = fleet === null ? null : `fleet ${fleet.name} as host ${fleet.host} (Redis at ${shown})`;
    if (key === this.key) return { text, changed: false };
    await this.stop();
    // The checks' connection was to the old Redis (or fleet): the next check makes its own.
    await closeLink();
    this.key = key;
    if (fleet !== null && url !== null) {
      // Back after a loss: what was said meanwhile was missed, so a check looks now.
      let first = true;
      this.subscription = subscribe(
        url,
        fleetChannel(fleet.name),
        (message) => this.onEvent(message),
        () => {
          if (!first) this.onEvent('subscribed again');
          first = false;
        },
      );
    }
    return { text, changed: true };
  }

  private async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    this.key = null;
    await subscription?.close();
  }

  /** watch stops: the subscription and the checks' connection are closed. */
  async close(): Promise<void> {
    await this.stop();
    await closeLink();
  }
}
