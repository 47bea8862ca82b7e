// `Programmed` for a RouteRatio: True once every ready data-plane replica has acknowledged a
// config version that contains the RouteRatio's current generation. The ledger remembers, for
// recent versions, which generation of each RouteRatio they carry.

import type { Condition } from '../compile/api.ts';
import type { ReplicaState } from '../push/pusher.ts';

export class VersionLedger {
  readonly #versions = new Map<string, Map<string, number>>();
  readonly #limit: number;

  constructor(limit = 32) {
    this.#limit = limit;
  }

  /** Records the RouteRatio generations (`<namespace>/<name>` -> generation) a version carries. */
  record(version: string, generations: Map<string, number>): void {
    this.#versions.delete(version);
    this.#versions.set(version, generations);
    // Map iteration is insertion order: the first key is the oldest version.
    while (this.#versions.size > this.#limit) {
      const oldest = this.#versions.keys().next().value as string;
      this.#versions.delete(oldest);
    }
  }

  generationIn(version: string | undefined, key: string): number | undefined {
    if (version === undefined) return undefined;
    return this.#versions.get(version)?.get(key);
  }

  has(version: string): boolean {
    return this.#versions.has(version);
  }

  /** Drops versions nobody runs any more, except `keep`. */
  prune(keep: Iterable<string | undefined>): void {
    const wanted = new Set(keep);
    for (const v of [...this.#versions.keys()]) if (!wanted.has(v)) this.#versions.delete(v);
  }
}

export function programmedCondition(
  key: string,
  generation: number,
  accepted: boolean,
  replicas: readonly ReplicaState[],
  ledger: VersionLedger,
): Condition {
  const base = { type: 'Programmed', observedGeneration: generation };
  if (!accepted) {
    return {
      ...base,
      status: 'False',
      reason: 'Invalid',
      message: 'not accepted, so not in the data-plane config',
    };
  }
  const ready = replicas.filter((r) => r.replica.ready);
  const done = ready.filter((r) => ledger.generationIn(r.acked, key) === generation).length;
  const message = `${done} of ${ready.length} ready replicas run generation ${generation}`;
  if (ready.length === 0) return { ...base, status: 'False', reason: 'NoReadyReplicas', message };
  if (done === ready.length) return { ...base, status: 'True', reason: 'Programmed', message };
  return { ...base, status: 'False', reason: 'Pending', message };
}
