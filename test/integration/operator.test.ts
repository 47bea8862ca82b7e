// The operator against the real API server, pushing to a data plane on 127.0.0.1 (static
// endpoint list): Ingresses become routes, RouteRatio edits become splits with status written
// back, conflicts become Warning Events, Ingress status gets the published address. Traffic is
// never forwarded: EndpointSlice addresses cannot be loopback, so routes are checked with the
// data plane's own /debug/explain and its applied config.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../../contract/testing/poll.ts';
import { startTestDataplane } from '../../dataplane/testing/net.ts';
import {
  freshNamespace,
  kubectlOk,
  startTestOperator,
  testIngressClass,
} from '../../operator/testing/harness.ts';
import * as objects from '../../operator/testing/objects.ts';
import { cluster } from '../support/cluster.ts';

type Json = Record<string, unknown>;

const service = (name: string) =>
  objects.service(name, { ports: [{ name: 'http', port: 80, targetPort: 8080 }] });

/** Endpoints written by hand (a Service without selector), so no pods are needed. */
const endpointSlice = (svc: string, addresses: string[]) =>
  objects.endpointSlice(svc, {
    name: `${svc}-manual`,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: addresses.map((address) => ({ address })),
  });

const ingress = (
  name: string,
  className: string,
  rules: Array<{ host: string; path: string; service: string }>,
) =>
  objects.ingress(name, {
    className,
    rules: rules.map((r) => ({ host: r.host, paths: [{ path: r.path, service: r.service }] })),
  });

const list = (...items: unknown[]) => objects.list(items);

async function setup(t: TestContext, extraFlags: string[] = []) {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op');
  const cls = await testIngressClass(t, c);
  const dp = await startTestDataplane(t);
  const op = await startTestOperator(t, c, [
    ...cls.flags,
    `--config-token-file=${join(dp.dir, 'token')}`,
    `--dataplane-endpoints=http://127.0.0.1:${dp.ports.config}`,
    '--leader-elect=false',
    '--queue-hold-off=20ms',
    ...extraFlags,
  ]);
  const explain = async (url: string): Promise<Json> => {
    const res = await fetch(`http://127.0.0.1:${dp.ports.ops}/debug/explain?url=${encodeURIComponent(url)}`);
    return (await res.json()) as Json;
  };
  const apply = (doc: string) => kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], doc);
  return { c, ns, cls, dp, op, explain, apply };
}

test('an Ingress becomes routes on the data plane; edits and deletes follow', async (t) => {
  const { c, ns, cls, dp, op, explain, apply } = await setup(t);
  await apply(
    list(
      service('web'),
      service('api'),
      endpointSlice('web', ['198.18.200.1', '198.18.200.2']),
      endpointSlice('api', ['198.18.200.3']),
      ingress('shop', cls.className, [
        { host: 'shop.example.com', path: '/', service: 'web' },
        { host: 'shop.example.com', path: '/api', service: 'api' },
        { host: 'admin.example.com', path: '/', service: 'api' },
      ]),
    ),
  );
  const root = await until(async () => {
    const e = await explain('http://shop.example.com/index.html');
    return e.route ? e : undefined;
  }, 'route for shop.example.com/');
  const backends = (root.split as { backends: Array<{ name: string; endpoints: string[] }> }).backends;
  assert.deepEqual(
    backends.map((b) => [b.name, b.endpoints.sort()]),
    [['web', ['198.18.200.1:8080', '198.18.200.2:8080']]],
  );
  const api = await explain('http://shop.example.com/api/orders');
  assert.deepEqual((api.route as Json).path, '/api');
  assert.equal((api.route as { source: { ingress: string } }).source.ingress, `${ns}/shop`);
  assert.equal((await explain('http://unknown.example.com/')).result, 'no route: 404');
  assert.equal(dp.store.table?.version, op.controller.version, 'the data plane runs the operator version');

  // Endpoints change: the data plane follows.
  await apply(list(endpointSlice('web', ['198.18.200.9'])));
  await until(async () => {
    const e = await explain('http://shop.example.com/');
    const b = (e.split as { backends: Array<{ endpoints: string[] }> } | undefined)?.backends[0];
    return b?.endpoints.join() === '198.18.200.9:8080';
  }, 'new endpoints');

  // The Ingress goes away: so do its routes.
  await kubectlOk(c, ['-n', ns, 'delete', 'ingress', 'shop']);
  await until(
    async () => (await explain('http://shop.example.com/')).result === 'no route: 404',
    'routes removed',
  );
  const m = await op.metrics.registry.getSingleMetricAsString('sluice_operator_reconciles_total');
  assert.match(m, /result="pushed"/);
});

