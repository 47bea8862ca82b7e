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

const nginxMode = { ingressNginxClassNames: ['nginx'] };

test('ingress-nginx mode off: ingress-nginx classes, names and default stay ignored', () => {
  assert.equal(isSluiceIngress(ing('nginx'), [ours, theirs]), false);
  assert.equal(isSluiceIngress(ing('nginx'), []), false);
  assert.equal(isSluiceIngress(ing(undefined, 'nginx'), [ours]), false);
  assert.equal(isSluiceIngress(ing(), [asDefault(theirs, '2026-01-01T00:00:00Z')]), false);
  assert.equal(isSluiceIngress(ing('nginx'), [theirs], { ingressNginxClassNames: [] }), false);
});

test('ingress-nginx mode on: its class by controller, its names, its default', () => {
  const internal: V1IngressClass = {
    metadata: { name: 'nginx-internal' },
    spec: { controller: 'k8s.io/ingress-nginx' },
  };
  assert.equal(isSluiceIngress(ing('nginx'), [ours, theirs], nginxMode), true);
  assert.equal(isSluiceIngress(ing('nginx'), [], nginxMode), true, 'served after its class is removed');
  assert.equal(isSluiceIngress(ing('nginx-internal'), [internal], nginxMode), true);
  assert.equal(isSluiceIngress(ing('nginx-internal'), [], nginxMode), false, 'not a configured name');
  assert.equal(isSluiceIngress(ing(undefined, 'nginx'), [], nginxMode), true);
  assert.equal(isSluiceIngress(ing(undefined, 'sluice'), [], nginxMode), true, 'own legacy name kept');
  assert.equal(isSluiceIngress(ing(undefined, 'traefik'), [], nginxMode), false);
  assert.equal(isSluiceIngress(ing('sluice'), [ours], nginxMode), true);
  assert.equal(isSluiceIngress(ing(), [asDefault(theirs, '2026-01-01T00:00:00Z')], nginxMode), true);
  assert.equal(isSluiceIngress(ing(), [theirs], nginxMode), false, 'not the default');
});

test('ingress-nginx mode: a configured name owned by a third controller is not taken', () => {
  const taken: V1IngressClass = { metadata: { name: 'nginx' }, spec: { controller: 'example.com/other' } };
  assert.equal(isSluiceIngress(ing('nginx'), [taken], nginxMode), false);
  assert.equal(
    isSluiceIngress(ing('nginx'), [taken], { ...nginxMode, controllerName: 'example.com/other' }),
    true,
  );
});
