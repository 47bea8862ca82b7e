import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeRatio } from '../../testing/objects.ts';
import type { RouteRatio, RouteRatioSpec } from '../api.ts';
import { percentOf, validateRouteRatio } from './routeratio.ts';

const valid: RouteRatioSpec = {
  service: { name: 'checkout', port: { number: 80 } },
  backends: [
    { name: 'checkout-v1', port: { number: 80 }, weight: 90 },
    { name: 'checkout-v2', port: { name: 'http' }, weight: 10 },
  ],
  sticky: { cookie: { name: 'sluice-cohort' } },
  overrides: [{ header: { name: 'X-Canary', value: 'always on' }, backend: 'checkout-v2' }],
};

function check(spec: unknown): string[] {
  // The spec exactly as given, however wrong: that is what is validated.
  const rr: RouteRatio = { ...routeRatio('c', { namespace: 'shop' }), spec: spec as RouteRatioSpec };
  return validateRouteRatio(rr).map((p) => `${p.field}: ${p.message}`);
}

test('the design example is valid', () => {
  assert.deepEqual(check(valid), []);
});

test('each rule is reported at its field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ ...valid, backends: [] }, /^spec\.backends: must list 1 to 16/],
    [
      {
        ...valid,
        backends: Array.from({ length: 17 }, (_, i) => ({ name: `b${i}`, port: { number: 80 }, weight: 1 })),
      },
      /^spec\.backends: must list 1 to 16/,
    ],
    [
      { ...valid, backends: [valid.backends[0], valid.backends[0]] },
      /^spec\.backends\[1\]\.name: backend "checkout-v1" is listed twice/,
    ],
    [
      { ...valid, backends: [{ ...valid.backends[0], weight: 10_001 }] },
      /weight: must be a whole number from 0 to 10000/,
    ],
    [{ ...valid, backends: [{ ...valid.backends[0], weight: 1.5 }] }, /weight: must be a whole number/],
    [
      { ...valid, backends: [{ ...valid.backends[0], port: { number: 80, name: 'http' } }] },
      /port: must give exactly one/,
    ],
    [
      { ...valid, sticky: { cookie: { name: 'a' }, header: { name: 'b' } } },
      /^spec\.sticky: must set exactly one of cookie or header/,
    ],
    [
      { ...valid, overrides: [{ header: { name: 'x', value: 'y' }, backend: 'nope' }] },
      /overrides\[0\]\.backend: must be the name of one of spec\.backends/,
    ],
    [
      { ...valid, overrides: [{ header: { name: 'x', value: 'a\r\nb' }, backend: 'checkout-v2' }] },
      /header\.value: must be visible ASCII/,
    ],
    [
      { ...valid, overrides: [{ cookie: { name: 'c', value: 'a;b' }, backend: 'checkout-v2' }] },
      /cookie\.value: must be a cookie value/,
    ],
    [
      { ...valid, overrides: [{ header: { name: 'x_y', value: 'a' }, backend: 'checkout-v2' }] },
      /header\.name: must be an HTTP header name/,
    ],
    [
      { ...valid, service: { name: 'Checkout', port: { number: 80 } } },
      /^spec\.service\.name: must be a Service name/,
    ],
    [{ ...valid, ingresses: ['shop', 'shop'] }, /^spec\.ingresses\[1\]: Ingress "shop" is listed twice/],
    [{ ...valid, ingresses: [] }, /^spec\.ingresses: must list 1 to 64/],
  ];
  for (const [spec, expected] of cases) {
    const problems = check(spec);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${expected}: got ${JSON.stringify(problems)}`,
    );
  }
});

test('bad objects give problems, not exceptions', () => {
  assert.deepEqual(validateRouteRatio(null as unknown as RouteRatio), [
    { field: 'metadata', message: 'needs a namespace and a name' },
  ]);
  assert.ok(check(undefined).length > 0);
  assert.ok(check('x').length > 0);
});

test('percentages have two decimals and all-zero is 0', () => {
  assert.equal(percentOf(1, 3), 33.33);
  assert.equal(percentOf(2, 3), 66.67);
  assert.equal(percentOf(0, 0), 0);
  assert.equal(percentOf(90, 100), 90);
});
