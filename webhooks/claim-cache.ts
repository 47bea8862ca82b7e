// The claim index, built once per cache revision instead of once per review. After a change a
// rebuild is scheduled in the background (coalesced), so a review usually finds the index ready;
// if it does not, it builds synchronously and never uses an index older than the cache.
import type { ClaimIndex, CompileOptions, Snapshot } from '../operator/compile/api.ts';

export interface ClaimSource {
  revision(): number;
  snapshot(): Snapshot;
}

export type BuildIndex = (snapshot: Snapshot, options: CompileOptions) => ClaimIndex;

export interface ClaimIndexCacheOptions {
  build: BuildIndex;
  options: CompileOptions;
  /** Background rebuild delay after a change; changes inside it share one rebuild. */
  coalesceMs?: number;
  onBuild?: (seconds: number) => void;
}

export class ClaimIndexCache {
  #source: ClaimSource;
  #build: BuildIndex;
  #options: CompileOptions;
  #coalesceMs: number;
  #onBuild: ClaimIndexCacheOptions['onBuild'];
  #index: ClaimIndex | undefined;
  #builtAt = -1;
  #timer: NodeJS.Timeout | undefined;

  constructor(source: ClaimSource, opts: ClaimIndexCacheOptions) {
    this.#source = source;
    this.#build = opts.build;
    this.#options = opts.options;
    this.#coalesceMs = opts.coalesceMs ?? 20;
    this.#onBuild = opts.onBuild;
  }

  /** The index for the source's current revision. */
  current(): ClaimIndex {
    const revision = this.#source.revision();
    if (this.#index && this.#builtAt === revision) return this.#index;
    const started = performance.now();
    const index = this.#build(this.#source.snapshot(), this.#options);
    this.#onBuild?.((performance.now() - started) / 1000);
    this.#index = index;
    this.#builtAt = revision;
    return index;
  }

  /** Builds an index from a snapshot that differs from the cache (never stored). */
  buildFrom(snapshot: Snapshot): ClaimIndex {
    return this.#build(snapshot, this.#options);
  }

  /** Call after a change: rebuilds soon, off the review path. */
  invalidate(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.current();
      } catch {
        // A failing build surfaces (and is handled) on the next review.
      }
    }, this.#coalesceMs);
    this.#timer.unref();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** One ClaimIndex answering Ingress questions from one index and RouteRatio questions from another. */
export function combineIndexes(ingresses: ClaimIndex, splits: ClaimIndex): ClaimIndex {
  return {
    ingressConflicts: (ingress) => ingresses.ingressConflicts(ingress),
    routeRatioConflicts: (rr) => splits.routeRatioConflicts(rr),
  };
}
