import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Namespace,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { INGRESS_NGINX_CONTROLLER, type RouteRatio } from './compile/api.ts';
import { isSluiceIngress } from './compile/index.ts';
import { deepFreeze } from './kube/freeze.ts';
import { type InformerEvent, type KubeObject, objectKey } from './kube/informer.ts';
import { type Cache, type Kind, Store } from './store.ts';
import { endpointSlice, ingress, ingressClass, namespace, routeRatio, service } from './testing/objects.ts';

class MapCache<T extends KubeObject> implements Cache<T> {
  readonly map = new Map<string, T>();
  values() {
    return this.map.values();
  }
  get(ns: string | undefined, name: string) {
    return this.map.get(ns ? `${ns}/${name}` : name);
  }
}

function setup(defaultCertificateSecret?: string, ingressNginxClassNames?: string[]) {
  const caches = {
    ingressClasses: new MapCache<V1IngressClass>(),
    ingresses: new MapCache<V1Ingress>(),
    services: new MapCache<V1Service>(),
    endpointSlices: new MapCache<V1EndpointSlice>(),
    secrets: new MapCache<V1Secret>(),
    routeRatios: new MapCache<RouteRatio>(),
    namespaces: new MapCache<V1Namespace>(),
  };
  const referencedSecrets: string[] = [];
  const store = new Store(caches, {
    isSluiceIngress: (ing, classes) => isSluiceIngress(ing, classes, { ingressNginxClassNames }),
    defaultCertificateSecret,
    ingressNginxClassNames,
    onSecretReferenced: (ns, name) => referencedSecrets.push(`${ns}/${name}`),
  });
  const cacheOf: Record<Kind, MapCache<KubeObject>> = {
    IngressClass: caches.ingressClasses,
    Ingress: caches.ingresses,
    Service: caches.services,
    EndpointSlice: caches.endpointSlices,
    Secret: caches.secrets,
    RouteRatio: caches.routeRatios,
    Namespace: caches.namespaces,
  } as unknown as Record<Kind, MapCache<KubeObject>>;
  // Mirrors the informer: the cache holds the new state before the store hears of it.
  const apply = <T extends KubeObject>(kind: Kind, obj: T): boolean => {
    const cache = cacheOf[kind];
    const key = objectKey(obj);
    const old = cache.map.get(key);
    const frozen = deepFreeze(structuredClone(obj));
    cache.map.set(key, frozen);
    const ev: InformerEvent<KubeObject> = old
      ? { type: 'update', old, obj: frozen }
      : { type: 'add', obj: frozen };
    return store.observe(kind, ev);
  };
  const remove = <T extends KubeObject>(kind: Kind, obj: T): boolean => {
    const cache = cacheOf[kind];
    const key = objectKey(obj);
    const old = cache.map.get(key);
    assert.ok(old);
    cache.map.delete(key);
    return store.observe(kind, { type: 'delete', old });
  };
  return { store, caches, apply, remove, referencedSecrets };
}

const cls = (name = 'sluice', controller = 'sluice.dev/ingress-controller'): V1IngressClass =>
  ingressClass(name, { controller, resourceVersion: '1' });

const ing = (
  name: string,
  opts: { className?: string; service?: string; secret?: string; rv?: string } = {},
): V1Ingress =>
  ingress(name, {
    namespace: 'shop',
    uid: `uid-${name}`,
    resourceVersion: opts.rv ?? '1',
    className: opts.className,
    tls: opts.secret ? [{ hosts: ['shop.example.com'], secretName: opts.secret }] : undefined,
    rules: [{ host: 'shop.example.com', paths: [{ service: opts.service }] }],
  });

const svc = (name: string, port = 80, rv = '1'): V1Service =>
  service(name, { namespace: 'shop', resourceVersion: rv, ports: [{ name: 'http', port }] });

const slice = (svcName: string, address: string, rv = '1'): V1EndpointSlice =>
  endpointSlice(svcName, { namespace: 'shop', resourceVersion: rv, endpoints: [{ address }] });

