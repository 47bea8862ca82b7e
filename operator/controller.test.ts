// The reconcile loop end to end in memory: informers -> store -> queue -> compile -> validate ->
// push -> status, with the real compiler, validator and pusher, in-memory informers and a data
// plane that applies what it is sent. No API server, no network; each case takes milliseconds.

import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { V1Ingress } from '@kubernetes/client-node';
import pino from 'pino';
import { until } from '../contract/testing/poll.ts';
import { ConfigValidator } from '../contract/validate.ts';
import type { CompileOptions, Snapshot } from './compile/api.ts';
import { CONTROLLER_NAME } from './compile/api.ts';
import { createCompiler, isSluiceIngress } from './compile/index.ts';
import { Controller } from './controller.ts';
import { alwaysLeading } from './leader.ts';
import { createMetrics } from './metrics.ts';
import { MemoryDataplane, RecordingEvents, RecordingStatus } from './testing/memory-clients.ts';
import { memoryInformers } from './testing/memory-informer.ts';
import { endpointSlice, ingress, ingressClass, service } from './testing/objects.ts';

const REPLICA = 'http://dataplane-0:9000';

const cls = ingressClass('sluice', { uid: 'class-uid', controller: CONTROLLER_NAME });

const svc = (name: string) =>
  service(name, { namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }] });

const slice = (service: string, ip: string) =>
  endpointSlice(service, {
    namespace: 'shop',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ address: ip }],
  });

const ing = (name: string, host: string, paths: Array<{ path: string; service: string }>) =>
  ingress(name, {
    namespace: 'shop',
    uid: `${name}-uid`,
    created: '2026-01-01T00:00:00Z',
    rules: [{ host, paths }],
  });

/** The snapshot as the engine sees it when a bug makes reading its Ingresses throw. */
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

/** Counts status rounds: Events are recorded last in each. */
class CountingEvents extends RecordingEvents {
  rounds = 0;

  override async record(events: Parameters<RecordingEvents['record']>[0]) {
    this.rounds++;
    return super.record(events);
  }
}

/** A controller over in-memory informers, started, synced and leading. */
async function startController(
  t: TestContext,
  opts: { compileOptions?: CompileOptions; publishStatus?: boolean; ingresses?: V1Ingress[] } = {},
) {
  const informers = memoryInformers({
    ingressClasses: [cls],
    services: [svc('web'), svc('api')],
    endpointSlices: [slice('web', '10.0.0.1'), slice('api', '10.0.0.2')],
    ingresses: opts.ingresses ?? [ing('shop', 'shop.example.com', [{ path: '/', service: 'web' }])],
  });
  const dataplane = new MemoryDataplane();
  const status = new RecordingStatus();
  const events = new CountingEvents();
  const metrics = createMetrics({ defaultMetrics: false });
  const compileOptions = opts.compileOptions ?? { className: 'sluice' };
  const compiler = createCompiler(compileOptions);
  const validator = new ConfigValidator();
  const fault = { on: false };
  const controller = new Controller({
    informers,
    readSecret: () => Promise.reject(new Error('no Secrets in this test')),
    status,
    events,
    leader: alwaysLeading(),
    log: pino({ level: 'silent' }),
    metrics,
    compile: (snapshot) => compiler.compile(fault.on ? faulty(snapshot) : snapshot),
    isSluiceIngress,
    validate: (cfg) => {
      const r = validator.config(cfg, { checkVersion: false });
      return r.ok ? [] : r.errors;
    },
    compileOptions,
    dataplane: {
      portName: 'config',
      port: 9000,
      scheme: 'http',
      replicas: [{ id: REPLICA, url: REPLICA, ready: true, static: true }],
      client: dataplane,
    },
    publish: { addresses: [{ ip: '192.0.2.1' }], status: opts.publishStatus },
    identity: 'controller-test',
    queue: { holdOffMs: 0, maxDelayMs: 0 },
  });
  t.after(() => controller.stop());
  await controller.start();

  const count = async (name: 'reconciles' | 'compileFailures', result?: string) => {
    const { values } = await metrics[name].get();
    return values
      .filter((v) => result === undefined || v.labels.result === result)
      .reduce((n, v) => n + v.value, 0);
  };
  /** Resolves once the replica runs what the controller last compiled. */
  const served = () =>
    until(() => {
      const v = controller.version;
      return v !== undefined && dataplane.config(REPLICA)?.version === v && v;
    }, 'the replica to run the compiled version');
  const routes = () =>
    (dataplane.config(REPLICA)?.virtualHosts ?? []).flatMap((vh) =>
      vh.routes.map((r) => `${vh.host}${r.path}`),
    );
  return { controller, informers, dataplane, status, events, fault, count, served, routes };
}

/** Gives any queued reconcile and push time to run (the queue has no hold-off here). */
const settle = () => new Promise((r) => setTimeout(r, 20));

