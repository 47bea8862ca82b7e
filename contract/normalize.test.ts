import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeHost, normalizePath, normalizeTarget } from './normalize.ts';

test('paths are normalised: dot segments, repeated slashes, unreserved escapes', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['//a///b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/%2e%2e/admin', '/admin'],
    ['/a/%2E/b', '/a/b'],
    ['/%7Euser/%41', '/~user/A'],
    ['/a%20b', '/a%20b'],
    ['/a%3fb', '/a%3Fb'],
    ['/public/.%2e/admin', '/admin'],
    ['/public/..%2e/x', '/public/.../x'],
  ];
  for (const [input, want] of cases) {
    const got = normalizeTarget(input);
    assert.ok(got.ok, `${input} should be accepted`);
    assert.equal(got.path, want, input);
  }
});

test('query strings are kept apart and untouched', () => {
  const got = normalizeTarget('/a/../b?x=/../y&z=%2F');
  assert.deepEqual(got, { ok: true, path: '/b', query: '?x=/../y&z=%2F', authority: null });
});

test('encoded slashes, backslashes, fragments and bad escapes are refused', () => {
  for (const bad of [
    '/a%2Fb',
    '/a%2fb',
    '/a%5Cb',
    '/a%5cb',
    '/a\\b',
    '/a#frag',
    '/a%zz',
    '/a%4',
    '/a b',
    '/caf\u00e9',
    '*',
    'a/b',
    '',
  ]) {
    const got = normalizeTarget(bad);
    assert.equal(got.ok, false, JSON.stringify(bad));
  }
});

test('absolute-form targets yield the authority and path', () => {
  assert.deepEqual(normalizeTarget('http://Shop.Example.com:8080/a/../b?q'), {
    ok: true,
    path: '/b',
    query: '?q',
    authority: 'Shop.Example.com:8080',
  });
  assert.deepEqual(normalizeTarget('https://h.example'), {
    ok: true,
    path: '/',
    query: '',
    authority: 'h.example',
  });
});

test('hosts: lower case, no port, no trailing dot; garbage refused', () => {
  assert.equal(normalizeHost('Shop.Example.COM'), 'shop.example.com');
  assert.equal(normalizeHost('shop.example.com.:8443'), 'shop.example.com');
  assert.equal(normalizeHost('[::1]:80'), '[::1]');
  assert.equal(normalizeHost('10.0.0.1:80'), '10.0.0.1');
  for (const bad of ['', 'a b', 'a/b', 'host:port', 'x:99999999', '[::1', '[::1]x', 'a..b', 'évil.com']) {
    assert.equal(normalizeHost(bad), null, JSON.stringify(bad));
  }
});

const segment = fc.constantFrom('a', 'b', '.', '..', '', '%2e', '%2E%2e', '%41', 'x%20y', '~');

test('normalisation is idempotent and leaves no dot segment or empty segment', () => {
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 12 }), (segs) => {
      const once = normalizePath(`/${segs.join('/')}`);
      assert.ok(once !== null);
      assert.equal(normalizePath(once), once);
      assert.equal(once.startsWith('/'), true);
      const inner = once.slice(1, once.endsWith('/') ? -1 : undefined);
      if (inner !== '') {
        for (const s of inner.split('/')) {
          assert.ok(s !== '' && s !== '.' && s !== '..', `${once} has segment ${JSON.stringify(s)}`);
        }
      }
    }),
  );
});

test('any input gives an answer, never an exception', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      const target = normalizeTarget(s);
      assert.equal(typeof target.ok, 'boolean');
      const host = normalizeHost(s);
      assert.ok(host === null || typeof host === 'string');
    }),
    { numRuns: 2_000 },
  );
});
