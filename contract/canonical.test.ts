import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, configVersion } from './canonical.ts';

test('canonicalJson sorts keys at every level and drops undefined', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: 'x' } }),
    '{"a":{"c":"x","d":[2,{"z":1}]},"b":1}',
  );
  assert.equal(canonicalJson([undefined, null, 'a\n']), '[null,null,"a\\n"]');
  assert.equal(canonicalJson('x'), '"x"');
});

test('canonicalJson is independent of key insertion order', () => {
  assert.equal(canonicalJson({ a: 1, b: { c: 2, d: 3 } }), canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
});

test('configVersion ignores the version field and changes with content', () => {
  const base = {
    apiVersion: 'sluice.dev/dataplane/v1' as const,
    virtualHosts: [],
    backends: {},
    certificates: {},
  };
  const v = configVersion(base);
  assert.match(v, /^sha256:[0-9a-f]{64}$/);
  assert.equal(configVersion({ ...base, version: v }), v);
  assert.equal(configVersion({ ...base, version: 'anything' }), v);
  assert.notEqual(configVersion({ ...base, defaultCertificate: 'a/b' }), v);
});
