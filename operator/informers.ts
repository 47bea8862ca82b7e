// The informers the controller reads: what it needs of one (a read-only cache, its change events,
// whether the first list is in), and the set of them wired against the API server. The controller
// only sees the interface, so tests can drive it with in-memory informers.

import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { ObjectRef, RouteRatio } from './compile/api.ts';
import type { KubeClient } from './kube/client.ts';
import { Informer, type InformerEvent, type KubeObject, type RestartReason } from './kube/informer.ts';
import {
  ENDPOINT_SLICES,
  INGRESS_CLASSES,
  INGRESSES,
  NAMESPACES,
  type Resource,
  ROUTE_RATIOS,
  SECRETS,
  SERVICES,
} from './kube/resources.ts';
import { type Cache, SERVICE_NAME_LABEL } from './store.ts';

/** A list+watch cache of one resource. */
export interface SourceInformer<T extends KubeObject> extends Cache<T> {
  readonly resource: { readonly plural: string };
  /** True once the first complete list is in the cache. */
  readonly synced: boolean;
  readonly size: number;
  /** Called after the cache holds the new state. */
  on(handler: (ev: InformerEvent<T>) => void): void;
  start(): void;
  stop(): Promise<void>;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** Secrets are cached without their data until referenced; `inject` fills one in. */
export interface SecretInformer extends SourceInformer<V1Secret> {
  /** Replaces the cached object when `when(current)` holds, and emits `update`. */
  inject(obj: V1Secret, when: (current: V1Secret) => boolean): boolean;
}

export interface ControllerInformers {
  ingressClasses: SourceInformer<V1IngressClass>;
  ingresses: SourceInformer<V1Ingress>;
  services: SourceInformer<V1Service>;
  endpointSlices: SourceInformer<V1EndpointSlice>;
  secrets: SecretInformer;
  routeRatios: SourceInformer<RouteRatio>;
  namespaces: SourceInformer<V1Namespace>;
  /** The data plane's own EndpointSlices, where its replicas are; absent with a fixed replica list. */
  dataplaneSlices?: SourceInformer<V1EndpointSlice>;
}

export interface KubeInformersOptions {
  /** Whether a Secret is referenced: only those keep their data in the cache. */
  isSecretReferenced: (namespace: string, name: string) => boolean;
  /** Watch the EndpointSlices of this data-plane Service. */
  dataplane?: { namespace: string; service: string };
  onRestart?: (resource: string, reason: RestartReason, err?: unknown) => void;
}

/** The controller's informers against the API server. */
export function kubeInformers(client: KubeClient, opts: KubeInformersOptions): ControllerInformers {
  const informer = <T extends KubeObject>(
    resource: Resource,
    extra: Partial<ConstructorParameters<typeof Informer<T>>[0]> = {},
    label = resource.plural,
  ) =>
    new Informer<T>({
      client,
      resource,
      ...extra,
      onRestart: (reason, err) => opts.onRestart?.(label, reason, err),
    });
  const dp = opts.dataplane;
  return {
    ingressClasses: informer<V1IngressClass>(INGRESS_CLASSES),
    ingresses: informer<V1Ingress>(INGRESSES),
    services: informer<V1Service>(SERVICES),
    endpointSlices: informer<V1EndpointSlice>(ENDPOINT_SLICES),
    routeRatios: informer<RouteRatio>(ROUTE_RATIOS),
    // Whether a namespace is terminating releases its objects; nothing else of it is kept.
    namespaces: informer<V1Namespace>(NAMESPACES, { transform: namespaceView }),
    // Every type (TLS, and Opaque or basic-auth Secrets that `auth-secret` names); only the
    // referenced ones keep their data, the rest are stubs.
    secrets: informer<V1Secret>(SECRETS, {
      transform: (s) =>
        opts.isSecretReferenced(s.metadata?.namespace ?? '', s.metadata?.name ?? '') ? s : stub(s),
    }),
    dataplaneSlices: dp
      ? informer<V1EndpointSlice>(
          ENDPOINT_SLICES,
          { namespace: dp.namespace, labelSelector: `${SERVICE_NAME_LABEL}=${dp.service}` },
          'dataplane-endpointslices',
        )
      : undefined,
  };
}

/** The uid of a cached object an Event is about, if it is cached. */
export function cachedUid(informers: ControllerInformers, ref: ObjectRef): string | undefined {
  const cache: Cache<KubeObject> | undefined = {
    Ingress: informers.ingresses,
    RouteRatio: informers.routeRatios,
    IngressClass: informers.ingressClasses,
    Service: informers.services,
    Secret: informers.secrets,
  }[ref.kind];
  return cache?.get(ref.namespace, ref.name)?.metadata?.uid;
}

/** A Namespace reduced to its name, deletionTimestamp and phase. */
function namespaceView(ns: V1Namespace): V1Namespace {
  const m = ns.metadata ?? {};
  return {
    apiVersion: ns.apiVersion,
    kind: ns.kind,
    metadata: {
      name: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      deletionTimestamp: m.deletionTimestamp,
    },
    status: { phase: ns.status?.phase },
  };
}

/** A Secret without its data: enough to know it exists. */
function stub(s: V1Secret): V1Secret {
  const m = s.metadata ?? {};
  return {
    apiVersion: s.apiVersion,
    kind: s.kind,
    type: s.type,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
  };
}
