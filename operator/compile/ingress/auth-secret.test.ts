// Basic-auth Secrets through the long-lived compiler: the Ingress is routed only while its Secret
// is usable, follows every change of the Secret, and names it as a reference so the operator keeps
// its data.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import * as objects from '../../testing/objects.ts';
import type { Snapshot } from '../api.ts';
import { createCompilerOk as createCompiler } from '../testing/compile-ok.ts';
import { ingressReferences } from './processor.ts';

const SHA_PW = '{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM='; // "pw"
const SHA_OTHER = '{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='; // "test"

function authSecret(lines: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { namespace: 'default', name: 'users' },
    data: { auth: Buffer.from(lines).toString('base64') },
  };
}

function snapshot(secrets: V1Secret[]): Snapshot {
  const ing = objects.hostIngress('app', 'sluice', 'app.example', 'web', { namespace: 'default' });
  ing.metadata!.annotations = {
    'nginx.ingress.kubernetes.io/auth-type': 'basic',
    'nginx.ingress.kubernetes.io/auth-secret': 'users',
  };
  return {
    ingressClasses: [objects.ingressClass('sluice')],
    ingresses: [ing],
    services: [objects.service('web', { namespace: 'default' })],
    endpointSlices: [objects.endpointSlice('web', { namespace: 'default' })],
    secrets,
    routeRatios: [],
  };
}

const users = (config: { virtualHosts: Array<{ routes: Array<{ policy: { basicAuth?: unknown } }> }> }) =>
  config.virtualHosts[0]?.routes[0]?.policy.basicAuth;

test('the Ingress follows its basic-auth Secret: missing, added, changed, broken, removed', () => {
  const compiler = createCompiler();
  const missing = compiler.compile(snapshot([]));
  assert.equal(missing.config.virtualHosts.length, 0, 'not routed without its Secret');
  assert.ok(missing.events.some((e) => e.reason === 'SecretNotFound'));

  const added = compiler.compile(snapshot([authSecret(`ann:${SHA_PW}\n`)]));
  assert.deepEqual(users(added.config), { realm: '', users: [{ hash: SHA_PW, name: 'ann' }] });

  const changed = compiler.compile(snapshot([authSecret(`ann:${SHA_OTHER}\nbob:${SHA_PW}\n`)]));
  assert.deepEqual(users(changed.config), {
    realm: '',
    users: [
      { hash: SHA_OTHER, name: 'ann' },
      { hash: SHA_PW, name: 'bob' },
    ],
  });

  const broken = compiler.compile(snapshot([authSecret('ann:plaintext\n')]));
  assert.equal(broken.config.virtualHosts.length, 0, 'a plain password is never served');
  assert.ok(broken.events.some((e) => e.reason === 'SecretInvalid' && e.message.includes('plain-text')));

  const removed = compiler.compile(snapshot([]));
  assert.equal(removed.config.virtualHosts.length, 0);
});

test('the auth Secret is a reference (own namespace only), so its data is kept', () => {
  const ing = objects.hostIngress('app', 'sluice', 'app.example', 'web', { namespace: 'default' });
  ing.metadata!.annotations = {
    'nginx.ingress.kubernetes.io/auth-type': 'basic',
    'nginx.ingress.kubernetes.io/auth-secret': 'default/users',
  };
  assert.deepEqual(ingressReferences(ing).secrets, ['default/users']);
  ing.metadata!.annotations['nginx.ingress.kubernetes.io/auth-secret'] = 'kube-system/admin';
  assert.deepEqual(ingressReferences(ing).secrets, [], 'another namespace is never read');
});
