import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  simpleConfig,
  sticky,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { ConfigStore } from '../config/store.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { TrustedProxies } from '../edge/trusted-proxies.ts';
import { DataplaneMetrics } from '../observability/metrics.ts';
import { closedPort, startBackend } from '../testing/net.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { build } from './traffic.ts';

async function setup(t: TestContext, config: DataplaneConfig, trusted: string[] = []) {
  const metrics = new DataplaneMetrics({});
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 16,
    keepAliveTimeoutMs: 5_000,
    ejectBaseMs: 60_000,
    ejectMaxMs: 60_000,
    onEject: (up) => metrics.ejection(`${up.address}:${up.port}`),
  });
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  const applied = await store.apply(config);
  assert.ok(applied.ok, JSON.stringify(applied));
  const app = build({
    table: () => store.table,
    registry,
    trustedProxies: new TrustedProxies(trusted),
    metrics,
    httpsRedirectPort: 8443,
  });
  t.after(() => registry.destroyAll());
  return { app, store, metrics, registry };
}

test('routes by host and path: exact host, then wildcard, then any host, then default, else 404', async (t) => {
  const names = ['exact', 'wild', 'any', 'deflt'] as const;
  const b = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await startBackend(t, n)] as const)),
  );
  const config = makeConfig({
    virtualHosts: [
      vhost('shop.example', [route('/cart', weighted([['exact', 1]]))]),
      vhost('*.example', [route('/', weighted([['wild', 1]]))]),
      vhost('*', [route('/public', weighted([['any', 1]]))]),
    ],
    backends: Object.fromEntries(names.map((n) => [backendKey(n), backend(n, [b[n].port])])),
    defaultRoute: {
      source: { ingress: 'ns/fallback' },
      policy: route('/', weighted([])).policy,
      split: weighted([['deflt', 1]]),
    },
  });
  const { app } = await setup(t, config);
  const cases: Array<[host: string, path: string, want: string]> = [
    ['shop.example', '/cart', 'exact'],
    ['SHOP.example.:80', '/cart/items', 'exact'],
    ['shop.example', '/other', 'wild'],
    ['bar.example', '/x', 'wild'],
    ['a.b.example', '/public/x', 'any'],
    ['elsewhere.test', '/public', 'any'],
    ['elsewhere.test', '/private', 'deflt'],
  ];
  for (const [host, path, want] of cases) {
    const res = await app.inject({ url: path, headers: { host } });
    assert.equal(res.statusCode, 200, `${host}${path}`);
    assert.equal(res.body, want, `${host}${path}`);
  }
});

test('404 when nothing matches and there is no default route', async (t) => {
  const be = await startBackend(t, 'app');
  const { app } = await setup(t, simpleConfig('app.example', [be.port]));
  const res = await app.inject({ url: '/', headers: { host: 'other.example' } });
  assert.equal(res.statusCode, 404);
  assert.equal(be.seen.length, 0);
});

test('the normalised path is matched and forwarded; encoded slashes are refused', async (t) => {
  const admin = await startBackend(t, 'admin');
  const pub = await startBackend(t, 'public');
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        route('/public', weighted([['public', 1]])),
        route('/admin', weighted([['admin', 1]])),
      ]),
    ],
    backends: {
      [backendKey('public')]: backend('public', [pub.port]),
      [backendKey('admin')]: backend('admin', [admin.port]),
    },
  });
  const { app } = await setup(t, config);
  const res = await app.inject({ url: '/public/../admin//users/./me?x=1', headers: { host: 'app.example' } });
  assert.equal(res.body, 'admin');
  assert.equal(admin.seen.at(-1)?.url, '/admin/users/me?x=1');

  const encoded = await app.inject({ url: '/public/%2e%2e/admin', headers: { host: 'app.example' } });
  assert.equal(encoded.body, 'admin');
  for (const bad of ['/public/..%2Fadmin', '/public%5C..%5Cadmin', '/public/%zz']) {
    const r = await app.inject({ url: bad, headers: { host: 'app.example' } });
    assert.equal(r.statusCode, 400, bad);
  }
  assert.equal(pub.seen.length, 0);
});

test('HTTP requests to TLS routes redirect to HTTPS; HTTPS and trusted forwarded HTTPS do not', async (t) => {
  const be = await startBackend(t, 'app');
  const config = makeConfig({
    virtualHosts: [vhost('app.example', [route('/', weighted([['app', 1]]), { httpsRedirect: true })])],
    backends: { [backendKey('app')]: backend('app', [be.port]) },
  });
  const { app } = await setup(t, config, ['127.0.0.0/8']);
  const res = await app.inject({ url: '/a/../b?q=1', headers: { host: 'App.Example:8080' } });
  assert.equal(res.statusCode, 308);
  assert.equal(res.headers.location, 'https://app.example:8443/b?q=1');
  const https = await app.inject({ url: '/b', headers: { host: 'app.example' }, scheme: 'https' });
  assert.equal(https.statusCode, 200);
  const forwarded = await app.inject({
    url: '/b',
    headers: { host: 'app.example', 'x-forwarded-proto': 'https' },
  });
  assert.equal(forwarded.statusCode, 200);
});

