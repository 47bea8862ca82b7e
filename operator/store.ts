// The operator's view over the informer caches: it tracks which Services and Secrets Sluice's
// Ingresses and RouteRatios reference, tells whether a change can alter the compiled config (so
// an unreferenced Service or a status-only update causes no work), and freezes a snapshot for
// the compiler. It never copies or mutates cached objects. What matters and what refers to what
// come from the compiler's processor declarations (operator/compile/pipeline.ts).

import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { CONTROLLER_NAME, INGRESS_NGINX_CONTROLLER, type RouteRatio, type Snapshot } from './compile/api.ts';
import {
  followed,
  isRelevant,
  type Kind,
  type References,
  referencesOf,
  SERVICE_NAME_LABEL,
  sameInput,
} from './compile/index.ts';
import { type InformerEvent, type KubeObject, objectKey } from './kube/informer.ts';

export interface Cache<T> {
  values(): Iterable<T>;
  get(namespace: string | undefined, name: string): T | undefined;
}

export interface Caches {
  ingressClasses: Cache<V1IngressClass>;
  ingresses: Cache<V1Ingress>;
  services: Cache<V1Service>;
  endpointSlices: Cache<V1EndpointSlice>;
  secrets: Cache<V1Secret>;
  routeRatios: Cache<RouteRatio>;
  /** Only their names and whether they are terminating are read. */
  namespaces?: Cache<V1Namespace>;
}

export type { Kind };
export { SERVICE_NAME_LABEL };

export interface StoreOptions {
  /** The compiler's own class selection, so the store and the compiler agree on what is Sluice's. */
  isSluiceIngress: (ingress: V1Ingress, classes: V1IngressClass[]) => boolean;
  /** `spec.controller` of Sluice's IngressClasses. Default CONTROLLER_NAME. */
  controllerName?: string;
  /** `<namespace>/<name>` of the default certificate Secret, always referenced. */
  defaultCertificateSecret?: string;
  /**
   * ingress-nginx mode's class names (absent or empty: mode off): then ingress-nginx's classes and
   * classes of such a name change class selection too.
   */
  ingressNginxClassNames?: readonly string[];
  /** Called when a Secret becomes referenced; the cache may hold it without its data. */
  onSecretReferenced?: (namespace: string, name: string) => void;
}

type Refs = References;

/** Reference counts per `<namespace>/<name>`, contributed by owners (Ingresses, RouteRatios). */
class RefCounter {
  readonly #counts = new Map<string, number>();
  readonly #onFirst: (key: string) => void;
  constructor(onFirst: (key: string) => void) {
    this.#onFirst = onFirst;
  }
  has(key: string): boolean {
    return this.#counts.has(key);
  }
  keys(): IterableIterator<string> {
    return this.#counts.keys();
  }
  add(keys: readonly string[]): void {
    for (const k of new Set(keys)) {
      const n = this.#counts.get(k) ?? 0;
      this.#counts.set(k, n + 1);
      if (n === 0) this.#onFirst(k);
    }
  }
  remove(keys: readonly string[]): void {
    for (const k of new Set(keys)) {
      const n = this.#counts.get(k) ?? 0;
      if (n <= 1) this.#counts.delete(k);
      else this.#counts.set(k, n - 1);
    }
  }
}

export class Store {
  readonly #caches: Caches;
  readonly #opts: StoreOptions;
  readonly #services = new RefCounter(() => undefined);
  readonly #secrets: RefCounter;
  /** Refs contributed by each Sluice Ingress (`ing:` keys) and RouteRatio (`rr:` keys). */
  readonly #contributions = new Map<string, Refs>();
  /** Ingresses that belong to Sluice's class, by `<namespace>/<name>`. */
  readonly #ours = new Set<string>();
  #classes: V1IngressClass[] | undefined;
  /** Terminating namespaces: their Ingresses and RouteRatios are released (the compiler's rule). */
  readonly #terminating = new Set<string>();

