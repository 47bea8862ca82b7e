// Sticky cohorts: a client key hashes to a bucket 0..9999, and buckets map onto the backends'
// cumulative shares in list order. Growing the last backend's weight only lowers the start of
// its range, so its clients never move off it.

export const BUCKETS = 10_000;

/** FNV-1a over UTF-16 code units with a murmur3 finaliser for good spread on similar keys. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

export class BucketMap<T> {
  /** Exclusive upper bucket bound per live item, ascending; the last is always BUCKETS. */
  readonly #bounds: number[] = [];
  readonly #items: T[] = [];

  constructor(items: ReadonlyArray<{ item: T; weight: number }>) {
    const total = items.reduce((a, i) => a + i.weight, 0);
    if (total <= 0) return;
    let cumulative = 0;
    for (const { item, weight } of items) {
      cumulative += weight;
      if (weight <= 0) continue;
      this.#items.push(item);
      this.#bounds.push(cumulative === total ? BUCKETS : Math.floor((cumulative * BUCKETS) / total));
    }
  }

  get empty(): boolean {
    return this.#items.length === 0;
  }

  pick(bucket: number): T | undefined {
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (bucket < bounds[i]) return this.#items[i];
    }
    return undefined;
  }
}
