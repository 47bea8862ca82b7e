// Hostile input: every request gets a 400 or an AdmissionReview answer (a clear denial for the
// hostile objects), the server never fails, and no raw control or direction character leaves it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { build } from './app.ts';
import { createMetrics } from './metrics.ts';
import {
  context,
  ingress,
  ingressClass,
  review,
  routeRatio,
  service,
  snapshot,
  T0,
} from './testing/fixtures.ts';

const snap = snapshot({
  ingressClasses: [ingressClass('sluice')],
  ingresses: [ingress('shop', 'api-v1', { created: T0 })],
  services: [service('shop', 'web')],
  routeRatios: [routeRatio('shop', 'first', {}, T0)],
});
const UNSAFE = /\p{Cc}|\p{Cf}|\u2028|\u2029/u;
const headers = { 'content-type': 'application/json' };

function server() {
  return build({
    context: () => context(snap),
    metrics: createMetrics({ defaultMetrics: false }),
    bodyLimit: 3 * 1024 * 1024,
  });
}

type App = ReturnType<typeof server>;

async function post(app: App, url: string, payload: string) {
  const res = await app.inject({ method: 'POST', url, headers, payload });
  assert.ok(
    res.statusCode === 200 || res.statusCode === 400 || res.statusCode === 413,
    `status ${res.statusCode}: ${res.body.slice(0, 200)}`,
  );
  const body = res.json();
  if (res.statusCode === 200) {
    assert.equal(body.kind, 'AdmissionReview');
    assert.equal(typeof body.response.allowed, 'boolean');
    for (const text of [body.response.status?.message ?? '', ...(body.response.warnings ?? [])]) {
      assert.doesNotMatch(text, UNSAFE, `unescaped character in ${JSON.stringify(text)}`);
    }
    if (!body.response.allowed) assert.ok(body.response.status.message.length > 0);
  } else {
    assert.equal(typeof body.message, 'string');
    assert.doesNotMatch(body.message, UNSAFE);
  }
  return { status: res.statusCode, body };
}

/** Sets `value` at a path in a copy of `obj`, creating containers on the way. */
function setAt(obj: unknown, path: Array<string | number>, value: unknown): unknown {
  const copy = structuredClone(obj) as Record<string, unknown>;
  let cur: Record<string | number, unknown> = copy;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) cur[key] = value;
    else {
      if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
      cur = cur[key] as Record<string | number, unknown>;
    }
  }
  return copy;
}

const INGRESS_PATHS: Array<Array<string | number>> = [
  ['request', 'object', 'metadata', 'name'],
  ['request', 'object', 'metadata', 'namespace'],
  ['request', 'object', 'metadata', 'annotations'],
  ['request', 'object', 'metadata', 'annotations', 'sluice.dev/ssl-redirect'],
  ['request', 'object', 'metadata', 'creationTimestamp'],
  ['request', 'object', 'spec'],
  ['request', 'object', 'spec', 'ingressClassName'],
  ['request', 'object', 'spec', 'rules'],
  ['request', 'object', 'spec', 'rules', 0],
  ['request', 'object', 'spec', 'rules', 0, 'host'],
  ['request', 'object', 'spec', 'rules', 0, 'http', 'paths'],
  ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'path'],
  ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'pathType'],
  ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'backend'],
  ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service', 'port'],
  ['request', 'object', 'spec', 'tls'],
  ['request', 'object', 'spec', 'defaultBackend'],
  ['request', 'oldObject'],
  ['request', 'operation'],
  ['request', 'uid'],
  ['request', 'kind'],
  ['request', 'object'],
  ['request'],
];

const RR_PATHS: Array<Array<string | number>> = [
  ['request', 'object', 'spec', 'service'],
  ['request', 'object', 'spec', 'service', 'port'],
  ['request', 'object', 'spec', 'backends'],
  ['request', 'object', 'spec', 'backends', 0, 'weight'],
  ['request', 'object', 'spec', 'backends', 0, 'name'],
  ['request', 'object', 'spec', 'ingresses'],
  ['request', 'object', 'spec', 'sticky'],
  ['request', 'object', 'spec', 'overrides'],
  ['request', 'object', 'spec', 'overrides', 0, 'header', 'value'],
  ['request', 'object', 'metadata'],
];

