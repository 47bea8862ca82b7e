// In-memory stand-ins for what the controller writes to: data-plane replicas that apply PUTs and
// PATCHes as the config API does, and recorders for status and Events. Each keeps a log of what
// it was sent, for tests to assert on.

import type { V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { applyPatch, type ConfigPatch } from '../../contract/patch.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import type { CompiledRouteRatioStatus, CompileEvent, Condition } from '../compile/api.ts';
import type { EventSink, StatusSink } from '../controller.ts';
import type { PushClient } from '../push/pusher.ts';
import type { ProgrammedFn } from '../status/writer.ts';

export interface PushRecord {
  url: string;
  method: 'PUT' | 'PATCH';
  version: string;
}

/** Data-plane replicas by base URL: each runs the last config it accepted. */
export class MemoryDataplane implements PushClient {
  readonly pushes: PushRecord[] = [];
  readonly #running = new Map<string, DataplaneConfig>();

  /** The config a replica runs. */
  config(url: string): DataplaneConfig | undefined {
    return this.#running.get(url);
  }

  async appliedVersion(url: string): Promise<string | undefined> {
    return this.#running.get(url)?.version;
  }

  async put(url: string, body: string): Promise<void> {
    const config = JSON.parse(body) as DataplaneConfig;
    this.#running.set(url, config);
    this.pushes.push({ url, method: 'PUT', version: config.version });
  }

  async patch(url: string, body: string): Promise<void> {
    const patch = JSON.parse(body) as ConfigPatch;
    const base = this.#running.get(url);
    if (base?.version !== patch.base) {
      throw Object.assign(new Error(`not at version ${patch.base}`), { statusCode: 409 });
    }
    this.#running.set(url, applyPatch(base, patch));
    this.pushes.push({ url, method: 'PATCH', version: patch.version });
  }
}

/** Keeps the latest status the controller wrote, and never fails. */
export class RecordingStatus implements StatusSink {
  readonly routeRatios = new Map<string, { status: CompiledRouteRatioStatus; programmed: Condition }>();
  ingresses: string[] = [];
  loadBalancer: V1IngressLoadBalancerIngress[] = [];

  async syncRouteRatios(compiled: Record<string, CompiledRouteRatioStatus>, programmed: ProgrammedFn) {
    this.routeRatios.clear();
    for (const [key, status] of Object.entries(compiled)) {
      const accepted = status.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
      this.routeRatios.set(key, { status, programmed: programmed(key, status.observedGeneration, accepted) });
    }
    return 0;
  }

  async syncIngresses(keys: Iterable<string>, lb: V1IngressLoadBalancerIngress[]) {
    this.ingresses = [...keys].sort();
    this.loadBalancer = lb;
    return 0;
  }

  prune(): void {}
}

/** Every Event the controller posted, in order; never fails. */
export class RecordingEvents implements EventSink {
  readonly posted: CompileEvent[] = [];

  async record(events: readonly CompileEvent[]) {
    this.posted.push(...events);
    return 0;
  }
}
