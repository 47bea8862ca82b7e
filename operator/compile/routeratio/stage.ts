// The RouteRatio step of the engine: the RouteRatios in force (splits.ts), read after the Ingresses
// (their claims decide which routes a RouteRatio may split) and finished after the Ingress step
// (their statuses count the routes split), listing the backends the splits in use name.

import type { CompiledRouteRatioStatus, Snapshot } from '../api.ts';
import { type BackendSlot, type Changes, listOf } from '../core/changes.ts';
import { type Shared, type Stage, slotOf } from '../core/stage.ts';
import { sortedRecord } from '../emit/emit.ts';
import { Claims } from '../ingress/claims.ts';
import { RouteRatioTable } from './splits.ts';

export class RouteRatioStage implements Stage {
  private readonly shared: Shared;
  private readonly routeRatios = new RouteRatioTable();
  /** Backends listed because a RouteRatio in use splits to them. */
  private splitTo = new Set<BackendSlot>();
  /** This compile's statuses, filled in as it goes. */
  private statuses = new Map<string, CompiledRouteRatioStatus>();

  constructor(shared: Shared) {
    this.shared = shared;
    shared.splitFor = (meta, ref) => this.routeRatios.find(meta, ref, shared.services);
    shared.countSplit = (key, ingress, sign) => this.routeRatios.count(key, ingress, sign);
  }

  read(snapshot: Partial<Snapshot>, c: Changes): void {
    const { options, selector, services, terminating } = this.shared;
    const claims = new Claims(options, selector!, services, terminating);
    this.statuses = this.routeRatios.update(
      listOf(snapshot.routeRatios),
      claims,
      services,
      c.refs,
      terminating,
    );
  }

  /** RouteRatio statuses; the backends of RouteRatios in use are listed. */
  derive(): void {
    const shared = this.shared;
    const splitTo = new Set<BackendSlot>();
    const route = shared.defaultRoute;
    const extra = route?.decision.routeRatio
      ? { key: route.decision.routeRatio, ingress: route.record.parsed!.meta.key }
      : undefined;
    this.routeRatios.finish(this.statuses, extra, ({ rr, resolved }) => {
      for (let i = 0; i < resolved.length; i++) {
        const slot = slotOf(resolved[i], rr.meta.namespace, rr.backends[i].name);
        slot.backend = resolved[i].backend;
        splitTo.add(slot);
      }
    });
    for (const slot of this.splitTo) if (!splitTo.has(slot)) this.listing(slot, splitTo);
    for (const slot of splitTo) if (!this.splitTo.has(slot)) this.listing(slot, splitTo);
    this.splitTo = splitTo;
    shared.splitTo = splitTo;
    shared.statuses.routeRatios = sortedRecord(this.statuses);
  }

  private listing(slot: BackendSlot, splitTo: Set<BackendSlot>): void {
    this.shared.list(slot, slot.paths > 0 || splitTo.has(slot));
  }
}