describe('fuzz: arbitrary input never breaks the server', () => {
  test('any JSON value as the body', async (t) => {
    const app = server();
    t.after(() => app.close());
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom('/validate/ingress', '/validate/routeratio'),
        async (value, url) => {
          await post(app, url, JSON.stringify(value));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('any value at any field of an Ingress review', async (t) => {
    const app = server();
    t.after(() => app.close());
    const base = review(ingress('shop', 'fuzz', { annotations: {} }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...INGRESS_PATHS), fc.jsonValue(), async (path, value) => {
        await post(app, '/validate/ingress', JSON.stringify(setAt(base, path, value)));
      }),
      { numRuns: 300 },
    );
  });

  test('any value at any field of a RouteRatio review', async (t) => {
    const app = server();
    t.after(() => app.close());
    const base = review(
      routeRatio('shop', 'fuzz', {
        overrides: [{ header: { name: 'x-canary', value: 'on' }, backend: 'web-v1' }],
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...RR_PATHS), fc.jsonValue(), async (path, value) => {
        await post(app, '/validate/routeratio', JSON.stringify(setAt(base, path, value)));
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary strings in hosts, paths and annotations are denied or allowed, always escaped', async (t) => {
    const app = server();
    t.after(() => app.close());
    const text = fc.string({ unit: 'binary', maxLength: 80 });
    await fc.assert(
      fc.asyncProperty(text, text, text, async (host, path, value) => {
        const obj = ingress('shop', 'fuzz', {
          annotations: { 'sluice.dev/body-size-limit': value },
          rules: [{ host, paths: [{ path }] }],
        });
        await post(app, '/validate/ingress', JSON.stringify(review(obj)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('fuzz: a corpus of hostile objects, each clearly denied', () => {
  const huge = 'a'.repeat(1024 * 1024);
  // Built as text: JSON.stringify itself recurses and would overflow first.
  const DEEP = `${'['.repeat(50_000)}"bottom"${']'.repeat(50_000)}`;
  const deep = '__DEEP__';
  const withDeep = (v: unknown) => JSON.stringify(v).replace('"__DEEP__"', DEEP);
  const hostile: Array<[string, Parameters<typeof ingress>[2], Record<string, unknown>?]> = [
    ['newline in host', { rules: [{ host: 'shop.example.com\nInjected: yes', paths: [{ path: '/' }] }] }],
    ['CR/LF in path', { rules: [{ host: 'a.example.com', paths: [{ path: '/x\r\nHost: evil' }] }] }],
    ['NUL in host', { rules: [{ host: 'a.example.com\u0000.evil', paths: [{ path: '/' }] }] }],
    [
      'dot-segments in path',
      { rules: [{ host: 'a.example.com', paths: [{ path: '/a/../../etc/passwd' }] }] },
    ],
    ['encoded slash in path', { rules: [{ host: 'a.example.com', paths: [{ path: '/a%2F..%2Fadmin' }] }] }],
    ['backslash in path', { rules: [{ host: 'a.example.com', paths: [{ path: '/a\\..\\admin' }] }] }],
    ['bidi override in host', { rules: [{ host: 'shop\u202eexample.com', paths: [{ path: '/' }] }] }],
    ['wildcard in the middle', { rules: [{ host: 'a.*.example.com', paths: [{ path: '/' }] }] }],
    ['double wildcard', { rules: [{ host: '*.*.example.com', paths: [{ path: '/' }] }] }],
    ['huge host', { rules: [{ host: huge, paths: [{ path: '/' }] }] }],
    ['huge path', { rules: [{ host: 'a.example.com', paths: [{ path: `/${huge}` }] }] }],
    ['snippet annotation', { annotations: { 'sluice.dev/configuration-snippet': 'load_module /tmp/x.so;' } }],
    ['annotation with newline value', { annotations: { 'sluice.dev/connect-timeout': '5s\nevil' } }],
    ['annotation with huge value', { annotations: { 'sluice.dev/response-timeout': huge } }],
    ['unknown pathType', { rules: [{ host: 'a.example.com', paths: [{ path: '/', pathType: 'Regex' }] }] }],
    ['relative path', { rules: [{ host: 'a.example.com', paths: [{ path: 'admin' }] }] }],
  ];
  for (const [name, input] of hostile) {
    test(name, async (t) => {
      const app = server();
      t.after(() => app.close());
      const { status, body } = await post(
        app,
        '/validate/ingress',
        JSON.stringify(review(ingress('shop', 'hostile', input))),
      );
      assert.equal(status, 200);
      assert.equal(body.response.allowed, false, `${name} was allowed`);
      assert.ok(body.response.status.message.length < 5000);
    });
  }

  const wrongTypes: Array<[string, Array<string | number>, unknown]> = [
    ['rules as a number', ['request', 'object', 'spec', 'rules'], 5],
    ['paths as an object', ['request', 'object', 'spec', 'rules', 0, 'http', 'paths'], { '0': {} }],
    [
      'backend as a string',
      ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'backend'],
      'web:80',
    ],
    [
      'port as a string',
      ['request', 'object', 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service', 'port', 'number'],
      '80',
    ],
    ['name as a number', ['request', 'object', 'metadata', 'name'], 42],
    [
      'annotations as an array',
      ['request', 'object', 'metadata', 'annotations'],
      ['sluice.dev/ssl-redirect'],
    ],
    ['deeply nested rules', ['request', 'object', 'spec', 'rules'], deep],
    [
      'deeply nested annotation',
      ['request', 'object', 'metadata', 'annotations', 'sluice.dev/ssl-redirect'],
      deep,
    ],
    [
      'constructor key in annotations',
      ['request', 'object', 'metadata', 'annotations'],
      { constructor: { prototype: { x: 1 } } },
    ],
  ];
  for (const [name, path, value] of wrongTypes) {
    test(`wrong type: ${name}`, async (t) => {
      const app = server();
      t.after(() => app.close());
      const { status, body } = await post(
        app,
        '/validate/ingress',
        withDeep(setAt(review(ingress('shop', 'typed')), path, value)),
      );
      assert.ok(status === 400 || body.response.allowed === false, `${name} was allowed`);
    });
  }

  test('malformed reviews each get a 400', async (t) => {
    const app = server();
    t.after(() => app.close());
    const good = review(ingress('shop', 'r'));
    const bad = [
      '{',
      '{"a":1}{"b":2}',
      '\u0000',
      JSON.stringify({ ...good, kind: 'AdmissionReviewList' }),
      JSON.stringify({ ...good, request: { ...good.request, uid: 'a\nb' } }),
      JSON.stringify({ ...good, request: { ...good.request, uid: 'x'.repeat(500) } }),
      JSON.stringify({ ...good, request: { ...good.request, operation: 'PATCH' } }),
      JSON.stringify({ ...good, request: { ...good.request, object: 'string' } }),
      JSON.stringify({ ...good, request: { ...good.request, kind: { group: 1 } } }),
      DEEP,
      `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${DEEP}}`,
    ];
    for (const payload of bad) {
      const { status } = await post(app, '/validate/ingress', payload);
      assert.equal(status, 400, payload.slice(0, 80));
    }
  });
});
