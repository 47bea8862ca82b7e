// Capped exponential back-off with jitter, so that many watches or replicas failing together do
// not retry in lockstep.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Up to this fraction of each delay is taken off at random, 0..1. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempts = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = opts.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.#factor >= 1)) {
      throw new Error('backoff: need 0 < initialMs <= maxMs and factor >= 1');
    }
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt; each call lengthens the following one up to the cap. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.#factor ** this.#attempts);
    this.#attempts++;
    // Jitter only shortens the delay, so the cap holds.
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  reset(): void {
    this.#attempts = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