test('a referenced Service matters, an unreferenced one does not', () => {
  const { apply, store } = setup();
  apply('IngressClass', cls());
  assert.equal(apply('Ingress', ing('shop')), true);
  assert.equal(store.isServiceReferenced('shop', 'web'), true);
  assert.equal(apply('Service', svc('web')), true);
  assert.equal(apply('Service', svc('unrelated')), false);
  assert.equal(apply('Service', svc('unrelated', 81, '2')), false);
  assert.equal(apply('EndpointSlice', slice('unrelated', '198.18.0.9')), false);
  assert.equal(apply('EndpointSlice', slice('web', '198.18.0.2')), true);
  assert.equal(apply('EndpointSlice', slice('web', '198.18.0.3', '2')), true);
});

test('status-only and bookkeeping updates do not matter', () => {
  const { apply } = setup();
  apply('IngressClass', cls());
  apply('Ingress', ing('shop'));
  apply('Service', svc('web'));
  const withStatus = {
    ...ing('shop', { rv: '2' }),
    status: { loadBalancer: { ingress: [{ ip: '198.18.0.1' }] } },
  };
  assert.equal(apply('Ingress', withStatus), false);
  const svcStatus = { ...svc('web', 80, '2'), status: { loadBalancer: { ingress: [{ ip: '198.18.0.1' }] } } };
  assert.equal(apply('Service', svcStatus), false);
  const rr = routeRatio('split', {
    namespace: 'shop',
    generation: 1,
    resourceVersion: '1',
    backends: [{ name: 'web-v2', weight: 1 }],
  });
  assert.equal(apply('RouteRatio', rr), true);
  assert.equal(
    apply('RouteRatio', {
      ...rr,
      metadata: { ...rr.metadata, resourceVersion: '2' },
      status: { summary: 'x' },
    }),
    false,
  );
  assert.equal(
    apply('RouteRatio', {
      ...rr,
      metadata: { ...rr.metadata, resourceVersion: '3', generation: 2 },
      spec: { ...rr.spec, backends: [{ name: 'web-v2', port: { number: 80 }, weight: 5 }] },
    }),
    true,
  );
  assert.equal(apply('Ingress', { ...ing('shop', { service: 'web2', rv: '4' }) }), true);
});

test('Ingresses of another class are ignored until the class changes', () => {
  const { apply, store } = setup();
  apply('IngressClass', cls());
  apply('IngressClass', cls('nginx', 'k8s.io/ingress-nginx'));
  assert.equal(apply('Ingress', ing('other', { className: 'nginx', service: 'nginx-backend' })), false);
  // Another controller's class changing does not matter.
  assert.equal(
    apply('IngressClass', {
      ...cls('nginx', 'k8s.io/ingress-nginx'),
      metadata: { name: 'nginx', resourceVersion: '3', labels: { x: 'y' } },
      spec: { controller: 'k8s.io/ingress-nginx', parameters: { kind: 'X', name: 'y' } },
    }),
    false,
  );
  assert.equal(store.isServiceReferenced('shop', 'nginx-backend'), false);
  assert.equal(apply('Service', svc('nginx-backend')), false);
  // The nginx class now names Sluice's controller: its Ingresses become Sluice's.
  assert.equal(
    apply('IngressClass', { ...cls('nginx'), metadata: { name: 'nginx', resourceVersion: '2' } }),
    true,
  );
  assert.equal(store.isSluiceIngress('shop', 'other'), true);
  assert.equal(store.isServiceReferenced('shop', 'nginx-backend'), true);
  assert.deepEqual(
    store.snapshot().ingresses.map((i) => i.metadata?.name),
    ['other'],
  );
});

test('ingress-nginx mode: its classes, and classes taking a configured name, change selection', () => {
  const { apply, remove, store } = setup(undefined, ['nginx']);
  apply('IngressClass', cls());
  assert.equal(apply('Ingress', ing('by-name', { className: 'nginx', service: 'a' })), true);
  assert.equal(apply('Ingress', ing('internal', { className: 'internal', service: 'b' })), false);
  // A third controller takes the name: its Ingress is no longer Sluice's.
  assert.equal(apply('IngressClass', cls('nginx', 'example.com/other')), true);
  assert.equal(store.isSluiceIngress('shop', 'by-name'), false);
  assert.equal(remove('IngressClass', cls('nginx', 'example.com/other')), true);
  assert.equal(store.isSluiceIngress('shop', 'by-name'), true);
  // An IngressClass of ingress-nginx's controller, under any name, is served.
  assert.equal(apply('IngressClass', cls('internal', INGRESS_NGINX_CONTROLLER)), true);
  assert.equal(store.isSluiceIngress('shop', 'internal'), true);
  assert.equal(store.isServiceReferenced('shop', 'b'), true);
  // Other controllers' classes under other names still do not matter.
  assert.equal(apply('IngressClass', cls('traefik', 'traefik.io/ingress-controller')), false);
});

