// The webhook's unit-test fixtures: the shared object builders with the metadata the API server
// would have set (uid, resourceVersion, creation times), AdmissionReviews around them, and a
// ReviewContext over a snapshot with the real compiler.
import type { V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';
import type { CompileOptions, RouteRatio, RouteRatioSpec, Snapshot } from '../../operator/compile/api.ts';
import type { IngressRule } from '../../operator/testing/objects.ts';
import * as objects from '../../operator/testing/objects.ts';
import type { AdmissionReviewRequest, Operation } from '../admission.ts';
import type { ReviewContext } from '../review.ts';
import { scopedIndex, snapshotSource } from '../scoped-index.ts';

export const T0 = '2026-11-20T10:00:00Z';
export const T1 = '2026-11-21T10:00:00Z';
export const T2 = '2026-11-22T10:00:00Z';

export function ingressClass(
  name: string,
  controller = 'sluice.dev/ingress-controller',
  isDefault = false,
): V1IngressClass {
  return objects.ingressClass(name, { controller, isDefault, created: T0 });
}

export interface IngressSpecInput {
  className?: string | null;
  annotations?: Record<string, string>;
  created?: string;
  rules?: IngressRule[];
  uid?: string;
  resourceVersion?: string;
}

/** An Ingress as the webhook sees it: with uid, resourceVersion and a creation time. */
export function ingress(namespace: string, name: string, input: IngressSpecInput = {}): V1Ingress {
  return objects.ingress(name, {
    namespace,
    uid: input.uid ?? `uid-${namespace}-${name}`,
    resourceVersion: input.resourceVersion ?? '1',
    created: input.created ?? T1,
    annotations: input.annotations,
    className: input.className,
    rules: input.rules ?? [{ host: 'shop.example.com', paths: [{ path: '/api' }] }],
  });
}

export function service(
  namespace: string,
  name: string,
  ports: Array<{ port: number; name?: string }> = [{ port: 80, name: 'http' }],
): V1Service {
  return objects.service(name, {
    namespace,
    created: T0,
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
  });
}

export function routeRatio(
  namespace: string,
  name: string,
  spec: Partial<RouteRatioSpec> = {},
  created = T1,
): RouteRatio {
  return objects.routeRatio(name, {
    namespace,
    uid: `uid-rr-${namespace}-${name}`,
    created,
    generation: 1,
    spec,
  });
}

let uidCounter = 0;

export function review(
  object: unknown,
  opts: {
    operation?: Operation;
    oldObject?: unknown;
    kind?: 'Ingress' | 'RouteRatio';
    subResource?: string;
  } = {},
): AdmissionReviewRequest {
  const kind =
    opts.kind ?? ((object as { kind?: string } | null)?.kind === 'RouteRatio' ? 'RouteRatio' : 'Ingress');
  const meta = (object as { metadata?: { name?: string; namespace?: string } } | null)?.metadata;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`,
      kind:
        kind === 'Ingress'
          ? { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }
          : { group: 'sluice.dev', version: 'v1alpha1', kind: 'RouteRatio' },
      resource:
        kind === 'Ingress'
          ? { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' }
          : { group: 'sluice.dev', version: 'v1alpha1', resource: 'routeratios' },
      ...(opts.subResource ? { subResource: opts.subResource } : {}),
      name: meta?.name,
      namespace: meta?.namespace,
      operation: opts.operation ?? 'CREATE',
      object: object as Record<string, unknown>,
      ...(opts.oldObject ? { oldObject: opts.oldObject as Record<string, unknown> } : {}),
    },
  };
}

export function snapshot(parts: Partial<Snapshot>): Snapshot {
  return {
    ingressClasses: [],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
    ...parts,
  };
}

/** A ReviewContext over a snapshot, with the compiler's claim index scoped as in production. */
export function context(snap: Snapshot, options: CompileOptions = {}): ReviewContext {
  return {
    index: scopedIndex(snapshotSource(snap), options),
    ingressClasses: snap.ingressClasses,
    service: (ns, name) =>
      snap.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
    ingressesIn: (ns) => snap.ingresses.filter((i) => i.metadata?.namespace === ns),
    options,
  };
}
