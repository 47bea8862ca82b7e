// The claim index as the admission webhook uses it: a snapshot of existing objects, then the
// object being admitted.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Ingress } from '@kubernetes/client-node';
import type { RouteRatio } from './api.ts';
import { buildClaimIndex } from './claims.ts';
import { emptySnapshot } from './testdata.ts';

function ingress(
  ns: string,
  name: string,
  host: string,
  path: string,
  created?: string,
  className = 'sluice',
): V1Ingress {
  return {
    metadata: { namespace: ns, name, creationTimestamp: created as unknown as Date },
    spec: {
      ingressClassName: className,
      rules: [
        {
          host,
          http: {
            paths: [
              { path, pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

function rr(
  ns: string,
  name: string,
  port: { number?: number; name?: string },
  created?: string,
): RouteRatio {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'RouteRatio',
    metadata: { namespace: ns, name, creationTimestamp: created as unknown as Date },
    spec: {
      service: { name: 'checkout', port },
      backends: [{ name: 'v1', port: { number: 80 }, weight: 1 }],
    },
  };
}

function index(extra: { ingresses?: V1Ingress[]; routeRatios?: RouteRatio[] }, options = {}) {
  const snapshot = emptySnapshot();
  snapshot.ingressClasses.push(
    { metadata: { name: 'sluice' }, spec: { controller: 'sluice.dev/ingress-controller' } },
    { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  );
  snapshot.ingresses.push(...(extra.ingresses ?? []));
  snapshot.routeRatios.push(...(extra.routeRatios ?? []));
  return buildClaimIndex(snapshot, options);
}

const existing = ingress('shop', 'api-v1', 'shop.example.com', '/api', '2026-11-20T10:00:00Z');

test('a new Ingress claiming a routed path conflicts, naming the holder', () => {
  const conflicts = index({ ingresses: [existing] }).ingressConflicts(
    ingress('shop', 'api-v2', 'SHOP.example.com', '/api/'),
  );
  assert.deepEqual(conflicts, [
    {
      kind: 'path',
      message:
        'host "shop.example.com" path "/api" (Prefix) is already routed by Ingress shop/api-v1 (created 2026-11-20T10:00:00Z)',
      holder: {
        kind: 'Ingress',
        namespace: 'shop',
        name: 'api-v1',
        creationTimestamp: '2026-11-20T10:00:00Z',
      },
    },
  ]);
});

test('an Ingress never conflicts with its own earlier version', () => {
  const update = ingress('shop', 'api-v1', 'shop.example.com', '/api', '2026-11-20T10:00:00Z');
  assert.deepEqual(index({ ingresses: [existing] }).ingressConflicts(update), []);
});

test('other paths of the same namespace are fine; other namespaces cannot add to the host', () => {
  const idx = index({ ingresses: [existing] });
  assert.deepEqual(idx.ingressConflicts(ingress('shop', 'other', 'shop.example.com', '/other')), []);
  const conflicts = idx.ingressConflicts(ingress('evil', 'grab', 'shop.example.com', '/login'));
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0].kind, 'host');
  assert.match(conflicts[0].message, /^host "shop.example.com" belongs to namespace shop/);
});

test('hostOwnership shared lets other namespaces add paths, not take them', () => {
  const idx = index({ ingresses: [existing] }, { hostOwnership: 'shared' });
  assert.deepEqual(idx.ingressConflicts(ingress('team-b', 'x', 'shop.example.com', '/reports')), []);
  assert.equal(idx.ingressConflicts(ingress('team-b', 'x', 'shop.example.com', '/api'))[0].kind, 'path');
});

test('Ingresses of other classes neither conflict nor hold claims', () => {
  const idx = index({
    ingresses: [ingress('shop', 'theirs', 'shop.example.com', '/api', '2026-01-01T00:00:00Z', 'nginx')],
  });
  assert.deepEqual(idx.ingressConflicts(ingress('shop', 'ours', 'shop.example.com', '/api')), []);
  assert.deepEqual(
    index({ ingresses: [existing] }).ingressConflicts(
      ingress('shop', 'x', 'shop.example.com', '/api', undefined, 'nginx'),
    ),
    [],
  );
});

test('a second RouteRatio for the same service port conflicts; the same one updated does not', () => {
  const idx = index({ routeRatios: [rr('shop', 'checkout', { number: 80 }, '2026-11-20T10:00:00Z')] });
  const conflicts = idx.routeRatioConflicts(rr('shop', 'checkout-2', { number: 80 }));
  assert.equal(conflicts.length, 1);
  assert.equal(
    conflicts[0].message,
    'service checkout port 80 in namespace shop is already split by RouteRatio shop/checkout (created 2026-11-20T10:00:00Z)',
  );
  assert.deepEqual(idx.routeRatioConflicts(rr('shop', 'checkout', { number: 80 })), []);
  assert.deepEqual(idx.routeRatioConflicts(rr('other', 'checkout-2', { number: 80 })), []);
  assert.deepEqual(idx.routeRatioConflicts(rr('shop', 'checkout-2', { number: 81 })), []);
});

test('garbage candidates give no conflicts and no exceptions', () => {
  const idx = index({ ingresses: [existing] });
  assert.deepEqual(idx.ingressConflicts(null as unknown as V1Ingress), []);
  assert.deepEqual(idx.ingressConflicts({ spec: 5 } as unknown as V1Ingress), []);
  assert.deepEqual(idx.routeRatioConflicts({} as RouteRatio), []);
});
