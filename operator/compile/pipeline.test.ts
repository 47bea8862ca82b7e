import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followed, isRelevant, PIPELINE, referencesOf, sameInput } from './pipeline.ts';

const ingress = {
  metadata: { namespace: 'shop', name: 'web', uid: 'u1', annotations: { 'sluice.dev/timeout': '5s' } },
  spec: {
    defaultBackend: { service: { name: 'fallback', port: { number: 80 } } },
    rules: [{ host: 'a.example', http: { paths: [{ path: '/', backend: { service: { name: 'web' } } }] } }],
    tls: [{ hosts: ['a.example'], secretName: 'a-tls' }],
  },
};

test('processors run in step order, each named once', () => {
  const steps = PIPELINE.map((p) => p.step);
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
  );
  assert.deepEqual(
    PIPELINE.map((p) => p.name),
    ['namespaces', 'classes', 'ingress', 'routeratio', 'emit'],
  );
});

test('status and kubectl bookkeeping do not matter; spec and annotations do', () => {
  const withStatus = { ...ingress, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } };
  assert.ok(sameInput('Ingress', ingress, withStatus));
  const applied = {
    ...ingress,
    metadata: {
      ...ingress.metadata,
      annotations: {
        ...ingress.metadata.annotations,
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
      },
    },
  };
  assert.ok(sameInput('Ingress', ingress, applied));
  const annotated = { ...ingress, metadata: { ...ingress.metadata, annotations: {} } };
  assert.ok(!sameInput('Ingress', ingress, annotated));
  const deleting = {
    ...ingress,
    metadata: { ...ingress.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
  };
  assert.ok(!sameInput('Ingress', ingress, deleting));
});

test('references come from the processors that read the kind', () => {
  assert.deepEqual(referencesOf('Ingress', ingress), {
    services: ['shop/fallback', 'shop/web'],
    secrets: ['shop/a-tls'],
  });
  const rr = {
    metadata: { namespace: 'shop' },
    spec: { service: { name: 'web' }, backends: [{ name: 'v2' }] },
  };
  assert.deepEqual(referencesOf('RouteRatio', rr), { services: ['shop/web', 'shop/v2'], secrets: [] });
  assert.deepEqual(referencesOf('Ingress', null), { services: [], secrets: [] });
});

test('followed kinds are read by the name references use', () => {
  const slice = { metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } } };
  assert.equal(followed('EndpointSlice')?.referencedName(slice), 'web');
  assert.equal(followed('EndpointSlice')?.via, 'services');
  assert.equal(followed('Secret')?.via, 'secrets');
  assert.equal(followed('Ingress'), undefined);
  assert.ok(sameInput('Service', { spec: { ports: [] }, status: {} }, { spec: { ports: [] } }));
});

test('only Sluice classes and default classes take part', () => {
  const ours = { spec: { controller: 'sluice.dev/ingress' } };
  const other = { spec: { controller: 'example.com/other' } };
  const otherDefault = {
    metadata: { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'example.com/other' },
  };
  assert.ok(isRelevant('IngressClass', ours, 'sluice.dev/ingress'));
  assert.ok(!isRelevant('IngressClass', other, 'sluice.dev/ingress'));
  assert.ok(isRelevant('IngressClass', otherDefault, 'sluice.dev/ingress'));
});

test('only terminating namespaces take part', () => {
  const terminating = { metadata: { name: 'old' }, status: { phase: 'Terminating' } };
  const deleting = { metadata: { name: 'old', deletionTimestamp: '2026-01-01T00:00:00Z' } };
  const active = { metadata: { name: 'shop' }, status: { phase: 'Active' } };
  assert.ok(isRelevant('Namespace', terminating, 'sluice.dev/ingress'));
  assert.ok(isRelevant('Namespace', deleting, 'sluice.dev/ingress'));
  assert.ok(!isRelevant('Namespace', active, 'sluice.dev/ingress'));
  assert.ok(sameInput('Namespace', active, { ...active, metadata: { name: 'shop', labels: { a: 'b' } } }));
  assert.ok(!sameInput('Namespace', active, terminating));
});
