// The RouteRatios in force: validated, conflicts settled (oldest wins), by the Service port they
// split, with the routes each splits and their statuses. There are few, so they are settled again
// on every compile (each parsed once); a RouteRatio replaced by a version with the same split (a
// status update) keeps its split object, so the routes using it stay the same objects too.

import type { Split } from '../../../contract/types.ts';
import type { CompiledRouteRatioStatus } from '../api.ts';
import type { ResolvedBackend, ServiceIndex } from '../core/endpoints.ts';
import { addName, compareAge, type Meta } from '../core/objects.ts';
import { isReleased } from '../core/released.ts';
import { TrackedList } from '../core/tracking.ts';
import type { Claims } from '../ingress/claims.ts';
import type { ServiceRef } from '../ingress/ingress.ts';
import {
  backendStatuses,
  notAcceptedStatus,
  type ParsedRouteRatio,
  parseRouteRatio,
  type RouteRatioParse,
  resolvedRefsCondition,
  resolveRouteRatioBackends,
  routeRatioSplit,
  summary,
} from './routeratio.ts';

interface RouteRatioRecord {
  raw: unknown;
  /** null when it could not be read at all. */
  parse?: RouteRatioParse | null;
  /** The split it puts on routes. */
  split?: Split;
  /** The split's content and the Ingresses it applies to, to compare with another version. */
  signature?: string;
  /** The backend keys the split names: they follow the Services' ports (see ServiceIndex.resolve). */
  keys?: string;
}

/** An accepted RouteRatio, by the Service-port key it splits. */
export interface RouteRatioUse {
  key: string;
  rr: ParsedRouteRatio;
  resolved: ResolvedBackend[];
  split: Split;
  signature: string;
}

/** Routes split by one RouteRatio: how many, and how many of each Ingress. */
interface Hits {
  routes: number;
  ingresses: Map<string, number>;
}

export class RouteRatioTable {
  private readonly list = new TrackedList<RouteRatioRecord>((raw) => ({ raw }));
  private uses = new Map<string, RouteRatioUse>();
  /** Namespace -> names of the Services split: most routes need no port key. */
  private byService = new Map<string, Set<string>>();
  private readonly hits = new Map<string, Hits>();

  /**
   * Reads the snapshot's RouteRatios (in list order, as a fresh compile does), leaves out the
   * released ones and settles the rest; gives the statuses of those not accepted, and notes in
   * `changed` the Services whose split changed (namespace -> names).
   */
  update(
    list: readonly unknown[],
    claims: Claims,
    services: ServiceIndex,
    changed: Map<string, Set<string>>,
    terminating: ReadonlySet<string>,
  ): Map<string, CompiledRouteRatioStatus> {
    this.list.update(list);
    const statuses = new Map<string, CompiledRouteRatioStatus>();
    const parsed: Array<{ record: RouteRatioRecord; rr: ParsedRouteRatio }> = [];
    for (const record of this.list.current) {
      // Being deleted: no split, no claim, no status.
      if (isReleased(record.raw, terminating)) continue;
      if (record.parse === undefined) {
        try {
          record.parse = parseRouteRatio(record.raw);
        } catch {
          record.parse = null;
        }
      }
      const result = record.parse;
      if (!result?.meta) continue;
      if (!result.value) {
        const text = result.problems
          .slice(0, 5)
          .map((p) => `${p.field}: ${p.message}`)
          .join('; ');
        statuses.set(result.meta.key, notAcceptedStatus(result.meta, 'Invalid', text));
        continue;
      }
      parsed.push({ record, rr: result.value });
    }
    parsed.sort((a, b) => compareAge(a.rr.meta, b.rr.meta));
    const uses = new Map<string, RouteRatioUse>();
    for (const { record, rr } of parsed) {
      const conflict = claims.claimRouteRatio(rr);
      const resolved = resolveRouteRatioBackends(rr, services);
      if (conflict) {
        statuses.set(
          rr.meta.key,
          notAcceptedStatus(rr.meta, 'Conflicted', conflict.message, backendStatuses(rr, resolved)),
        );
        continue;
      }
      const key = claims.routeRatioKey(rr);
      const keys = resolved.map((r) => r.key).join(' ');
      if (record.split === undefined || record.signature === undefined || record.keys !== keys) {
        record.keys = keys;
        record.split = routeRatioSplit(rr, resolved);
        record.signature = `${JSON.stringify(record.split)} ${rr.ingresses ? [...rr.ingresses].join(',') : '*'}`;
        const before = this.uses.get(key);
        if (before?.signature === record.signature) record.split = before.split;
      }
      uses.set(key, { key, rr, resolved, split: record.split, signature: record.signature });
    }
    for (const [key, use] of uses) {
      if (this.uses.get(key)?.split !== use.split)
        addName(changed, use.rr.meta.namespace, use.rr.service.name);
    }
    for (const [key, use] of this.uses) {
      if (!uses.has(key)) addName(changed, use.rr.meta.namespace, use.rr.service.name);
    }
    this.uses = uses;
    this.byService = new Map();
    for (const use of uses.values()) addName(this.byService, use.rr.meta.namespace, use.rr.service.name);
    return statuses;
  }

