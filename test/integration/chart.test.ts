// The Helm chart: lint and render with defaults and each major option, bad values refused with a
// clear message, the rendered manifests accepted by the real API server (dry run, then for real),
// least-privilege RBAC proved with the chart's own ServiceAccounts, and install / upgrade /
// uninstall with helm leaving nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { drift } from '../../hack/sync-crds.ts';
import { certManagerObjects, webhookConfiguration, webhookRbac } from '../../webhooks/manifests.ts';
import {
  all,
  certManagerCrds,
  chartDir,
  find,
  helm,
  type K8sObject,
  parseManifests,
  render,
  renderText,
  toYamlStream,
  validateCertManagerObject,
} from '../support/chart.ts';
import { cluster } from '../support/cluster.ts';

const REL = 'rel';
const NS = 'sluice-system';
const FULL = `${REL}-sluice`;

/** The major options: each must lint, render and be accepted by the API server. */
const OPTIONS: Record<string, object> = {
  defaults: {},
  'default IngressClass': { ingressClass: { default: true } },
  'NodePort Service': {
    dataplane: {
      service: { type: 'NodePort', nodePorts: { http: 30080, https: 30443 }, externalTrafficPolicy: 'Local' },
    },
  },
  'ClusterIP Service': { dataplane: { service: { type: 'ClusterIP' } } },
  'autoscaled data plane': { dataplane: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 6 } } },
  'cert-manager certificates': { webhook: { certificates: { mode: 'cert-manager' } } },
  'no webhook': { webhook: { enabled: false } },
  'no NetworkPolicies': { networkPolicy: { enabled: false } },
  'API server range for the webhook': { networkPolicy: { apiServerCIDRs: ['198.18.0.0/15', 'fd00::/64'] } },
  'existing config-API token Secret': { configApi: { existingSecret: 'my-config-token' } },
  'ingress-nginx mode, Ingress status left alone': {
    compat: { ingressNginx: { enabled: true, classNames: ['nginx', 'nginx-internal'] } },
    operator: { publishStatus: false },
  },
  'shared host ownership, single replicas': {
    hostOwnership: 'shared',
    operator: { replicas: 1 },
    webhook: { replicas: 1 },
    dataplane: { replicas: 1 },
  },
};

function deployment(objs: K8sObject[], component: string): K8sObject {
  return find(objs, 'Deployment', `${FULL}-${component}`);
}

function env(container: K8sObject, name: string): string | undefined {
  return container.env?.find((e: { name: string }) => e.name === name)?.value;
}

function assertHardened(dep: K8sObject): void {
  const pod = dep.spec.template.spec;
  const where = dep.metadata.name;
  assert.equal(pod.securityContext.runAsNonRoot, true, `${where}: runAsNonRoot`);
  assert.ok(pod.securityContext.runAsUser > 0, `${where}: non-root uid`);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', `${where}: seccomp`);
  assert.equal(pod.enableServiceLinks, false, `${where}: no service-link env`);
  for (const c of pod.containers) {
    const sc = c.securityContext;
    assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
    assert.equal(sc.privileged, false, `${where}: privileged`);
    assert.deepEqual(sc.capabilities.drop, ['ALL'], `${where}: capabilities`);
    for (const kind of ['requests', 'limits']) {
      assert.ok(c.resources[kind]?.cpu && c.resources[kind]?.memory, `${where}: resources.${kind}`);
    }
    assert.equal(c.livenessProbe.httpGet.path, '/healthz', `${where}: liveness`);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz', `${where}: readiness`);
    const portNames = c.ports.map((p: { name: string }) => p.name);
    assert.ok(portNames.includes(c.readinessProbe.httpGet.port), `${where}: probe port is declared`);
    assert.equal(c.image, 'sluice.dev/sluice:dev');
  }
}

