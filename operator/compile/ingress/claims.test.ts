// The claim index as the admission webhook uses it: a snapshot of existing objects, then the
// object being admitted.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Ingress } from '@kubernetes/client-node';
import * as objects from '../../testing/objects.ts';
import type { RouteRatio } from '../api.ts';
import { emptySnapshot } from '../testing/testdata.ts';
import { buildClaimIndex } from './claims.ts';

function ingress(
  ns: string,
  name: string,
  host: string,
  path: string,
  created?: string,
  className = 'sluice',
): V1Ingress {
  return objects.ingress(name, { namespace: ns, created, className, rules: [{ host, paths: [{ path }] }] });
}

function rr(
  ns: string,
  name: string,
  port: { number?: number; name?: string },
  created?: string,
): RouteRatio {
  return objects.routeRatio(name, {
    namespace: ns,
    created,
    service: { name: 'checkout', port: port.number ?? port.name },
    backends: [{ name: 'v1', weight: 1 }],
  });
}

function index(extra: { ingresses?: V1Ingress[]; routeRatios?: RouteRatio[] }, options = {}) {
  const snapshot = emptySnapshot();
  snapshot.ingressClasses.push(
    objects.ingressClass('sluice'),
    objects.ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }),
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

test('hosts and Ingresses with many paths are indexed like small ones', () => {
  // Past a handful of paths per host the index switches to a map; the answers must not change.
  const paths = Array.from({ length: 30 }, (_, i) => ({
    path: `/p${i}`,
    pathType: i % 2 === 0 ? 'Prefix' : 'Exact',
    backend: { service: { name: 'web', port: { number: 80 } } },
  }));
  const big: V1Ingress = {
    metadata: {
      namespace: 'shop',
      name: 'big',
      creationTimestamp: '2026-11-20T10:00:00Z' as unknown as Date,
    },
    spec: { ingressClassName: 'sluice', rules: [{ host: 'shop.example.com', http: { paths } }] },
  };
  const idx = index({ ingresses: [big] });
  for (const [i, type] of [
    [0, 'Prefix'],
    [17, 'Exact'],
    [29, 'Exact'],
  ] as const) {
    const candidate = ingress('shop', 'new', 'shop.example.com', `/p${i}`);
    candidate.spec!.rules![0].http!.paths[0].pathType = type;
    assert.equal(idx.ingressConflicts(candidate).length, 1, `/p${i} ${type}`);
  }
  const otherType = ingress('shop', 'new', 'shop.example.com', '/p17');
  assert.deepEqual(idx.ingressConflicts(otherType), [], 'Prefix /p17 is not Exact /p17');
  assert.deepEqual(idx.ingressConflicts(ingress('shop', 'new', 'shop.example.com', '/p30')), []);
});

test('an ingress-nginx canary pair is accepted: the canary claims nothing and conflicts with nothing', () => {
  const canary = (name: string, created: string) => {
    const i = ingress('shop', name, 'shop.example.com', '/', created);
    i.metadata!.annotations = {
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '10',
    };
    return i;
  };
  const primary = ingress('shop', 'web', 'shop.example.com', '/', '2026-11-20T10:00:00Z');
  const idx = index({ ingresses: [primary, canary('web-canary', '2026-11-21T10:00:00Z')] });
  // Another canary on the same path is not refused at admission (the compiler warns instead),
  // and the canary has not taken the path: a plain newer Ingress still conflicts with the primary.
  assert.deepEqual(idx.ingressConflicts(canary('web-canary-2', '2026-11-22T10:00:00Z')), []);
  const conflicts = idx.ingressConflicts(
    ingress('shop', 'other', 'shop.example.com', '/', '2026-11-22T10:00:00Z'),
  );
  assert.equal(conflicts.length, 1);
  assert.match(conflicts[0].message, /Ingress shop\/web /);
  // A canary without any primary is admitted too (kubectl apply may create it first).
  assert.deepEqual(index({}).ingressConflicts(canary('lonely', '2026-11-22T10:00:00Z')), []);
});
