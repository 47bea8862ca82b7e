// npm run demo: a local control plane with Sluice installed from its Helm chart, a sample
// application in two versions behind one Ingress, and a 90/10 RouteRatio. Prints the commands for
// a canary rollout and a live view of the split; Ctrl-C tears everything down.
//
//   node hack/demo.ts          interactive (live view until Ctrl-C)
//   node hack/demo.ts --once   set up, check the split and a rollout step, tear down (for tests)
import { spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { down, kubeconfigPath, root, up } from './lib/devcluster.ts';

const once = process.argv.includes('--once');
const namespace = 'sluice-system';
const host = 'shop.demo.test';
const kubectlHint = `kubectl --kubeconfig ${kubeconfigPath}`;

function sh(cmd: string, args: string[], opts: { input?: string; quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { cwd: root, input: opts.input, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

const kubectl = (...args: string[]) => sh('kubectl', ['--kubeconfig', kubeconfigPath, ...args]);

async function until<T>(what: string, fn: () => T | undefined, limitMs = 180_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One request through the data plane; resolves to the version text of the pod that answered. */
function hit(address: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      { host: address, port: 80, path: '/', headers: { host }, agent, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(`HTTP ${res.statusCode}`);
          try {
            resolve(String((JSON.parse(body) as { text?: string }).text ?? 'unknown'));
          } catch {
            resolve('unparsable');
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end();
  });
}

async function sample(address: string, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => hit(address)));
    for (const v of batch) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

function bar(counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) =>
        `${k.padEnd(4)} ${'#'.repeat(Math.round((v / total) * 40)).padEnd(40)} ${((v / total) * 100).toFixed(0)}%`,
    )
    .join('   ');
}

function rrView(): string {
  return kubectl(
    'get',
    'rr',
    'checkout',
    '-n',
    'demo',
    '-o',
    'jsonpath={.status.summary} Programmed={.status.conditions[?(@.type=="Programmed")].status} generation={.metadata.generation}',
  ).trim();
}

async function setUp(): Promise<string> {
  console.log('starting the local control plane (the first run builds it: several minutes)');
  startedCluster = (await up()).started;
  sh('bash', [join(root, 'hack/helm.sh')]);
  const helm = join(root, 'bin/helm');
  console.log('installing Sluice from charts/sluice');
  sh(helm, [
    'upgrade',
    '--install',
    'sluice',
    join(root, 'charts/sluice'),
    '--namespace',
    namespace,
    '--create-namespace',
    '--kubeconfig',
    kubeconfigPath,
    '--wait',
    '--timeout',
    '5m',
  ]);
  console.log('deploying the sample application (checkout v1 and v2, Ingress shop, RouteRatio 90/10)');
  await until('the admission webhook to accept the sample application', () =>
    kubectl('apply', '-f', join(root, 'hack/demo/app.yaml')),
  );
  kubectl('-n', 'demo', 'rollout', 'status', 'deploy/checkout-v1', 'deploy/checkout-v2', '--timeout=180s');
  const address = await until('the data plane load balancer address', () => {
    const out = kubectl(
      'get',
      'svc',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[?(@.spec.type=="LoadBalancer")]}{.status.loadBalancer.ingress[0].ip}{"\\n"}{end}',
    ).trim();
    return out.split('\n')[0] || undefined;
  });
  await until('the RouteRatio to be programmed', () => (/Programmed=True/.test(rrView()) ? true : undefined));
  return address;
}

function printHelp(address: string): void {
  console.log(`
Sluice is routing ${host} on ${address}.

  curl -H 'Host: ${host}' http://${address}/
  ${kubectlHint} get rr,ingress -n demo

Canary rollout: move the split with a patch and watch the live view follow.

  ${kubectlHint} -n demo patch rr checkout --type merge -p \\
    '{"spec":{"backends":[{"name":"checkout-v1","port":{"number":80},"weight":50},{"name":"checkout-v2","port":{"number":80},"weight":50}]}}'
  ${kubectlHint} -n demo patch rr checkout --type merge -p \\
    '{"spec":{"backends":[{"name":"checkout-v1","port":{"number":80},"weight":0},{"name":"checkout-v2","port":{"number":80},"weight":100}]}}'

Live view (200 requests a line). Ctrl-C stops the demo and removes everything.
`);
}

async function patchWeights(v1: number, v2: number): Promise<void> {
  const patch = JSON.stringify({
    spec: {
      backends: [
        { name: 'checkout-v1', port: { number: 80 }, weight: v1 },
        { name: 'checkout-v2', port: { number: 80 }, weight: v2 },
      ],
    },
  });
  kubectl('-n', 'demo', 'patch', 'rr', 'checkout', '--type', 'merge', '-p', patch);
}

async function checkOnce(address: string): Promise<void> {
  const first = await sample(address, 200);
  console.log(`90/10: ${bar(first)}`);
  const v1 = first.get('v1') ?? 0;
  const v2 = first.get('v2') ?? 0;
  if (v1 + v2 !== 200 || v1 < 170 || v2 < 10) throw new Error(`unexpected split: ${[...first]}`);
  await patchWeights(0, 100);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const counts = await sample(address, 50);
    if ((counts.get('v2') ?? 0) === 50) {
      console.log(`0/100: ${bar(counts)}`);
      break;
    }
    if (Date.now() > deadline) throw new Error(`0/100 not served: ${[...counts]}`);
    await sleep(200);
  }
}

let stopping = false;
let startedCluster = false;

// A cluster the demo started goes away with it; one that was already running only loses what
// the demo added.
async function tearDown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    agent.destroy();
    if (startedCluster) {
      console.log('\ntearing down the local cluster');
      await down().catch((err) => console.error(err));
    } else {
      console.log('\nremoving the demo from the running cluster');
      for (const [cmd, args] of [
        ['kubectl', ['--kubeconfig', kubeconfigPath, 'delete', 'namespace', 'demo', '--ignore-not-found']],
        [join(root, 'bin/helm'), ['uninstall', 'sluice', '-n', namespace, '--kubeconfig', kubeconfigPath]],
      ] as const) {
        spawnSync(cmd, [...args], { stdio: 'ignore' });
      }
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => void tearDown(0));
process.on('SIGTERM', () => void tearDown(0));

try {
  const address = await setUp();
  if (once) {
    await checkOnce(address);
    console.log('demo check passed');
    await tearDown(0);
  }
  printHelp(address);
  while (!stopping) {
    const counts = await sample(address, 200);
    if (stopping) break;
    console.log(`${bar(counts)}   | rr: ${rrView()}`);
    await sleep(1000);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await tearDown(1);
}
