// The operator's own credential loading against the real API server: client certificates from a
// kubeconfig file, and a service-account token (what the in-cluster path sends).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { kubeconfigAuth } from '../../operator/kube/auth.ts';
import { KubeApiError, KubeClient } from '../../operator/kube/client.ts';
import { freshNamespace, kubectlOk } from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

test('client certificates from the kubeconfig file', async (t) => {
  const c = await cluster();
  const client = new KubeClient(kubeconfigAuth(c.kubeconfig));
  t.after(() => client.close());
  const v = await client.get<{ gitVersion: string }>('/version');
  assert.match(v.gitVersion, /^v1\./);
});

test('a service-account token, with the rights RBAC gives it', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-auth');
  await kubectlOk(c, ['-n', ns, 'create', 'serviceaccount', 'reader']);
  await kubectlOk(c, ['-n', ns, 'create', 'role', 'read-cm', '--verb=list', '--resource=configmaps']);
  await kubectlOk(c, [
    '-n',
    ns,
    'create',
    'rolebinding',
    'read-cm',
    '--role=read-cm',
    `--serviceaccount=${ns}:reader`,
  ]);
  const token = (await kubectlOk(c, ['-n', ns, 'create', 'token', 'reader'])).trim();
  const admin = parse(readFileSync(c.kubeconfig, 'utf8'));
  const d = mkdtempSync(join(tmpdir(), 'sluice-auth-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'token'), token);
  writeFileSync(
    join(d, 'config'),
    stringify({
      ...admin,
      users: [{ name: 'reader', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'reader', context: { cluster: admin.clusters[0].name, user: 'reader' } }],
      'current-context': 'reader',
    }),
  );
  const client = new KubeClient(kubeconfigAuth(join(d, 'config')));
  t.after(() => client.close());
  const list = await client.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/configmaps`);
  assert.ok(Array.isArray(list.items));
  await assert.rejects(client.get(`/api/v1/namespaces/${ns}/secrets`), (err: unknown) => {
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.statusCode, 403);
    assert.equal(err.reason, 'Forbidden');
    return true;
  });
});
