// Endpoint choice inside one backend: least-request over two random choices ("power of two
// choices", Envoy's default), skipping ejected endpoints. When every endpoint is ejected all are
// eligible again (panic mode), so a backend never fails only because passive health was wrong.

import type { Upstream, UpstreamRegistry } from './registry.ts';

export class Balancer {
  readonly endpoints: readonly Upstream[];
  readonly #registry: UpstreamRegistry;

  constructor(endpoints: readonly Upstream[], registry: UpstreamRegistry) {
    this.endpoints = endpoints;
    this.#registry = registry;
  }

  /** An endpoint other than `exclude` when one exists, else undefined (no endpoints at all). */
  pick(exclude?: Upstream): Upstream | undefined {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (n === 1) return exclude === eps[0] ? undefined : eps[0];
    if (this.#registry.ejectedCount === 0 && exclude === undefined) return twoChoices(eps);
    const now = Date.now();
    const healthy = eps.filter((e) => e !== exclude && e.ejectedUntil <= now);
    if (healthy.length > 0) return twoChoices(healthy);
    const rest = exclude === undefined ? eps : eps.filter((e) => e !== exclude);
    return rest.length > 0 ? twoChoices(rest) : undefined;
  }
}

function twoChoices(eps: readonly Upstream[]): Upstream {
  const n = eps.length;
  if (n === 1) return eps[0];
  const i = (Math.random() * n) | 0;
  let j = (Math.random() * (n - 1)) | 0;
  if (j >= i) j++;
  const a = eps[i];
  const b = eps[j];
  return b.inflight < a.inflight ? b : a;
}
