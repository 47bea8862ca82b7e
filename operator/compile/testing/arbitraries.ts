// Generators of Kubernetes objects and snapshots for the compiler's property tests: valid and
// hostile objects mixed. Test-only helper, kept beside the tests.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Ingress, V1Service } from '@kubernetes/client-node';
import fc from 'fast-check';
import type { RouteRatio, Snapshot } from '../api.ts';
import { snapshotFromYaml } from './testdata.ts';

const tlsCase = snapshotFromYaml(
  readFileSync(join(import.meta.dirname, '..', 'ingress', 'testdata', 'tls-secret-redirect.in.yaml'), 'utf8'),
).snapshot;
export const goodSecret = tlsCase.secrets[0];

export interface PortFields {
  number?: number;
  name?: string;
}

export interface IngressFields {
  ns: string;
  name: string;
  created?: string;
  className?: string;
  annotations?: Record<string, string>;
  rules: Array<{
    host?: string;
    paths: Array<{ path: string; pathType?: string; service: string; port: PortFields }>;
  }>;
  /** A Secret name, or '' for a TLS host without one. */
  tls?: string;
  defaultBackend?: { service: string; port: PortFields };
  /** A deletionTimestamp is set: the object is released. */
  deleting?: boolean;
}

export interface ServiceFields {
  ns: string;
  name: string;
  external: boolean;
}

export interface SliceFields {
  ns: string;
  service: string;
  name: string;
  addresses: string[];
  ready: boolean;
}

export interface RouteRatioFields {
  ns: string;
  name: string;
  created?: string;
  service: { name: string; port: PortFields };
  ingresses?: string[];
  backends: Array<{ name: string; port: PortFields; weight: number }>;
  sticky?: { cookie?: { name: string }; header?: { name: string } };
  override?: { value: string; backend: string };
  deleting?: boolean;
}

const CONTROL = ['\r\n', '\n', '\u0000', '\t', '\u007f', '\u001b[31m'];
const withControl = (base: string) => fc.constantFrom(...CONTROL).map((c) => base + c + 'x');
export const namespace = fc.constantFrom('shop', 'team-b');
/** Now and then an object being deleted. */
const deleting = fc.constantFrom(undefined, undefined, undefined, undefined, undefined, true);
const created = fc.constantFrom('2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z', undefined, 'yesterday');
const host = fc.oneof(
  fc.constantFrom(
    'shop.example.com',
    'SHOP.example.com.',
    'shop.example.com:8443',
    '*.example.com',
    'a.example.com',
  ),
  fc.constantFrom(undefined, '', '*', '*.*.example.com', 'bad_host.example.com'),
  withControl('evil.example.com'),
);
const path = fc.oneof(
  fc.constantFrom('/', '/api', '/api/', '/a/b', '/%7Eu', '/a%2Fb', '/a/../b', '/a//b', 'rel', '', '/a b'),
  withControl('/p'),
  fc.string({ maxLength: 6 }).map((s) => `/${s}`),
);
const pathType = fc.constantFrom('Exact', 'Prefix', 'ImplementationSpecific', 'Regex', undefined);
export const serviceName = fc.constantFrom(
  'web',
  'api',
  'checkout',
  'checkout-v1',
  'checkout-v2',
  'Bad_Name',
);
const port = fc.oneof(
  fc.constantFrom({ number: 80 }, { name: 'http' }, { number: 8443 }, { name: 'grpc' }),
  fc.constantFrom({ number: 80, name: 'http' }, {}, { number: 0 }, { number: 70000 }),
);
const annotations = fc.dictionary(
  fc.constantFrom(
    'sluice.dev/ssl-redirect',
    'sluice.dev/body-size-limit',
    'sluice.dev/connect-timeout',
    'sluice.dev/backend-protocol',
    'sluice.dev/snippet',
    'example.com/other',
    'nginx.ingress.kubernetes.io/canary',
    'nginx.ingress.kubernetes.io/canary-weight',
  ),
  fc.oneof(fc.constantFrom('true', 'false', '1m', '5s', 'HTTPS', 'x', '50'), withControl('1m')),
  { maxKeys: 2 },
);

