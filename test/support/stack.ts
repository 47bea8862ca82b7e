// End-to-end stack on the local cluster: two data-plane replicas as pods (node agent), behind a
// LoadBalancer Service (the devcluster's service-lb gives it a 127.0.1.N address) and a headless
// internal Service the operator discovers them by; operators as local processes (so tests can
// kill them); echo backends as pods. Each stack has its own IngressClass and controller name, so
// concurrent tests and other operators never claim each other's Ingresses.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { until } from '../../contract/testing/poll.ts';
import {
  kubectlOk,
  type OperatorProcess,
  type Scope,
  spawnOperator,
  type TestClass,
} from '../../operator/testing/harness.ts';
import * as objects from '../../operator/testing/objects.ts';
import { ingressClass, list, service } from '../../operator/testing/objects.ts';
import { cluster, type TestCluster } from './cluster.ts';

export type { Scope };

type Json = Record<string, unknown>;

export interface EchoAnswer {
  status: number;
  /** ECHO_TEXT of the pod that answered, when an echo pod answered. */
  text?: string;
  pod?: string;
  body: string;
}

export interface Stack {
  c: TestCluster;
  /** Namespace of the data plane and the Lease. */
  sys: string;
  /** Namespace of the applications. */
  app: string;
  cls: TestClass;
  /** The data-plane LoadBalancer address (127.0.1.N). */
  lb: string;
  operators: OperatorProcess[];
  startOperator(identity: string): Promise<OperatorProcess>;
  /** kubectl apply in the app namespace. */
  apply(objects: Json[]): Promise<void>;
  /** One HTTP request through the load balancer (or to one data-plane pod). */
  get(
    host: string,
    path?: string,
    opts?: { address?: string; headers?: Record<string, string> },
  ): Promise<EchoAnswer>;
  /** Addresses of the data-plane pods. */
  dataplanePods(): Promise<string[]>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { list };

/** An echo Deployment answering with `text`, and its Service (port 80 -> 8080). */
export function echoApp(
  name: string,
  text: string,
  replicas = 1,
  labels: Record<string, string> = {},
): Json[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name, ...labels } },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'echo',
                image: 'sluice.dev/echo:dev',
                env: [
                  { name: 'ECHO_TEXT', value: text },
                  // Keeps serving while the endpoint removal propagates, as a real app should.
                  { name: 'ECHO_DRAIN_MS', value: '3000' },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    service(name, {
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }) as Json,
  ];
}

/** An Ingress of this stack's class; every path goes to its Service's port 80. */
export function ingress(
  name: string,
  className: string,
  rules: Array<{ host: string; paths: Array<{ path: string; service: string; pathType?: string }> }>,
  tls?: Array<{ hosts: string[]; secretName: string }>,
): Json {
  return objects.ingress(name, { className, rules, tls }) as Json;
}

function dataplaneObjects(token: string): Json[] {
  const labels = { app: 'sluice-dataplane' };
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sluice-config-token' }, stringData: { token } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sluice-dataplane' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'dataplane',
                image: 'sluice.dev/sluice:dev',
                args: ['dataplane/main.ts'],
                env: [
                  { name: 'SLUICE_CONFIG_TOKEN_FILE', value: '/var/run/sluice/config-token/token' },
                  { name: 'SLUICE_ACCESS_LOG', value: 'false' },
                  { name: 'SLUICE_HTTPS_REDIRECT_PORT', value: '443' },
                ],
                ports: [
                  { name: 'http', containerPort: 8080 },
                  { name: 'https', containerPort: 8443 },
                  { name: 'config', containerPort: 9000 },
                  { name: 'ops', containerPort: 9100 },
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'ops' }, periodSeconds: 1 },
                volumeMounts: [
                  { name: 'config-token', mountPath: '/var/run/sluice/config-token', readOnly: true },
                ],
              },
            ],
            volumes: [{ name: 'config-token', secret: { secretName: 'sluice-config-token' } }],
          },
        },
      },
    },
    service('sluice-dataplane', {
      type: 'LoadBalancer',
      selector: labels,
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'https', port: 443, targetPort: 'https' },
      ],
    }) as Json,
    service('sluice-dataplane-internal', {
      clusterIP: 'None',
      // A replica is not ready until it has a config: the operator must see it anyway.
      publishNotReadyAddresses: true,
      selector: labels,
      ports: [
        { name: 'config', port: 9000, targetPort: 'config' },
        { name: 'ops', port: 9100, targetPort: 'ops' },
      ],
    }) as Json,
  ];
}

