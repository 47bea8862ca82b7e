import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Snapshot } from '../operator/compile/api.ts';
import { buildClaimIndex } from '../operator/compile/index.ts';
import { ClaimIndexCache, combineIndexes } from './claim-cache.ts';
import { ingress, ingressClass, routeRatio, service, snapshot, T0 } from './test-fixtures.ts';

function source(initial: Snapshot) {
  const src = {
    rev: 0,
    snap: initial,
    revision: () => src.rev,
    snapshot: () => src.snap,
  };
  return src;
}

test('builds once per revision and never answers from an older one', (t) => {
  const src = source(
    snapshot({
      ingressClasses: [ingressClass('sluice')],
      ingresses: [ingress('shop', 'a', { created: T0 })],
    }),
  );
  let builds = 0;
  const cache = new ClaimIndexCache(src, {
    build: (s, o) => {
      builds++;
      return buildClaimIndex(s, o);
    },
    options: {},
  });
  t.after(() => cache.close());
  const first = cache.current();
  assert.equal(cache.current(), first);
  assert.equal(builds, 1);
  assert.equal(first.ingressConflicts(ingress('shop', 'b')).length, 1);

  src.snap = snapshot({ ingressClasses: [ingressClass('sluice')] });
  src.rev++;
  const second = cache.current();
  assert.notEqual(second, first);
  assert.equal(builds, 2);
  assert.equal(second.ingressConflicts(ingress('shop', 'b')).length, 0);
});

test('invalidate rebuilds in the background, coalescing bursts', async (t) => {
  const src = source(snapshot({}));
  let builds = 0;
  const cache = new ClaimIndexCache(src, {
    build: (s, o) => {
      builds++;
      return buildClaimIndex(s, o);
    },
    options: {},
    coalesceMs: 5,
  });
  t.after(() => cache.close());
  cache.current();
  for (let i = 0; i < 50; i++) {
    src.rev++;
    cache.invalidate();
  }
  // The invalidations above ran synchronously, inside one coalescing window.
  for (let i = 0; i < 200 && builds < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(builds, 2);
  cache.current();
  assert.equal(builds, 2, 'the review found the index ready');
});

// The webhook builds Ingress claims without Services and RouteRatios, and split claims without
// Ingresses. That must give exactly the conflicts of one index over everything.
test('split indexes agree with one index over the whole snapshot', () => {
  const hosts = ['a.example.com', 'b.example.com', '*.example.com', ''];
  const nss = ['shop', 'team', 'evil'];
  const ingressArb = fc.record({
    ns: fc.constantFrom(...nss),
    name: fc.constantFrom('i1', 'i2', 'i3', 'i4'),
    created: fc.integer({ min: 0, max: 5 }),
    cls: fc.constantFrom<string | null>('sluice', 'nginx', null),
    rules: fc.array(
      fc.record({
        host: fc.constantFrom(...hosts),
        paths: fc.array(
          fc.record({
            path: fc.constantFrom('/', '/api', '/api/', '/b'),
            pathType: fc.constantFrom('Prefix', 'Exact', 'ImplementationSpecific'),
            port: fc.constantFrom<number | string>(80, 'http', 8080),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  });
  const rrArb = fc.record({
    ns: fc.constantFrom(...nss),
    name: fc.constantFrom('r1', 'r2', 'r3'),
    created: fc.integer({ min: 0, max: 5 }),
    svc: fc.constantFrom('web', 'api'),
    port: fc.constantFrom<{ number?: number; name?: string }>(
      { number: 80 },
      { name: 'http' },
      { number: 8080 },
    ),
  });
  const time = (n: number) => `2026-01-0${n + 1}T00:00:00Z`;
  type IngressIn = typeof ingressArb extends fc.Arbitrary<infer T> ? T : never;
  type RrIn = typeof rrArb extends fc.Arbitrary<infer T> ? T : never;
  const toIngress = (x: IngressIn) =>
    ingress(x.ns, x.name, {
      created: time(x.created),
      className: x.cls,
      rules: x.rules.map((r) => ({ ...(r.host ? { host: r.host } : {}), paths: r.paths })),
    });
  const toRr = (x: RrIn) =>
    routeRatio(x.ns, x.name, { service: { name: x.svc, port: x.port } }, time(x.created));
  fc.assert(
    fc.property(
      fc.array(ingressArb, { maxLength: 8 }),
      fc.array(rrArb, { maxLength: 5 }),
      ingressArb,
      rrArb,
      fc.constantFrom<'strict' | 'shared'>('strict', 'shared'),
      (ings, rrs, candidate, rrCandidate, hostOwnership) => {
        const snap = snapshot({
          ingressClasses: [ingressClass('sluice', undefined, true)],
          ingresses: ings.map(toIngress),
          routeRatios: rrs.map(toRr),
          services: nss.flatMap((ns) => [
            service(ns, 'web'),
            service(ns, 'api', [{ port: 8080, name: 'http' }]),
          ]),
        });
        const options = { hostOwnership };
        const full = buildClaimIndex(snap, options);
        const split = combineIndexes(
          buildClaimIndex(
            { ...snapshot({}), ingressClasses: snap.ingressClasses, ingresses: snap.ingresses },
            options,
          ),
          buildClaimIndex(
            { ...snapshot({}), routeRatios: snap.routeRatios, services: snap.services },
            options,
          ),
        );
        const ing = toIngress(candidate);
        const rr = toRr(rrCandidate);
        assert.deepEqual(split.ingressConflicts(ing), full.ingressConflicts(ing));
        assert.deepEqual(split.routeRatioConflicts(rr), full.routeRatioConflicts(rr));
      },
    ),
    { numRuns: 300 },
  );
});
