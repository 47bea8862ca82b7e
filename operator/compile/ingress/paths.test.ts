import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoutePath } from '../../../contract/formats.ts';
import { normalizePath } from '../../../contract/normalize.ts';
import { compareRoutes } from '../../../contract/order.ts';
import { parsePath, pathMatches, type RulePath } from './paths.ts';

function rule(path: string, pathType: string): RulePath {
  const r = parsePath(path, pathType);
  assert.ok(r.ok, `${path} ${pathType}`);
  return r.value;
}

/** The route a request takes: the first match in data-plane order (longest, Exact first). */
function select(rules: RulePath[], request: string): RulePath | undefined {
  return [...rules].sort(compareRoutes).find((r) => pathMatches(r, request));
}

// https://kubernetes.io/docs/concepts/services-networking/ingress/#examples, every row.
const TABLE: Array<[Array<[string, string]>, string, [string, string] | undefined]> = [
  [[['/', 'Prefix']], '/anything/at/all', ['/', 'Prefix']],
  [[['/foo', 'Exact']], '/foo', ['/foo', 'Exact']],
  [[['/foo', 'Exact']], '/bar', undefined],
  [[['/foo', 'Exact']], '/foo/', undefined],
  [[['/foo/', 'Exact']], '/foo', undefined],
  [[['/foo', 'Prefix']], '/foo', ['/foo', 'Prefix']],
  [[['/foo', 'Prefix']], '/foo/', ['/foo', 'Prefix']],
  [[['/foo/', 'Prefix']], '/foo', ['/foo', 'Prefix']],
  [[['/foo/', 'Prefix']], '/foo/', ['/foo', 'Prefix']],
  [[['/aaa/bb', 'Prefix']], '/aaa/bbb', undefined],
  [[['/aaa/bbb', 'Prefix']], '/aaa/bbb', ['/aaa/bbb', 'Prefix']],
  [[['/aaa/bbb/', 'Prefix']], '/aaa/bbb', ['/aaa/bbb', 'Prefix']],
  [[['/aaa/bbb', 'Prefix']], '/aaa/bbb/', ['/aaa/bbb', 'Prefix']],
  [[['/aaa/bbb', 'Prefix']], '/aaa/bbb/ccc', ['/aaa/bbb', 'Prefix']],
  [[['/aaa/bbb', 'Prefix']], '/aaa/bbbxyz', undefined],
  [
    [
      ['/', 'Prefix'],
      ['/aaa', 'Prefix'],
    ],
    '/aaa/ccc',
    ['/aaa', 'Prefix'],
  ],
  [
    [
      ['/', 'Prefix'],
      ['/aaa', 'Prefix'],
      ['/aaa/bbb', 'Prefix'],
    ],
    '/aaa/bbb',
    ['/aaa/bbb', 'Prefix'],
  ],
  [
    [
      ['/', 'Prefix'],
      ['/aaa', 'Prefix'],
      ['/aaa/bbb', 'Prefix'],
    ],
    '/ccc',
    ['/', 'Prefix'],
  ],
  [[['/aaa', 'Prefix']], '/ccc', undefined],
  [
    [
      ['/foo', 'Prefix'],
      ['/foo', 'Exact'],
    ],
    '/foo',
    ['/foo', 'Exact'],
  ],
];

test('every row of the Kubernetes path-matching table', () => {
  for (const [rules, request, expected] of TABLE) {
    const chosen = select(
      rules.map(([p, t]) => rule(p, t)),
      request,
    );
    assert.deepEqual(
      chosen && [chosen.path, chosen.pathType],
      expected,
      `${JSON.stringify(rules)} with request ${request}`,
    );
  }
});

test('Exact is case-sensitive and ImplementationSpecific is Prefix', () => {
  assert.equal(pathMatches(rule('/Foo', 'Exact'), '/foo'), false);
  assert.deepEqual(rule('/docs/', 'ImplementationSpecific'), { path: '/docs', pathType: 'Prefix' });
  assert.deepEqual(parsePath(undefined, 'ImplementationSpecific'), {
    ok: true,
    value: { path: '/', pathType: 'Prefix' },
  });
});

test('escapes are normalised like requests', () => {
  assert.deepEqual(rule('/%7euser/%41', 'Prefix'), { path: '/~user/A', pathType: 'Prefix' });
  assert.deepEqual(rule('/a%2ab', 'Exact'), { path: '/a%2Ab', pathType: 'Exact' });
  assert.deepEqual(rule('/a%25', 'Exact'), { path: '/a%25', pathType: 'Exact' });
});

test('unsafe paths are refused with a reason', () => {
  const refused: Array<[unknown, string, RegExp]> = [
    ['/a%2Fb', 'Prefix', /encoded slash/],
    ['/a%2fb', 'Prefix', /encoded slash/],
    ['/a%5Cb', 'Prefix', /encoded slash or backslash/],
    ['/a\\b', 'Prefix', /backslash/],
    ['/a/../b', 'Prefix', /dot-segments/],
    ['/a/%2e%2E/b', 'Prefix', /dot-segments/],
    ['/.', 'Exact', /dot-segments/],
    ['/a//b', 'Prefix', /repeated slashes/],
    ['api', 'Prefix', /absolute/],
    ['/a\r\nb', 'Prefix', /control/],
    ['/a%0d', 'Prefix', /control/],
    ['/a%zz', 'Prefix', /%XX/],
    ['/a b', 'Prefix', /may contain only/],
    ['/ü', 'Prefix', /may contain only/],
    [`/${'a'.repeat(2048)}`, 'Prefix', /longer than/],
    [42, 'Prefix', /string/],
    ['/a', 'Regex', /pathType/],
    ['', 'Exact', /required/],
  ];
  for (const [path, type, message] of refused) {
    const r = parsePath(path, type);
    assert.equal(r.ok, false, String(path));
    assert.match((r as { message: string }).message, message, String(path));
  }
});

test('property: every path the compiler keeps is one the config schema accepts and a request can match', () => {
  const piece = fc.constantFrom(
    '/',
    '/',
    '.',
    '..',
    'a',
    'B',
    '%2e',
    '%2E',
    '%41',
    '%7e',
    '%20',
    '%c3',
    '%2F',
    '%',
    ';',
    '~',
    '-',
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 12 }),
      fc.constantFrom('Exact', 'Prefix', 'ImplementationSpecific'),
      (parts, pathType) => {
        const r = parsePath(`/${parts.join('')}`, pathType);
        if (!r.ok) return;
        assert.ok(isRoutePath(r.value.path), r.value.path);
        assert.equal(normalizePath(r.value.path), r.value.path);
      },
    ),
    { numRuns: 2_000 },
  );
});
