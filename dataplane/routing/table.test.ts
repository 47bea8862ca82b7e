import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, configVersion, serializeConfig } from '../../contract/canonical.ts';
import { diffConfigs } from '../../contract/patch.ts';
import { arbitraries, edited } from '../../contract/testing/arbitrary.ts';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import type { Certificate, DataplaneConfig } from '../../contract/types.ts';
import { ConfigStore } from '../config/store.ts';
import { selfSignedCertificate } from '../edge/self-signed.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { UpstreamRegistry, upstreamKey } from '../upstream/registry.ts';
import { compileTable, type RoutingTable } from './table.ts';

function setup(t: import('node:test').TestContext) {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 4,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const contexts = new SecureContextCache();
  const store = new ConfigStore({ registry, contexts, fallbackContext: undefined });
  t.after(() => registry.destroyAll());
  return { registry, contexts, store };
}

/** Applies the patch from the store's config to `to` (re-hashed), as the operator would send it. */
function patchTo(store: ConfigStore, to: DataplaneConfig) {
  const target = { ...to, version: '' };
  target.version = configVersion(target);
  const result = store.patch(JSON.parse(JSON.stringify(diffConfigs(store.config!, target))));
  assert.ok(result.ok && result.changed, JSON.stringify(result));
}

const hosts = (port: number, bPath = '/') =>
  makeConfig({
    virtualHosts: [
      vhost('a.example', [route('/', weighted([['a', 1]]))]),
      vhost('b.example', [route(bPath, weighted([['b', 1]]))]),
      vhost('c.example', [route('/', weighted([['b', 1]]))]),
    ],
    backends: { [backendKey('a')]: backend('a', [port]), [backendKey('b')]: backend('b', [port + 1]) },
  });

test('a patch rebuilds only the hosts it changes or whose backends it changes', async (t) => {
  const { store } = setup(t);
  store.apply(hosts(6000));
  const first = store.table!;
  const entry = (table: RoutingTable, host: string) => table.hosts.exact(host);

  patchTo(store, {
    ...hosts(6000, '/b'),
    virtualHosts: [
      store.config!.virtualHosts[0],
      hosts(6000, '/b').virtualHosts[1],
      store.config!.virtualHosts[2],
    ],
  });
  const second = store.table!;
  assert.equal(entry(second, 'a.example'), entry(first, 'a.example'));
  assert.equal(entry(second, 'c.example'), entry(first, 'c.example'));
  assert.notEqual(entry(second, 'b.example'), entry(first, 'b.example'));
  assert.equal(second.match('b.example', '/'), undefined);
  assert.equal(second.match('b.example', '/b/x')?.path, '/b');

  // A new Backend object for b: both hosts routing to it are rebuilt, a is kept.
  const config = store.config!;
  patchTo(store, { ...config, backends: { ...config.backends, [backendKey('b')]: backend('b', [6009]) } });
  const third = store.table!;
  assert.equal(entry(third, 'a.example'), entry(first, 'a.example'));
  assert.notEqual(entry(third, 'b.example'), entry(second, 'b.example'));
  assert.notEqual(entry(third, 'c.example'), entry(second, 'c.example'));
  const endpoints = third.match('c.example', '/')!.splitter.choose({}).backend!.balancer.endpoints;
  assert.deepEqual(
    endpoints.map((e) => e.port),
    [6009],
  );
  // The old table still routes by what it had.
  assert.deepEqual(
    second
      .match('c.example', '/')!
      .splitter.choose({})
      .backend!.balancer.endpoints.map((e) => e.port),
    [6001],
  );
});

test('round-robin positions carry over patches, for kept and rebuilt hosts', async (t) => {
  const { store } = setup(t);
  const split = () =>
    weighted([
      ['v1', 90],
      ['v2', 10],
    ]);
  const config = (v1Port: number) =>
    makeConfig({
      virtualHosts: [
        vhost('kept.example', [route('/', split())]),
        vhost('moved.example', [
          route(
            '/',
            weighted([
              ['v1', 90],
              ['v2', 10],
              ['v3', 0],
            ]),
          ),
        ]),
      ],
      backends: {
        [backendKey('v1')]: backend('v1', [v1Port]),
        [backendKey('v2')]: backend('v2', [7000]),
        [backendKey('v3')]: backend('v3', [7001]),
      },
    });
  store.apply(config(7100));
  const picks = { kept: [] as string[], moved: [] as string[] };
  for (let i = 0; i < 20; i++) {
    // Endpoint churn on v1 before every request: both hosts' routes use it.
    const current = store.config!;
    patchTo(store, {
      ...current,
      backends: { ...current.backends, [backendKey('v1')]: backend('v1', [7200 + i]) },
    });
    picks.kept.push(store.table!.match('kept.example', '/')!.splitter.choose({}).backend!.key);
    picks.moved.push(store.table!.match('moved.example', '/')!.splitter.choose({}).backend!.key);
  }
  assert.equal(picks.kept.filter((k) => k === backendKey('v2')).length, 2, 'exactly 2 of 20 at 10%');
  assert.equal(picks.moved.filter((k) => k === backendKey('v2')).length, 2, 'exactly 2 of 20 at 10%');
});

