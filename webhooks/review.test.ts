import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClaimIndex } from '../operator/compile/api.ts';
import type { AdmissionReviewResponse } from './admission.ts';
import { reviewIngress, reviewRouteRatio } from './review.ts';
import {
  context,
  ingress,
  ingressClass,
  review,
  routeRatio,
  service,
  snapshot,
  T0,
  T2,
} from './testing/fixtures.ts';

const classes = [ingressClass('sluice'), ingressClass('nginx', 'k8s.io/ingress-nginx')];
const existing = ingress('shop', 'api-v1', { created: T0 });
const base = snapshot({
  ingressClasses: classes,
  ingresses: [existing],
  services: [service('shop', 'web'), service('shop', 'web-v1'), service('shop', 'web-v2')],
});

function allowed(res: AdmissionReviewResponse): string[] {
  assert.equal(res.response.allowed, true, `expected allowed, got: ${res.response.status?.message}`);
  assert.equal(res.response.status, undefined);
  return res.response.warnings ?? [];
}

function denied(res: AdmissionReviewResponse, code = 403): string {
  assert.equal(res.response.allowed, false, 'expected a denial');
  assert.equal(res.response.status?.code, code);
  return res.response.status?.message ?? '';
}

describe('reviewIngress', () => {
  const ctx = context(base);

  test('echoes the request uid and the AdmissionReview envelope', () => {
    const r = review(
      ingress('shop', 'fresh', { rules: [{ host: 'new.example.com', paths: [{ path: '/' }] }] }),
    );
    const res = reviewIngress(r, ctx);
    assert.equal(res.apiVersion, 'admission.k8s.io/v1');
    assert.equal(res.kind, 'AdmissionReview');
    assert.equal(res.response.uid, r.request.uid);
    assert.deepEqual(allowed(res), []);
  });

  test('denies a path another Ingress of the class already routes, naming it and its age', () => {
    const msg = denied(reviewIngress(review(ingress('shop', 'api-v2')), ctx));
    assert.equal(
      msg,
      `host "shop.example.com" path "/api" (Prefix) is already routed by Ingress shop/api-v1 (created ${T0})`,
    );
  });

  test('denies a host owned by another namespace (strict ownership)', () => {
    const msg = denied(
      reviewIngress(
        review(
          ingress('evil', 'grab', { rules: [{ host: 'shop.example.com', paths: [{ path: '/other' }] }] }),
        ),
        ctx,
      ),
    );
    assert.match(msg, /host "shop\.example\.com" belongs to namespace shop/);
    assert.match(msg, /Ingress shop\/api-v1/);
  });

  test('allows another namespace on an owned host when ownership is shared', () => {
    const shared = context(base, { hostOwnership: 'shared' });
    const obj = ingress('other', 'more', {
      rules: [{ host: 'shop.example.com', paths: [{ path: '/other' }] }],
    });
    assert.ok(
      allowed(reviewIngress(review(obj), shared)).some((w) => w.includes('Service other/web does not exist')),
    );
  });

  test('compares hosts case-insensitively and ignores a trailing dot', () => {
    const msg = denied(
      reviewIngress(
        review(
          ingress('shop', 'loud', { rules: [{ host: 'SHOP.example.com.', paths: [{ path: '/api' }] }] }),
        ),
        ctx,
      ),
    );
    assert.match(msg, /already routed by Ingress shop\/api-v1/);
  });

  test('the same host and path in another class is allowed untouched', () => {
    assert.deepEqual(allowed(reviewIngress(review(ingress('shop', 'n', { className: 'nginx' })), ctx)), []);
  });

  test('ingress-nginx mode: class nginx (field or legacy annotation) is reviewed like Sluice’s', () => {
    const nginxCtx = context(base, { ingressNginxClassNames: ['nginx'] });
    const byName = ingress('shop', 'n', { className: 'nginx' });
    assert.match(denied(reviewIngress(review(byName), nginxCtx)), /already routed by Ingress shop\/api-v1/);
    const legacy = ingress('shop', 'legacy', {
      className: null,
      annotations: { 'kubernetes.io/ingress.class': 'nginx' },
    });
    assert.match(denied(reviewIngress(review(legacy), nginxCtx)), /already routed/);
    const other = ingress('shop', 'n', { className: 'missing' });
    assert.deepEqual(allowed(reviewIngress(review(other), nginxCtx)), []);
  });

  test('an Ingress naming an unknown class is not Sluice’s and is allowed', () => {
    assert.deepEqual(allowed(reviewIngress(review(ingress('shop', 'n', { className: 'missing' })), ctx)), []);
  });

  test('the legacy class annotation selects Sluice', () => {
    const obj = ingress('shop', 'legacy', {
      className: null,
      annotations: { 'kubernetes.io/ingress.class': 'sluice' },
    });
    assert.match(denied(reviewIngress(review(obj), ctx)), /already routed/);
    const other = ingress('shop', 'legacy', {
      className: null,
      annotations: { 'kubernetes.io/ingress.class': 'nginx' },
    });
    assert.deepEqual(allowed(reviewIngress(review(other), ctx)), []);
  });

  test('an Ingress without a class is Sluice’s only when Sluice has the default class', () => {
    const obj = ingress('shop', 'classless', { className: null });
    assert.deepEqual(allowed(reviewIngress(review(obj), ctx)), []);
    const withDefault = context(
      snapshot({ ...base, ingressClasses: [ingressClass('sluice', undefined, true)] }),
    );
    assert.match(denied(reviewIngress(review(obj), withDefault)), /already routed/);
  });

  test('an update of the same object never conflicts with its earlier version', () => {
    const edited = ingress('shop', 'api-v1', {
      created: T0,
      rules: [{ host: 'shop.example.com', paths: [{ path: '/api' }, { path: '/v2' }] }],
    });
    assert.deepEqual(
      allowed(reviewIngress(review(edited, { operation: 'UPDATE', oldObject: existing }), ctx)),
      [],
    );
  });

  test('a renamed copy conflicts while the old name still exists, and is allowed once it is gone', () => {
    assert.match(
      denied(reviewIngress(review(ingress('shop', 'api')), ctx)),
      /already routed by Ingress shop\/api-v1/,
    );
    const after = context(snapshot({ ...base, ingresses: [] }));
    assert.deepEqual(allowed(reviewIngress(review(ingress('shop', 'api')), after)), []);
  });

  test('an update keeps a conflict it already had as a warning (ratchet), but denies a new one', () => {
    const loser = ingress('shop', 'late', { created: T2 });
    const ctx2 = context(snapshot({ ...base, ingresses: [existing, loser] }));
    const relabel = { ...loser, metadata: { ...loser.metadata, labels: { team: 'a' } } };
    const warnings = allowed(reviewIngress(review(relabel, { operation: 'UPDATE', oldObject: loser }), ctx2));
    assert.ok(
      warnings.some((w) =>
        w.startsWith('already present before this update: host "shop.example.com" path "/api"'),
      ),
    );

    const grown = ingress('shop', 'late', {
      created: T2,
      rules: [
        { host: 'shop.example.com', paths: [{ path: '/api' }] },
        { host: 'x.example.com', paths: [{ path: '/' }] },
      ],
    });
    const ctx3 = context(
      snapshot({
        ...base,
        ingresses: [
          existing,
          ingress('shop', 'x', { created: T0, rules: [{ host: 'x.example.com', paths: [{ path: '/' }] }] }),
          loser,
        ],
      }),
    );
    const msg = denied(reviewIngress(review(grown, { operation: 'UPDATE', oldObject: loser }), ctx3));
    assert.match(msg, /host "x\.example\.com" path "\/" \(Prefix\) is already routed by Ingress shop\/x/);
  });

  test('moving an Ingress into Sluice’s class is checked like a create', () => {
    const before = ingress('shop', 'mover', { className: 'nginx' });
    const after = ingress('shop', 'mover', { className: 'sluice' });
    assert.match(
      denied(reviewIngress(review(after, { operation: 'UPDATE', oldObject: before }), ctx)),
      /already routed/,
    );
  });

  test('denies invalid hosts, paths and annotations with the field, escaping control characters', () => {
    const obj = ingress('shop', 'bad', {
      annotations: { 'sluice.dev/server-snippet': 'evil' },
      rules: [{ host: 'a\r\nb.example.com', paths: [{ path: '/x' }] }],
    });
    const msg = denied(reviewIngress(review(obj), ctx));
    assert.match(msg, /metadata\.annotations\["sluice\.dev\/server-snippet"\]/);
    assert.match(msg, /spec\.rules\[0\]\.host/);
    assert.doesNotMatch(msg, /[\r\n]/);
  });

  test('denies a bad sluice.dev annotation value and a bad wildcard', () => {
    const badValue = ingress('shop', 'v', {
      annotations: { 'sluice.dev/ssl-redirect': 'maybe' },
      rules: [{ host: 'v.example.com', paths: [{ path: '/' }] }],
    });
    assert.match(denied(reviewIngress(review(badValue), ctx)), /sluice\.dev\/ssl-redirect/);
    const wildcard = ingress('shop', 'w', { rules: [{ host: 'a.*.example.com', paths: [{ path: '/' }] }] });
    assert.match(denied(reviewIngress(review(wildcard), ctx)), /spec\.rules\[0\]\.host/);
  });

  test('a path repeated within the Ingress is allowed with a warning', () => {
    const obj = ingress('shop', 'dup', {
      rules: [
        {
          host: 'dup.example.com',
          paths: [{ path: '/x' }, { path: '/x/' }, { path: '/x', pathType: 'ImplementationSpecific' }],
        },
      ],
    });
    const warnings = allowed(reviewIngress(review(obj), ctx));
    assert.equal(warnings.filter((w) => w.includes('is shadowed by it')).length, 2);
    assert.match(
      warnings[0],
      /^spec\.rules\[0\]\.http\.paths\[1\]: .* repeats spec\.rules\[0\]\.http\.paths\[0\]/,
    );
  });

  test('a missing backend Service or port is allowed with a warning', () => {
    const obj = ingress('shop', 'm', {
      rules: [
        {
          host: 'm.example.com',
          paths: [
            { path: '/a', service: 'ghost' },
            { path: '/b', service: 'web', port: 9999 },
            { path: '/c', service: 'web', port: 'http' },
          ],
        },
      ],
    });
    const warnings = allowed(reviewIngress(review(obj), ctx));
    assert.deepEqual(warnings, [
      'spec.rules[0].http.paths[0].backend: Service shop/ghost does not exist (yet); its routes answer 503',
      'spec.rules[0].http.paths[1].backend: Service shop/web has no port 9999; its routes answer 503',
    ]);
  });

  test('fills in the namespace from the request when the object leaves it out', () => {
    const obj = ingress('shop', 'api-v2');
    delete (obj.metadata as { namespace?: string }).namespace;
    const r = review(obj);
    r.request.namespace = 'shop';
    assert.match(denied(reviewIngress(r, ctx)), /already routed/);
  });

  test('DELETE, CONNECT and subresource requests are allowed without looking', () => {
    const obj = ingress('shop', 'api-v2');
    assert.deepEqual(allowed(reviewIngress(review(obj, { operation: 'DELETE' }), ctx)), []);
    assert.deepEqual(allowed(reviewIngress(review(obj, { operation: 'CONNECT' }), ctx)), []);
    assert.deepEqual(
      allowed(reviewIngress(review(obj, { operation: 'UPDATE', subResource: 'status' }), ctx)),
      [],
    );
  });

  test('a host held only by an Ingress of a terminating namespace is free for another namespace', () => {
    const grab = ingress('team', 'web', { created: T2 });
    const services = [...base.services, service('team', 'web')];
    const live = snapshot({ ...base, services, namespaces: [{ name: 'shop', terminating: false }] });
    assert.match(denied(reviewIngress(review(grab), context(live))), /belongs to namespace shop/);
    // Namespace shop is being deleted: its Ingress lingers (pods go first) but holds nothing.
    const going = snapshot({ ...base, services, namespaces: [{ name: 'shop', terminating: true }] });
    assert.deepEqual(allowed(reviewIngress(review(grab), context(going))), []);
  });

  test('an Ingress with a deletionTimestamp holds nothing: its host and paths are free', () => {
    const lingering = ingress('shop', 'api-v1', { created: T0 });
    (lingering.metadata as Record<string, unknown>).deletionTimestamp = T2;
    (lingering.metadata as Record<string, unknown>).finalizers = ['example.com/hold'];
    const services = [...base.services, service('team', 'web')];
    const ctxGoing = context(snapshot({ ...base, services, ingresses: [lingering] }));
    assert.deepEqual(allowed(reviewIngress(review(ingress('team', 'web', { created: T2 })), ctxGoing)), []);
    assert.deepEqual(allowed(reviewIngress(review(ingress('shop', 'api-v2')), ctxGoing)), []);
  });

  test('an object being deleted may still be updated (finalizers)', () => {
    const obj = ingress('shop', 'api-v2');
    (obj.metadata as Record<string, unknown>).deletionTimestamp = T2;
    assert.deepEqual(allowed(reviewIngress(review(obj, { operation: 'UPDATE', oldObject: obj }), ctx)), []);
  });

  test('denies a create without an object, a wrong kind and a wrongly typed object', () => {
    const r = review(null);
    assert.match(denied(reviewIngress(r, ctx)), /CREATE request carries no object/);
    const rr = review(routeRatio('shop', 'x'));
    assert.match(
      denied(reviewIngress(rr, ctx)),
      /reviews networking\.k8s\.io Ingresses, not sluice\.dev\/RouteRatio/,
    );
    const typed = ingress('shop', 't') as unknown as { spec: { rules: unknown } };
    typed.spec.rules = 'everything';
    assert.match(denied(reviewIngress(review(typed), ctx)), /^Ingress spec\.rules must be array$/);
    const annotations = ingress('shop', 't', { annotations: {} }) as unknown as {
      metadata: { annotations: unknown };
    };
    annotations.metadata.annotations = { 'sluice.dev/ssl-redirect': { nested: true } };
    assert.match(
      denied(reviewIngress(review(annotations), ctx)),
      /^Ingress metadata\.annotations\["sluice\.dev\/ssl-redirect"\] must be string$/,
    );
  });

  test('an internal error denies (fail closed) with a message instead of throwing', () => {
    const broken: ClaimIndex = {
      ingressConflicts: () => {
        throw new Error('index exploded');
      },
      routeRatioConflicts: () => [],
    };
    const res = reviewIngress(review(ingress('shop', 'x')), { ...ctx, index: broken });
    assert.match(denied(res, 500), /internal error in the Sluice webhook, request denied: index exploded/);
    assert.equal(res.response.status?.reason, 'InternalError');
  });
});

