import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildClaimIndex } from '../operator/compile/index.ts';
import { HostIndex } from './cache/cluster-cache.ts';
import { claimHostKey, ingressHostKeys, scopedIndex, snapshotSource } from './scoped-index.ts';
import { ingress, ingressClass, routeRatio, service, snapshot } from './testing/fixtures.ts';

test('host groups are at least as coarse as the compiler’s host normalisation', () => {
  for (const raw of [
    'Shop.Example.com',
    'shop.example.com.',
    'shop.example.com:8443',
    'SHOP.example.com.:80',
  ]) {
    assert.equal(claimHostKey(raw), 'shop.example.com', raw);
  }
  assert.equal(claimHostKey(undefined), '*');
  assert.equal(claimHostKey(''), '*');
  assert.equal(claimHostKey('*.example.com'), '*.example.com');
  assert.equal(claimHostKey(42), undefined);
  const obj = ingress('a', 'b', {
    rules: [
      { host: 'X.com', paths: [{ path: '/' }] },
      { host: 'x.com.', paths: [{ path: '/' }] },
      { paths: [{ path: '/' }] },
    ],
  });
  assert.deepEqual(ingressHostKeys(obj), ['x.com', '*']);
  assert.deepEqual(ingressHostKeys({ spec: { rules: 'no' } }), []);
});

test('the host index follows adds, updates and deletes', () => {
  const idx = new HostIndex();
  idx.set('a/one', ['x.com', 'y.com']);
  idx.set('b/two', ['y.com']);
  assert.deepEqual([...idx.keys(['y.com'])].sort(), ['a/one', 'b/two']);
  idx.set('a/one', ['z.com']);
  assert.deepEqual([...idx.keys(['x.com', 'y.com'])], ['b/two']);
  assert.deepEqual([...idx.keys(['z.com'])], ['a/one']);
  idx.delete('b/two');
  assert.deepEqual([...idx.keys(['y.com'])], []);
});

// The property that lets a review build its index over a few objects: the answers equal those of
// one index over everything, whatever the hosts, classes, ages, annotations and ports.
test('a scoped index gives the same conflicts as an index over the whole snapshot', () => {
  const rawHost = fc.constantFrom<string | undefined>(
    'a.example.com',
    'A.Example.com',
    'a.example.com.',
    'a.example.com:8080',
    'b.example.com',
    '*.example.com',
    'x.a.example.com',
    '',
    undefined,
    'bad host',
    'a.*.com',
  );
  const nss = ['shop', 'team', 'evil'];
  const ingressArb = fc.record({
    ns: fc.constantFrom(...nss),
    name: fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5'),
    created: fc.integer({ min: 0, max: 5 }),
    cls: fc.constantFrom<string | null>('sluice', 'nginx', null),
    legacy: fc.constantFrom<string | undefined>(undefined, 'sluice', 'nginx'),
    badAnnotation: fc.boolean(),
    rules: fc.array(
      fc.record({
        host: rawHost,
        paths: fc.array(
          fc.record({
            path: fc.constantFrom('/', '/api', '/api/', '/b', 'relative'),
            pathType: fc.constantFrom('Prefix', 'Exact', 'ImplementationSpecific'),
            port: fc.constantFrom<number | string>(80, 'http', 8080),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  });
  const rrArb = fc.record({
    ns: fc.constantFrom(...nss),
    name: fc.constantFrom('r1', 'r2', 'r3'),
    created: fc.integer({ min: 0, max: 5 }),
    svc: fc.constantFrom('web', 'api', 'Bad_Name'),
    port: fc.constantFrom<{ number?: number; name?: string }>(
      { number: 80 },
      { name: 'http' },
      { number: 8080 },
    ),
    weight: fc.constantFrom(0, 10, -1),
  });
  type IngressIn = typeof ingressArb extends fc.Arbitrary<infer T> ? T : never;
  type RrIn = typeof rrArb extends fc.Arbitrary<infer T> ? T : never;
  const time = (n: number) => `2026-01-0${n + 1}T00:00:00Z`;
  const toIngress = (x: IngressIn) =>
    ingress(x.ns, x.name, {
      created: time(x.created),
      className: x.cls,
      annotations: {
        ...(x.legacy ? { 'kubernetes.io/ingress.class': x.legacy } : {}),
        ...(x.badAnnotation ? { 'sluice.dev/ssl-redirect': 'maybe' } : {}),
      },
      rules: x.rules.map((r) => ({ host: r.host, paths: r.paths })),
    });
  const toRr = (x: RrIn) =>
    routeRatio(
      x.ns,
      x.name,
      {
        service: { name: x.svc, port: x.port },
        backends: [{ name: 'v1', port: { number: 80 }, weight: x.weight }],
      },
      time(x.created),
    );
  const seen = { path: 0, host: 0, service: 0 };
  fc.assert(
    fc.property(
      fc.array(ingressArb, { maxLength: 10 }),
      fc.array(rrArb, { maxLength: 6 }),
      ingressArb,
      rrArb,
      fc.constantFrom<'strict' | 'shared'>('strict', 'shared'),
      fc.boolean(),
      fc.subarray(nss, { maxLength: 1 }),
      (ings, rrs, candidate, rrCandidate, hostOwnership, sluiceIsDefault, terminating) => {
        const snap = snapshot({
          ingressClasses: [
            ingressClass('sluice', undefined, sluiceIsDefault),
            ingressClass('nginx', 'k8s.io/nginx'),
          ],
          ingresses: ings.map(toIngress),
          routeRatios: rrs.map(toRr),
          services: nss.flatMap((ns) => [
            service(ns, 'web'),
            service(ns, 'api', [{ port: 8080, name: 'http' }]),
          ]),
          // A terminating namespace's objects hold no claims, in both indexes.
          namespaces: terminating.map((name) => ({ name, terminating: true })),
        });
        const options = { hostOwnership };
        const full = buildClaimIndex(snap, options);
        const scoped = scopedIndex(snapshotSource(snap), options);
        for (const ing of [toIngress(candidate), ...snap.ingresses]) {
          const conflicts = full.ingressConflicts(ing);
          assert.deepEqual(scoped.ingressConflicts(ing), conflicts);
          for (const c of conflicts) seen[c.kind]++;
        }
        for (const rr of [toRr(rrCandidate), ...snap.routeRatios]) {
          const conflicts = full.routeRatioConflicts(rr);
          assert.deepEqual(scoped.routeRatioConflicts(rr), conflicts);
          for (const c of conflicts) seen[c.kind]++;
        }
      },
    ),
    { numRuns: 400 },
  );
  // The generators do produce every kind of conflict, so the equality above means something.
  assert.ok(seen.path > 20 && seen.host > 20 && seen.service > 5, JSON.stringify(seen));
});
