// Kubernetes objects for tests, one builder per kind, as plain JSON the way the API server sends
// them (and kubectl accepts them). Metadata the caller does not give is left out, so the same
// objects serve unit tests (which set uid, resourceVersion, timestamps) and cluster tests (which
// must not). Golden compiler cases stay YAML; these are for everything else.
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressBackend,
  V1IngressClass,
  V1Namespace,
  V1ObjectMeta,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import type { RouteRatio, RouteRatioSpec } from '../compile/index.ts';

/** Metadata every builder takes; only what is set ends up in the object. */
export interface Meta {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** creationTimestamp, as the API server writes it (RFC 3339). */
  created?: string;
  /** deletionTimestamp (RFC 3339): the object is being deleted. */
  deleted?: string;
}

function meta(name: string, m: Meta): V1ObjectMeta {
  return {
    name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.generation !== undefined ? { generation: m.generation } : {}),
    // The client's type says Date; over the wire (and in our caches) it is the string.
    ...(m.created !== undefined ? { creationTimestamp: m.created as never } : {}),
    ...(m.deleted !== undefined ? { deletionTimestamp: m.deleted as never } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
    ...(m.finalizers?.length ? { finalizers: m.finalizers } : {}),
  };
}

/** A Service backend port: a number, or a port name. */
export type PortRef = number | string;

function backend(service: string, port: PortRef = 80): V1IngressBackend {
  return { service: { name: service, port: typeof port === 'string' ? { name: port } : { number: port } } };
}

export interface IngressPath {
  path?: string;
  pathType?: string;
  service?: string;
  port?: PortRef;
}

export interface IngressRule {
  /** Left out: the rule matches any host. */
  host?: string;
  paths: IngressPath[];
}

export interface IngressInput extends Meta {
  /** `spec.ingressClassName`; `null` leaves it out. Default `sluice`. */
  className?: string | null;
  rules?: IngressRule[];
  tls?: Array<{ hosts: string[]; secretName: string }>;
  defaultBackend?: { service: string; port?: PortRef };
}

/** An Ingress; each path defaults to `/`, `Prefix`, Service `web` port 80. */
export function ingress(name: string, input: IngressInput = {}): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(name, input),
    spec: {
      ...(input.className === null ? {} : { ingressClassName: input.className ?? 'sluice' }),
      ...(input.defaultBackend
        ? { defaultBackend: backend(input.defaultBackend.service, input.defaultBackend.port) }
        : {}),
      ...(input.tls ? { tls: input.tls } : {}),
      rules: (input.rules ?? []).map((r) => ({
        ...(r.host !== undefined ? { host: r.host } : {}),
        http: {
          paths: r.paths.map((p) => ({
            path: p.path ?? '/',
            pathType: p.pathType ?? 'Prefix',
            backend: backend(p.service ?? 'web', p.port),
          })),
        },
      })),
    },
  };
}

/** An Ingress routing every path of `host` to one Service (default `web` port 80). */
export function hostIngress(
  name: string,
  className: string,
  host: string,
  service = 'web',
  input: Omit<IngressInput, 'className' | 'rules'> = {},
): V1Ingress {
  return ingress(name, { ...input, className, rules: [{ host, paths: [{ service }] }] });
}

export interface IngressClassInput extends Meta {
  controller?: string;
  /** Marks it the cluster's default class. */
  isDefault?: boolean;
}

export function ingressClass(name: string, input: IngressClassInput = {}): V1IngressClass {
  const annotations = input.isDefault
    ? { ...input.annotations, 'ingressclass.kubernetes.io/is-default-class': 'true' }
    : input.annotations;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: meta(name, { ...input, annotations }),
    spec: { controller: input.controller ?? 'sluice.dev/ingress-controller' },
  };
}

