// The admission webhook against the real API server: registered by URL with its own caBundle,
// running under a ServiceAccount with only the RBAC of webhookRbac(), scoped by namespace label
// and IngressClass so that nothing else on the shared cluster is reviewed by it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { until } from '../../contract/testing/poll.ts';
import { ingress, ingressClass, routeRatio, service } from '../../operator/testing/objects.ts';
import { splitPem } from '../../runtime/pki.ts';
import { loadConfig } from '../../webhooks/config.ts';
import { webhookConfiguration, webhookRbac } from '../../webhooks/manifests.ts';
import { buildWebhook, type RunningWebhook } from '../../webhooks/start.ts';
import { cluster, type TestCluster } from '../support/cluster.ts';

const root = join(import.meta.dirname, '../..');
const run = randomBytes(3).toString('hex');
const className = `wh-${run}`;
const controllerName = `sluice.dev/webhook-test-${run}`;
const vwcName = `sluice-webhook-test-${run}`;
const rbacName = `sluice-webhook-test-${run}`;
const testLabel = 'sluice.dev/webhook-test';
const host = `shop-${run}.example.com`;

function ingressYaml(
  ns: string,
  name: string,
  rules: Array<{ host: string; path: string }>,
  cls: string = className,
  annotations: Record<string, string> = {},
): string {
  return JSON.stringify(
    ingress(name, {
      namespace: ns,
      annotations,
      className: cls,
      rules: rules.map((r) => ({ host: r.host, paths: [{ path: r.path }] })),
    }),
  );
}

function routeRatioYaml(ns: string, name: string, backends: string[]): string {
  return JSON.stringify(
    routeRatio(name, {
      namespace: ns,
      backends: backends.map((b, i) => ({ name: b, weight: i === 0 ? 90 : 10 })),
    }),
  );
}

function reviews(webhook: RunningWebhook): Promise<number> {
  return webhook.metrics.admissions.get().then((m) => m.values.reduce((n, v) => n + v.value, 0));
}

