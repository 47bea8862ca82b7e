// Propagation benchmark (not a test): how long from an API write until the data plane serves it.
//
//   node hack/bench/propagation.ts [--sizes=1000,10000] [--samples=50] [--hold-off=10ms]
//                                  [--backend=auto|pods|none] [--semi-space=4]
//                                  [--filler-service=own|echo]
//
// Against the local cluster (started if none runs) it runs one data plane and one operator as
// processes on 127.0.0.1, creates an IngressClass of its own and, for each size, that many filler
// Ingresses (routing to a Service of their own, or with `--filler-service=echo` to the Service the
// RouteRatio splits, so that every weight edit rewrites every route). Then it measures, `--samples`
// times each:
//
//   route   create an Ingress for a new host (API call) -> first 200 through the data plane
//   split   edit a RouteRatio between 100/0 and 0/100 -> first answer from the newly weighted backend
//
// With backend pods (the node agent runs echo pods in their network namespaces) "served" is a
// real answer from a pod. Without a Ready node (`--backend=none`) the routes have no endpoints,
// so "served" means the data plane answers for the route (503, no endpoints, instead of 404) and
// a split change is read from the data plane's /debug/explain. It prints p50/p99 (and those of
// the API write itself, which every sample includes) and the operator's memory (resident set;
// its anonymous part, which leaves out the ~55 MiB of the mapped node binary; V8 heap) and
// removes everything it created, waiting until its namespace is gone (and, before it starts,
// until those of earlier runs are). The operator runs with `--max-semi-space-size=<semi-space>`
// (MiB; 0 keeps V8's default of 32), as docs/operator.md recommends for deployments: V8's
// default young generation alone takes 64 MiB of resident memory.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { Pool } from 'undici';
import { until } from '../../contract/testing/poll.ts';
import { KubeApiError, KubeClient } from '../../operator/kube/client.ts';
import { hostIngress, routeRatio, service } from '../../operator/testing/objects.ts';
import { installCrds, kubeconfigPath, root, up } from '../lib/devcluster.ts';

function flag(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const sizes = flag('sizes', '1000,10000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0)
  .sort((a, b) => a - b);
const samples = Number(flag('samples', '50'));
const holdOff = flag('hold-off', '10ms');
const backendMode = flag('backend', 'auto');
const semiSpace = Number(flag('semi-space', '4'));
// `own`: the filler Ingresses route to a Service of their own, so a weight edit changes one route
// (the usual canary); `echo`: they route to the split Service, so every edit changes every route.
const fillerService = flag('filler-service', 'own') === 'echo' ? 'echo' : 'filler';

const id = randomBytes(3).toString('hex');
const ns = `bench-prop-${id}`;
const className = `bench-${id}`;
const controllerName = `sluice.dev/bench-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
const children: ChildProcess[] = [];

const kc = new KubeConfig();
let client: KubeClient;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function start(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited (${code ?? signal}):\n${err}`);
  });
  children.push(child);
  return child;
}

