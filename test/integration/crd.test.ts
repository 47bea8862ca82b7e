// The RouteRatio CRD against the real API server: it installs and becomes Established, the
// examples apply, each invalid object is refused with the rule's message, and `kubectl get rr`
// shows the printer columns.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { RouteRatioSpec } from '../../operator/compile/index.ts';
import { routeRatio } from '../../operator/testing/objects.ts';
import { cluster, type TestCluster } from '../support/cluster.ts';

const root = join(import.meta.dirname, '..', '..');
let c: TestCluster;

before(async () => {
  c = await cluster();
  // The CRD belongs to the project; it stays installed for other tests.
  const applied = await c.kubectl(['apply', '-f', join(root, 'crds/routeratio.yaml')]);
  assert.equal(applied.code, 0, applied.stderr);
  const established = await c.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/routeratios.sluice.dev',
  ]);
  assert.equal(established.code, 0, established.stderr);
});

const valid = () =>
  routeRatio('checkout', {
    service: { name: 'checkout' },
    backends: [
      { name: 'checkout-v1', weight: 90 },
      { name: 'checkout-v2', weight: 10, port: 'http' },
    ],
  }).spec;

// JSON, not YAML: kubectl reads YAML 1.1, where a bare y or yes is a boolean. The spec is taken
// as written, invalid ones included: that is what the API server is tested on.
const withSpec = (name: string, spec: unknown) =>
  JSON.stringify(routeRatio(name, { spec: spec as RouteRatioSpec }));

test('the examples apply cleanly', async (t) => {
  const ns = await c.namespace(t, 'crd');
  for (const file of ['canary.yaml', 'sticky.yaml']) {
    const r = await c.kubectl(['apply', '-n', ns, '-f', join(root, 'crds/examples', file)]);
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
  }
  const names = await c.kubectl(['get', 'routeratios', '-n', ns, '-o', 'name']);
  assert.deepEqual(names.stdout.trim().split('\n').sort(), [
    'routeratio.sluice.dev/checkout',
    'routeratio.sluice.dev/search',
  ]);
});

test('invalid RouteRatios are refused with a message naming the rule', async (t) => {
  const ns = await c.namespace(t, 'crd');
  const base = valid();
  const cases: Array<[string, unknown, RegExp]> = [
    ['no backends', { ...base, backends: [] }, /at least one backend is required/],
    [
      'too many backends',
      {
        ...base,
        backends: Array.from({ length: 17 }, (_, i) => ({ name: `b${i}`, port: { number: 80 }, weight: 1 })),
      },
      /must have at most 16 items/,
    ],
    [
      'duplicate backend names',
      { ...base, backends: [base.backends[0], base.backends[0]] },
      /backend names must be unique/,
    ],
    [
      'weight above 10000',
      { ...base, backends: [{ ...base.backends[0], weight: 10_001 }] },
      /weight.*less than or equal to 10000/,
    ],
    [
      'negative weight',
      { ...base, backends: [{ ...base.backends[0], weight: -1 }] },
      /weight.*greater than or equal to 0/,
    ],
    [
      'fractional weight',
      { ...base, backends: [{ ...base.backends[0], weight: 1.5 }] },
      /weight.*must be of type integer/,
    ],
    [
      'port by number and name',
      { ...base, backends: [{ ...base.backends[0], port: { number: 80, name: 'http' } }] },
      /set exactly one of port\.number or port\.name/,
    ],
    [
      'service port missing both',
      { ...base, service: { name: 'checkout', port: {} } },
      /set exactly one of port\.number or port\.name/,
    ],
    [
      'sticky cookie and header',
      { ...base, sticky: { cookie: { name: 'c' }, header: { name: 'x-user' } } },
      /sticky takes exactly one of cookie or header/,
    ],
    [
      'override backend not listed',
      { ...base, overrides: [{ header: { name: 'x-canary', value: 'always' }, backend: 'checkout-v3' }] },
      /every override must name one of spec\.backends/,
    ],
    [
      'override with header and cookie',
      {
        ...base,
        overrides: [
          { header: { name: 'x', value: 'y' }, cookie: { name: 'c', value: 'v' }, backend: 'checkout-v2' },
        ],
      },
      /an override matches exactly one of header or cookie/,
    ],
    [
      'backend name not a DNS label',
      { ...base, backends: [{ ...base.backends[0], name: 'Checkout_V1' }] },
      /spec\.backends\[0\]\.name.*should match/,
    ],
    [
      'header value with CR/LF',
      {
        ...base,
        overrides: [{ header: { name: 'x-canary', value: 'a\r\nSet-Cookie: x' }, backend: 'checkout-v2' }],
      },
      /spec\.overrides\[0\]\.header\.value.*should match/,
    ],
  ];
  for (const [name, spec, message] of cases) {
    const r = await c.kubectl(['create', '-n', ns, '-f', '-'], { input: withSpec('bad', spec) });
    assert.notEqual(r.code, 0, `${name} was accepted`);
    assert.match(r.stderr, message, name);
  }
  const left = await c.kubectl(['get', 'routeratios', '-n', ns, '-o', 'name']);
  assert.equal(left.stdout.trim(), '');
});

test('kubectl get rr shows SERVICE, SPLIT, PROGRAMMED and AGE', async (t) => {
  const ns = await c.namespace(t, 'crd');
  const created = await c.kubectl(['apply', '-n', ns, '-f', join(root, 'crds/examples/canary.yaml')]);
  assert.equal(created.code, 0, created.stderr);
  const status = {
    status: {
      observedGeneration: 1,
      summary: 'checkout-v1=90% checkout-v2=10%',
      conditions: [
        {
          type: 'Programmed',
          status: 'True',
          reason: 'Programmed',
          message: 'served by 2 of 2 replicas',
          lastTransitionTime: '2026-11-20T10:00:00Z',
        },
      ],
    },
  };
  const patched = await c.kubectl([
    'patch',
    'rr',
    'checkout',
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify(status),
  ]);
  assert.equal(patched.code, 0, patched.stderr);
  const table = await c.kubectl(['get', 'rr', '-n', ns]);
  assert.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trim().split('\n');
  assert.deepEqual(header.split(/\s+/), ['NAME', 'SERVICE', 'SPLIT', 'PROGRAMMED', 'AGE']);
  assert.match(row, /^checkout\s+checkout\s+checkout-v1=90% checkout-v2=10%\s+True\s+\S+$/);
  // The category lists it too.
  const category = await c.kubectl(['get', 'sluice', '-n', ns, '-o', 'name']);
  assert.equal(category.stdout.trim(), 'routeratio.sluice.dev/checkout');
});

test('kubectl explain teaches the fields', async () => {
  const r = await c.kubectl(['explain', 'routeratio.spec.backends.weight']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Relative weight, a whole number from 0 to 10000/);
});