test('all weights 0: 503 with Retry-After; a backend without endpoints fails only its share', async (t) => {
  const ok = await startBackend(t, 'ok');
  const config = makeConfig({
    virtualHosts: [
      vhost('zero.example', [route('/', weighted([['ok', 0]]))]),
      vhost('half.example', [
        route(
          '/',
          weighted([
            ['ok', 1],
            ['empty', 1],
          ]),
        ),
      ]),
    ],
    backends: { [backendKey('ok')]: backend('ok', [ok.port]), [backendKey('empty')]: backend('empty', []) },
  });
  const { app } = await setup(t, config);
  const zero = await app.inject({ url: '/', headers: { host: 'zero.example' } });
  assert.equal(zero.statusCode, 503);
  assert.equal(zero.headers['retry-after'], '5');
  const codes: number[] = [];
  for (let i = 0; i < 40; i++)
    codes.push((await app.inject({ url: '/', headers: { host: 'half.example' } })).statusCode);
  assert.equal(codes.filter((c) => c === 200).length, 20);
  assert.equal(codes.filter((c) => c === 503).length, 20);
});

test('body over the route limit: 413 without contacting the backend', async (t) => {
  const be = await startBackend(t, 'app');
  const { app } = await setup(t, simpleConfig('app.example', [be.port], { maxBodyBytes: 10 }));
  const big = await app.inject({
    method: 'POST',
    url: '/',
    headers: { host: 'app.example' },
    payload: 'x'.repeat(11),
  });
  assert.equal(big.statusCode, 413);
  const fits = await app.inject({
    method: 'POST',
    url: '/',
    headers: { host: 'app.example' },
    payload: 'x'.repeat(10),
  });
  assert.equal(fits.statusCode, 200);
  assert.equal(be.seen.length, 1);
  assert.equal(be.seen[0].body, 'x'.repeat(10));
});

test('forwarding headers: set by the proxy, client values from untrusted peers overwritten', async (t) => {
  const be = await startBackend(t, 'app');
  const { app } = await setup(t, simpleConfig('app.example', [be.port]));
  await app.inject({
    url: '/',
    remoteAddress: '203.0.113.9',
    headers: {
      host: 'app.example',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-request-id': 'forged',
      'x-real-ip': '6.6.6.6',
      connection: 'x-drop-me',
      'x-drop-me': '1',
      x_user: 'admin',
    },
  });
  const h = be.seen[0].headers;
  assert.equal(h.host, 'app.example');
  assert.equal(h['x-forwarded-for'], '203.0.113.9');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'app.example');
  assert.equal(h['x-real-ip'], '203.0.113.9');
  assert.notEqual(h['x-request-id'], 'forged');
  assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(h['x-drop-me'], undefined);
  assert.equal(h.x_user, undefined);
});

test('sticky cookie is issued HttpOnly, SameSite=Lax, and keeps the client on its backend', async (t) => {
  const v1 = await startBackend(t, 'v1');
  const v2 = await startBackend(t, 'v2');
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        route(
          '/',
          sticky(
            [
              ['v1', 50],
              ['v2', 50],
            ],
            { cookie: { name: 'cohort' } },
          ),
        ),
      ]),
    ],
    backends: { [backendKey('v1')]: backend('v1', [v1.port]), [backendKey('v2')]: backend('v2', [v2.port]) },
  });
  const { app } = await setup(t, config);
  const first = await app.inject({ url: '/', headers: { host: 'app.example' } });
  const cookie = String(first.headers['set-cookie']);
  assert.match(cookie, /^cohort=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax$/);
  const value = cookie.split(';')[0];
  for (let i = 0; i < 10; i++) {
    const again = await app.inject({ url: '/', headers: { host: 'app.example', cookie: value } });
    assert.equal(again.body, first.body);
    assert.equal(again.headers['set-cookie'], undefined);
  }
  const secure = await app.inject({ url: '/', headers: { host: 'app.example' }, scheme: 'https' });
  assert.match(String(secure.headers['set-cookie']), /; Secure$/);
});

test('a refused endpoint is ejected and the request retried on another', async (t) => {
  const good = await startBackend(t, 'good');
  const dead = await closedPort();
  const { app, metrics } = await setup(t, simpleConfig('app.example', [dead, good.port]));
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: { host: 'app.example' },
      payload: `body-${i}`,
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'good');
  }
  assert.deepEqual(
    good.seen.map((s) => s.body),
    Array.from({ length: 20 }, (_, i) => `body-${i}`),
  );
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`sluice_endpoint_ejections_total\\{endpoint="127.0.0.1:${dead}"\\} 1`));
});

test('only dead endpoints: 502', async (t) => {
  const { app } = await setup(t, simpleConfig('app.example', [await closedPort()]));
  const res = await app.inject({ url: '/', headers: { host: 'app.example' } });
  assert.equal(res.statusCode, 502);
});

test('metrics count requests by host, route, backend and code', async (t) => {
  const be = await startBackend(t, 'app');
  const { app, metrics } = await setup(t, simpleConfig('app.example', [be.port]));
  await app.inject({ url: '/', headers: { host: 'app.example' } });
  await app.inject({ url: '/', headers: { host: 'app.example' } });
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /sluice_requests_total\{host="app.example",route="ns\/web Prefix \/",backend="ns\/app:80",code="200"\} 2/,
  );
  assert.match(
    text,
    /sluice_request_duration_seconds_count\{host="app.example",route="ns\/web Prefix \/"\} 2/,
  );
});
