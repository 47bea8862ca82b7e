// The webhook's view of the cluster: IngressClasses, Ingresses and RouteRatios (what claims
// depend on), Namespaces (a terminating one's objects hold no claims) and Services (a
// RouteRatio's named port resolves through its Service; missing backends are warned about).
// Never Secrets. The informers are the operator's (operator/kube/informer.ts).
//
// Ingresses are also indexed by host group, kept up to date on every event, so a review finds
// the few Ingresses that can conflict with it without scanning all of them (see scoped-index.ts).
import type {
  KubernetesObject,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1Service,
} from '@kubernetes/client-node';
import type { NamespaceState, RouteRatio, Snapshot } from '../../operator/compile/api.ts';
import { namespaceState } from '../../operator/compile/index.ts';
import type { KubeClient } from '../../operator/kube/client.ts';
import { Informer, type InformerEvent, type RestartReason } from '../../operator/kube/informer.ts';
import {
  collectionPath,
  INGRESS_CLASSES,
  INGRESSES,
  NAMESPACES,
  type Resource,
  ROUTE_RATIOS,
  SERVICES,
} from '../../operator/kube/resources.ts';
import { ingressHostKeys, type ScopeSource } from '../scoped-index.ts';

export interface ClusterCacheOptions {
  /** A watch or list ended other than normally; the informer retries with a back-off. */
  onError?: (what: string, reason: RestartReason, err: unknown) => void;
}

const RESOURCES = {
  ingressClasses: INGRESS_CLASSES,
  ingresses: INGRESSES,
  routeRatios: ROUTE_RATIOS,
  services: SERVICES,
  namespaces: NAMESPACES,
} satisfies Record<string, Resource>;

function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Ingress keys by host group, and host groups by Ingress key. */
export class HostIndex {
  #byHost = new Map<string, Set<string>>();
  #hostsOf = new Map<string, string[]>();

  set(key: string, hosts: string[]): void {
    this.delete(key);
    this.#hostsOf.set(key, hosts);
    for (const h of hosts) {
      const keys = this.#byHost.get(h) ?? new Set<string>();
      keys.add(key);
      this.#byHost.set(h, keys);
    }
  }

  delete(key: string): void {
    for (const h of this.#hostsOf.get(key) ?? []) {
      const keys = this.#byHost.get(h);
      keys?.delete(key);
      if (keys?.size === 0) this.#byHost.delete(h);
    }
    this.#hostsOf.delete(key);
  }

  keys(hosts: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const h of hosts) for (const k of this.#byHost.get(h) ?? []) out.add(k);
    return out;
  }
}

export class ClusterCache implements ScopeSource {
  readonly ingressClasses: Informer<V1IngressClass>;
  readonly ingresses: Informer<V1Ingress>;
  readonly routeRatios: Informer<RouteRatio>;
  readonly services: Informer<V1Service>;
  readonly namespaces: Informer<V1Namespace>;
  #hosts = new HostIndex();
  /** Terminating namespaces, kept current on every Namespace event. */
  #terminating = new Map<string, NamespaceState>();

  constructor(client: KubeClient, opts: ClusterCacheOptions = {}) {
    const make = <T extends KubernetesObject>(
      what: keyof typeof RESOURCES,
      onChange: (event: 'add' | 'update' | 'delete', obj: KubernetesObject) => void = () => {},
      optional = false,
    ) => {
      const informer = new Informer<T>({
        client,
        resource: RESOURCES[what],
        optional,
        onRestart: (reason, err) => {
          if (reason !== 'closed') opts.onError?.(what, reason, err);
        },
      });
      informer.on((ev: InformerEvent<T>) =>
        ev.type === 'delete' ? onChange('delete', ev.old) : onChange(ev.type, ev.obj),
      );
      return informer;
    };
    this.ingressClasses = make<V1IngressClass>('ingressClasses');
    this.ingresses = make<V1Ingress>('ingresses', (event, obj) => {
      if (event === 'delete') this.#hosts.delete(keyOf(obj));
      else this.#hosts.set(keyOf(obj), ingressHostKeys(obj));
    });
    // The CRD may be installed after the webhook starts.
    this.routeRatios = make<RouteRatio>('routeRatios', undefined, true);
    this.services = make<V1Service>('services');
    this.namespaces = make<V1Namespace>('namespaces', (event, obj) => {
      const state = event === 'delete' ? undefined : namespaceState(obj);
      const name = obj.metadata?.name ?? '';
      if (state?.terminating) this.#terminating.set(name, state);
      else this.#terminating.delete(name);
    });
  }

  #all() {
    return [this.ingressClasses, this.ingresses, this.routeRatios, this.services, this.namespaces];
  }

  start(): void {
    for (const i of this.#all()) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  get synced(): boolean {
    return this.#all().every((i) => i.synced);
  }

  /** Which caches have not synced yet (for /readyz). */
  unsynced(): string[] {
    return this.#all()
      .filter((i) => !i.synced)
      .map((i) => collectionPath(i.resource));
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.waitForSync()));
  }

  ingressClassList(): V1IngressClass[] {
    return this.ingressClasses.list();
  }

  ingressesWithHosts(hosts: readonly string[]): V1Ingress[] {
    const out: V1Ingress[] = [];
    for (const key of this.#hosts.keys(hosts)) {
      const slash = key.indexOf('/');
      const ing = this.ingresses.get(key.slice(0, slash), key.slice(slash + 1));
      if (ing) out.push(ing);
    }
    return out;
  }

  routeRatiosFor(namespace: string, service: string): RouteRatio[] {
    if (!namespace) return [];
    return this.routeRatios.listIn(namespace).filter((r) => r?.spec?.service?.name === service);
  }

  service(namespace: string, name: string): V1Service | undefined {
    return this.services.get(namespace, name);
  }

  namespaceStates(): NamespaceState[] {
    return [...this.#terminating.values()];
  }

  /** Everything claims read, in one snapshot. */
  claimSnapshot(): Snapshot {
    return {
      ingressClasses: this.ingressClasses.list(),
      ingresses: this.ingresses.list(),
      routeRatios: this.routeRatios.list(),
      services: this.services.list(),
      endpointSlices: [],
      secrets: [],
      namespaces: this.namespaceStates(),
    };
  }

  counts(): Record<string, number> {
    return {
      ingressClasses: this.ingressClasses.size,
      ingresses: this.ingresses.size,
      routeRatios: this.routeRatios.size,
      services: this.services.size,
      namespaces: this.namespaces.size,
    };
  }
}
