// Static checks of the CRD: every schema field is described (kubectl explain teaches the API),
// the printer columns are as documented, the examples pass the compiler's own validation, and
// the schema's limits and patterns agree with the compiler's.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { RouteRatio } from '../operator/compile/api.ts';
import {
  MAX_BACKENDS,
  MAX_INGRESSES,
  MAX_OVERRIDES,
  MAX_WEIGHT,
  validateRouteRatio,
} from '../operator/compile/routeratio/routeratio.ts';
import { routeRatio } from '../operator/testing/objects.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  maxItems?: number;
  maximum?: number;
  pattern?: string;
}

const crd = parse(readFileSync(join(import.meta.dirname, 'routeratio.yaml'), 'utf8'));
const version = crd.spec.versions[0];
const schema: Schema = version.schema.openAPIV3Schema;
const spec = schema.properties!.spec;

test('names, scope and subresources', () => {
  assert.equal(crd.metadata.name, 'routeratios.sluice.dev');
  assert.deepEqual(crd.spec.names.shortNames, ['rr']);
  assert.deepEqual(crd.spec.names.categories, ['sluice']);
  assert.equal(crd.spec.scope, 'Namespaced');
  assert.equal(version.name, 'v1alpha1');
  assert.deepEqual(version.subresources, { status: {} });
  assert.deepEqual(
    version.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath]),
    [
      ['Service', '.spec.service.name'],
      ['Split', '.status.summary'],
      ['Programmed', '.status.conditions[?(@.type=="Programmed")].status'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  );
});

test('every field has a description', () => {
  const missing: string[] = [];
  const walk = (s: Schema, where: string) => {
    if (where !== 'metadata' && !s.description) missing.push(where || '(root)');
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, where ? `${where}.${k}` : k);
    if (s.items) walk(s.items, `${where}[]`);
  };
  walk(schema, '');
  assert.deepEqual(missing, []);
});

test('limits agree with the compiler', () => {
  assert.equal(spec.properties!.backends.maxItems, MAX_BACKENDS);
  assert.equal(spec.properties!.overrides.maxItems, MAX_OVERRIDES);
  assert.equal(spec.properties!.ingresses.maxItems, MAX_INGRESSES);
  assert.equal(spec.properties!.backends.items!.properties!.weight.maximum, MAX_WEIGHT);
});

/** A RouteRatio with this spec exactly as given, however wrong. */
function rr(specValue: unknown): RouteRatio {
  return { ...routeRatio('x', { namespace: 'shop' }), spec: specValue as RouteRatio['spec'] };
}

test('header and cookie patterns agree with the compiler', () => {
  const override = spec.properties!.overrides.items!.properties!;
  const headerValue = new RegExp(override.header.properties!.value.pattern!);
  const cookieValue = new RegExp(override.cookie.properties!.value.pattern!);
  const headerName = new RegExp(override.header.properties!.name.pattern!);
  const samples = [
    'always',
    'a b',
    ' a',
    'a ',
    'a\r\nb',
    'a;b',
    'a"b',
    'a\\b',
    'x\u007f',
    'ü',
    'X-Canary',
    'x_y',
    '-x',
  ];
  for (const value of samples) {
    const withHeader = (name: string, v: string) =>
      rr({
        service: { name: 's', port: { number: 80 } },
        backends: [{ name: 'b', port: { number: 80 }, weight: 1 }],
        overrides: [{ header: { name, value: v }, backend: 'b' }],
      });
    const withCookie = rr({
      service: { name: 's', port: { number: 80 } },
      backends: [{ name: 'b', port: { number: 80 }, weight: 1 }],
      overrides: [{ cookie: { name: 'c', value }, backend: 'b' }],
    });
    assert.equal(
      validateRouteRatio(withHeader('x', value)).length === 0,
      headerValue.test(value),
      `header value ${JSON.stringify(value)}`,
    );
    assert.equal(
      validateRouteRatio(withHeader(value, 'v')).length === 0,
      headerName.test(value),
      `header name ${JSON.stringify(value)}`,
    );
    assert.equal(
      validateRouteRatio(withCookie).length === 0,
      cookieValue.test(value),
      `cookie value ${JSON.stringify(value)}`,
    );
  }
});

test('the examples pass the compiler validation', () => {
  for (const file of ['canary.yaml', 'sticky.yaml']) {
    const obj = parse(readFileSync(join(import.meta.dirname, 'examples', file), 'utf8'));
    obj.metadata.namespace = 'shop';
    assert.deepEqual(validateRouteRatio(obj), [], file);
  }
});
