// End to end: a namespace being deleted releases its Ingresses' hosts at once. Its pods go first
// and its Ingresses linger (here for as long as a finalizer holds one); meanwhile the webhook must
// admit the host's new owner in another namespace, and the data plane must route the host, and
// unmatched requests, to the new owner instead of to the departing namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk } from '../../operator/testing/harness.ts';
import { hostIngress } from '../../operator/testing/objects.ts';
import { loadConfig } from '../../webhooks/config.ts';
import { webhookConfiguration, webhookRbac } from '../../webhooks/manifests.ts';
import { buildWebhook, type RunningWebhook } from '../../webhooks/start.ts';
import { echoApp, list, rolledOut, startStack } from '../support/stack.ts';

type Json = Record<string, unknown>;

const HOLD = 'example.com/hold';

function siteIngress(className: string, host: string, service: string, finalizers: string[] = []): Json {
  return hostIngress('site', className, host, service, {
    finalizers,
    defaultBackend: { service },
  }) as Json;
}

test('a terminating namespace releases its hosts and default backend', async (t) => {
  const stack = await startStack(t);
  const { c, cls, app: nsB } = stack;
  const run = randomBytes(4).toString('hex');
  const host = `moved-${run}.example.com`;
  const label = 'sluice.dev/terminating-test';
  const kubectl = (args: string[], input?: string) => c.kubectl(args, input === undefined ? {} : { input });

  // Namespace A, deleted by the test; its finalizer is removed on the way out even on failure.
  const nsA = `e2e-leaving-${run}`;
  await kubectlOk(c, ['create', 'namespace', nsA]);
  t.after(async () => {
    await kubectl([
      '-n',
      nsA,
      'patch',
      'ingress',
      'site',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await kubectl(['delete', 'namespace', nsA, '--wait=false', '--ignore-not-found']);
  });
  for (const ns of [nsA, nsB])
    await kubectlOk(c, ['label', 'namespace', ns, `${label}=${run}`, 'sluice.dev/test=true']);

  // The webhook in-process, under a ServiceAccount with exactly webhookRbac()'s rules, reviewing
  // only this test's class in these two namespaces.
  const name = `sluice-webhook-terminating-${run}`;
  const { clusterRole, role } = webhookRbac({
    name,
    namespace: stack.sys,
    selfManaged: true,
    webhookConfigurationName: name,
  });
  t.after(() => kubectl(['delete', 'clusterrole,clusterrolebinding', name, '--ignore-not-found']));
  const subject = [{ kind: 'ServiceAccount', name: 'webhook', namespace: stack.sys }];
  await kubectlOk(
    c,
    ['apply', '-f', '-'],
    list([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sluice-webhook-certs', namespace: stack.sys },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': '', 'tls.key': '' },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'webhook', namespace: stack.sys } },
      clusterRole as unknown as Json,
      role as unknown as Json,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: subject,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: stack.sys },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: subject,
      },
    ]),
  );
  const token = (await kubectlOk(c, ['-n', stack.sys, 'create', 'token', 'webhook', '--duration=1h'])).trim();
  const kc = new KubeConfig();
  const admin = c.kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [admin],
    users: [{ name: 'webhook', token }],
    contexts: [{ name: 'webhook', cluster: admin.name, user: 'webhook' }],
    currentContext: 'webhook',
  });
  const webhook: RunningWebhook = await buildWebhook(
    loadConfig(
      [
        '--address=127.0.0.1',
        '--port=0',
        '--ops-address=127.0.0.1',
        '--ops-port=0',
        `--namespace=${stack.sys}`,
        `--controller-name=${cls.controllerName}`,
        `--class-name=${cls.className}`,
        `--webhook-configuration-name=${name}`,
        '--tls-extra-names=127.0.0.1',
      ],
      {},
    ),
    { kubeConfig: kc, logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }) },
  ).start();
  // Cleanups run last-registered first: the registration goes before the webhook stops.
  t.after(() => webhook.close());
  await webhook.cache.waitForSync();
  t.after(() => kubectl(['delete', 'validatingwebhookconfiguration', name, '--ignore-not-found']));
  await kubectlOk(
    c,
    ['apply', '-f', '-'],
    JSON.stringify(
      webhookConfiguration({
        name,
        namespace: stack.sys,
        url: `https://127.0.0.1:${webhook.port}`,
        caBundle: webhook.selfManaged!.state!.bundle.join(''),
        classNames: [cls.className],
        namespaceLabels: { [label]: run },
      }),
    ),
  );

  // A owns the host and sets the default backend; B has its app ready.
  await kubectlOk(
    c,
    ['-n', nsA, 'apply', '-f', '-'],
    list([...echoApp('app', 'from-a'), siteIngress(cls.className, host, 'app', [HOLD])]),
  );
  await stack.apply(echoApp('app', 'from-b'));
  await rolledOut(stack, 'app', 1);
  await until(async () => (await stack.get(host)).text === 'from-a', `${host} served by namespace A`);
  await until(
    async () => (await stack.get(`unmatched-${run}.example.com`)).text === 'from-a',
    'unmatched requests served by the default backend of namespace A',
  );

  // While A is live, B cannot take the host: the webhook is in force for B.
  const claimB = list([siteIngress(cls.className, host, 'app')]);
  await until(async () => {
    const r = await kubectl(['-n', nsB, 'apply', '--dry-run=server', '-f', '-'], claimB);
    return r.code !== 0 && r.stderr.includes(`belongs to namespace ${nsA}`);
  }, 'the webhook to refuse B while A owns the host');

  await kubectlOk(c, ['delete', 'namespace', nsA, '--wait=false']);
  await until(async () => {
    const ns = JSON.parse(await kubectlOk(c, ['get', 'namespace', nsA, '-o', 'json']));
    return ns.status?.phase === 'Terminating';
  }, `namespace ${nsA} terminating`);

  // A's Ingress lingers (its finalizer), yet B's Ingress for the host is admitted.
  let refusal = '';
  await until(async () => {
    const r = await kubectl(['-n', nsB, 'apply', '-f', '-'], claimB);
    refusal = r.stderr.trim();
    return r.code === 0;
  }, `the webhook to admit B's Ingress for ${host}`).catch((err: Error) => {
    throw new Error(`${err.message}; last refusal: ${refusal}`);
  });
  // A's Ingress is still there: the namespace's pods go first, its Ingresses later.
  const lingering = JSON.parse(await kubectlOk(c, ['-n', nsA, 'get', 'ingress', 'site', '-o', 'json']));
  assert.equal(lingering.metadata.name, 'site');

  // The data plane routes the host and unmatched requests to B.
  await until(async () => (await stack.get(host)).text === 'from-b', `${host} served by namespace B`);
  await until(
    async () => (await stack.get(`unmatched-${run}.example.com`)).text === 'from-b',
    'unmatched requests served by the default backend of namespace B',
  );
  for (let i = 0; i < 10; i++) assert.equal((await stack.get(host)).text, 'from-b');

  // Once the namespace controller deletes A's Ingress, the finalizer keeps it; B keeps the host.
  await until(async () => {
    const ing = JSON.parse(await kubectlOk(c, ['-n', nsA, 'get', 'ingress', 'site', '-o', 'json']));
    return ing.metadata.deletionTimestamp !== undefined;
  }, `A's Ingress to be deleted (held by ${HOLD})`);
  assert.equal((await stack.get(host)).text, 'from-b');

  // The finalizer comes off (an update the webhook lets through) and the namespace goes.
  await kubectlOk(c, [
    '-n',
    nsA,
    'patch',
    'ingress',
    'site',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":null}}',
  ]);
  await until(async () => {
    const r = await kubectl(['get', 'namespace', nsA, '--ignore-not-found', '-o', 'name']);
    return r.code === 0 && r.stdout.trim() === '';
  }, `namespace ${nsA} to be gone`);
  assert.equal((await stack.get(host)).text, 'from-b');
});