/** Polls every 100 ms: the resolution of the propagation times measured with it. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, limitMs = 300_000) =>
  until(fn, what, limitMs, 100);

async function create(path: string, body: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.request('POST', path, { body });
      return;
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 409) return;
      if (attempt >= 5) throw err;
      await sleep(200 * (attempt + 1));
    }
  }
}

async function parallel(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function ingress(name: string, host: string, service = 'echo'): unknown {
  return hostIngress(name, className, host, service, { namespace: ns });
}

function deployment(name: string, text: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, bench: 'echo' } },
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
              readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

function svc(name: string, selector: Record<string, string>): unknown {
  return service(name, { namespace: ns, selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
}

/** The RouteRatio `echo`, split over `echo-v1` and `echo-v2` with these weights. */
function echoSplit(v1: number, v2: number) {
  return routeRatio('echo', {
    namespace: ns,
    service: { name: 'echo' },
    backends: [
      { name: 'echo-v1', weight: v1 },
      { name: 'echo-v2', weight: v2 },
    ],
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

let stopping = false;
async function cleanup(): Promise<void> {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await sleep(500);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (client) {
    await client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await client
      .request('DELETE', `/apis/networking.k8s.io/v1/ingressclasses/${className}`)
      .catch(() => undefined);
    await benchNamespacesGone().catch(() => undefined);
    await client.close();
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Waits until no namespace of a benchmark run is left. Deleting one takes its thousands of
 * Ingresses with it, a stream of watch events the next run's samples would otherwise share the
 * operator and API server with.
 */
async function benchNamespacesGone(): Promise<void> {
  await waitFor(
    'earlier benchmark namespaces to be deleted',
    async () => {
      const list = await client.get<{ items: unknown[] }>(
        '/api/v1/namespaces?labelSelector=sluice.dev%2Fbench%3Dtrue',
      );
      return list.items.length === 0 ? true : undefined;
    },
    600_000,
  );
}

/** Waits while the shared API server is down (another test may be restarting it). */
async function apiReady(): Promise<void> {
  await waitFor('the API server', async () =>
    (await client.get('/version', { timeoutMs: 2000 })) ? true : undefined,
  );
}

async function nodeReady(): Promise<boolean> {
  const nodes = await client.get<{
    items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }>;
  }>('/api/v1/nodes');
  return nodes.items.some((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/** Resident memory, and the part that is the process's own (not the mapped node binary). */
function operatorMemory(pid: number): { rssMiB: number; anonMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, anonMiB: kb('RssAnon') / 1024 };
}

async function operatorHeapMiB(opsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const used = Number(/^sluice_operator_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  return used / 1024 / 1024;
}

async function main(): Promise<void> {
  await up({ quiet: true });
  installCrds();
  kc.loadFromFile(kubeconfigPath);
  client = new KubeClient(kc);
  const pods = backendMode === 'pods' || (backendMode === 'auto' && (await nodeReady()));
  console.log(
    `propagation benchmark: sizes ${sizes.join(', ')}, ${samples} samples each, hold-off ${holdOff}, ` +
      `operator semi-space ${semiSpace > 0 ? `${semiSpace} MiB` : 'V8 default'}, ` +
      `backends ${pods ? 'echo pods' : 'none (route answered with 503 counts as served)'}, ` +
      `filler Ingresses route to ${fillerService === 'echo' ? 'the split Service' : 'a Service of their own'}`,
  );

  await benchNamespacesGone();
  await create('/api/v1/namespaces', { metadata: { name: ns, labels: { 'sluice.dev/bench': 'true' } } });
  await create('/apis/networking.k8s.io/v1/ingressclasses', {
    metadata: { name: className },
    spec: { controller: controllerName },
  });
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });

  const ports = {
    http: await freePort(),
    https: await freePort(),
    config: await freePort(),
    ops: await freePort(),
  };
  start('data plane', [
    'dataplane/main.ts',
    '--address=127.0.0.1',
    '--config-address=127.0.0.1',
    '--ops-address=127.0.0.1',
    `--http-port=${ports.http}`,
    `--https-port=${ports.https}`,
    `--config-port=${ports.config}`,
    `--ops-port=${ports.ops}`,
    `--config-token-file=${join(dir, 'token')}`,
    '--access-log=false',
    '--log-level=warn',
  ]);
  const opsPort = await freePort();
  const operator = start('operator', [
    ...(semiSpace > 0 ? [`--max-semi-space-size=${semiSpace}`] : []),
    'operator/main.ts',
    `--kubeconfig=${kubeconfigPath}`,
    `--class-name=${className}`,
    `--controller-name=${controllerName}`,
    `--config-token-file=${join(dir, 'token')}`,
    `--dataplane-endpoints=http://127.0.0.1:${ports.config}`,
    '--leader-elect=false',
    `--queue-hold-off=${holdOff}`,
    '--ops-host=127.0.0.1',
    `--ops-port=${opsPort}`,
    '--log-level=warn',
  ]);
  await waitFor('operator ready', async () =>
    (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200 ? true : undefined,
  );

  // Backends: echo-v1 and echo-v2 behind their own Services, and `echo` selecting both.
  await create(`/api/v1/namespaces/${ns}/services`, svc('echo', { bench: 'echo' }));
  await create(`/api/v1/namespaces/${ns}/services`, svc('filler', { bench: 'echo' }));
  await create(`/api/v1/namespaces/${ns}/services`, svc('echo-v1', { app: 'echo-v1' }));
  await create(`/api/v1/namespaces/${ns}/services`, svc('echo-v2', { app: 'echo-v2' }));
  if (pods) {
    await create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('echo-v1', 'v1'));
    await create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('echo-v2', 'v2'));
    await waitFor('echo pods ready', async () => {
      const list = await client.get<{ items: Array<{ status?: { readyReplicas?: number } }> }>(
        `/apis/apps/v1/namespaces/${ns}/deployments`,
      );
      return list.items.length === 2 && list.items.every((d) => d.status?.readyReplicas === 1)
        ? true
        : undefined;
    });
  }

  const traffic = new Pool(`http://127.0.0.1:${ports.http}`, { connections: 4 });
  const served = pods ? 200 : 503;
  const status = async (host: string): Promise<{ code: number; body: string }> => {
    const res = await traffic.request({ path: '/', method: 'GET', headers: { host } });
    return { code: res.statusCode, body: await res.body.text() };
  };
  // Polls every millisecond: fine-grained enough for the figures, light enough for two cores.
  const timeUntil = async (t0: number, check: () => Promise<boolean>, limitMs = 60_000): Promise<number> => {
    for (;;) {
      if (await check().catch(() => false)) return performance.now() - t0;
      if (performance.now() - t0 > limitMs) throw new Error('not served within 60 s');
      await sleep(1);
    }
  };
  const explainPercents = async (host: string): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${ports.ops}/debug/explain?url=http://${host}/`);
    const body = (await res.json()) as { split?: { backends: Array<{ name: string; percent: number }> } };
    return body.split?.backends.map((b) => `${b.name}=${b.percent}`).join(' ') ?? '';
  };

  // The split under test: Ingress `rr-probe` sends rr.bench.example to `echo`, split by a RouteRatio.
  await create(
    `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
    ingress('rr-probe', 'rr.bench.example'),
  );
  await create(`/apis/sluice.dev/v1alpha1/namespaces/${ns}/routeratios`, echoSplit(100, 0));

  let filler = 0;
  let probe = 0;
  for (const size of sizes) {
    const adding = size - filler;
    const started = performance.now();
    await parallel(adding, 16, (i) =>
      create(
        `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
        ingress(`filler-${filler + i}`, `f${filler + i}.bench.example`, fillerService),
      ),
    );
    filler = size;
    const last = `f${size - 1}.bench.example`;
    await waitFor(`${size} Ingresses served`, async () =>
      (await status(last)).code === served ? true : undefined,
    );
    console.log(
      `\n${size} Ingresses present (created and served in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    await sleep(2000);

    // The API server's own answer time, part of every sample: an outlier there is not Sluice's.
    const routeWrites: number[] = [];
    const route: number[] = [];
    while (route.length < samples) {
      const host = `p${probe}.bench.example`;
      const name = `probe-${probe++}`;
      await apiReady();
      const t0 = performance.now();
      const sent = await client
        .request('POST', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {
          body: ingress(name, host),
        })
        .then(() => true)
        .catch(() => false);
      // A write that failed (the shared API server restarting) is not a sample: try again.
      if (sent) {
        routeWrites.push(performance.now() - t0);
        route.push(await timeUntil(t0, async () => (await status(host)).code === served));
      }
      await sleep(150);
    }

    const splitWrites: number[] = [];
    const split: number[] = [];
    for (let s = 0; split.length < samples; s++) {
      const toV2 = s % 2 === 0;
      await apiReady();
      const t0 = performance.now();
      const sent = await client
        .request('PATCH', `/apis/sluice.dev/v1alpha1/namespaces/${ns}/routeratios/echo`, {
          body: { spec: { backends: echoSplit(toV2 ? 0 : 100, toV2 ? 100 : 0).spec.backends } },
          contentType: 'application/merge-patch+json',
        })
        .then(() => true)
        .catch(() => false);
      if (!sent) {
        s--;
        continue;
      }
      splitWrites.push(performance.now() - t0);
      const want = toV2 ? 'v2' : 'v1';
      split.push(
        await timeUntil(t0, async () => {
          if (!pods) return (await explainPercents('rr.bench.example')).includes(`echo-${want}=100`);
          const r = await status('rr.bench.example');
          return r.code === 200 && (JSON.parse(r.body) as { text?: string }).text === want;
        }),
      );
      await sleep(150);
    }

    const mem = operatorMemory(operator.pid ?? 0);
    const heap = await operatorHeapMiB(opsPort).catch(() => Number.NaN);
    const line = (label: string, times: number[], writes: number[]) =>
      console.log(
        `  ${label} p50 ${fmt(percentile(times, 50))}   p99 ${fmt(percentile(times, 99))}` +
          `   (of which the API write p50 ${fmt(percentile(writes, 50))}, p99 ${fmt(percentile(writes, 99))})`,
      );
    line('route create -> served  ', route, routeWrites);
    line('split edit   -> served  ', split, splitWrites);
    console.log(
      `  operator memory          rss ${mem.rssMiB.toFixed(0)} MiB (anonymous ${mem.anonMiB.toFixed(0)} MiB), ` +
        `V8 heap used ${heap.toFixed(0)} MiB`,
    );
  }
  await traffic.close();
}

process.on('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

try {
  await main();
} catch (err) {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
