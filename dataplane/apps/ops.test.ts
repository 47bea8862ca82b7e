import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  sticky,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import { build } from '../../runtime/ops.ts';
import { ConfigStore } from '../config/store.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { DataplaneMetrics } from '../observability/metrics.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { debugRoutes, readinessChecks } from './debug.ts';

function setup(t: import('node:test').TestContext) {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 4,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  const metrics = new DataplaneMetrics({});
  let draining = false;
  const state = { table: () => store.table, draining: () => draining };
  const app = build({
    registry: metrics.registry,
    checks: readinessChecks(state),
    plugins: [debugRoutes(state)],
  });
  t.after(async () => {
    await app.close();
    await registry.closeAll();
  });
  return { app, store, metrics, drain: () => (draining = true) };
}

const config = makeConfig({
  virtualHosts: [
    vhost('shop.example', [
      route(
        '/cart',
        sticky(
          [
            ['v1', 90],
            ['v2', 10],
          ],
          { header: { name: 'x-user' } },
        ),
        { ingress: 'shop/cart' },
      ),
      route(
        '/',
        weighted([
          ['v1', 3],
          ['v2', 1],
        ]),
        { httpsRedirect: true },
      ),
    ]),
  ],
  backends: { [backendKey('v1')]: backend('v1', [1111]), [backendKey('v2')]: backend('v2', [2222, 2223]) },
});

test('readyz: not ready before a config, ready after, not ready while draining; healthz always ok', async (t) => {
  const { app, store, drain } = setup(t);
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  assert.equal((await app.inject('/readyz')).statusCode, 503);
  await store.apply(config);
  assert.equal((await app.inject('/readyz')).statusCode, 200);
  drain();
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().checks.draining, 'draining');
  assert.equal((await app.inject('/healthz')).statusCode, 200);
});

test('metrics are served in the Prometheus text format', async (t) => {
  const { app } = setup(t);
  const r = await app.inject('/metrics');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.match(r.body, /# TYPE sluice_requests_total counter/);
});

test('explain: host rule, path rule and its Ingress, and the split', async (t) => {
  const { app, store } = setup(t);
  await store.apply(config);
  const r = await app.inject(
    `/debug/explain?url=${encodeURIComponent('https://Shop.Example/cart/x')}&key=alice`,
  );
  assert.equal(r.statusCode, 200);
  const body = r.json();
  assert.equal(body.configVersion, config.version);
  assert.deepEqual(body.virtualHostsTried, [{ kind: 'exact', host: 'shop.example', matched: true }]);
  assert.equal(body.route.path, '/cart');
  assert.equal(body.route.pathType, 'Prefix');
  assert.equal(body.route.source.ingress, 'shop/cart');
  assert.equal(body.split.mode, 'sticky');
  assert.deepEqual(
    body.split.backends.map((b: { backend: string; percent: number }) => [b.backend, b.percent]),
    [
      ['ns/v1:80', 90],
      ['ns/v2:80', 10],
    ],
  );
  assert.match(body.result, /^sticky key in bucket \d+ of 10000: backend ns\/v[12]:80$/);

  const redirect = await app.inject(`/debug/explain?url=${encodeURIComponent('http://shop.example/')}`);
  assert.equal(redirect.json().result, 'redirect: 308 to https');

  const none = await app.inject(`/debug/explain?url=${encodeURIComponent('http://other.example/')}`);
  assert.equal(none.json().result, 'no route: 404');

  const bad = await app.inject(`/debug/explain?url=${encodeURIComponent('http://shop.example/a%2Fb')}`);
  assert.equal(bad.statusCode, 400);
  assert.equal((await app.inject('/debug/explain')).statusCode, 400);
});
