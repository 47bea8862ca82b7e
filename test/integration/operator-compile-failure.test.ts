// A compiler that fails must never take routes away: the controller, against the real API server
// and a data plane on 127.0.0.1 proxying to a real pod, keeps the last good config on the data
// plane while compiles fail, counts, logs and reports the failure, retries on its own, and serves
// the change once the fault is gone.
//
// The fault is made inside the compiler: the snapshot it is given throws when the engine reads
// its Ingresses, as a bug in the engine would.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { until } from '../../contract/testing/poll.ts';
import { ConfigValidator } from '../../contract/validate.ts';
import { request, startTestDataplane } from '../../dataplane/testing/net.ts';
import { kubeController } from '../../operator/app.ts';
import type { Snapshot } from '../../operator/compile/api.ts';
import { createCompiler, isSluiceIngress } from '../../operator/compile/index.ts';
import { loadAuth } from '../../operator/kube/auth.ts';
import { KubeClient } from '../../operator/kube/client.ts';
import { createMetrics } from '../../operator/metrics.ts';
import { DataplaneClient } from '../../operator/push/dataplane-client.ts';
import { parseStaticEndpoints } from '../../operator/push/replicas.ts';
import {
  freshNamespace,
  kubectlOk,
  singleHostIngress,
  testIngressClass,
} from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

function faulty(snapshot: Snapshot): Snapshot {
  const copy = { ...snapshot };
  Object.defineProperty(copy, 'ingresses', {
    enumerable: true,
    get() {
      throw new Error('injected compiler fault');
    },
  });
  return copy;
}

const echo = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: sluice.dev/echo:dev
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: http}]
`;

const ingress = (name: string, className: string, host: string) =>
  singleHostIngress(name, className, host, 'echo');

/** The controller as app.ts wires it, with a compile function whose fault the test switches. */
async function startController(
  t: TestContext,
  kubeconfig: string,
  cls: { className: string; controllerName: string },
  dp: { token: string; ports: { config: number } },
) {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const metrics = createMetrics({ defaultMetrics: false });
  const client = new KubeClient(loadAuth({ kubeconfig }));
  const dataplaneClient = new DataplaneClient({ token: async () => dp.token });
  const compileOptions = { className: cls.className, controllerName: cls.controllerName };
  const compiler = createCompiler(compileOptions);
  const validator = new ConfigValidator();
  const fault = { on: false };
  const controller = kubeController({
    client,
    log,
    metrics,
    compile: (snapshot) => compiler.compile(fault.on ? faulty(snapshot) : snapshot),
    isSluiceIngress,
    validate: (cfg) => {
      const r = validator.config(cfg, { checkVersion: false });
      return r.ok ? [] : r.errors;
    },
    compileOptions,
    dataplane: {
      namespace: 'unused',
      service: 'unused',
      portName: 'config',
      port: 0,
      scheme: 'http',
      replicas: parseStaticEndpoints(`http://127.0.0.1:${dp.ports.config}`),
      client: dataplaneClient,
    },
    publish: {},
    identity: 'compile-failure-test',
    queue: { holdOffMs: 20, maxDelayMs: 1000 },
  });
  t.after(async () => {
    await controller.stop();
    await Promise.all([client.close(), dataplaneClient.close()]);
  });
  await controller.start();
  return { controller, metrics, fault, lines };
}

test('a failing compiler keeps the last good config serving, reports it, and heals on retry', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'cfail');
  const cls = await testIngressClass(t, c);
  const dp = await startTestDataplane(t);
  const { metrics, fault, lines } = await startController(t, c.kubeconfig, cls, dp);
  const apply = (doc: string) => kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], doc);

  // Traffic goes only to the data plane on loopback; it proxies to the pod on the pod network.
  const get = async (host: string) => (await request(dp.ports.http, { host })).status;
  const served = async () => {
    const res = await fetch(`http://127.0.0.1:${dp.ports.config}/v1/config`, {
      headers: { authorization: `Bearer ${dp.token}` },
    });
    return ((await res.json()) as { version?: string }).version;
  };
  const failures = async () => {
    const m = metrics.registry.getSingleMetric('sluice_operator_compile_failures_total');
    return m ? (await m.get()).values.reduce((n, v) => n + v.value, 0) : 0;
  };
  const events = async (namespace: string, name: string) =>
    (
      JSON.parse(
        await kubectlOk(c, [
          '-n',
          namespace,
          'get',
          'events',
          '--field-selector',
          `involvedObject.name=${name}`,
          '-o',
          'json',
        ]),
      ) as { items: Array<{ type: string; reason: string; message?: string; note?: string }> }
    ).items;

  // A good compile serves a route to a real pod.
  await apply(echo('echo'));
  await apply(ingress('first', cls.className, 'first.example.com'));
  await until(
    async () => (await get('first.example.com')) === 200,
    'first.example.com answered 200 by the pod',
  );
  const good = await served();
  assert.ok(good);

  // The compiler starts failing, and an Ingress is added.
  fault.on = true;
  await apply(ingress('second', cls.className, 'second.example.com'));
  // Either the failure is counted, or (without the fail-safe) another config reaches the data plane.
  await until(async () => (await failures()) >= 1 || (await served()) !== good, 'the compile of the change');
  assert.equal(await served(), good, 'the data plane still runs the last good config');
  assert.equal(await get('first.example.com'), 200, 'the old route still serves');
  assert.equal(await get('second.example.com'), 404, 'the change is not served');

  // Retried without another change, and still nothing pushed.
  await until(async () => (await failures()) >= 2, 'a retry of the failed compile');
  assert.equal(await served(), good);
  assert.equal(await get('first.example.com'), 200);

  // Logged as an error with the message and the stack.
  const logged = lines.map((l) => JSON.parse(l)).find((l) => l.level === 50 && /compile failed/.test(l.msg));
  assert.ok(logged, 'an error line for the failed compile');
  assert.equal(logged.err.message, 'injected compiler fault');
  assert.match(logged.err.stack, /injected compiler fault\n\s+at /);

  // Said where users look: on the IngressClass and on the Ingress whose change waits.
  const onClass = await until(async () => {
    const items = await events('default', cls.className);
    return items.find((e) => e.type === 'Warning' && e.reason === 'CompileFailed');
  }, 'a CompileFailed Event on the IngressClass');
  assert.match(`${onClass.message ?? onClass.note}`, /injected compiler fault/);
  assert.match(`${onClass.message ?? onClass.note}`, new RegExp(`keeps serving version ${good}`));
  const onIngress = await until(async () => {
    const items = await events(ns, 'second');
    return items.find((e) => e.type === 'Warning' && e.reason === 'CompileFailed');
  }, 'a CompileFailed Event on the changed Ingress');
  assert.match(`${onIngress.message ?? onIngress.note}`, /not served yet/);
  // A retry that fails alike posts nothing new.
  assert.equal(
    (await events('default', cls.className)).filter((e) => e.reason === 'CompileFailed').length,
    1,
  );

  // The fault goes away: the next retry serves the change with no further edit.
  fault.on = false;
  await until(
    async () => (await get('second.example.com')) === 200,
    'second.example.com served after the fault',
  );
  assert.notEqual(await served(), good);
  assert.equal(await get('first.example.com'), 200);
  await until(async () => {
    const items = await events('default', cls.className);
    return items.find((e) => e.type === 'Normal' && e.reason === 'Compiled');
  }, 'a Compiled Event on the IngressClass');
});
