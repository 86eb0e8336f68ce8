// When `watch` runs a check: never two at once, a burst of file events folded into one check a few
// tens of milliseconds after the first (not after the last: a log appended to without pause must
// not starve the checks), and a request that arrives during a check answered by one more check
// right after it, so that no change is lost.

export interface CheckQueueOptions {
  /** Wait this long after the first event of a burst before checking. */
  debounceMs: number;
  /** Runs one check for the reasons gathered; must not throw (it reports its own failures). */
  run: (reasons: string[]) => Promise<void>;
}

export class CheckQueue {
  private reasons = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: CheckQueueOptions) {}

  /** Ask for a check: after the debounce, or at once (a timed check, the first one). */
  request(reason: string, immediate = false): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (this.running !== null) return; // picked up when the check in progress ends
    if (this.timer !== null) {
      if (!immediate) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => this.fire(), immediate ? 0 : this.options.debounceMs);
  }

  get busy(): boolean {
    return this.running !== null;
  }

  private fire(): void {
    this.timer = null;
    if (this.stopped || this.reasons.size === 0) {
      this.settle();
      return;
    }
    const reasons = [...this.reasons];
    this.reasons.clear();
    this.running = this.options.run(reasons).finally(() => {
      this.running = null;
      if (!this.stopped && this.reasons.size > 0)
        this.timer = setTimeout(() => this.fire(), this.options.debounceMs);
      else this.settle();
    });
  }

  private settle(): void {
    if (this.running !== null || this.timer !== null) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Start no more checks; resolves when the one in progress (if any) has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.reasons.clear();
    if (this.running === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
