// Smooth weighted round robin (the nginx algorithm): over any window of `sum(weights)` picks each
// item is chosen exactly `weight` times, and picks of one item are spread out rather than bunched.

export class SmoothWeightedRoundRobin<T> {
  readonly #items: T[];
  readonly #weights: number[];
  readonly #current: number[];
  readonly #total: number;

  /** Items of weight 0 are never chosen. */
  constructor(items: ReadonlyArray<{ item: T; weight: number }>) {
    const live = items.filter((i) => i.weight > 0);
    this.#items = live.map((i) => i.item);
    this.#weights = live.map((i) => i.weight);
    this.#current = live.map(() => 0);
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
  }

  /** False when every weight is 0 and `next()` has nothing to give. */
  get empty(): boolean {
    return this.#items.length === 0;
  }

  next(): T | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    if (n === 1) return this.#items[0];
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.#current[i] += this.#weights[i];
      if (this.#current[i] > this.#current[best]) best = i;
    }
    this.#current[best] -= this.#total;
    return this.#items[best];
  }
}