  constructor(caches: Caches, opts: StoreOptions) {
    this.#caches = caches;
    this.#opts = opts;
    this.#secrets = new RefCounter((key) => {
      const [ns, name] = splitKey(key);
      this.#opts.onSecretReferenced?.(ns, name);
    });
    if (opts.defaultCertificateSecret) this.#secrets.add([opts.defaultCertificateSecret]);
  }

  isServiceReferenced(namespace: string, name: string): boolean {
    return this.#services.has(`${namespace}/${name}`);
  }

  isSecretReferenced(namespace: string, name: string): boolean {
    return this.#secrets.has(`${namespace}/${name}`);
  }

  isSluiceIngress(namespace: string, name: string): boolean {
    return this.#ours.has(`${namespace}/${name}`);
  }

  /** `<namespace>/<name>` of every Sluice Ingress. */
  sluiceIngresses(): IterableIterator<string> {
    return this.#ours.values();
  }

  /**
   * Records a change (the informer's cache already holds the new state) and says whether it can
   * change the compiled config.
   */
  observe(kind: Kind, ev: InformerEvent<KubeObject>): boolean {
    switch (kind) {
      case 'IngressClass':
        return this.#observeClass(ev as InformerEvent<V1IngressClass>);
      case 'Ingress':
        return this.#observeIngress(ev as InformerEvent<V1Ingress>);
      case 'RouteRatio':
        return this.#observeRouteRatio(ev as InformerEvent<RouteRatio>);
      case 'Namespace':
        return this.#observeNamespace(ev as InformerEvent<V1Namespace>);
      case 'Service':
      case 'Secret':
      case 'EndpointSlice':
        return this.#observeReferenced(kind, ev);
    }
  }

  snapshot(): Snapshot {
    const ingresses: V1Ingress[] = [];
    for (const key of this.#ours) {
      const [ns, name] = splitKey(key);
      const ing = this.#caches.ingresses.get(ns, name);
      if (ing) ingresses.push(ing);
    }
    const services: V1Service[] = [];
    for (const key of this.#services.keys()) {
      const [ns, name] = splitKey(key);
      const svc = this.#caches.services.get(ns, name);
      if (svc) services.push(svc);
    }
    const endpointSlices: V1EndpointSlice[] = [];
    for (const slice of this.#caches.endpointSlices.values()) {
      const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc && this.#services.has(`${slice.metadata?.namespace}/${svc}`)) endpointSlices.push(slice);
    }
    const secrets: V1Secret[] = [];
    for (const key of this.#secrets.keys()) {
      const [ns, name] = splitKey(key);
      const secret = this.#caches.secrets.get(ns, name);
      if (secret?.data) secrets.push(secret);
    }
    return {
      ingressClasses: [...this.#classList()],
      ingresses,
      services,
      endpointSlices,
      secrets,
      routeRatios: [...this.#caches.routeRatios.values()],
      namespaces: [...this.#terminating].map((name) => ({ name, terminating: true })),
    };
  }

  /**
   * Whether a namespace started or stopped taking part (the namespace processor's `relevant`:
   * terminating), which is all of it that changes routing.
   */
  #observeNamespace(ev: InformerEvent<V1Namespace>): boolean {
    const obj = ev.type === 'delete' ? ev.old : ev.obj;
    const name = obj.metadata?.name;
    if (!name) return false;
    const controller = this.#opts.controllerName ?? CONTROLLER_NAME;
    const terminating = ev.type !== 'delete' && isRelevant('Namespace', ev.obj, controller);
    if (terminating === this.#terminating.has(name)) return false;
    if (terminating) this.#terminating.add(name);
    else this.#terminating.delete(name);
    return true;
  }

  #classList(): V1IngressClass[] {
    this.#classes ??= [...this.#caches.ingressClasses.values()];
    return this.#classes;
  }

  #observeClass(ev: InformerEvent<V1IngressClass>): boolean {
    this.#classes = undefined;
    if (ev.type === 'update' && sameInput('IngressClass', ev.old, ev.obj)) return false;
    const controller = this.#opts.controllerName ?? CONTROLLER_NAME;
    const names = this.#opts.ingressNginxClassNames ?? [];
    const relevant = (c: V1IngressClass) =>
      isRelevant('IngressClass', c, controller) ||
      (names.length > 0 &&
        (c.spec?.controller === INGRESS_NGINX_CONTROLLER || names.includes(c.metadata?.name ?? '')));
    const objs = ev.type === 'update' ? [ev.old, ev.obj] : [ev.type === 'add' ? ev.obj : ev.old];
    if (!objs.some(relevant)) return false;
    // Class selection may have changed for any Ingress.
    for (const ing of this.#caches.ingresses.values()) this.#setIngress(objectKey(ing), ing);
    for (const key of [...this.#ours]) {
      const [ns, name] = splitKey(key);
      if (!this.#caches.ingresses.get(ns, name)) this.#setIngress(key, undefined);
    }
    return true;
  }

  #observeIngress(ev: InformerEvent<V1Ingress>): boolean {
    const key = objectKey(ev.type === 'delete' ? ev.old : ev.obj);
    const wasOurs = this.#ours.has(key);
    const isOurs = this.#setIngress(key, ev.type === 'delete' ? undefined : ev.obj);
    if (!wasOurs && !isOurs) return false;
    if (ev.type !== 'update' || wasOurs !== isOurs) return true;
    return !sameInput('Ingress', ev.old, ev.obj);
  }

  /** Updates class membership and references of one Ingress; returns whether it is Sluice's. */
  #setIngress(key: string, ing: V1Ingress | undefined): boolean {
    const ours = ing !== undefined && this.#opts.isSluiceIngress(ing, this.#classList());
    if (ours) this.#ours.add(key);
    else this.#ours.delete(key);
    this.#contribute(`ing:${key}`, ours && ing ? referencesOf('Ingress', ing) : undefined);
    return ours;
  }

  #observeRouteRatio(ev: InformerEvent<RouteRatio>): boolean {
    const obj = ev.type === 'delete' ? undefined : ev.obj;
    const key = objectKey(ev.type === 'delete' ? ev.old : ev.obj);
    this.#contribute(`rr:${key}`, obj ? referencesOf('RouteRatio', obj) : undefined);
    if (ev.type !== 'update') return true;
    return !sameInput('RouteRatio', ev.old, ev.obj);
  }

  /** For objects that matter only while referenced: by name, or by the Service they belong to. */
  #observeReferenced(kind: Kind, ev: InformerEvent<KubeObject>): boolean {
    const how = followed(kind);
    if (!how) return false;
    const refs = how.via === 'secrets' ? this.#secrets : this.#services;
    const objs = ev.type === 'update' ? [ev.old, ev.obj] : [ev.type === 'add' ? ev.obj : ev.old];
    const referenced = objs.some((o) => {
      const name = how.referencedName(o);
      return name !== undefined && refs.has(`${o.metadata?.namespace}/${name}`);
    });
    if (!referenced) return false;
    if (ev.type !== 'update') return true;
    return !sameInput(kind, ev.old, ev.obj);
  }

  #contribute(owner: string, refs: Refs | undefined): void {
    const before = this.#contributions.get(owner);
    // Add first, so a ref kept across the update never drops to zero in between.
    if (refs) {
      this.#services.add(refs.services);
      this.#secrets.add(refs.secrets);
      this.#contributions.set(owner, refs);
    } else {
      this.#contributions.delete(owner);
    }
    if (before) {
      this.#services.remove(before.services);
      this.#secrets.remove(before.secrets);
    }
  }
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
