// The chart installed into the local cluster for real: the node agent runs the image
// sluice.dev/sluice:dev as the repository's Node 24, so the operator, webhook and data plane run as
// pods under the chart's ServiceAccounts and RBAC. The webhook is called by the API server through
// its Service, an Ingress and a RouteRatio applied with kubectl route traffic through the
// data-plane pods (reached through the data-plane LoadBalancer Service), and `helm uninstall`
// leaves nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { hostIngress, routeRatio, service } from '../../operator/testing/objects.ts';
import { chartDir, helm, type K8sObject, parseManifests, toYamlStream } from '../support/chart.ts';
import { cluster } from '../support/cluster.ts';

type Cluster = Awaited<ReturnType<typeof cluster>>;

interface Reply {
  status: number;
  text?: string;
  pod?: string;
}

/** One HTTP request to a loopback load-balancer address with the given Host header. */
function get(address: string, port: number, host: string, path = '/'): Promise<Reply | undefined> {
  if (!/^127\./.test(address))
    throw new Error(`refusing to send traffic to ${address}: not a loopback address`);
  return new Promise((resolve) => {
    const req = request({ host: address, port, path, headers: { host }, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        let parsed: { text?: string; pod?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // not an echo answer (e.g. the data plane's own 404/503)
        }
        resolve({ status: res.statusCode ?? 0, text: parsed.text, pod: parsed.pod });
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function json(c: Cluster, args: string[]): Promise<K8sObject> {
  const r = await c.kubectl([...args, '-o', 'json']);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as K8sObject;
}

async function apply(c: Cluster, objs: object[]): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: toYamlStream(objs) });
  assert.equal(r.code, 0, r.stderr);
}

/** What went wrong, for assertion messages: pods, recent events, and logs of pods that are not ready. */
/** `until` (every second, 90 s by default) whose failure also tells the release's state. */
async function diagnosed<T>(
  c: Cluster,
  ns: string,
  what: string,
  cond: () => Promise<T | undefined>,
  limitMs = 90_000,
): Promise<T> {
  try {
    return await until(cond, what, limitMs, 1000);
  } catch (err) {
    throw new Error(`${(err as Error).message}${await diagnose(c, ns)}`);
  }
}

async function diagnose(c: Cluster, ns: string): Promise<string> {
  const pods = await c.kubectl(['get', 'pods', '-n', ns, '-o', 'wide']);
  const events = await c.kubectl(['get', 'events', '-n', ns, '--sort-by=.lastTimestamp']);
  return `\n${pods.stdout}${pods.stderr}\n${events.stdout.split('\n').slice(-25).join('\n')}`;
}

function echoDeployment(ns: string, name: string, text: string): object[] {
  const labels = { app: 'echo', version: name };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'echo',
                image: 'sluice.dev/echo:dev',
                env: [
                  { name: 'ECHO_TEXT', value: text },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    service(name, {
      namespace: ns,
      selector: labels,
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }),
  ];
}

test('the chart installed for real: components run under its RBAC, route an Ingress and a RouteRatio, and uninstall cleanly', async (t) => {
  const c = await cluster();
  const nodes = await json(c, ['get', 'nodes']);
  assert.ok(
    nodes.items.some((n: K8sObject) =>
      n.status?.conditions?.some(
        (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
      ),
    ),
    'the local cluster has a Ready node whose agent runs pods',
  );

  const ns = await c.namespace(t, 'chart-sys');
  const app = await c.namespace(t, 'chart-app');
  const release = `inst-${randomBytes(3).toString('hex')}`;
  const full = `${release}-sluice`;
  const host = `shop.${release}.test`;
  const kc = ['--kubeconfig', c.kubeconfig, '--namespace', ns];
  // Only the app namespace is sent to this release's webhook, and only Ingresses of its own class:
  // other tests sharing the cluster are never affected.
  const label = await c.kubectl(['label', 'namespace', app, `sluice.dev/chart-test=${release}`]);
  assert.equal(label.code, 0, label.stderr);
  const values = {
    ingressClass: { name: release },
    webhook: { namespaceLabels: { 'sluice.dev/chart-test': release } },
    dataplane: { drain: { preStopSeconds: 1 }, terminationGracePeriodSeconds: 10 },
  };
  let uninstalled = false;
  t.after(async () => {
    if (!uninstalled)
      await helm(['uninstall', release, ...kc, '--ignore-not-found', '--wait', '--timeout', '120s']);
  });

  // Backends first, so they are ready by the time the data plane is.
  await apply(c, [
    ...echoDeployment(app, 'echo-v1', 'v1'),
    ...echoDeployment(app, 'echo-v2', 'v2'),
    service('echo', {
      namespace: app,
      selector: { app: 'echo' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }),
  ]);

  const install = await helm(['install', release, chartDir, ...kc, '--wait', '--timeout', '300s'], values);
  assert.equal(install.code, 0, `helm install: ${install.stderr}${await diagnose(c, ns)}`);

  // Every component runs, ready, under its own ServiceAccount; only the data plane has no token.
  const pods = (await json(c, ['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${release}`]))
    .items as K8sObject[];
  const byComponent = new Map<string, K8sObject[]>();
  for (const p of pods) {
    const comp = p.metadata.labels?.['app.kubernetes.io/component'] ?? '';
    byComponent.set(comp, [...(byComponent.get(comp) ?? []), p]);
  }
  for (const [comp, replicas] of [
    ['operator', 2],
    ['webhook', 2],
    ['dataplane', 2],
  ] as const) {
    const list = (byComponent.get(comp) ?? []).filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(list.length, replicas, `${comp} pods${await diagnose(c, ns)}`);
    for (const p of list) {
      assert.equal(p.spec.serviceAccountName, `${full}-${comp}`);
      assert.ok(
        p.status.conditions.some(
          (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
        ),
        `${p.metadata.name} is ready`,
      );
      const hasToken = (p.spec.volumes ?? []).some((v: K8sObject) =>
        v.projected?.sources?.some((s: { serviceAccountToken?: unknown }) => s.serviceAccountToken),
      );
      assert.equal(hasToken, comp !== 'dataplane', `${p.metadata.name}: API token mounted only where needed`);
    }
  }
  // One operator leads, through the Lease the chart created and its RBAC allows.
  const lease = await json(c, ['get', 'lease', `${full}-operator`, '-n', ns]);
  const operators = (byComponent.get('operator') ?? []).map((p) => p.metadata.name);
  assert.ok(operators.includes(lease.spec.holderIdentity), `lease holder ${lease.spec.holderIdentity}`);

  // The load balancer address of the data plane's Service.
  const svc = await json(c, ['get', 'service', `${full}-dataplane`, '-n', ns]);
  const lbIp: string = svc.status.loadBalancer.ingress[0].ip;
  assert.match(lbIp, /^127\./);

  // An Ingress of the release's class is admitted by the webhook and routed by the data plane.
  await apply(c, [hostIngress('shop', release, host, 'echo', { namespace: app })]);
  const first = await diagnosed(
    c,
    ns,
    `traffic for ${host} to reach an echo pod through the data plane`,
    async () => {
      const r = await get(lbIp, 80, host);
      return r?.status === 200 && r.text ? r : undefined;
    },
  );
  assert.ok(['v1', 'v2'].includes(first.text ?? ''));
  assert.equal((await get(lbIp, 80, `unknown.${release}.test`))?.status, 404, 'other hosts are not routed');

  // The operator wrote the Ingress status (its RBAC allows status, nothing else).
  const ingStatus = await until(
    async () => {
      const ing = await json(c, ['get', 'ingress', 'shop', '-n', app]);
      return ing.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
    },
    'an address in the Ingress status',
    60_000,
    1000,
  );
  assert.equal(ingStatus, lbIp, 'Ingress status shows the data-plane address');

  // The API server calls the webhook through its Service: the same host and path is refused.
  const dup = await c.kubectl(['apply', '-f', '-'], {
    input: toYamlStream([hostIngress('shop-copy', release, host, 'echo', { namespace: app })]),
  });
  assert.notEqual(dup.code, 0, 'a conflicting Ingress is refused');
  assert.match(dup.stderr, /denied the request/);
  assert.match(dup.stderr, new RegExp(`already routed by Ingress ${app}/shop`));

  // A RouteRatio sends every request to v2 ...
  const rr = (w1: number, w2: number) =>
    routeRatio('echo', {
      namespace: app,
      service: { name: 'echo' },
      backends: [
        { name: 'echo-v1', weight: w1 },
        { name: 'echo-v2', weight: w2 },
      ],
    });
  await apply(c, [rr(0, 1)]);
  await diagnosed(c, ns, 'every request to reach echo-v2 with weights 0/1', async () => {
    const texts: Array<string | undefined> = [];
    for (let i = 0; i < 8; i++) texts.push((await get(lbIp, 80, host))?.text);
    return texts.every((x) => x === 'v2') ? texts : undefined;
  });

  // ... and an edit of the weights splits traffic across both.
  await apply(c, [rr(1, 1)]);
  await until(
    async () => {
      const seen = new Set<string | undefined>();
      for (let i = 0; i < 12; i++) seen.add((await get(lbIp, 80, host))?.text);
      return seen.has('v1') && seen.has('v2') ? seen : undefined;
    },
    'both backends to answer with weights 1/1',
    90_000,
    1000,
  );

  // The operator reports on the RouteRatio under its status-only RBAC.
  const accepted = await until(
    async () => {
      const obj = await json(c, ['get', 'routeratio', 'echo', '-n', app]);
      const cond = obj.status?.conditions?.find((x: { type: string }) => x.type === 'Accepted');
      return cond?.status === 'True' ? obj : undefined;
    },
    'RouteRatio status Accepted=True',
    60_000,
    1000,
  );
  assert.equal(accepted.status.backends.length, 2);

  // helm uninstall leaves nothing: every object of the release, its pods, and its
  // cluster-scoped objects are gone.
  const manifest = parseManifests((await helm(['get', 'manifest', release, ...kc])).stdout);
  assert.ok(manifest.length > 20);
  const un = await helm(['uninstall', release, ...kc, '--wait', '--timeout', '180s']);
  uninstalled = un.code === 0;
  assert.equal(un.code, 0, un.stderr);
  const left = await c.kubectl(['get', '--ignore-not-found', '-o', 'name', '-f', '-'], {
    input: toYamlStream(manifest),
  });
  assert.equal(left.stdout.trim(), '', 'every object of the release is gone');
  await diagnosed(
    c,
    ns,
    'nothing of the release to be left',
    async () => {
      const inNs = await c.kubectl([
        'get',
        'all,secrets,serviceaccounts,roles,rolebindings,leases,networkpolicies,poddisruptionbudgets,endpointslices',
        '-n',
        ns,
        '-o',
        'name',
      ]);
      const clusterWide = await c.kubectl([
        'get',
        'clusterroles,clusterrolebindings,validatingwebhookconfigurations,ingressclasses',
        '-l',
        `app.kubernetes.io/instance=${release}`,
        '-o',
        'name',
      ]);
      // The namespace's own default ServiceAccount and root CA ConfigMap are not the release's.
      const ours = `${inNs.stdout}${clusterWide.stdout}`
        .split('\n')
        .filter((l) => l !== '' && l !== 'serviceaccount/default');
      return ours.length === 0 ? ours : undefined;
    },
    120_000,
  );
});
