// Writes RouteRatio and Ingress status through the status subresource, only where it differs
// from what the cache shows, and never twice for the same content while the cache has not yet
// caught up with the operator's own write. Cached objects are only read.

import type { V1Ingress, V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { canonicalJson } from '../../contract/canonical.ts';
import type { CompiledRouteRatioStatus, Condition, RouteRatio, RouteRatioStatus } from '../compile/api.ts';
import { isStatus, type KubeClient } from '../kube/client.ts';
import { INGRESSES, objectPath, ROUTE_RATIOS } from '../kube/resources.ts';
import { type Cache, splitKey } from '../store.ts';
import { desiredRouteRatioStatus, metaTime, sameJson } from './routeratio-status.ts';

export interface StatusWriterOptions {
  client: KubeClient;
  routeRatios: Cache<RouteRatio>;
  ingresses: Cache<V1Ingress>;
  /** Parallel status writes. Default 8. */
  concurrency?: number;
  now?: () => Date;
  onWrite?: (kind: 'RouteRatio' | 'Ingress', ok: boolean, key: string, err?: unknown) => void;
}

export type ProgrammedFn = (key: string, generation: number, accepted: boolean) => Condition;

interface Written {
  json: string;
  /** resourceVersion the cache showed when the write went out. */
  baseResourceVersion: string | undefined;
}

export class StatusWriter {
  readonly #opts: StatusWriterOptions;
  readonly #written = new Map<string, Written>();

  constructor(opts: StatusWriterOptions) {
    this.#opts = opts;
  }

  /** Resolves to the number of failed writes. */
  async syncRouteRatios(
    compiled: Record<string, CompiledRouteRatioStatus>,
    programmed: ProgrammedFn,
  ): Promise<number> {
    const now = metaTime((this.#opts.now ?? (() => new Date()))());
    const jobs: Array<() => Promise<boolean>> = [];
    for (const [key, status] of Object.entries(compiled)) {
      const [ns, name] = splitKey(key);
      const current = this.#opts.routeRatios.get(ns, name);
      if (!current) continue;
      const accepted = status.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
      const cond = programmed(key, status.observedGeneration, accepted);
      const desired = desiredRouteRatioStatus(status, cond, current.status, now);
      const have: RouteRatioStatus = {
        observedGeneration: current.status?.observedGeneration,
        conditions: current.status?.conditions,
        backends: current.status?.backends,
        summary: current.status?.summary,
      };
      jobs.push(() =>
        this.#write('RouteRatio', key, current.metadata?.resourceVersion, have, desired, () =>
          objectPath(ROUTE_RATIOS, ns, name, 'status'),
        ),
      );
    }
    return this.#run(jobs);
  }

  /** Sets `status.loadBalancer.ingress` of the given Ingresses. */
  async syncIngresses(keys: Iterable<string>, lb: V1IngressLoadBalancerIngress[]): Promise<number> {
    const jobs: Array<() => Promise<boolean>> = [];
    const desired = { loadBalancer: { ingress: lb } };
    for (const key of keys) {
      const [ns, name] = splitKey(key);
      const current = this.#opts.ingresses.get(ns, name);
      if (!current) continue;
      const have = { loadBalancer: { ingress: current.status?.loadBalancer?.ingress ?? [] } };
      jobs.push(() =>
        this.#write('Ingress', key, current.metadata?.resourceVersion, have, desired, () =>
          objectPath(INGRESSES, ns, name, 'status'),
        ),
      );
    }
    return this.#run(jobs);
  }

  async #write(
    kind: 'RouteRatio' | 'Ingress',
    key: string,
    rv: string | undefined,
    have: unknown,
    desired: unknown,
    path: () => string,
  ): Promise<boolean> {
    const memoKey = `${kind}:${key}`;
    if (sameJson(have, desired)) {
      this.#written.delete(memoKey);
      return true;
    }
    const json = canonicalJson(desired);
    const prev = this.#written.get(memoKey);
    if (prev && prev.json === json && prev.baseResourceVersion === rv) return true;
    try {
      await this.#opts.client.request('PATCH', path(), {
        body: { status: desired },
        contentType: 'application/merge-patch+json',
      });
      this.#written.set(memoKey, { json, baseResourceVersion: rv });
      this.#opts.onWrite?.(kind, true, key);
      return true;
    } catch (err) {
      // Deleted meanwhile: nothing left to report on.
      if (isStatus(err, 404)) return true;
      this.#written.delete(memoKey);
      this.#opts.onWrite?.(kind, false, key, err);
      return false;
    }
  }

  async #run(jobs: Array<() => Promise<boolean>>): Promise<number> {
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (!(await job())) failed++;
      }
    };
    const n = Math.min(this.#opts.concurrency ?? 8, jobs.length);
    await Promise.all(Array.from({ length: n }, worker));
    return failed;
  }

  /** Forgets what was written for objects that no longer exist. */
  prune(): void {
    for (const memoKey of [...this.#written.keys()]) {
      const [kind, key] = [memoKey.slice(0, memoKey.indexOf(':')), memoKey.slice(memoKey.indexOf(':') + 1)];
      const [ns, name] = splitKey(key);
      const cache = kind === 'RouteRatio' ? this.#opts.routeRatios : this.#opts.ingresses;
      if (!cache.get(ns, name)) this.#written.delete(memoKey);
    }
  }
}
