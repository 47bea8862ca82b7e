// Builders for the webhook's unit tests: Kubernetes objects as the API server sends them (plain
// JSON), AdmissionReviews around them, and a ReviewContext over a snapshot with the real compiler.
import type { V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';
import type { CompileOptions, RouteRatio, RouteRatioSpec, Snapshot } from '../operator/compile/api.ts';
import type { AdmissionReviewRequest, Operation } from './admission.ts';
import type { ReviewContext } from './review.ts';
import { scopedIndex, snapshotSource } from './scoped-index.ts';

export const T0 = '2026-11-20T10:00:00Z';
export const T1 = '2026-11-21T10:00:00Z';
export const T2 = '2026-11-22T10:00:00Z';

export function ingressClass(
  name: string,
  controller = 'sluice.dev/ingress-controller',
  isDefault = false,
): V1IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      creationTimestamp: T0 as never,
      ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    spec: { controller },
  };
}

export interface IngressSpecInput {
  className?: string | null;
  annotations?: Record<string, string>;
  created?: string;
  rules?: Array<{
    host?: string;
    paths: Array<{ path: string; pathType?: string; service?: string; port?: number | string }>;
  }>;
  uid?: string;
  resourceVersion?: string;
}

export function ingress(namespace: string, name: string, input: IngressSpecInput = {}): V1Ingress {
  const rules = (input.rules ?? [{ host: 'shop.example.com', paths: [{ path: '/api' }] }]).map((r) => ({
    ...(r.host !== undefined ? { host: r.host } : {}),
    http: {
      paths: r.paths.map((p) => ({
        path: p.path,
        pathType: p.pathType ?? 'Prefix',
        backend: {
          service: {
            name: p.service ?? 'web',
            port: typeof p.port === 'string' ? { name: p.port } : { number: p.port ?? 80 },
          },
        },
      })),
    },
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace,
      uid: input.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: input.resourceVersion ?? '1',
      creationTimestamp: (input.created ?? T1) as never,
      ...(input.annotations ? { annotations: input.annotations } : {}),
    },
    spec: {
      ...(input.className === null ? {} : { ingressClassName: input.className ?? 'sluice' }),
      rules,
    },
  };
}

export function service(
  namespace: string,
  name: string,
  ports: Array<{ port: number; name?: string }> = [{ port: 80, name: 'http' }],
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, creationTimestamp: T0 as never },
    spec: {
      ports: ports.map((p) => ({ port: p.port, ...(p.name ? { name: p.name } : {}), protocol: 'TCP' })),
    },
  };
}

export function routeRatio(
  namespace: string,
  name: string,
  spec: Partial<RouteRatioSpec> = {},
  created = T1,
): RouteRatio {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'RouteRatio',
    metadata: {
      name,
      namespace,
      uid: `uid-rr-${namespace}-${name}`,
      creationTimestamp: created as never,
      generation: 1,
    },
    spec: {
      service: { name: 'web', port: { number: 80 } },
      backends: [
        { name: 'web-v1', port: { number: 80 }, weight: 90 },
        { name: 'web-v2', port: { number: 80 }, weight: 10 },
      ],
      ...spec,
    },
  };
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
