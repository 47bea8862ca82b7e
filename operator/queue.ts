// A deduplicating queue for one coalescing key: any number of `add()` calls while work is pending
// collapse into one run. A run starts once changes have been quiet for `holdOffMs`, but never
// later than `maxDelayMs` after the first pending change, so a steady stream of changes cannot
// starve it. Runs never overlap; a change during a run schedules exactly one more.

export interface CoalescingQueueOptions {
  holdOffMs?: number;
  maxDelayMs?: number;
  run: () => Promise<void> | void;
  onError?: (err: unknown) => void;
  /** Reports the queue depth (0 or 1) whenever it changes. */
  onDepth?: (depth: number) => void;
}

export class CoalescingQueue {
  readonly holdOffMs: number;
  readonly maxDelayMs: number;
  readonly #opts: CoalescingQueueOptions;
  #pendingSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: CoalescingQueueOptions) {
    this.holdOffMs = opts.holdOffMs ?? 50;
    this.maxDelayMs = Math.max(opts.maxDelayMs ?? 1000, this.holdOffMs);
    this.#opts = opts;
  }

  /** 1 while a run is pending, else 0. */
  get depth(): number {
    return this.#pendingSince === undefined ? 0 : 1;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  add(): void {
    if (this.#stopped) return;
    const now = Date.now();
    if (this.#pendingSince === undefined) {
      this.#pendingSince = now;
      this.#opts.onDepth?.(1);
    }
    if (!this.#running) this.#arm(now);
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #arm(now: number): void {
    clearTimeout(this.#timer);
    const since = this.#pendingSince ?? now;
    const delay = Math.max(0, Math.min(this.holdOffMs, since + this.maxDelayMs - now));
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#stopped || this.#pendingSince === undefined) return;
    this.#pendingSince = undefined;
    this.#opts.onDepth?.(0);
    this.#running = (async () => {
      try {
        await this.#opts.run();
      } catch (err) {
        this.#opts.onError?.(err);
      }
    })().finally(() => {
      this.#running = undefined;
      if (!this.#stopped && this.#pendingSince !== undefined) this.#arm(Date.now());
    });
  }
}