/** An Ingress, as the fields it is built from (ingressObject). */
export const ingressFields: fc.Arbitrary<IngressFields> = fc.record({
  ns: namespace,
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  created,
  className: fc.constantFrom('sluice', 'sluice', 'nginx', undefined),
  annotations: fc.option(annotations, { nil: undefined }),
  rules: fc.array(
    fc.record({
      host,
      paths: fc.array(fc.record({ path, pathType, service: serviceName, port }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
    { maxLength: 3 },
  ),
  tls: fc.option(fc.constantFrom('shop-tls', 'missing-tls', 'junk-tls'), { nil: undefined }),
  defaultBackend: fc.option(fc.record({ service: serviceName, port }), { nil: undefined }),
  deleting,
});

/** A RouteRatio, as the fields it is built from (routeRatioObject). */
export const routeRatioFields: fc.Arbitrary<RouteRatioFields> = fc.record({
  ns: namespace,
  name: fc.constantFrom('rr1', 'rr2'),
  created,
  service: fc.record({ name: serviceName, port }),
  backends: fc.array(
    fc.record({
      name: serviceName,
      port,
      weight: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(-1)),
    }),
    { minLength: 0, maxLength: 3 },
  ),
  sticky: fc.constantFrom(
    undefined,
    { cookie: { name: 'c' } },
    { header: { name: 'X-User' } },
    { header: { name: 'x\r\n' } },
  ),
  override: fc.option(
    fc.record({ value: fc.oneof(fc.constant('always'), withControl('v')), backend: serviceName }),
    { nil: undefined },
  ),
  deleting,
});

export const endpointAddress = fc.constantFrom(
  '198.18.0.1',
  '198.18.0.2',
  '127.0.0.1',
  'fd00::1',
  'not-an-ip',
  '10.0.0.1\n',
);

/** A Service, as the fields it is built from (serviceObject). */
export const serviceFields: fc.Arbitrary<ServiceFields> = fc.record({
  ns: namespace,
  name: serviceName,
  external: fc.boolean(),
});

/** An EndpointSlice, as the fields it is built from (sliceObject). */
export const sliceFields: fc.Arbitrary<SliceFields> = fc.record({
  ns: namespace,
  service: serviceName,
  name: fc.constantFrom('s1', 's2'),
  addresses: fc.array(endpointAddress, { maxLength: 3 }),
  ready: fc.boolean(),
});

// Dense variants: few hosts, paths, Services and Secrets, mostly valid, so objects keep meeting
// (conflicts, shared hosts, TLS hosts, splits) when a test changes them one at a time.

const denseService = fc.constantFrom('web', 'api', 'checkout', 'checkout-v1', 'checkout-v2');
const densePort = fc.constantFrom({ number: 80 }, { name: 'http' }, { number: 8443 });

export const denseIngressFields: fc.Arbitrary<IngressFields> = fc.record({
  ns: fc.constantFrom('shop', 'shop', 'shop', 'team-b'),
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  created: fc.constantFrom('2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z', '2026-11-21T10:00:00Z', undefined),
  className: fc.constantFrom('sluice', 'sluice', 'sluice', 'nginx'),
  annotations: fc.option(
    fc.constantFrom<Record<string, string>>(
      { 'sluice.dev/ssl-redirect': 'false' },
      { 'sluice.dev/body-size-limit': '2m' },
      { 'sluice.dev/snippet': 'x' },
      // ingress-nginx canaries: they attach to a primary's paths rather than claim them.
      {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '30',
        'nginx.ingress.kubernetes.io/canary-by-header': 'x-c',
      },
      { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-by-cookie': 'c' },
    ),
    { nil: undefined, freq: 3 },
  ),
  rules: fc.array(
    fc.record({
      host: fc.constantFrom(
        'shop.example.com',
        'shop.example.com',
        'shop.example.com',
        'a.example.com',
        '*.example.com',
        undefined,
      ),
      paths: fc.array(
        fc.record({
          path: fc.constantFrom('/', '/api', '/a/b'),
          pathType: fc.constantFrom('Exact', 'Prefix', 'ImplementationSpecific'),
          service: denseService,
          port: densePort,
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    { maxLength: 2 },
  ),
  // '' lists the host without a Secret: it gets the default certificate.
  tls: fc.option(fc.constantFrom('shop-tls', 'shop-tls', 'junk-tls', 'missing-tls', 'default-tls', ''), {
    nil: undefined,
    freq: 2,
  }),
  defaultBackend: fc.option(fc.record({ service: denseService, port: densePort }), {
    nil: undefined,
    freq: 3,
  }),
  deleting,
});

export const denseServiceFields: fc.Arbitrary<ServiceFields> = fc.record({
  ns: fc.constantFrom('shop', 'shop', 'team-b'),
  name: denseService,
  external: fc.constantFrom(false, false, false, true),
});

export const denseSliceFields: fc.Arbitrary<SliceFields> = fc.record({
  ns: fc.constantFrom('shop', 'shop', 'team-b'),
  service: denseService,
  name: fc.constantFrom('s1', 's2'),
  addresses: fc.array(fc.constantFrom('198.18.0.1', '198.18.0.2', '198.18.0.3', '127.0.0.1'), {
    maxLength: 3,
  }),
  ready: fc.constantFrom(true, true, false),
});

export const denseRouteRatioFields: fc.Arbitrary<RouteRatioFields> = fc.record({
  ns: fc.constantFrom('shop', 'shop', 'team-b'),
  name: fc.constantFrom('rr1', 'rr2'),
  created: fc.constantFrom('2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z', undefined),
  service: fc.record({
    name: fc.constantFrom('web', 'checkout'),
    port: fc.constantFrom({ number: 80 }, { name: 'http' }),
  }),
  backends: fc.array(
    fc.record({
      name: denseService,
      port: fc.constantFrom({ number: 80 }, { name: 'http' }),
      weight: fc.nat(100),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  sticky: fc.constantFrom(undefined, { cookie: { name: 'c' } }),
  override: fc.constant(undefined),
  ingresses: fc.option(fc.constantFrom(['a'], ['b', 'c']), { nil: undefined }),
  deleting,
});

export function ingressClasses(defaultClass: boolean): Snapshot['ingressClasses'] {
  return [
    {
      metadata: {
        name: 'sluice',
        annotations: defaultClass ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {},
      },
      spec: { controller: 'sluice.dev/ingress-controller' },
    },
    { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  ];
}

/** A good TLS Secret (shop/shop-tls) and one with junk in it (shop/junk-tls). */
export function secrets(): Snapshot['secrets'] {
  return [
    { ...goodSecret, metadata: { namespace: 'shop', name: 'shop-tls' } },
    { metadata: { namespace: 'shop', name: 'junk-tls' }, data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } },
  ];
}

export function ingressObject(i: IngressFields): V1Ingress {
  return {
    metadata: {
      namespace: i.ns,
      name: i.name,
      creationTimestamp: i.created as unknown as Date,
      annotations: i.annotations,
      ...(i.deleting ? { deletionTimestamp: '2026-11-22T10:00:00Z' as unknown as Date } : {}),
    },
    spec: {
      ingressClassName: i.className,
      defaultBackend: i.defaultBackend
        ? { service: { name: i.defaultBackend.service, port: i.defaultBackend.port } }
        : undefined,
      tls:
        i.tls !== undefined ? [{ hosts: ['shop.example.com'], secretName: i.tls || undefined }] : undefined,
      rules: i.rules.map((r) => ({
        host: r.host,
        http: {
          paths: r.paths.map((p) => ({
            path: p.path,
            pathType: p.pathType as string,
            backend: { service: { name: p.service, port: p.port } },
          })),
        },
      })),
    },
  };
}

export function serviceObject(s: ServiceFields): V1Service {
  return {
    metadata: { namespace: s.ns, name: s.name },
    spec: s.external
      ? { type: 'ExternalName', externalName: 'localhost' }
      : { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

export function sliceObject(e: SliceFields): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: {
      namespace: e.ns,
      name: `${e.service}-${e.name}`.toLowerCase(),
      labels: { 'kubernetes.io/service-name': e.service },
    },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: e.addresses.map((a) => ({ addresses: [a], conditions: { ready: e.ready } })),
  };
}

export function routeRatioObject(r: RouteRatioFields): RouteRatio {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'RouteRatio',
    metadata: {
      namespace: r.ns,
      name: r.name,
      generation: 2,
      creationTimestamp: r.created as unknown as Date,
      ...(r.deleting ? { deletionTimestamp: '2026-11-22T10:00:00Z' as unknown as Date } : {}),
    },
    spec: {
      service: r.service,
      ingresses: r.ingresses,
      backends: r.backends,
      sticky: r.sticky,
      overrides: r.override
        ? [{ header: { name: 'x-canary', value: r.override.value }, backend: r.override.backend }]
        : undefined,
    },
  };
}

/** `<namespace>/<name>` of an object. */
export function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace}/${o.metadata?.name}`;
}

/** Adds objects to a list, skipping names already in it (a real snapshot names each object once). */
function addUnique<T extends { metadata?: { namespace?: string; name?: string } }>(
  list: T[],
  items: T[],
): void {
  const seen = new Set(list.map(keyOf));
  for (const item of items) {
    if (seen.has(keyOf(item))) continue;
    seen.add(keyOf(item));
    list.push(item);
  }
}

export const snapshotArb = fc
  .record({
    ingresses: fc.array(ingressFields, { maxLength: 6 }),
    routeRatios: fc.array(routeRatioFields, { maxLength: 3 }),
    services: fc.array(serviceFields, { maxLength: 6 }),
    slices: fc.array(sliceFields, { maxLength: 4 }),
    defaultClass: fc.boolean(),
    terminating: fc.constantFrom<string[]>([], [], [], ['team-b'], ['shop']),
  })
  .map((g): Snapshot => {
    const snapshot: Snapshot = {
      ingressClasses: ingressClasses(g.defaultClass),
      ingresses: [],
      services: [],
      endpointSlices: [],
      secrets: secrets(),
      routeRatios: [],
      namespaces: [
        { name: 'shop', terminating: g.terminating.includes('shop') },
        { name: 'team-b', terminating: g.terminating.includes('team-b') },
      ],
    };
    addUnique(snapshot.ingresses, g.ingresses.map(ingressObject));
    addUnique(snapshot.services, g.services.map(serviceObject));
    addUnique(snapshot.endpointSlices, g.slices.map(sliceObject));
    addUnique(snapshot.routeRatios, g.routeRatios.map(routeRatioObject));
    return snapshot;
  });

/** The items in an order drawn from `seed` (a small LCG; the same seed gives the same order). */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
