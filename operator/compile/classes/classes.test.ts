import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';
import { isSluiceIngress } from './classes.ts';

const ours: V1IngressClass = {
  metadata: { name: 'sluice' },
  spec: { controller: 'sluice.dev/ingress-controller' },
};
const theirs: V1IngressClass = { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };
const asDefault = (c: V1IngressClass, created: string): V1IngressClass => ({
  ...c,
  metadata: {
    ...c.metadata,
    creationTimestamp: created as unknown as Date,
    annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
  },
});
const ing = (className?: string, legacy?: string): V1Ingress => ({
  metadata: {
    namespace: 'ns',
    name: 'x',
    annotations: legacy ? { 'kubernetes.io/ingress.class': legacy } : {},
  },
  spec: className ? { ingressClassName: className } : {},
});

test('ingressClassName selects by the class controller', () => {
  assert.equal(isSluiceIngress(ing('sluice'), [ours, theirs]), true);
  assert.equal(isSluiceIngress(ing('nginx'), [ours, theirs]), false);
  assert.equal(isSluiceIngress(ing('sluice'), [theirs]), false);
  assert.equal(
    isSluiceIngress(ing('edge'), [{ metadata: { name: 'edge' }, spec: { controller: 'x/y' } }], {
      controllerName: 'x/y',
    }),
    true,
  );
});

test('the legacy annotation compares with the class name', () => {
  assert.equal(isSluiceIngress(ing(undefined, 'sluice'), []), true);
  assert.equal(isSluiceIngress(ing(undefined, 'nginx'), [ours]), false);
  assert.equal(isSluiceIngress(ing(undefined, 'edge'), [], { className: 'edge' }), true);
  assert.equal(
    isSluiceIngress(ing('nginx', 'sluice'), [ours, theirs]),
    false,
    'the field wins over the annotation',
  );
});

test('class-less Ingresses follow the newest default class', () => {
  assert.equal(isSluiceIngress(ing(), [ours, theirs]), false);
  assert.equal(isSluiceIngress(ing(), [asDefault(ours, '2026-01-01T00:00:00Z'), theirs]), true);
  assert.equal(
    isSluiceIngress(ing(), [
      asDefault(ours, '2026-01-01T00:00:00Z'),
      asDefault(theirs, '2026-02-01T00:00:00Z'),
    ]),
    false,
  );
  assert.equal(isSluiceIngress(null as unknown as V1Ingress, [ours]), false);
});
