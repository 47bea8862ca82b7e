// Informers over objects held in memory, for driving the controller without an API server. They
// behave as the list+watch informers do where the controller can tell: `start()` delivers the
// first list as `add` events and marks them synced, a change is in the cache before its handlers
// run, cached objects are frozen, and a relist of unchanged objects (same resourceVersion) emits
// nothing.

import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { RouteRatio } from '../compile/api.ts';
import type { ControllerInformers, SecretInformer, SourceInformer } from '../informers.ts';
import { deepFreeze } from '../kube/freeze.ts';
import { type InformerEvent, type KubeObject, objectKey } from '../kube/informer.ts';

export class MemoryInformer<T extends KubeObject> implements SourceInformer<T> {
  readonly resource: { readonly plural: string };
  #cache = new Map<string, T>();
  #synced = false;
  #handlers: Array<(ev: InformerEvent<T>) => void> = [];
  #waiters: Array<() => void> = [];
  #version = 0;

  constructor(plural: string, objects: readonly T[] = []) {
    this.resource = { plural };
    for (const obj of objects) this.#cache.set(objectKey(obj), this.#prepare(obj));
  }

  get synced(): boolean {
    return this.#synced;
  }

  get size(): number {
    return this.#cache.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  values(): IterableIterator<T> {
    return this.#cache.values();
  }

  on(handler: (ev: InformerEvent<T>) => void): void {
    this.#handlers.push(handler);
  }

  /** The first list: every object held so far arrives as `add`. */
  start(): void {
    if (this.#synced) return;
    for (const obj of this.#cache.values()) this.#emit({ type: 'add', obj });
    this.#synced = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async stop(): Promise<void> {}

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error(`${this.resource.plural}: stopped`)), {
        once: true,
      });
      this.#waiters.push(resolve);
    });
  }

  /** Creates or replaces an object, as a watch `ADDED`/`MODIFIED` would. */
  apply(obj: T): T {
    const next = this.#prepare(obj);
    const key = objectKey(next);
    const old = this.#cache.get(key);
    if (old && sameVersion(old, next)) return old;
    this.#cache.set(key, next);
    if (this.#synced) this.#emit(old ? { type: 'update', old, obj: next } : { type: 'add', obj: next });
    return next;
  }

  /** Removes an object, as a watch `DELETED` would. */
  delete(namespace: string | undefined, name: string): void {
    const key = namespace ? `${namespace}/${name}` : name;
    const old = this.#cache.get(key);
    if (!old) return;
    this.#cache.delete(key);
    if (this.#synced) this.#emit({ type: 'delete', old });
  }

  /** A fresh list (after a watch expired): only what differs from the cache is emitted. */
  relist(objects: readonly T[]): void {
    const previous = this.#cache;
    const next = new Map<string, T>();
    for (const obj of objects) {
      const item = this.#prepare(obj);
      const old = previous.get(objectKey(item));
      next.set(objectKey(item), old && sameVersion(old, item) ? old : item);
    }
    this.#cache = next;
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (!old) this.#emit({ type: 'add', obj });
      else if (old !== obj) this.#emit({ type: 'update', old, obj });
    }
    for (const [key, old] of previous) if (!next.has(key)) this.#emit({ type: 'delete', old });
  }

  inject(obj: T, when: (current: T) => boolean): boolean {
    const key = objectKey(obj);
    const current = this.#cache.get(key);
    if (!current || !when(current)) return false;
    const next = this.#prepare(obj);
    this.#cache.set(key, next);
    this.#emit({ type: 'update', old: current, obj: next });
    return true;
  }

  /** Objects without a resourceVersion get one, as the API server would give them. */
  #prepare(obj: T): T {
    if (obj.metadata?.resourceVersion) return deepFreeze(structuredClone(obj));
    this.#version++;
    return deepFreeze({
      ...structuredClone(obj),
      metadata: { ...obj.metadata, resourceVersion: `m${this.#version}` },
    });
  }

  #emit(ev: InformerEvent<T>): void {
    for (const h of this.#handlers) h(ev);
  }
}

/** The watch's rule: the same resourceVersion is the same object. */
function sameVersion(a: KubeObject, b: KubeObject): boolean {
  return a.metadata?.resourceVersion === b.metadata?.resourceVersion;
}

export interface MemoryInformers extends ControllerInformers {
  ingressClasses: MemoryInformer<V1IngressClass>;
  ingresses: MemoryInformer<V1Ingress>;
  services: MemoryInformer<V1Service>;
  endpointSlices: MemoryInformer<V1EndpointSlice>;
  secrets: MemoryInformer<V1Secret> & SecretInformer;
  routeRatios: MemoryInformer<RouteRatio>;
  namespaces: MemoryInformer<V1Namespace>;
}

/** The controller's informers, in memory, holding `objects` for their first list. */
export function memoryInformers(
  objects: {
    ingressClasses?: V1IngressClass[];
    ingresses?: V1Ingress[];
    services?: V1Service[];
    endpointSlices?: V1EndpointSlice[];
    secrets?: V1Secret[];
    routeRatios?: RouteRatio[];
    namespaces?: V1Namespace[];
  } = {},
): MemoryInformers {
  return {
    ingressClasses: new MemoryInformer('ingressclasses', objects.ingressClasses),
    ingresses: new MemoryInformer('ingresses', objects.ingresses),
    services: new MemoryInformer('services', objects.services),
    endpointSlices: new MemoryInformer('endpointslices', objects.endpointSlices),
    secrets: new MemoryInformer('secrets', objects.secrets),
    routeRatios: new MemoryInformer('routeratios', objects.routeRatios),
    namespaces: new MemoryInformer('namespaces', objects.namespaces),
  };
}