  /** The RouteRatio that splits the traffic an Ingress sends to `ref`, if any. */
  find(meta: Meta, ref: ServiceRef, services: ServiceIndex): RouteRatioUse | undefined {
    if (!this.byService.get(meta.namespace)?.has(ref.name)) return undefined;
    const use = this.uses.get(services.servicePortKey(meta.namespace, ref.name, ref.port));
    return use && (!use.rr.ingresses || use.rr.ingresses.has(meta.name)) ? use : undefined;
  }

  /** Counts (1) or uncounts (-1) a route of the Ingress split by the RouteRatio at `key`. */
  count(key: string, ingress: string, sign: 1 | -1): void {
    let hits = this.hits.get(key);
    if (!hits) {
      hits = { routes: 0, ingresses: new Map() };
      this.hits.set(key, hits);
    }
    hits.routes += sign;
    const n = (hits.ingresses.get(ingress) ?? 0) + sign;
    if (n === 0) hits.ingresses.delete(ingress);
    else hits.ingresses.set(ingress, n);
    if (hits.routes === 0) this.hits.delete(key);
  }

  /**
   * Statuses of the accepted RouteRatios, into `statuses`. `extra` is one more route (the
   * default route) not counted; `inUse` is called for each RouteRatio that splits a route.
   */
  finish(
    statuses: Map<string, CompiledRouteRatioStatus>,
    extra: { key: string; ingress: string } | undefined,
    inUse: (use: RouteRatioUse) => void,
  ): void {
    for (const use of this.uses.values()) {
      const { rr, resolved } = use;
      const hits = this.hits.get(use.key);
      let routes = hits?.routes ?? 0;
      const ingresses = hits ? [...hits.ingresses.keys()] : [];
      if (extra?.key === use.key) {
        routes++;
        if (!ingresses.includes(extra.ingress)) ingresses.push(extra.ingress);
      }
      if (routes > 0) inUse(use);
      const g = rr.meta.generation;
      const backends = backendStatuses(rr, resolved);
      const port = rr.service.port.number ?? rr.service.port.name;
      let message =
        routes === 0
          ? `no Sluice Ingress route sends traffic to service ${rr.service.name} port ${port} yet`
          : `splits ${routes} route${routes === 1 ? '' : 's'} of ${ingresses
              .sort()
              .map((k) => `Ingress ${k}`)
              .join(', ')}`;
      if (rr.backends.every((b) => b.weight === 0))
        message += '; all weights are 0, so these requests answer 503';
      statuses.set(rr.meta.key, {
        observedGeneration: g,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message, observedGeneration: g },
          resolvedRefsCondition(rr, resolved, g),
        ],
        backends,
        summary: summary(backends),
      });
    }
  }
}