/** Every binding subject that names this ServiceAccount. */
function bindingsOf(objs: K8sObject[], sa: string): K8sObject[] {
  return objs.filter(
    (o) =>
      (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
      o.subjects.some((s: { kind: string; name: string }) => s.kind === 'ServiceAccount' && s.name === sa),
  );
}

function rulesOf(objs: K8sObject[], kind: 'Role' | 'ClusterRole', name: string): unknown[] {
  return JSON.parse(JSON.stringify(find(objs, kind, name).rules));
}

describe('chart: lint and render', () => {
  test('helm lint passes with the defaults and with each major option', async () => {
    for (const [name, values] of Object.entries(OPTIONS)) {
      const r = await helm(['lint', chartDir, '--strict'], values);
      assert.equal(r.code, 0, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, name);
    }
  });

  test('defaults: every object the issue lists, hardened pods, least-privilege RBAC', async () => {
    const objs = await render({}, { release: REL, namespace: NS, includeCrds: true });
    const kinds = new Set(objs.map((o) => o.kind));
    for (const kind of [
      'IngressClass',
      'Deployment',
      'Service',
      'ServiceAccount',
      'PodDisruptionBudget',
      'ValidatingWebhookConfiguration',
      'Secret',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'NetworkPolicy',
      'Lease',
    ]) {
      assert.ok(kinds.has(kind), `renders a ${kind}`);
    }
    const ic = find(objs, 'IngressClass', 'sluice');
    assert.equal(ic.spec.controller, 'sluice.dev/ingress-controller');
    assert.equal(ic.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], undefined);

    const [operator, webhook, dataplane] = ['operator', 'webhook', 'dataplane'].map((c) =>
      deployment(objs, c),
    );
    for (const d of [operator, webhook, dataplane]) assertHardened(d);
    assert.equal(operator.spec.replicas, 2);
    assert.equal(webhook.spec.replicas, 2);
    assert.equal(dataplane.spec.replicas, 2);
    assert.deepEqual(operator.spec.template.spec.containers[0].args, ['operator/main.ts']);
    assert.deepEqual(webhook.spec.template.spec.containers[0].args, ['webhooks/main.ts']);
    assert.deepEqual(dataplane.spec.template.spec.containers[0].args, ['dataplane/main.ts']);

    // Leader election on the Lease the chart creates, with the pod name as identity.
    const op = operator.spec.template.spec.containers[0];
    assert.equal(env(op, 'SLUICE_LEASE_NAME'), `${FULL}-operator`);
    assert.equal(find(objs, 'Lease', `${FULL}-operator`).metadata.namespace, NS);
    assert.equal(
      op.env.find((e: { name: string }) => e.name === 'SLUICE_IDENTITY').valueFrom.fieldRef.fieldPath,
      'metadata.name',
    );
    assert.equal(env(op, 'SLUICE_DATAPLANE_SERVICE'), `${FULL}-dataplane-internal`);
    assert.equal(env(op, 'SLUICE_PUBLISH_SERVICE'), `${NS}/${FULL}-dataplane`);

    // The data plane: no API access at all, a drain window shorter than the grace period.
    const dpPod = dataplane.spec.template.spec;
    assert.equal(dpPod.automountServiceAccountToken, false);
    assert.equal(find(objs, 'ServiceAccount', `${FULL}-dataplane`).automountServiceAccountToken, false);
    assert.deepEqual(bindingsOf(objs, `${FULL}-dataplane`), [], 'no RBAC binding for the data plane');
    const preStop = dpPod.containers[0].lifecycle.preStop.sleep.seconds;
    assert.ok(
      preStop > 0 && preStop < dpPod.terminationGracePeriodSeconds,
      'preStop fits in the grace period',
    );
    assert.equal(dataplane.spec.strategy.rollingUpdate.maxUnavailable, 0);

    // The config-API token reaches the operator and the data plane, never the webhook.
    const tokenSecret = find(objs, 'Secret', `${FULL}-config-token`);
    assert.ok(Buffer.from(tokenSecret.data.token, 'base64').length >= 32, 'a long random token');
    const secretVolumes = (d: K8sObject) =>
      (d.spec.template.spec.volumes ?? [])
        .filter((v: { secret?: unknown }) => v.secret)
        .map((v: { secret: { secretName: string } }) => v.secret.secretName);
    assert.deepEqual(secretVolumes(operator), [`${FULL}-config-token`]);
    assert.deepEqual(secretVolumes(dataplane), [`${FULL}-config-token`]);
    assert.deepEqual(secretVolumes(webhook), []);

    // Services: the public one is a LoadBalancer with traffic ports only.
    const pub = find(objs, 'Service', `${FULL}-dataplane`);
    assert.equal(pub.spec.type, 'LoadBalancer');
    assert.deepEqual(
      pub.spec.ports.map((p: { targetPort: string }) => p.targetPort),
      ['http', 'https'],
    );
    const internal = find(objs, 'Service', `${FULL}-dataplane-internal`);
    assert.equal(internal.spec.clusterIP, 'None');
    assert.ok(internal.spec.ports.some((p: { name: string }) => p.name === 'config'));
    assert.equal(find(objs, 'Service', `${FULL}-webhook`).spec.ports[0].port, 443);

    // PDBs for every component with more than one replica.
    assert.deepEqual(
      all(objs, 'PodDisruptionBudget')
        .map((p) => p.metadata.name)
        .sort(),
      [`${FULL}-dataplane`, `${FULL}-operator`, `${FULL}-webhook`],
    );

    // Operator RBAC: reads what it compiles, writes only status, Events and its Lease.
    const opRules = rulesOf(objs, 'ClusterRole', `${FULL}-operator`) as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }>;
    const writes = opRules.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)));
    assert.deepEqual(writes.flatMap((r) => r.resources).sort(), [
      'events',
      'ingresses/status',
      'routeratios/status',
    ]);
    assert.deepEqual(rulesOf(objs, 'Role', `${FULL}-operator-leader-election`), [
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [`${FULL}-operator`],
        verbs: ['get', 'update'],
      },
    ]);

    // Webhook RBAC: no Secret in its ClusterRole; only its own certificate Secret by name.
    const whRules = rulesOf(objs, 'ClusterRole', `${FULL}-webhook`) as Array<{ resources: string[] }>;
    assert.ok(!whRules.some((r) => r.resources.includes('secrets')));
    assert.deepEqual(rulesOf(objs, 'Role', `${FULL}-webhook-certificate`), [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [`${FULL}-webhook-tls`],
        verbs: ['get', 'update'],
      },
    ]);

    // The webhook configuration: fail closed, short timeout, never kube-system nor our namespace.
    const vwc = find(objs, 'ValidatingWebhookConfiguration');
    for (const hook of vwc.webhooks) {
      assert.equal(hook.failurePolicy, 'Fail');
      assert.equal(hook.sideEffects, 'None');
      assert.ok(hook.timeoutSeconds <= 10);
      assert.deepEqual(hook.clientConfig.service.name, `${FULL}-webhook`);
      assert.deepEqual(hook.namespaceSelector.matchExpressions[0].values, ['kube-system', NS]);
    }

    // NetworkPolicies: the config API only from the operator.
    const dpPolicy = find(objs, 'NetworkPolicy', `${FULL}-dataplane`);
    const configRule = dpPolicy.spec.ingress.find((r: { ports: Array<{ port: string }> }) =>
      r.ports.some((p) => p.port === 'config'),
    );
    assert.deepEqual(configRule.from, [
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'sluice',
            'app.kubernetes.io/instance': REL,
            'app.kubernetes.io/component': 'operator',
          },
        },
      },
    ]);
    assert.ok(
      dpPolicy.spec.ingress.every((r: { ports: Array<{ port: string }> }) => r.ports.length > 0),
      'every rule names its ports',
    );
  });

  test('ingress-nginx mode reaches the operator, the webhook and its class filter', async () => {
    const objs = await render(OPTIONS['ingress-nginx mode, Ingress status left alone'], {
      release: REL,
      namespace: NS,
    });
    for (const component of ['operator', 'webhook']) {
      const c = deployment(objs, component).spec.template.spec.containers[0];
      assert.equal(env(c, 'SLUICE_INGRESS_NGINX_COMPAT'), 'true', component);
      assert.equal(env(c, 'SLUICE_INGRESS_NGINX_CLASS_NAMES'), 'nginx,nginx-internal', component);
    }
    const op = deployment(objs, 'operator').spec.template.spec.containers[0];
    assert.equal(env(op, 'SLUICE_PUBLISH_STATUS'), 'false');
    const want = webhookConfiguration({
      name: `${FULL}-admission`,
      namespace: NS,
      service: { name: `${FULL}-webhook` },
      classNames: ['sluice', 'nginx', 'nginx-internal'],
    });
    assert.deepEqual(
      find(objs, 'ValidatingWebhookConfiguration').webhooks,
      JSON.parse(JSON.stringify(want.webhooks)),
    );
    // Off by default: nothing of the mode is set.
    const plain = deployment(await render({}, { release: REL, namespace: NS }), 'operator').spec.template.spec
      .containers[0];
    assert.equal(env(plain, 'SLUICE_INGRESS_NGINX_COMPAT'), undefined);
    assert.equal(env(plain, 'SLUICE_PUBLISH_STATUS'), undefined);
  });

  test('the webhook objects mirror webhooks/manifests.ts', async () => {
    const svc = `${FULL}-webhook`;
    const self = await render({}, { release: REL, namespace: NS });
    const want = webhookConfiguration({
      name: `${FULL}-admission`,
      namespace: NS,
      service: { name: svc },
      classNames: ['sluice'],
    });
    assert.deepEqual(
      find(self, 'ValidatingWebhookConfiguration').webhooks,
      JSON.parse(JSON.stringify(want.webhooks)),
    );
    const rbac = webhookRbac({
      name: svc,
      namespace: NS,
      selfManaged: true,
      certSecretName: `${svc}-tls`,
      webhookConfigurationName: `${FULL}-admission`,
      createSecret: false,
    });
    assert.deepEqual(rulesOf(self, 'ClusterRole', svc), JSON.parse(JSON.stringify(rbac.clusterRole.rules)));
    // The chart creates the certificate Secret itself, so the webhook needs no `create` right.
    assert.deepEqual(
      rulesOf(self, 'Role', `${svc}-certificate`),
      JSON.parse(JSON.stringify(rbac.role?.rules)),
    );

    const cm = await render(
      {
        webhook: {
          certificates: { mode: 'cert-manager', certManager: { duration: '2160h', renewBefore: '720h' } },
        },
      },
      { release: REL, namespace: NS },
    );
    const vwc = find(cm, 'ValidatingWebhookConfiguration');
    assert.equal(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/${svc}-tls`);
    // Names are per release in the chart; the builder's fixed names map onto them.
    const mirrored = JSON.parse(
      JSON.stringify(
        certManagerObjects({
          namespace: NS,
          serviceName: svc,
          servingSecretName: `${svc}-tls`,
          servingDuration: '2160h',
        }),
      ).replaceAll('"sluice-webhook-ca"', JSON.stringify(`${svc}-ca`)),
    ) as K8sObject[];
    // Helm orders objects by kind, so compare as sorted sets.
    const specs = (objs: K8sObject[]) => objs.map((o) => JSON.stringify([o.kind, o.spec])).sort();
    assert.deepEqual(specs(cm.filter((o) => o.apiVersion === 'cert-manager.io/v1')), specs(mirrored));
    // With cert-manager the webhook keeps no webhook configuration of its own current.
    assert.deepEqual(
      rbac.clusterRole.rules?.filter((r) => !r.resources?.includes('validatingwebhookconfigurations')),
      rulesOf(cm, 'ClusterRole', svc),
    );
    assert.throws(() => find(cm, 'Role', `${svc}-certificate`), /no Role/);
  });

  test('each major option renders what it promises', async () => {
    const r = (values: object) => render(values, { release: REL, namespace: NS });

    const dflt = await r(OPTIONS['default IngressClass']);
    assert.equal(
      find(dflt, 'IngressClass').metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'],
      'true',
    );

    const nodePort = find(await r(OPTIONS['NodePort Service']), 'Service', `${FULL}-dataplane`);
    assert.equal(nodePort.spec.type, 'NodePort');
    assert.deepEqual(
      nodePort.spec.ports.map((p: { nodePort: number }) => p.nodePort),
      [30080, 30443],
    );
    assert.equal(nodePort.spec.externalTrafficPolicy, 'Local');

    const clusterIp = find(await r(OPTIONS['ClusterIP Service']), 'Service', `${FULL}-dataplane`);
    assert.equal(clusterIp.spec.type, 'ClusterIP');
    assert.equal(clusterIp.spec.externalTrafficPolicy, undefined);

    const hpaObjs = await r(OPTIONS['autoscaled data plane']);
    const hpa = find(hpaObjs, 'HorizontalPodAutoscaler', `${FULL}-dataplane`);
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 6]);
    assert.equal(hpa.spec.scaleTargetRef.name, `${FULL}-dataplane`);
    assert.equal(deployment(hpaObjs, 'dataplane').spec.replicas, undefined, 'the HPA owns the replica count');

    const cm = await r(OPTIONS['cert-manager certificates']);
    const cmObjs = cm.filter((o) => o.apiVersion === 'cert-manager.io/v1');
    assert.deepEqual(cmObjs.map((o) => o.kind).sort(), ['Certificate', 'Certificate', 'Issuer', 'Issuer']);
    for (const o of cmObjs) validateCertManagerObject(o);
    const wh = deployment(cm, 'webhook').spec.template.spec;
    assert.equal(env(wh.containers[0], 'SLUICE_TLS_MODE'), 'files');
    assert.equal(wh.volumes[0].secret.secretName, `${FULL}-webhook-tls`);
    assert.ok(
      !cm.some((o) => o.kind === 'Secret' && o.metadata.name === `${FULL}-webhook-tls`),
      'cert-manager writes it',
    );

    const noWebhook = await r(OPTIONS['no webhook']);
    assert.ok(!noWebhook.some((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'webhook'));
    assert.ok(!noWebhook.some((o) => o.kind === 'ValidatingWebhookConfiguration'));

    assert.deepEqual(all(await r(OPTIONS['no NetworkPolicies']), 'NetworkPolicy'), []);

    const cidrs = find(
      await r(OPTIONS['API server range for the webhook']),
      'NetworkPolicy',
      `${FULL}-webhook`,
    );
    assert.deepEqual(cidrs.spec.ingress[0].from, [
      { ipBlock: { cidr: '198.18.0.0/15' } },
      { ipBlock: { cidr: 'fd00::/64' } },
    ]);

    const existing = await r(OPTIONS['existing config-API token Secret']);
    assert.ok(!existing.some((o) => o.kind === 'Secret' && o.metadata.name.endsWith('config-token')));
    assert.equal(
      deployment(existing, 'dataplane').spec.template.spec.volumes[0].secret.secretName,
      'my-config-token',
    );

    const shared = await r(OPTIONS['shared host ownership, single replicas']);
    assert.equal(
      env(deployment(shared, 'operator').spec.template.spec.containers[0], 'SLUICE_HOST_OWNERSHIP'),
      'shared',
    );
    assert.deepEqual(
      all(shared, 'PodDisruptionBudget'),
      [],
      'no PDB that would block drains of a single replica',
    );
  });

  test('dataplane.serverHeader becomes SLUICE_SERVER_HEADER (sluice by default, none removes it)', async () => {
    const container = async (values: object) =>
      deployment(await render(values, { release: REL, namespace: NS }), 'dataplane').spec.template.spec
        .containers[0];
    assert.equal(env(await container({}), 'SLUICE_SERVER_HEADER'), 'sluice');
    for (const value of ['none', 'edge']) {
      const rendered = await container({ dataplane: { serverHeader: value } });
      assert.equal(env(rendered, 'SLUICE_SERVER_HEADER'), value);
    }
  });

  test('bad values each fail with a message that names the problem', async () => {
    const cases: Array<[object, RegExp]> = [
      [{ dataplane: { replicas: 0 } }, /at '\/dataplane\/replicas': minimum: got 0, want 1/],
      [
        { dataplane: { service: { type: 'Ingress' } } },
        /at '\/dataplane\/service\/type': value must be one of 'LoadBalancer', 'NodePort', 'ClusterIP'/,
      ],
      [{ operator: { replica: 3 } }, /at '\/operator': additional properties 'replica' not allowed/],
      [
        { containerSecurityContext: { readOnlyRootFilesystem: false } },
        /at '\/containerSecurityContext\/readOnlyRootFilesystem': value must be true/,
      ],
      [
        { containerSecurityContext: { capabilities: { add: ['NET_ADMIN'] } } },
        /at '\/containerSecurityContext\/capabilities\/add': maxItems/,
      ],
      [
        { podSecurityContext: { runAsNonRoot: false } },
        /at '\/podSecurityContext\/runAsNonRoot': value must be true/,
      ],
      [{ webhook: { timeoutSeconds: 31 } }, /at '\/webhook\/timeoutSeconds': maximum: got 31, want 30/],
      [
        { compat: { ingressNginx: { enabled: true, classNames: ['Bad_Name'] } } },
        /at '\/compat\/ingressNginx\/classNames\/0': /,
      ],
      [
        { webhook: { certificates: { mode: 'vault' } } },
        /at '\/webhook\/certificates\/mode': value must be one of 'self', 'cert-manager'/,
      ],
      [
        { webhook: { failurePolicy: 'Sometimes' } },
        /at '\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/,
      ],
      [
        { webhook: { certificates: { certManager: { duration: '90 days' } } } },
        /at '\/webhook\/certificates\/certManager\/duration'/,
      ],
      [{ hostOwnership: 'open' }, /at '\/hostOwnership': value must be one of 'strict', 'shared'/],
      [
        { ingressClass: { name: 'Sluice_Class' } },
        /at '\/ingressClass\/name': 'Sluice_Class' does not match pattern/,
      ],
      [
        { networkPolicy: { apiServerCIDRs: ['10.0.0.1'] } },
        /at '\/networkPolicy\/apiServerCIDRs\/0': '10.0.0.1' does not match pattern/,
      ],
      [
        { operator: { resources: { limits: null } } },
        /at '\/operator\/resources': missing property 'limits'/,
      ],
      [{ image: { tag: '' } }, /at '\/image\/tag': minLength: got 0, want 1/],
      [
        { dataplane: { service: { type: 'NodePort', nodePorts: { http: 80 } } } },
        /at '\/dataplane\/service\/nodePorts\/http': minimum: got 80, want 30,?000/,
      ],
      [
        { dataplane: { service: { nodePorts: { http: 30080 } } } },
        /nodePorts is set but dataplane.service.type is "LoadBalancer": nodePorts only apply to type NodePort/,
      ],
      [
        { dataplane: { drain: { preStopSeconds: 60 } } },
        /terminationGracePeriodSeconds \(60\) must be longer than dataplane.drain.preStopSeconds \(60\)/,
      ],
      [
        { dataplane: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } } },
        /minReplicas \(5\) must not exceed maxReplicas \(3\)/,
      ],
      [{ ingressClass: { create: false, default: true } }, /ingressClass.default needs ingressClass.create/],
      [
        { dataplane: { serverHeader: 'a\r\nx-injected: 1' } },
        /at '\/dataplane\/serverHeader': .* does not match pattern/,
      ],
      [
        { dataplane: { service: { type: 'ClusterIP', externalTrafficPolicy: 'Local' } } },
        /externalTrafficPolicy only applies to LoadBalancer and NodePort/,
      ],
    ];
    for (const [values, message] of cases) {
      await assert.rejects(renderText(values), message, JSON.stringify(values));
    }
    const lint = await helm(['lint', chartDir], { dataplane: { replicas: 0 } });
    assert.notEqual(lint.code, 0, 'helm lint fails on bad values too');
  });

  test("the chart's CRDs are identical to crds/ and installed with it", async () => {
    assert.deepEqual(drift(), [], 'run: node hack/sync-crds.ts');
    const objs = await render({}, { release: REL, namespace: NS, includeCrds: true });
    assert.equal(find(objs, 'CustomResourceDefinition').metadata.name, 'routeratios.sluice.dev');
  });
});

describe('chart: against the local cluster', () => {
  test('rendered manifests pass kubectl apply --dry-run=server for each major option', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'chart-dry');
    const created = await ensureCertManagerCrds(c);
    t.after(async () => {
      if (created.length > 0)
        await c.kubectl(['delete', 'crd', ...created, '--ignore-not-found', '--wait=false']);
    });
    for (const [name, values] of Object.entries(OPTIONS)) {
      const text = await renderText(values, {
        release: `dry-${randomBytes(3).toString('hex')}`,
        namespace: ns,
        includeCrds: true,
      });
      const r = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: text });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(
        r.stdout,
        /deployment\.apps\/\S+-dataplane (created|configured|unchanged) \(server dry run\)/,
        name,
      );
    }
  });

  test('applied for real, the RBAC holds for the chart ServiceAccounts', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'chart-rbac');
    const release = `rbac-${randomBytes(3).toString('hex')}`;
    const full = `${release}-sluice`;
    const values = {
      ingressClass: { name: release },
      // No namespace carries this label: the webhook (whose pods may not run here) sees nothing.
      webhook: { namespaceLabels: { 'sluice.dev/chart-test': release } },
    };
    const objs = await render(values, { release, namespace: ns, includeCrds: true });
    // The RouteRatio CRD is shared by every test and stays (as with Helm, which never deletes CRDs).
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
    const rest = objs.filter((o) => o.kind !== 'CustomResourceDefinition');
    t.after(async () => {
      await c.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], {
        input: toYamlStream(rest),
      });
    });
    if (crds.length > 0) {
      const applied = await c.kubectl(['apply', '-f', '-'], { input: toYamlStream(crds) });
      assert.equal(applied.code, 0, applied.stderr);
    }
    const r = await c.kubectl(['apply', '-f', '-'], { input: toYamlStream(rest) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`validatingwebhookconfiguration.admissionregistration.k8s.io/${full}-admission created`),
    );

    const sa = (name: string) => `--as=system:serviceaccount:${ns}:${full}-${name}`;
    const can = async (who: string, ...args: string[]): Promise<boolean> => {
      const res = await c.kubectl(['auth', 'can-i', sa(who), ...args]);
      assert.ok(res.code === 0 || res.code === 1, `can-i ${args.join(' ')}: ${res.stderr}`);
      return res.stdout.trim() === 'yes';
    };
    const expect: Array<[string, string[], boolean]> = [
      // The operator reads what it compiles and writes only status, Events and its Lease.
      ['operator', ['list', 'ingresses.networking.k8s.io', '--all-namespaces'], true],
      ['operator', ['watch', 'routeratios.sluice.dev', '--all-namespaces'], true],
      ['operator', ['list', 'endpointslices.discovery.k8s.io', '--all-namespaces'], true],
      ['operator', ['patch', 'ingresses.networking.k8s.io', '--subresource=status', '-n', 'default'], true],
      ['operator', ['patch', 'routeratios.sluice.dev', '--subresource=status', '-n', 'default'], true],
      ['operator', ['create', 'events.events.k8s.io', '-n', 'default'], true],
      ['operator', ['update', `leases.coordination.k8s.io/${full}-operator`, '-n', ns], true],
      ['operator', ['update', 'ingresses.networking.k8s.io', '-n', 'default'], false],
      ['operator', ['patch', 'ingresses.networking.k8s.io', '-n', 'default'], false],
      ['operator', ['create', 'ingresses.networking.k8s.io', '-n', 'default'], false],
      ['operator', ['delete', 'ingresses.networking.k8s.io', '-n', 'default'], false],
      ['operator', ['update', 'routeratios.sluice.dev', '-n', 'default'], false],
      ['operator', ['create', 'secrets', '-n', 'default'], false],
      ['operator', ['update', 'leases.coordination.k8s.io/another-lease', '-n', ns], false],
      ['operator', ['create', 'leases.coordination.k8s.io', '-n', ns], false],
      // The webhook reads claims and manages only its own certificate Secret.
      ['webhook', ['list', 'ingresses.networking.k8s.io', '--all-namespaces'], true],
      ['webhook', ['list', 'routeratios.sluice.dev', '--all-namespaces'], true],
      ['webhook', ['get', `secrets/${full}-webhook-tls`, '-n', ns], true],
      ['webhook', ['update', `secrets/${full}-webhook-tls`, '-n', ns], true],
      [
        'webhook',
        ['update', `validatingwebhookconfigurations.admissionregistration.k8s.io/${full}-admission`],
        true,
      ],
      ['webhook', ['get', 'secrets', '-n', ns], false],
      ['webhook', ['list', 'secrets', '--all-namespaces'], false],
      ['webhook', ['get', `secrets/${full}-config-token`, '-n', ns], false],
      ['webhook', ['create', 'secrets', '-n', ns], false],
      ['webhook', ['update', 'ingresses.networking.k8s.io', '-n', 'default'], false],
      [
        'webhook',
        ['update', 'validatingwebhookconfigurations.admissionregistration.k8s.io/someone-else'],
        false,
      ],
      // The data plane has no Kubernetes API access at all.
      ['dataplane', ['get', 'secrets', '-n', ns], false],
      ['dataplane', ['get', `secrets/${full}-config-token`, '-n', ns], false],
      ['dataplane', ['list', 'pods', '-n', ns], false],
      ['dataplane', ['list', 'ingresses.networking.k8s.io', '--all-namespaces'], false],
      ['dataplane', ['get', 'endpointslices.discovery.k8s.io', '-n', ns], false],
      ['dataplane', ['get', 'configmaps', '-n', ns], false],
    ];
    const wrong: string[] = [];
    for (const [who, args, want] of expect) {
      if ((await can(who, ...args)) !== want)
        wrong.push(`${who} ${want ? 'cannot' : 'can'} ${args.join(' ')}`);
    }
    assert.deepEqual(wrong, []);

    const dpSa = JSON.parse(
      (await c.kubectl(['get', 'sa', `${full}-dataplane`, '-n', ns, '-o', 'json'])).stdout,
    );
    assert.equal(dpSa.automountServiceAccountToken, false);
  });

  test('helm install keeps the config-API token across upgrades and uninstall leaves nothing', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'chart-helm');
    const release = `helm-${randomBytes(3).toString('hex')}`;
    const full = `${release}-sluice`;
    const kc = ['--kubeconfig', c.kubeconfig, '--namespace', ns];
    const values = {
      ingressClass: { name: release },
      webhook: { namespaceLabels: { 'sluice.dev/chart-test': release } },
    };
    t.after(async () => {
      await helm(['uninstall', release, ...kc, '--ignore-not-found']);
    });
    let r = await helm(['install', release, chartDir, ...kc], values);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATUS: deployed/);
    assert.match(r.stdout, /kubectl create ingress shop --class=helm-/, 'NOTES tell what to do next');
    const token = async () =>
      JSON.parse((await c.kubectl(['get', 'secret', `${full}-config-token`, '-n', ns, '-o', 'json'])).stdout)
        .data.token;
    const before = await token();
    assert.ok(before);

    r = await helm(['upgrade', release, chartDir, ...kc, '--reuse-values', '--set', 'dataplane.replicas=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await token(), before, 'the token survives helm upgrade');
    const dp = JSON.parse(
      (await c.kubectl(['get', 'deploy', `${full}-dataplane`, '-n', ns, '-o', 'json'])).stdout,
    );
    assert.equal(dp.spec.replicas, 3);

    const manifest = await helm(['get', 'manifest', release, ...kc]);
    const installed = parseManifests(manifest.stdout);
    assert.ok(installed.length > 20);

    r = await helm(['uninstall', release, ...kc, '--wait', '--timeout', '120s']);
    assert.equal(r.code, 0, r.stderr);
    const left = await c.kubectl(['get', '--ignore-not-found', '-o', 'name', '-f', '-'], {
      input: toYamlStream(installed),
    });
    assert.equal(left.stdout.trim(), '', 'every object of the release is gone');
    await until(
      async () => {
        const res = await c.kubectl([
          'get',
          'all,secrets,serviceaccounts,roles,rolebindings,leases,networkpolicies,poddisruptionbudgets',
          '-n',
          ns,
          '-l',
          `app.kubernetes.io/instance=${release}`,
          '-o',
          'name',
        ]);
        return res.stdout.trim() === '' ? true : undefined;
      },
      'the pods and ReplicaSets of the release to be gone too',
      90_000,
      1000,
    );
  });
});

async function ensureCertManagerCrds(c: Awaited<ReturnType<typeof cluster>>): Promise<string[]> {
  const created: string[] = [];
  for (const crd of certManagerCrds()) {
    const exists = await c.kubectl(['get', 'crd', crd.metadata.name, '--ignore-not-found', '-o', 'name']);
    if (exists.stdout.trim() !== '') continue;
    const r = await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(crd) });
    if (r.code === 0) created.push(crd.metadata.name);
    else assert.match(r.stderr, /AlreadyExists/);
  }
  for (const crd of certManagerCrds()) {
    const r = await c.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      `crd/${crd.metadata.name}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  return created;
}