test('unreferenced objects and status-only updates cause no new config', async (t) => {
  const { cls, op, explain, apply } = await setup(t);
  await apply(
    list(
      service('web'),
      ingress('shop', cls.className, [{ host: 'a.example.com', path: '/', service: 'web' }]),
    ),
  );
  await until(async () => (await explain('http://a.example.com/')).route, 'route');
  const version = op.controller.version;
  // Every compile counts as one reconcile (pushed, unchanged or invalid).
  const compiles = async () =>
    (await op.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
  const before = await compiles();
  await apply(list(service('unrelated'), endpointSlice('unrelated', ['198.18.201.1'])));
  // A change that does matter afterwards proves the operator saw the earlier ones already.
  await apply(list(endpointSlice('web', ['198.18.201.2'])));
  await until(async () => op.controller.version !== version, 'new version for the referenced change');
  assert.equal((await compiles()) - before, 1, 'one compile: for the referenced change only');
  // Only the first compile starts from nothing; every later one updates the last.
  const kinds = Object.fromEntries(
    (await op.metrics.compiles.get()).values.map((v) => [v.labels.kind, v.value]),
  );
  assert.equal(kinds.full, 1);
  assert.ok((kinds.incremental ?? 0) >= 1, JSON.stringify(kinds));
  assert.equal(kinds.recovered ?? 0, 0);
});

test('RouteRatio: split served, status written, patches move the split and Programmed follows', async (t) => {
  const { c, ns, cls, explain, apply } = await setup(t);
  await apply(
    list(
      service('checkout'),
      service('checkout-v1'),
      service('checkout-v2'),
      endpointSlice('checkout-v1', ['198.18.202.1']),
      endpointSlice('checkout-v2', ['198.18.202.2']),
      ingress('shop', cls.className, [{ host: 'shop.example.com', path: '/', service: 'checkout' }]),
      objects.routeRatio('checkout', {
        service: { name: 'checkout' },
        backends: [
          { name: 'checkout-v1', weight: 90 },
          { name: 'checkout-v2', weight: 10 },
        ],
      }),
    ),
  );
  const weights = async () => {
    const e = await explain('http://shop.example.com/cart');
    return (e.split as { backends: Array<{ name: string; percent: number }> } | undefined)?.backends
      .map((b) => `${b.name}=${b.percent}`)
      .join(' ');
  };
  await until(async () => (await weights()) === 'checkout-v1=90 checkout-v2=10', '90/10 served');
  const rr = async () => JSON.parse(await kubectlOk(c, ['-n', ns, 'get', 'rr', 'checkout', '-o', 'json']));
  const programmed = (obj: { metadata: { generation: number }; status?: { conditions?: Json[] } }) =>
    obj.status?.conditions?.find(
      (x) =>
        x.type === 'Programmed' && x.status === 'True' && x.observedGeneration === obj.metadata.generation,
    );
  const first = await until(async () => {
    const o = await rr();
    return programmed(o) ? o : undefined;
  }, 'Programmed=True for generation 1');
  assert.equal(first.status.summary, 'checkout-v1=90% checkout-v2=10%');
  assert.equal(first.status.observedGeneration, 1);
  assert.match(programmed(first)?.message as string, /^1 of 1 ready replicas run generation 1$/);
  const accepted = first.status.conditions.find((x: Json) => x.type === 'Accepted');
  assert.equal(accepted.status, 'True');
  const setWeights = (v1: number, v2: number) =>
    kubectlOk(c, [
      '-n',
      ns,
      'patch',
      'rr',
      'checkout',
      '--type',
      'merge',
      '-p',
      JSON.stringify({
        spec: {
          backends: [
            { name: 'checkout-v1', port: { number: 80 }, weight: v1 },
            { name: 'checkout-v2', port: { number: 80 }, weight: v2 },
          ],
        },
      }),
    ]);

  await setWeights(50, 50);
  await until(async () => (await weights()) === 'checkout-v1=50 checkout-v2=50', '50/50 served');
  const second = await until(async () => {
    const o = await rr();
    return o.metadata.generation === 2 && programmed(o) ? o : undefined;
  }, 'Programmed=True for generation 2');
  assert.equal(second.status.summary, 'checkout-v1=50% checkout-v2=50%');
  // Accepted stayed True: its lastTransitionTime did not move.
  assert.equal(
    second.status.conditions.find((x: Json) => x.type === 'Accepted').lastTransitionTime,
    accepted.lastTransitionTime,
  );

  await setWeights(0, 100);
  await until(async () => (await weights()) === 'checkout-v1=0 checkout-v2=100', '0/100 served');
  const table = await until(async () => {
    const out = await kubectlOk(c, ['-n', ns, 'get', 'rr', 'checkout']);
    return /checkout-v1=0% checkout-v2=100%\s+True/.test(out) ? out : undefined;
  }, 'kubectl get rr shows the summary and Programmed');
  assert.match(table, /NAME\s+SERVICE\s+SPLIT\s+PROGRAMMED/);
});

test('conflicting Ingresses: the older keeps the route, the newer gets a Warning Event', async (t) => {
  const { c, ns, cls, explain, apply } = await setup(t);
  await apply(
    list(
      service('old-app'),
      service('new-app'),
      ingress('older', cls.className, [{ host: 'c.example.com', path: '/', service: 'old-app' }]),
    ),
  );
  await until(async () => (await explain('http://c.example.com/')).route, 'older routed');
  // creationTimestamp has whole seconds and a tie goes by name ("newer" < "older"): the newer one
  // is created in a later second, so that age alone decides.
  const created = Date.parse(
    await kubectlOk(c, ['-n', ns, 'get', 'ingress', 'older', '-o', 'jsonpath={.metadata.creationTimestamp}']),
  );
  await sleep(Math.max(0, created + 1100 - Date.now()));
  await apply(
    list(ingress('newer', cls.className, [{ host: 'c.example.com', path: '/', service: 'new-app' }])),
  );
  const events = await until(async () => {
    const out = JSON.parse(
      await kubectlOk(c, [
        '-n',
        ns,
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=newer',
        '-o',
        'json',
      ]),
    ) as {
      items: Array<{
        type: string;
        reason: string;
        message?: string;
        note?: string;
        reportingComponent?: string;
      }>;
    };
    return out.items.length > 0 ? out.items : undefined;
  }, 'a Warning Event on the newer Ingress');
  assert.equal(events[0].type, 'Warning');
  assert.match(`${events[0].reason}`, /Conflict/);
  assert.match(`${events[0].message ?? events[0].note}`, /older/);
  const e = await explain('http://c.example.com/');
  assert.equal((e.route as { source: { ingress: string } }).source.ingress, `${ns}/older`);
  // The same conflict on the next compile does not post the Event again.
  await apply(list(service('another')));
  await apply(
    list(
      ingress('older', cls.className, [
        { host: 'c.example.com', path: '/', service: 'old-app' },
        { host: 'd.example.com', path: '/', service: 'old-app' },
      ]),
    ),
  );
  await until(async () => (await explain('http://d.example.com/')).route, 'next compile');
  const again = JSON.parse(
    await kubectlOk(c, [
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=newer',
      '-o',
      'json',
    ]),
  ) as { items: unknown[] };
  assert.equal(again.items.length, events.length);
});

test('Ingress status gets the published address', async (t) => {
  const { c, ns, cls, explain, apply } = await setup(t, ['--publish-address=edge.sluice.test']);
  await apply(
    list(
      service('web'),
      ingress('shop', cls.className, [{ host: 's.example.com', path: '/', service: 'web' }]),
    ),
  );
  await until(async () => (await explain('http://s.example.com/')).route, 'route');
  const lb = await until(async () => {
    const o = JSON.parse(await kubectlOk(c, ['-n', ns, 'get', 'ingress', 'shop', '-o', 'json']));
    return o.status?.loadBalancer?.ingress;
  }, 'status.loadBalancer');
  assert.deepEqual(lb, [{ hostname: 'edge.sluice.test' }]);
});