export interface ServiceInput extends Meta {
  /** Pods it selects; left out, the Service has no selector (endpoints written by hand). */
  selector?: Record<string, string>;
  ports?: Array<{ port: number; name?: string; targetPort?: number | string; protocol?: string }>;
  type?: string;
  /** `None` makes it headless. */
  clusterIP?: string;
  /** Endpoints of pods that are not ready are published too. */
  publishNotReadyAddresses?: boolean;
}

/** A Service; ports default to one `http` port 80. */
export function service(name: string, input: ServiceInput = {}): V1Service {
  const ports = input.ports ?? [{ name: 'http', port: 80 }];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, input),
    spec: {
      ...(input.type ? { type: input.type } : {}),
      ...(input.clusterIP !== undefined ? { clusterIP: input.clusterIP } : {}),
      ...(input.publishNotReadyAddresses !== undefined
        ? { publishNotReadyAddresses: input.publishNotReadyAddresses }
        : {}),
      ...(input.selector ? { selector: input.selector } : {}),
      ports: ports.map(
        (p): V1ServicePort => ({
          ...(p.name ? { name: p.name } : {}),
          port: p.port,
          ...(p.targetPort !== undefined ? { targetPort: p.targetPort as never } : {}),
          ...(p.protocol ? { protocol: p.protocol } : {}),
        }),
      ),
    },
  };
}

export interface EndpointSliceInput extends Meta {
  /** Slice name; default `<service>-abc`. */
  name?: string;
  ports?: Array<{ name?: string; port: number; protocol?: string }>;
  /** Endpoints, ready unless said otherwise. */
  endpoints?: Array<{ address: string; ready?: boolean; serving?: boolean; terminating?: boolean }>;
  addressType?: 'IPv4' | 'IPv6';
}

/** An EndpointSlice of `service`; ports default to `http` 8080. */
export function endpointSlice(service: string, input: EndpointSliceInput = {}): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(input.name ?? `${service}-abc`, {
      ...input,
      labels: { ...input.labels, 'kubernetes.io/service-name': service },
    }),
    addressType: input.addressType ?? 'IPv4',
    ports: (input.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      ...(p.protocol ? { protocol: p.protocol } : {}),
    })),
    endpoints: (input.endpoints ?? []).map((e) => ({
      addresses: [e.address],
      conditions: {
        ready: e.ready ?? true,
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
    })),
  };
}

export interface RouteRatioInput extends Meta {
  /** The split Service; default `web` port 80. */
  service?: { name: string; port?: PortRef };
  /** Backend Services and weights, all on port 80 unless a port is given. */
  backends?: Array<{ name: string; weight: number; port?: PortRef }>;
  /** The rest of the spec (ingresses, sticky, overrides), as written. */
  spec?: Partial<RouteRatioSpec>;
}

const portRef = (p: PortRef = 80) => (typeof p === 'string' ? { name: p } : { number: p });

/** A RouteRatio; by default `web` split 90/10 over `web-v1` and `web-v2`. */
export function routeRatio(name: string, input: RouteRatioInput = {}): RouteRatio {
  const backends = input.backends ?? [
    { name: 'web-v1', weight: 90 },
    { name: 'web-v2', weight: 10 },
  ];
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'RouteRatio',
    metadata: meta(name, input),
    spec: {
      service: { name: input.service?.name ?? 'web', port: portRef(input.service?.port) },
      backends: backends.map((b) => ({ name: b.name, port: portRef(b.port), weight: b.weight })),
      ...input.spec,
    },
  };
}

export interface NamespaceInput extends Omit<Meta, 'namespace'> {
  /** `status.phase` (`Active`, `Terminating`); left out, the object has no status. */
  phase?: string;
}

export function namespace(name: string, input: NamespaceInput = {}): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta(name, input),
    ...(input.phase !== undefined ? { status: { phase: input.phase } } : {}),
  };
}

/** A `v1` List, the one document `kubectl apply -f -` takes for many objects. */
export function list(items: unknown[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}