test('a removed backend’s endpoints are released once no table that used it is routing', async (t) => {
  const { store, registry } = setup(t);
  store.apply(hosts(8000));
  const bKey = upstreamKey('http', '127.0.0.1', 8001);
  const aKey = upstreamKey('http', '127.0.0.1', 8000);
  const kept = registry.get(aKey);
  assert.ok(registry.get(bKey));
  const old = store.table!;
  old.enter(); // a request still running on the old version

  const current = store.config!;
  const without = makeConfig({
    virtualHosts: [current.virtualHosts[0]],
    backends: { [backendKey('a')]: current.backends[backendKey('a')] },
  });
  patchTo(store, without);
  assert.ok(registry.get(bKey), 'held by the running request');
  old.leave();
  assert.equal(registry.get(bKey), undefined, 'released with the last table using it');
  assert.equal(registry.get(aKey), kept, 'the kept backend keeps its endpoint (and pool)');
  assert.equal(kept!.refs, 1);
  store.retire();
  assert.equal(registry.size, 0, 'nothing is left once the last table is released');
});

/** Endpoints the config's routes use, as registry keys. */
function usedEndpoints(config: DataplaneConfig): Set<string> {
  const out = new Set<string>();
  const add = (protocol: 'http' | 'https', keys: string[]) => {
    for (const key of keys) {
      for (const ep of config.backends[key].endpoints) out.add(upstreamKey(protocol, ep.address, ep.port));
    }
  };
  const routes = config.virtualHosts
    .flatMap((v) => v.routes)
    .map((r) => ({ policy: r.policy, split: r.split }));
  if (config.defaultRoute) routes.push(config.defaultRoute);
  for (const r of routes) {
    add(r.policy.upstreamProtocol, [
      ...r.split.backends.map((b) => b.backend),
      ...r.split.overrides.flatMap((o) => o.backend ?? []),
    ]);
  }
  return out;
}

const REQUESTS: Array<[string, string]> = [];
for (const host of [
  'a.example',
  'b.example',
  'c.example',
  'd.example',
  'x.example',
  'x.b.example',
  'other.test',
]) {
  for (const path of ['/', '/a', '/a/b/c', '/api', '/api/v2/x', '/zzz']) REQUESTS.push([host, path]);
}

/** What a request would get: route, policy, split, and the endpoints behind each backend. */
function routed(table: RoutingTable, host: string, path: string): string {
  const r = table.match(host, path);
  if (r === undefined) return 'none';
  const backends = [...r.splitter.backends, ...r.splitter.overrideBackends].map((b) => [
    b.key,
    b.balancer.endpoints.map((e) => e.key),
  ]);
  return canonicalJson([r.hostLabel, r.routeLabel, r.httpsRedirect, r.policy, r.split, backends]);
}

test('property: patched tables route like fresh ones and hold exactly the endpoints in use', async () => {
  // Real certificates, so TLS hosts compile.
  const pems = await Promise.all(
    [0, 1, 2].map((i) => selfSignedCertificate({ commonName: `c${i}`, names: [`c${i}`] })),
  );
  const certificate = (n: number): Certificate => ({
    certPem: pems[n % 3].certPem,
    keyPem: pems[n % 3].keyPem,
  });
  const { configArb, editArb } = arbitraries(certificate);
  await fc.assert(
    fc.asyncProperty(configArb, fc.array(editArb, { minLength: 1, maxLength: 10 }), async (start, edits) => {
      const registry = new UpstreamRegistry({
        maxConnectionsPerEndpoint: 1,
        keepAliveTimeoutMs: 1000,
        ejectBaseMs: 100,
        ejectMaxMs: 1000,
      });
      const contexts = new SecureContextCache();
      const store = new ConfigStore({ registry, contexts, fallbackContext: undefined });
      assert.ok(store.apply(JSON.parse(serializeConfig(start).text)).ok);
      let config = start;
      for (const edit of edits) {
        const next = edited(config, edit);
        const result = store.patch(JSON.parse(JSON.stringify(diffConfigs(config, next))));
        assert.ok(result.ok, JSON.stringify(result));
        config = next;
        const fresh = compileTable(JSON.parse(serializeConfig(config).text), {
          registry: new UpstreamRegistry({
            maxConnectionsPerEndpoint: 1,
            keepAliveTimeoutMs: 1000,
            ejectBaseMs: 100,
            ejectMaxMs: 1000,
          }),
          contexts,
          fallbackContext: undefined,
        });
        for (const [host, path] of REQUESTS) {
          assert.equal(routed(store.table!, host, path), routed(fresh, host, path), `${host}${path}`);
        }
        assert.equal(store.table!.defaultCertificate, fresh.defaultCertificate);
        for (const name of ['a.example', 'x.example', 'x.b.example', 'none.test', undefined]) {
          assert.equal(store.table!.sni.lookup(name), fresh.sni.lookup(name), String(name));
        }
        const expected = usedEndpoints(config);
        assert.equal(registry.size, expected.size);
        for (const key of expected) assert.ok(registry.get(key), key);
      }
      store.retire();
      assert.equal(registry.size, 0);
      await registry.destroyAll();
    }),
    { numRuns: 60 },
  );
});