async function createNamespace(scope: Scope, c: TestCluster, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubectlOk(c, ['create', 'namespace', name]);
  await kubectlOk(c, ['label', 'namespace', name, 'sluice.dev/test=true']);
  scope.after(() => c.kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']));
  return name;
}

/** Waits until a node can run pods; the node agent reports Ready. */
export async function nodeReady(c: TestCluster): Promise<void> {
  await until(async () => {
    const out = await kubectlOk(c, ['get', 'nodes', '-o', 'json']);
    const nodes = JSON.parse(out) as { items: Array<{ status?: { conditions?: Json[] } }> };
    return nodes.items.some((n) =>
      n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
    );
  }, 'a Ready node (the node agent)');
}

export async function startStack(
  scope: Scope,
  opts: { operators?: number; operatorFlags?: string[] } = {},
): Promise<Stack> {
  const c = await cluster();
  await nodeReady(c);
  const sys = await createNamespace(scope, c, 'e2e-sys');
  const app = await createNamespace(scope, c, 'e2e-app');
  const id = randomBytes(4).toString('hex');
  const cls: TestClass = {
    className: `sluice-${id}`,
    controllerName: `sluice.dev/test-${id}`,
    flags: [`--class-name=sluice-${id}`, `--controller-name=sluice.dev/test-${id}`],
  };
  await kubectlOk(
    c,
    ['apply', '-f', '-'],
    JSON.stringify(
      ingressClass(cls.className, { labels: { 'sluice.dev/test': 'true' }, controller: cls.controllerName }),
    ),
  );
  scope.after(() => c.kubectl(['delete', 'ingressclass', cls.className, '--ignore-not-found']));

  const token = randomBytes(24).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  scope.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  await kubectlOk(c, ['-n', sys, 'apply', '-f', '-'], list(dataplaneObjects(token)));

  const lb = await until(async () => {
    const svc = JSON.parse(
      await kubectlOk(c, ['-n', sys, 'get', 'service', 'sluice-dataplane', '-o', 'json']),
    );
    return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
  }, 'a load-balancer address for the data plane');

  const operators: OperatorProcess[] = [];
  const pools = new Map<string, Pool>();
  scope.after(async () => {
    for (const p of pools.values()) await p.destroy();
  });
  const pool = (origin: string) => {
    let p = pools.get(origin);
    if (!p) {
      p = new Pool(origin, { connections: 8, headersTimeout: 10_000, bodyTimeout: 10_000 });
      pools.set(origin, p);
    }
    return p;
  };
  const stack: Stack = {
    c,
    sys,
    app,
    cls,
    lb,
    operators,
    async startOperator(identity: string) {
      const p = spawnOperator(
        scope,
        [
          `--kubeconfig=${c.kubeconfig}`,
          ...cls.flags,
          `--config-token-file=${join(dir, 'token')}`,
          `--dataplane-namespace=${sys}`,
          '--dataplane-service=sluice-dataplane-internal',
          `--publish-service=${sys}/sluice-dataplane`,
          `--lease-namespace=${sys}`,
          `--identity=${identity}`,
          ...(opts.operatorFlags ?? []),
        ],
        await freePort(),
      );
      operators.push(p);
      await until(async () => (await p.ops('/readyz')).status === 200, `${identity} ready`);
      return p;
    },
    async apply(objects: Json[]) {
      await kubectlOk(c, ['-n', app, 'apply', '-f', '-'], list(objects));
    },
    async get(host, path = '/', o = {}) {
      const origin = o.address ? `http://${o.address}:8080` : `http://${lb}:80`;
      const res = await pool(origin).request({ path, method: 'GET', headers: { host, ...o.headers } });
      const body = await res.body.text();
      let text: string | undefined;
      let pod: string | undefined;
      try {
        const parsed = JSON.parse(body) as { text?: string; pod?: string };
        text = parsed.text;
        pod = parsed.pod;
      } catch {
        // not an echo answer
      }
      return { status: res.statusCode, text, pod, body };
    },
    async dataplanePods() {
      const out = JSON.parse(
        await kubectlOk(c, ['-n', sys, 'get', 'pods', '-l', 'app=sluice-dataplane', '-o', 'json']),
      ) as { items: Array<{ status?: { podIP?: string } }> };
      return out.items.map((p) => p.status?.podIP).filter((ip): ip is string => !!ip);
    },
  };
  for (let i = 0; i < (opts.operators ?? 1); i++) await stack.startOperator(`op-${i}`);
  // Both replicas get their first config and turn ready.
  await until(async () => {
    const out = JSON.parse(
      await kubectlOk(c, ['-n', sys, 'get', 'deployment', 'sluice-dataplane', '-o', 'json']),
    );
    return out.status?.readyReplicas === 2;
  }, 'two ready data-plane replicas');
  return stack;
}

/** Waits until the pods of a Deployment in the app namespace are all ready. */
export async function rolledOut(stack: Stack, name: string, replicas: number): Promise<void> {
  await until(async () => {
    const d = JSON.parse(
      await kubectlOk(stack.c, ['-n', stack.app, 'get', 'deployment', name, '-o', 'json']),
    );
    return (
      d.status?.readyReplicas === replicas &&
      d.status?.updatedReplicas === replicas &&
      (d.status?.replicas ?? 0) === replicas
    );
  }, `${name} at ${replicas} ready replicas`);
}

/** Tally of echo texts (or `status N`) over `count` requests. */
export async function tally(
  stack: Stack,
  host: string,
  count: number,
  opts: { path?: string; address?: string; concurrency?: number } = {},
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 4 }, async () => {
      while (next < count) {
        next++;
        const r = await stack.get(host, opts.path ?? '/', { address: opts.address });
        const key = r.status === 200 && r.text ? r.text : `status ${r.status}`;
        out[key] = (out[key] ?? 0) + 1;
      }
    }),
  );
  return out;
}