test('the first list is compiled, pushed, and reported in status', async (t) => {
  const c = await startController(t);
  const version = await c.served();
  assert.deepEqual(c.routes(), ['shop.example.com/']);
  assert.deepEqual(c.dataplane.pushes, [{ url: REPLICA, method: 'PUT', version }]);
  await until(() => c.status.ingresses.length > 0, 'Ingress status');
  assert.deepEqual(c.status.ingresses, ['shop/shop']);
  assert.deepEqual(c.status.loadBalancer, [{ ip: '192.0.2.1' }]);
});

test('ingress-nginx mode serves class nginx; --publish-status=false leaves Ingress status alone', async (t) => {
  const nginx = ing('legacy', 'legacy.example.com', [{ path: '/', service: 'api' }]);
  const c = await startController(t, {
    compileOptions: { className: 'sluice', ingressNginxClassNames: ['nginx'] },
    publishStatus: false,
    ingresses: [
      ing('shop', 'shop.example.com', [{ path: '/', service: 'web' }]),
      { ...nginx, spec: { ...nginx.spec, ingressClassName: 'nginx' } },
    ],
  });
  await c.served();
  assert.deepEqual(c.routes(), ['legacy.example.com/', 'shop.example.com/']);
  // A status round has run with this compile (Events come last in it, after Ingress status).
  await until(() => c.events.rounds > 0, 'a status round');
  assert.deepEqual(c.status.ingresses, [], 'no Ingress status written');
});

test('add, update and delete each push a new config', async (t) => {
  const c = await startController(t);
  const first = await c.served();

  c.informers.ingresses.apply(ing('api', 'api.example.com', [{ path: '/v1', service: 'api' }]));
  const added = await until(async () => {
    const v = await c.served();
    return v !== first && v;
  }, 'the added Ingress to be served');
  assert.deepEqual(c.routes(), ['api.example.com/v1', 'shop.example.com/']);

  c.informers.ingresses.apply(ing('api', 'api.example.com', [{ path: '/v2', service: 'api' }]));
  const updated = await until(async () => {
    const v = await c.served();
    return v !== added && v;
  }, 'the updated Ingress to be served');
  assert.deepEqual(c.routes(), ['api.example.com/v2', 'shop.example.com/']);

  c.informers.ingresses.delete('shop', 'api');
  await until(async () => {
    const v = await c.served();
    return v !== updated && v;
  }, 'the deleted Ingress to be gone');
  assert.deepEqual(c.routes(), ['shop.example.com/']);

  // The replica runs a recent version, so changes go out as patches.
  assert.deepEqual(
    c.dataplane.pushes.map((p) => p.method),
    ['PUT', 'PATCH', 'PATCH', 'PATCH'],
  );
});

test('an unreferenced change and a relist with no change push nothing', async (t) => {
  const c = await startController(t);
  await c.served();
  await settle();
  const pushes = c.dataplane.pushes.length;
  const reconciles = await c.count('reconciles');

  // A resync lists everything again; unchanged objects (same resourceVersion) are not events.
  for (const inf of [c.informers.ingresses, c.informers.services, c.informers.endpointSlices]) {
    inf.relist([...inf.values()] as never[]);
  }
  // A Service no Ingress references cannot change the config.
  c.informers.services.apply(svc('unused'));
  await settle();

  assert.equal(c.dataplane.pushes.length, pushes, 'nothing pushed');
  assert.equal(await c.count('reconciles'), reconciles, 'no reconcile ran');
});

test('a failed compile pushes nothing and the last good config keeps serving', async (t) => {
  const c = await startController(t);
  const good = await c.served();
  await settle();
  const pushes = c.dataplane.pushes.length;

  c.fault.on = true;
  c.informers.ingresses.apply(ing('api', 'api.example.com', [{ path: '/', service: 'api' }]));
  await until(async () => (await c.count('compileFailures')) >= 1, 'the failed compile');
  await settle();

  assert.equal(c.dataplane.pushes.length, pushes, 'nothing pushed on a failed compile');
  assert.equal(c.controller.version, good, 'the pusher still holds the last good config');
  assert.equal(c.dataplane.config(REPLICA)?.version, good, 'the replica still runs the last good config');
  assert.deepEqual(c.routes(), ['shop.example.com/']);
  assert.equal(await c.count('reconciles', 'error'), await c.count('compileFailures'));
  await until(() => c.events.posted.some((e) => e.reason === 'CompileFailed'), 'a CompileFailed Event');

  // Once the compiler works again, the next change serves everything that waited.
  c.fault.on = false;
  c.informers.ingresses.apply(ing('api', 'api.example.com', [{ path: '/', service: 'web' }]));
  await until(async () => {
    const v = await c.served();
    return v !== good && v;
  }, 'the change to be served after recovery');
  assert.deepEqual(c.routes(), ['api.example.com/', 'shop.example.com/']);
  await until(() => c.events.posted.some((e) => e.reason === 'Compiled'), 'a Compiled Event');
});