describe('admission webhook on a real API server', () => {
  let c: TestCluster;
  let webhook: RunningWebhook;
  let sys: string;
  let ns1: string;
  let ns2: string;
  const cleanups: Array<() => Promise<unknown>> = [];
  const kubectl = (args: string[], input?: string) => c.kubectl(args, input === undefined ? {} : { input });
  const apply = (obj: string, extra: string[] = []) => kubectl(['apply', '-f', '-', ...extra], obj);

  before(async () => {
    c = await cluster();
    // namespace() registers the deletion with t.after; here the suite's own list does that.
    const nsT = { after: (fn: () => unknown) => cleanups.push(async () => fn()) } as never;
    sys = await c.namespace(nsT, 'wh-sys');
    ns1 = await c.namespace(nsT, 'wh-shop');
    ns2 = await c.namespace(nsT, 'wh-evil');
    for (const ns of [ns1, ns2]) {
      assert.equal((await kubectl(['label', 'namespace', ns, `${testLabel}=${run}`])).code, 0);
    }
    // The CRD belongs to the project; it stays installed for other tests.
    const crd = await kubectl(['apply', '-f', join(root, 'crds/routeratio.yaml')]);
    assert.equal(crd.code, 0, crd.stderr);
    await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/routeratios.sluice.dev']);

    cleanups.push(() => kubectl(['delete', 'ingressclass', className, '--ignore-not-found']));
    const cls = ingressClass(className, { controller: controllerName });
    assert.equal((await apply(JSON.stringify(cls))).code, 0);

    // The webhook's identity: a ServiceAccount bound to exactly webhookRbac()'s rules.
    const { clusterRole, role } = webhookRbac({
      selfManaged: true,
      namespace: sys,
      webhookConfigurationName: vwcName,
      name: rbacName,
    });
    cleanups.push(() =>
      kubectl(['delete', 'clusterrole,clusterrolebinding', rbacName, '--ignore-not-found']),
    );
    const subject = [{ kind: 'ServiceAccount', name: 'webhook', namespace: sys }];
    // As the chart does: the certificate Secret exists, empty, so the webhook needs no create right.
    const emptySecret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sluice-webhook-certs', namespace: sys },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': '', 'tls.key': '' },
    };
    const objects = [
      emptySecret,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'webhook', namespace: sys } },
      clusterRole,
      role,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: rbacName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rbacName },
        subjects: subject,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: rbacName, namespace: sys },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: rbacName },
        subjects: subject,
      },
    ];
    const rbac = await apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    assert.equal(rbac.code, 0, rbac.stderr);
    const token = await kubectl(['-n', sys, 'create', 'token', 'webhook', '--duration=1h']);
    assert.equal(token.code, 0, token.stderr);
    const kc = new KubeConfig();
    const adminCluster = c.kc.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [adminCluster],
      users: [{ name: 'webhook', token: token.stdout.trim() }],
      contexts: [{ name: 'webhook', cluster: adminCluster.name, user: 'webhook' }],
      currentContext: 'webhook',
    });

    const config = loadConfig(
      [
        '--address=127.0.0.1',
        '--port=0',
        '--ops-address=127.0.0.1',
        '--ops-port=0',
        `--namespace=${sys}`,
        `--controller-name=${controllerName}`,
        `--class-name=${className}`,
        `--webhook-configuration-name=${vwcName}`,
        '--tls-extra-names=127.0.0.1',
        '--ca-validity=2h',
        '--cert-validity=1h',
        '--ca-propagation-delay=2s',
        '--cert-check-interval=250ms',
      ],
      {},
    );
    webhook = await buildWebhook(config, {
      kubeConfig: kc,
      logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
    }).start();
    cleanups.push(() => webhook.close());
    await webhook.cache.waitForSync();

    cleanups.push(() => kubectl(['delete', 'validatingwebhookconfiguration', vwcName, '--ignore-not-found']));
    const vwc = webhookConfiguration({
      name: vwcName,
      namespace: sys,
      url: `https://127.0.0.1:${webhook.port}`,
      caBundle: webhook.selfManaged!.state!.bundle.join(''),
      classNames: [className],
      namespaceLabels: { [testLabel]: run },
    });
    const registered = await apply(JSON.stringify(vwc));
    assert.equal(registered.code, 0, registered.stderr);
    // Registration takes effect once the API server's webhook informer has it: wait for a denial.
    const probe = ingressYaml(ns1, 'probe', [{ host: `probe-${run}.example.com`, path: '/' }], className, {
      'sluice.dev/probe': 'x',
    });
    await until(
      async () => (await apply(probe, ['--dry-run=server'])).code !== 0,
      'the webhook registration to take effect',
    );
  });

  after(async () => {
    // Configuration first (it would block every later apply), then the rest, newest first.
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  });

  test('ready on the ops port', async () => {
    const res = await fetch(`http://127.0.0.1:${webhook.opsPort}/readyz`);
    assert.equal(res.status, 200);
  });

  test('kubectl apply of a conflicting Ingress fails with the message', async () => {
    const first = await apply(ingressYaml(ns1, 'api-v1', [{ host, path: '/api' }]));
    assert.equal(first.code, 0, first.stderr);
    await until(() => webhook.cache.ingresses.get(ns1, 'api-v1') !== undefined, 'the cache to see api-v1');
    const created = webhook.cache.ingresses.get(ns1, 'api-v1')!.metadata!
      .creationTimestamp as unknown as string;
    const second = await apply(ingressYaml(ns1, 'api-v2', [{ host, path: '/api' }]));
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /admission webhook "ingress\.validate\.sluice\.dev" denied the request/);
    assert.ok(
      second.stderr.includes(
        `host "${host}" path "/api" (Prefix) is already routed by Ingress ${ns1}/api-v1 (created ${created})`,
      ),
      second.stderr,
    );
  });

  test('the same host and path in another class is accepted and never sent to the webhook', async () => {
    const seen = await reviews(webhook);
    const other = await apply(ingressYaml(ns1, 'other-class', [{ host, path: '/api' }], `other-${run}`));
    assert.equal(other.code, 0, other.stderr);
    assert.equal(await reviews(webhook), seen, 'matchConditions kept the other class away');
  });

  test('editing an Ingress works', async () => {
    const edited = await apply(
      ingressYaml(ns1, 'api-v1', [
        { host, path: '/api' },
        { host, path: '/v2' },
      ]),
    );
    assert.equal(edited.code, 0, edited.stderr);
  });

  test('renaming works: delete the old name, create the new one right away', async () => {
    assert.equal((await kubectl(['-n', ns1, 'delete', 'ingress', 'api-v1'])).code, 0);
    const renamed = await apply(
      ingressYaml(ns1, 'api', [
        { host, path: '/api' },
        { host, path: '/v2' },
      ]),
    );
    assert.equal(renamed.code, 0, renamed.stderr);
    await until(
      () => webhook.cache.ingresses.get(ns1, 'api') !== undefined,
      'the cache to see the renamed Ingress',
    );
  });

  test('a denial is re-checked with the API server when the cache lags behind', async () => {
    const rules = [{ host: `lag-${run}.example.com`, path: '/' }];
    assert.equal((await apply(ingressYaml(ns1, 'lag-old', rules))).code, 0);
    await until(() => webhook.cache.ingresses.get(ns1, 'lag-old') !== undefined, 'the cache to see lag-old');
    const rechecks = async () =>
      (await webhook.metrics.staleRechecks.get()).values.find((v) => v.labels.outcome === 'stale-cache')
        ?.value ?? 0;
    const before = await rechecks();
    // Freeze the Ingress cache: it keeps lag-old after the API server has deleted it.
    await webhook.cache.ingresses.stop();
    try {
      assert.equal((await kubectl(['-n', ns1, 'delete', 'ingress', 'lag-old'])).code, 0);
      assert.ok(webhook.cache.ingresses.get(ns1, 'lag-old'), 'the cache is stale');
      const fresh = await apply(ingressYaml(ns1, 'lag-new', rules));
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal(await rechecks(), before + 1);
    } finally {
      webhook.cache.ingresses.start();
    }
    await until(() => webhook.cache.ingresses.get(ns1, 'lag-new') !== undefined, 'the cache to catch up');
    assert.equal(webhook.cache.ingresses.get(ns1, 'lag-old'), undefined);
  });

  test('a cross-namespace host claim is refused', async () => {
    const grab = await apply(ingressYaml(ns2, 'grab', [{ host, path: '/admin' }]));
    assert.notEqual(grab.code, 0);
    assert.ok(grab.stderr.includes(`host "${host}" belongs to namespace ${ns1}`), grab.stderr);
  });

  test('an unknown or badly valued sluice.dev annotation is refused, naming it', async () => {
    const rules = [{ host: `bad-${run}.example.com`, path: '/' }];
    const unknown = await apply(
      ingressYaml(ns1, 'bad', rules, className, { 'sluice.dev/server-snippet': 'x' }),
    );
    assert.notEqual(unknown.code, 0);
    assert.match(
      unknown.stderr,
      /denied the request: metadata\.annotations\["sluice\.dev\/server-snippet"\]: unknown/,
    );
    const value = await apply(
      ingressYaml(ns1, 'bad', rules, className, { 'sluice.dev/ssl-redirect': 'maybe\nnot' }),
    );
    assert.notEqual(value.code, 0);
    assert.match(value.stderr, /sluice\.dev\/ssl-redirect/);
    assert.doesNotMatch(value.stderr, /maybe\nnot/);
  });

  test('a duplicate RouteRatio is refused; a missing backend is accepted with a Warning', async () => {
    const svc = service('web-v1', { namespace: ns1, ports: [{ port: 80 }] });
    assert.equal((await apply(JSON.stringify(svc))).code, 0);
    await until(
      () => webhook.cache.services.get(ns1, 'web-v1') !== undefined,
      'the cache to see Service web-v1',
    );
    const first = await apply(routeRatioYaml(ns1, 'checkout', ['web-v1', 'web-v2']));
    assert.equal(first.code, 0, first.stderr);
    assert.ok(
      first.stderr.includes(
        `Warning: spec.backends[1]: Service ${ns1}/web-v2 does not exist (yet); its share of requests gets 503`,
      ),
      first.stderr,
    );
    assert.doesNotMatch(first.stderr, /web-v1 does not exist/);
    await until(
      () => webhook.cache.routeRatios.get(ns1, 'checkout') !== undefined,
      'the cache to see the RouteRatio',
    );
    const dup = await apply(routeRatioYaml(ns1, 'checkout-2', ['web-v1']));
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /admission webhook "routeratio\.validate\.sluice\.dev" denied the request/);
    assert.ok(
      dup.stderr.includes(
        `service web port 80 in namespace ${ns1} is already split by RouteRatio ${ns1}/checkout`,
      ),
      dup.stderr,
    );
    const canary = await kubectl([
      '-n',
      ns1,
      'patch',
      'rr',
      'checkout',
      '--type',
      'merge',
      '-p',
      '{"spec":{"backends":[{"name":"web-v1","port":{"number":80},"weight":0}]}}',
    ]);
    assert.equal(canary.code, 0, canary.stderr);
    assert.match(canary.stderr, /Warning: spec\.backends: every weight is 0/);
  });

  test('rotating the CA and serving certificate causes no failed admission', async () => {
    const sm = webhook.selfManaged!;
    const oldCa = sm.state!.ca!.cert;
    const peerIssuer = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: webhook.port, rejectUnauthorized: false }, () => {
          resolve(String(s.getPeerCertificate().issuer.CN) + s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
    const issuerBefore = await peerIssuer();
    const results: Array<{ code: number; stderr: string; phase: string }> = [];
    let phase = 'before';
    let stop = false;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await apply(
          ingressYaml(ns1, `rot-${i}`, [{ host: `rot-${i}-${run}.example.com`, path: '/' }]),
          ['--dry-run=server'],
        );
        results.push({ code: r.code, stderr: r.stderr, phase });
      }
    })();
    try {
      await until(() => results.length >= 2, 'admissions before rotation');
      phase = 'staged';
      await sm.rotate('ca');
      const vwc = JSON.parse(
        (await kubectl(['get', 'validatingwebhookconfiguration', vwcName, '-o', 'json'])).stdout,
      );
      const bundle = Buffer.from(vwc.webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
      assert.equal(splitPem(bundle).length, 2, 'old and new CA are both trusted during the rotation');
      await until(() => sm.state?.ca?.cert !== oldCa, 'the new CA to sign the serving certificate', 60_000);
      phase = 'promoted';
      assert.notEqual(
        await peerIssuer(),
        issuerBefore,
        'the server presents the new certificate without a restart',
      );
      const promotedAt = results.length;
      await until(() => results.length >= promotedAt + 3, 'admissions after rotation', 60_000);
    } finally {
      stop = true;
      await loop;
    }
    const failed = results.filter((r) => r.code !== 0);
    assert.deepEqual(failed, [], 'every admission during the rotation succeeded');
    assert.ok(results.some((r) => r.phase === 'staged'));
    assert.ok(results.some((r) => r.phase === 'promoted'));
    const secret = JSON.parse(
      (await kubectl(['-n', sys, 'get', 'secret', 'sluice-webhook-certs', '-o', 'json'])).stdout,
    );
    assert.equal(secret.type, 'kubernetes.io/tls');
  });

  test('two replicas starting together on an empty Secret both serve TLS, with one certificate', async () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'race-certs', namespace: sys },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': '', 'tls.key': '' },
    };
    assert.equal((await apply(JSON.stringify(secret))).code, 0);
    const config = loadConfig(
      [
        '--address=127.0.0.1',
        '--port=0',
        '--ops-address=127.0.0.1',
        '--ops-port=0',
        `--namespace=${sys}`,
        '--cert-secret-name=race-certs',
        `--webhook-configuration-name=race-none-${run}`,
        '--tls-extra-names=127.0.0.1',
      ],
      {},
    );
    const logger = pino({ level: 'silent' });
    const replicas = await Promise.all([
      buildWebhook(config, { kubeConfig: c.kc, logger }).start(),
      buildWebhook(config, { kubeConfig: c.kc, logger }).start(),
    ]);
    try {
      const presented = await Promise.all(
        replicas.map(
          (r) =>
            new Promise<string>((resolve, reject) => {
              const s = connect({ host: '127.0.0.1', port: r.port, rejectUnauthorized: false }, () => {
                resolve(s.getPeerCertificate().fingerprint256);
                s.end();
              });
              s.on('error', reject);
            }),
        ),
      );
      // Both converge on the certificate stored in the Secret (the loser of the race re-reads it).
      await until(
        () => replicas[0].serving()?.cert === replicas[1].serving()?.cert,
        'both replicas to load the stored certificate',
      );
      assert.equal(presented.length, 2);
      for (const fp of presented) assert.match(fp, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  test('the webhook identity cannot read Secrets other than its own', async () => {
    const sa = `system:serviceaccount:${sys}:webhook`;
    const can = async (...args: string[]) =>
      (await kubectl(['auth', 'can-i', ...args, '--as', sa])).stdout.trim();
    assert.equal(await can('get', 'secret/sluice-webhook-certs', '-n', sys), 'yes');
    assert.equal(await can('get', 'secret/other', '-n', sys), 'no');
    assert.equal(await can('list', 'secrets', '-n', sys), 'no');
    assert.equal(await can('get', 'secrets', '-n', ns1), 'no');
    assert.equal(await can('list', 'secrets', '--all-namespaces'), 'no');
    assert.equal(await can('watch', 'ingresses', '--all-namespaces'), 'yes');
  });

  test('after an API server restart the cache follows new changes', async () => {
    await c.restartApiServer();
    const rules = [{ host: `restart-${run}.example.com`, path: '/' }];
    await until(
      async () => (await apply(ingressYaml(ns1, 'after-restart', rules))).code === 0,
      'an apply after the restart',
    );
    await until(
      () => webhook.cache.ingresses.get(ns1, 'after-restart') !== undefined,
      'the watch to resume',
      60_000,
    );
    const dup = await apply(ingressYaml(ns1, 'after-restart-2', rules));
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`already routed by Ingress ${ns1}/after-restart `));
  });
});