describe('reviewRouteRatio', () => {
  const first = routeRatio('shop', 'first', {}, T0);
  const rrBase = snapshot({ ...base, routeRatios: [first] });
  const ctx = context(rrBase);
  const free = (spec = {}) =>
    routeRatio('shop', 'free', { service: { name: 'web', port: { number: 8080 } }, ...spec });
  const ctxFree = context(
    snapshot({
      ...rrBase,
      ingresses: [
        ...rrBase.ingresses,
        ingress('shop', 'alt', {
          created: T0,
          rules: [{ host: 'alt.example.com', paths: [{ path: '/', port: 8080 }] }],
        }),
      ],
    }),
  );

  test('allows a valid split without warnings', () => {
    assert.deepEqual(allowed(reviewRouteRatio(review(free()), ctxFree)), []);
  });

  test('denies a second RouteRatio for the same Service and port, naming the first', () => {
    const msg = denied(reviewRouteRatio(review(routeRatio('shop', 'second')), ctx));
    assert.equal(
      msg,
      `service web port 80 in namespace shop is already split by RouteRatio shop/first (created ${T0})`,
    );
  });

  test('a RouteRatio being deleted, or in a terminating namespace, no longer holds its Service port', () => {
    const going = routeRatio('shop', 'first', {}, T0);
    (going.metadata as Record<string, unknown>).deletionTimestamp = T2;
    const ctxGoing = context(snapshot({ ...rrBase, routeRatios: [going] }));
    assert.deepEqual(allowed(reviewRouteRatio(review(routeRatio('shop', 'second')), ctxGoing)), []);
    const ctxTerminating = context(
      snapshot({ ...rrBase, namespaces: [{ name: 'shop', terminating: true }] }),
    );
    assert.deepEqual(allowed(reviewRouteRatio(review(routeRatio('shop', 'second')), ctxTerminating)), []);
  });

  test('a named port and its number are the same Service port', () => {
    const named = routeRatio('shop', 'named', { service: { name: 'web', port: { name: 'http' } } });
    assert.match(denied(reviewRouteRatio(review(named), ctx)), /already split by RouteRatio shop\/first/);
  });

  test('the same Service in another namespace is not a conflict', () => {
    const other = context(
      snapshot({
        ...rrBase,
        services: [
          ...rrBase.services,
          service('team', 'web'),
          service('team', 'web-v1'),
          service('team', 'web-v2'),
        ],
        ingresses: [
          ...rrBase.ingresses,
          ingress('team', 'i', { rules: [{ host: 'team.example.com', paths: [{ path: '/' }] }] }),
        ],
      }),
    );
    assert.deepEqual(allowed(reviewRouteRatio(review(routeRatio('team', 'first')), other)), []);
  });

  test('an update of itself is allowed', () => {
    const edited = routeRatio(
      'shop',
      'first',
      {
        backends: [
          { name: 'web-v1', port: { number: 80 }, weight: 50 },
          { name: 'web-v2', port: { number: 80 }, weight: 50 },
        ],
      },
      T0,
    );
    assert.deepEqual(
      allowed(reviewRouteRatio(review(edited, { operation: 'UPDATE', oldObject: first }), ctx)),
      [],
    );
  });

  test('denies rules the CRD schema cannot express', () => {
    const bad = free({ overrides: [{ header: { name: 'x-canary', value: 'always' }, backend: 'nowhere' }] });
    assert.match(
      denied(reviewRouteRatio(review(bad), ctxFree)),
      /spec\.overrides\[0\]\.backend: must be the name of one of spec\.backends/,
    );
    const twice = free({
      backends: [
        { name: 'web-v1', port: { number: 80 }, weight: 1 },
        { name: 'web-v1', port: { number: 80 }, weight: 1 },
      ],
    });
    assert.match(denied(reviewRouteRatio(review(twice), ctxFree)), /listed twice/);
  });

  test('all-zero weights are allowed with a warning', () => {
    const zero = free({
      backends: [
        { name: 'web-v1', port: { number: 80 }, weight: 0 },
        { name: 'web-v2', port: { number: 80 }, weight: 0 },
      ],
    });
    assert.deepEqual(allowed(reviewRouteRatio(review(zero), ctxFree)), [
      'spec.backends: every weight is 0; the route answers 503 until one is raised',
    ]);
  });

  test('a missing backend Service is allowed with a warning', () => {
    const missing = free({
      backends: [
        { name: 'web-v1', port: { number: 80 }, weight: 1 },
        { name: 'web-v3', port: { number: 80 }, weight: 1 },
      ],
    });
    assert.deepEqual(allowed(reviewRouteRatio(review(missing), ctxFree)), [
      'spec.backends[1]: Service shop/web-v3 does not exist (yet); its share of requests gets 503',
    ]);
  });

  test('a split no Sluice Ingress routes to, or naming missing Ingresses, is allowed with warnings', () => {
    const idle = routeRatio('shop', 'idle', {
      service: { name: 'web', port: { number: 9090 } },
      ingresses: ['ghost'],
    });
    const warnings = allowed(reviewRouteRatio(review(idle), ctx));
    assert.deepEqual(warnings, [
      'spec.ingresses: Ingress shop/ghost does not exist (yet)',
      'spec.service: no Ingress in shop sends traffic to Service web port 9090 (yet); the split has no effect until one does',
    ]);
  });

  test('an update keeps an existing conflict as a warning', () => {
    const loser = routeRatio('shop', 'loser', {}, T2);
    const both = context(snapshot({ ...rrBase, routeRatios: [first, loser] }));
    const res = reviewRouteRatio(review(loser, { operation: 'UPDATE', oldObject: loser }), both);
    assert.ok(
      allowed(res).some((w) => w.startsWith('already present before this update: service web port 80')),
    );
  });

  test('denies a wrong kind and wrongly typed fields', () => {
    assert.match(
      denied(reviewRouteRatio(review(ingress('shop', 'i'), { kind: 'Ingress' }), ctx)),
      /reviews sluice\.dev RouteRatios/,
    );
    const typed = routeRatio('shop', 't') as unknown as { spec: { backends: Array<{ weight: unknown }> } };
    typed.spec.backends[0].weight = '90';
    assert.match(
      denied(reviewRouteRatio(review(typed), ctx)),
      /^RouteRatio spec\.backends\[0\]\.weight must be integer$/,
    );
  });

  test('an internal error denies with a message', () => {
    const broken: ClaimIndex = {
      ingressConflicts: () => [],
      routeRatioConflicts: () => {
        throw new TypeError('boom');
      },
    };
    assert.match(denied(reviewRouteRatio(review(free()), { ...ctxFree, index: broken }), 500), /boom/);
  });
});
