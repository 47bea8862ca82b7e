// The local control plane behaves like a real cluster: version, CRDs, RBAC with real
// service-account tokens, controllers (Deployment -> ReplicaSet -> Pods), namespace finalisation.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { cluster } from '../support/cluster.ts';

test('the API server is ready and reports its real version', async () => {
  const c = await cluster();
  const ready = await c.kubectl(['get', '--raw', '/readyz']);
  assert.equal(ready.code, 0, ready.stderr);
  assert.equal(ready.stdout.trim(), 'ok');
  const v = await c.kubectl(['version', '-o', 'json']);
  assert.equal(v.code, 0, v.stderr);
  const server = JSON.parse(v.stdout).serverVersion as { major: string; minor: string; gitVersion: string };
  assert.equal(server.major, '1');
  assert.ok(Number(server.minor) >= 33, `server minor ${server.minor}`);
  assert.match(server.gitVersion, /^v1\.\d+\.\d+$/);
});

test('a CRD applied with kubectl is served', async (t) => {
  const c = await cluster();
  const ns = await c.namespace(t, 'crd');
  const group = `${ns}.test.sluice.dev`;
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
`;
  t.after(() => c.kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false']));
  const applied = await c.kubectl(['apply', '-f', '-'], { input: crd });
  assert.equal(applied.code, 0, applied.stderr);
  const est = await c.kubectl([
    'wait',
    '--for=condition=Established',
    `crd/widgets.${group}`,
    '--timeout=60s',
  ]);
  assert.equal(est.code, 0, est.stderr);
  const widget = `apiVersion: ${group}/v1\nkind: Widget\nmetadata: {name: w1, namespace: ${ns}}\nspec: {size: 3}\n`;
  const created = await until(
    async () => {
      const r = await c.kubectl(['apply', '-f', '-'], { input: widget });
      return r.code === 0 ? r : undefined;
    },
    'the new resource to be served',
    60_000,
    200,
  );
  assert.match(created.stdout, /widget\.[^ ]+\/w1 created/);
  const got = await c.kubectl(['get', `widgets.${group}`, 'w1', '-n', ns, '-o', 'jsonpath={.spec.size}']);
  assert.equal(got.stdout, '3');
  const invalid = await c.kubectl(['apply', '-f', '-'], { input: widget.replace('size: 3', 'size: 0') });
  assert.notEqual(invalid.code, 0);
  assert.match(invalid.stderr, /spec\.size: Invalid value: 0/);
});

test('RBAC denies a fresh service account and allows it after a RoleBinding', async (t) => {
  const c = await cluster();
  const ns = await c.namespace(t, 'rbac');
  assert.equal((await c.kubectl(['create', 'serviceaccount', 'reader', '-n', ns])).code, 0);
  const token = await c.kubectl(['create', 'token', 'reader', '-n', ns, '--duration=10m']);
  assert.equal(token.code, 0, token.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-rbac-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const admin = readFileSync(c.kubeconfig, 'utf8');
  const ca = /certificate-authority: (.+)/.exec(admin)?.[1];
  assert.ok(ca);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${c.server}", certificate-authority: "${ca}"}}]
users: [{name: reader, user: {token: "${token.stdout.trim()}"}}]
contexts: [{name: c, context: {cluster: c, user: reader}}]
current-context: c
`,
  );
  const who = await c.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
    kubeconfig,
  });
  assert.equal(who.stdout, `system:serviceaccount:${ns}:reader`);
  const denied = await c.kubectl(['get', 'configmaps', '-n', ns], { kubeconfig });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/);

  assert.equal(
    (await c.kubectl(['create', 'role', 'cm-reader', '--verb=get,list', '--resource=configmaps', '-n', ns]))
      .code,
    0,
  );
  assert.equal(
    (
      await c.kubectl([
        'create',
        'rolebinding',
        'cm-reader',
        '--role=cm-reader',
        `--serviceaccount=${ns}:reader`,
        '-n',
        ns,
      ])
    ).code,
    0,
  );
  const allowed = await until(
    async () => {
      const r = await c.kubectl(['get', 'configmaps', '-n', ns, '-o', 'name'], { kubeconfig });
      return r.code === 0 ? r : undefined;
    },
    'the RoleBinding to take effect',
    60_000,
    200,
  );
  assert.match(allowed.stdout, /configmap\/kube-root-ca\.crt/);
  // Still nothing beyond what the Role grants.
  const secrets = await c.kubectl(['get', 'secrets', '-n', ns], { kubeconfig });
  assert.match(secrets.stderr, /forbidden/);
});

test('a Deployment creates a ReplicaSet and its Pods', async (t) => {
  const c = await cluster();
  const ns = await c.namespace(t, 'deploy');
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: sluice.dev/does-not-exist:v1}]
`;
  const r = await c.kubectl(['apply', '-f', '-'], { input: deployment });
  assert.equal(r.code, 0, r.stderr);
  const rs = await until(
    async () => {
      const out = await c.kubectl(['get', 'rs', '-n', ns, '-l', 'app=web', '-o', 'json']);
      const items = JSON.parse(out.stdout).items as Array<{
        metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string }> };
      }>;
      return items.length === 1 ? items[0] : undefined;
    },
    'a ReplicaSet',
    60_000,
    200,
  );
  assert.deepEqual(
    rs.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
    ['Deployment/web'],
  );
  const pods = await until(
    async () => {
      const out = await c.kubectl(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'json']);
      const items = JSON.parse(out.stdout).items as Array<{
        metadata: { ownerReferences?: Array<{ kind: string; name: string }> };
        status?: { phase?: string };
      }>;
      return items.length === 3 ? items : undefined;
    },
    'three Pods',
    60_000,
    200,
  );
  for (const p of pods) {
    assert.deepEqual(
      p.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
      [`ReplicaSet/${rs.metadata.name}`],
    );
    // The image is in no image table, so no pod can run.
    assert.equal(p.status?.phase, 'Pending');
  }
});

test('namespace deletion completes', async () => {
  const c = await cluster();
  const ns = `gone-${Date.now().toString(36)}`;
  assert.equal((await c.kubectl(['create', 'namespace', ns])).code, 0);
  assert.equal((await c.kubectl(['create', 'configmap', 'data', '--from-literal=a=b', '-n', ns])).code, 0);
  const del = await c.kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=120s']);
  assert.equal(del.code, 0, del.stderr);
  const get = await c.kubectl(['get', 'namespace', ns]);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /NotFound/);
});
