import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { stringify } from 'yaml';
import { kubeconfigAuth, loadAuth } from './auth.ts';

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-kubeconfig-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'b',
    contexts: [
      { name: 'a', context: { cluster: 'one', user: 'u1' } },
      { name: 'b', context: { cluster: 'two', user: 'u2' } },
    ],
    clusters: [
      { name: 'one', cluster: { server: 'https://127.0.0.1:1111' } },
      { name: 'two', cluster: { server: 'https://127.0.0.1:2222/', ...cluster } },
    ],
    users: [
      { name: 'u1', user: { token: 'wrong-one' } },
      { name: 'u2', user },
    ],
  });
}

test('the current context picks cluster and user; a bearer token becomes a header', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'config'), kubeconfig({ token: 'abc' }, { 'insecure-skip-tls-verify': true }));
  const auth = kubeconfigAuth(join(d, 'config'));
  t.after(() => auth.close());
  assert.equal(auth.server, 'https://127.0.0.1:2222');
  assert.deepEqual(await auth.headers(), { authorization: 'Bearer abc' });
});

test('relative file paths resolve against the kubeconfig, token files included', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'ca.crt'), 'not checked until a connection is made');
  writeFileSync(join(d, 'token'), 'first\n');
  writeFileSync(join(d, 'config'), kubeconfig({ tokenFile: 'token' }, { 'certificate-authority': 'ca.crt' }));
  const auth = loadAuth({ kubeconfig: join(d, 'config'), env: {} });
  t.after(() => auth.close());
  assert.deepEqual(await auth.headers(), { authorization: 'Bearer first' });
});

test('basic auth, and no credentials at all', async (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'basic'), kubeconfig({ username: 'u', password: 'p' }));
  writeFileSync(join(d, 'none'), kubeconfig({}));
  const basic = kubeconfigAuth(join(d, 'basic'));
  const none = kubeconfigAuth(join(d, 'none'));
  t.after(() => Promise.all([basic.close(), none.close()]));
  assert.deepEqual(await basic.headers(), {
    authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
  });
  assert.deepEqual(await none.headers(), {});
});

test('exec plugins are left to the client library; the server is known at once', (t) => {
  const d = dir(t);
  writeFileSync(
    join(d, 'config'),
    kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } }),
  );
  const auth = kubeconfigAuth(join(d, 'config'));
  t.after(() => auth.close());
  assert.equal(auth.server, 'https://127.0.0.1:2222');
});

test('broken kubeconfigs get clear errors', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'empty'), '');
  writeFileSync(join(d, 'nocontext'), stringify({ 'current-context': 'x', contexts: [] }));
  assert.throws(() => kubeconfigAuth(join(d, 'empty')), /not a kubeconfig/);
  assert.throws(() => kubeconfigAuth(join(d, 'nocontext')), /no context "x"/);
  assert.throws(() => kubeconfigAuth(join(d, 'missing')), /ENOENT/);
});
