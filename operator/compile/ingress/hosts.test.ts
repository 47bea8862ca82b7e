import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostMatches, parseHost } from './hosts.ts';

function host(raw: unknown) {
  const r = parseHost(raw);
  assert.ok(r.ok, String(raw));
  return r.value;
}

test('hosts are lower-cased without trailing dot or port', () => {
  assert.deepEqual(host('Shop.Example.COM.'), { kind: 'exact', host: 'shop.example.com' });
  assert.deepEqual(host('shop.example.com:8443'), { kind: 'exact', host: 'shop.example.com' });
  assert.deepEqual(host('*.Example.com'), { kind: 'wildcard', host: '*.example.com' });
  assert.deepEqual(host(undefined), { kind: 'any', host: '*' });
  assert.deepEqual(host(''), { kind: 'any', host: '*' });
});

test('a wildcard is only the whole first label', () => {
  for (const bad of ['*foo.example.com', 'foo.*.example.com', '*.*.example.com', '*', '*.', 'a*.b.com']) {
    assert.equal(parseHost(bad).ok, false, bad);
  }
});

test('non-DNS hosts are refused', () => {
  for (const bad of [
    'bad_host.com',
    'a b.com',
    'x.com\r\n',
    'bücher.de',
    `${'a'.repeat(64)}.com`,
    '-a.com',
    7,
  ]) {
    assert.equal(parseHost(bad).ok, false, String(bad));
  }
  assert.equal(parseHost('xn--bcher-kva.de').ok, true);
});

test('a wildcard matches exactly one label', () => {
  const w = host('*.foo.com');
  assert.equal(hostMatches(w, 'bar.foo.com'), true);
  assert.equal(hostMatches(w, 'foo.com'), false);
  assert.equal(hostMatches(w, 'a.b.foo.com'), false);
  assert.equal(hostMatches(w, 'barfoo.com'), false);
  assert.equal(hostMatches(host('foo.com'), 'foo.com'), true);
  assert.equal(hostMatches(host(undefined), 'anything.example'), true);
});