test('references are counted: a Service stays referenced while any owner names it', () => {
  const { apply, remove, store } = setup();
  apply('IngressClass', cls());
  apply('Ingress', ing('a'));
  apply('Ingress', ing('b'));
  remove('Ingress', ing('a'));
  assert.equal(store.isServiceReferenced('shop', 'web'), true);
  apply('Ingress', ing('b', { service: 'other', rv: '2' }));
  assert.equal(store.isServiceReferenced('shop', 'web'), false);
  assert.equal(store.isServiceReferenced('shop', 'other'), true);
});

test('TLS Secrets: only referenced ones matter and reach the snapshot', () => {
  const { apply, store, referencedSecrets } = setup('sluice-system/default-cert');
  assert.deepEqual(referencedSecrets, ['sluice-system/default-cert']);
  apply('IngressClass', cls());
  const secret = (name: string, rv = '1'): V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace: 'shop', resourceVersion: rv },
    data: { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' },
  });
  assert.equal(apply('Secret', secret('shop-tls')), false);
  assert.equal(apply('Ingress', ing('shop', { secret: 'shop-tls' })), true);
  assert.deepEqual(referencedSecrets, ['sluice-system/default-cert', 'shop/shop-tls']);
  assert.equal(apply('Secret', secret('shop-tls', '2')), false, 'same data, new resourceVersion');
  assert.equal(
    apply('Secret', { ...secret('shop-tls', '3'), data: { 'tls.crt': 'bmV3', 'tls.key': 'a2V5' } }),
    true,
  );
  apply('Secret', secret('other-tls'));
  assert.deepEqual(
    store.snapshot().secrets.map((s) => s.metadata?.name),
    ['shop-tls'],
  );
});

test('the snapshot shares cached objects and contains only what is referenced', () => {
  const { apply, caches, store } = setup();
  apply('IngressClass', cls());
  apply('Ingress', ing('shop'));
  apply('Service', svc('web'));
  apply('Service', svc('unrelated'));
  apply('EndpointSlice', slice('web', '198.18.0.2'));
  apply('EndpointSlice', slice('unrelated', '198.18.0.3'));
  const snap = store.snapshot();
  assert.deepEqual(
    snap.services.map((s) => s.metadata?.name),
    ['web'],
  );
  assert.deepEqual(
    snap.endpointSlices.map((s) => s.metadata?.labels?.['kubernetes.io/service-name']),
    ['web'],
  );
  assert.equal(snap.ingresses[0], caches.ingresses.get('shop', 'shop'), 'same object, not a copy');
  assert.throws(() => {
    (snap.ingresses[0].metadata as { name: string }).name = 'changed';
  }, TypeError);
});

test('a namespace starting to terminate matters once; the snapshot lists it as terminating', () => {
  const { apply, remove, store } = setup();
  const ns = (name: string, phase: string, deleted?: string) => namespace(name, { phase, deleted });
  assert.equal(apply('Namespace', ns('shop', 'Active')), false, 'an active namespace changes nothing');
  assert.deepEqual(store.snapshot().namespaces, []);
  assert.equal(apply('Namespace', ns('shop', 'Terminating', '2026-11-22T10:00:00Z')), true);
  assert.deepEqual(store.snapshot().namespaces, [{ name: 'shop', terminating: true }]);
  assert.equal(apply('Namespace', ns('shop', 'Terminating', '2026-11-22T10:00:00Z')), false, 'no news');
  // A deletionTimestamp alone (phase not yet updated) is enough.
  assert.equal(apply('Namespace', ns('team-b', 'Active', '2026-11-22T10:00:00Z')), true);
  assert.equal(remove('Namespace', ns('shop', 'Terminating')), true);
  assert.deepEqual(store.snapshot().namespaces, [{ name: 'team-b', terminating: true }]);
  assert.equal(remove('Namespace', ns('team-b', 'Active')), true);
  assert.equal(apply('Namespace', ns('shop', 'Active')), false);
  assert.deepEqual(store.snapshot().namespaces, []);
});
