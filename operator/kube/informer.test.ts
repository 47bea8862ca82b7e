import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectKey, stripBookkeeping } from './informer.ts';

test('managedFields and the last-applied copy are dropped; the input is left alone', () => {
  const obj = {
    kind: 'Ingress',
    metadata: {
      name: 'shop',
      namespace: 'a',
      managedFields: [{ manager: 'kubectl' }],
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{...}',
        'sluice.dev/max-body-size': '1m',
      },
    },
    spec: { rules: [] },
  };
  const slim = stripBookkeeping(obj);
  assert.deepEqual(slim, {
    kind: 'Ingress',
    metadata: { name: 'shop', namespace: 'a', annotations: { 'sluice.dev/max-body-size': '1m' } },
    spec: { rules: [] },
  });
  assert.equal(obj.metadata.managedFields.length, 1, 'input unchanged');
  assert.equal(slim.spec, obj.spec, 'the rest is shared, not copied');
  const plain = { metadata: { name: 'x' } };
  assert.equal(stripBookkeeping(plain), plain);
});

test('keys: namespace/name, or name for cluster-scoped objects', () => {
  assert.equal(objectKey({ metadata: { namespace: 'a', name: 'b' } }), 'a/b');
  assert.equal(objectKey({ metadata: { name: 'sluice' } }), 'sluice');
});
