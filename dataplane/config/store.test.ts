import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecureContextCache } from '../edge/sni.ts';
import { simpleConfig } from '../testing/fixtures.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { ConfigStore } from './store.ts';

function setup(t: import('node:test').TestContext) {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 4,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  t.after(() => registry.destroyAll());
  return { registry, store };
}

test('endpoint pools are reused across versions and closed when the endpoint goes away', async (t) => {
  const { registry, store } = setup(t);
  await store.apply(simpleConfig('a.example', [1001, 1002]));
  const kept = registry.get('http:127.0.0.1:1001')!;
  const gone = registry.get('http:127.0.0.1:1002')!;
  kept.pool(2_000);
  gone.pool(2_000);

  await store.apply(simpleConfig('a.example', [1001, 1003]));
  assert.equal(
    registry.get('http:127.0.0.1:1001'),
    kept,
    'same endpoint object (and pool) in the new version',
  );
  assert.equal(kept.poolCount, 1);
  assert.equal(registry.get('http:127.0.0.1:1002'), undefined);
  assert.equal(gone.poolCount, 0, 'the removed endpoint has its pool closed');
  assert.ok(registry.get('http:127.0.0.1:1003'));
});

test('a retired table keeps its endpoints until its last request finishes', async (t) => {
  const { registry, store } = setup(t);
  await store.apply(simpleConfig('a.example', [2001]));
  const old = store.table!;
  old.enter(); // a request still running on the old version
  await store.apply(simpleConfig('a.example', [2002]));
  assert.ok(registry.get('http:127.0.0.1:2001'), 'still held by the running request');
  old.leave();
  assert.equal(registry.get('http:127.0.0.1:2001'), undefined);
  assert.equal(registry.size, 1);
});

test('swaps replace one reference: a request holding the old table sees only the old config', async (t) => {
  const { store } = setup(t);
  const a = simpleConfig('a.example', [3001]);
  const b = simpleConfig('b.example', [3002]);
  await store.apply(a);
  const held = store.table!;
  await store.apply(b);
  assert.equal(held.version, a.version);
  assert.ok(held.match('a.example', '/'));
  assert.equal(held.match('b.example', '/'), undefined);
  assert.equal(store.table!.version, b.version);
  assert.equal(store.table!.match('a.example', '/'), undefined);
});

test('an unchanged split keeps its round-robin position across pushes; a changed one starts over', async (t) => {
  const { store } = setup(t);
  const { makeConfig, vhost, route, weighted, backend, backendKey } = await import('../testing/fixtures.ts');
  const config = (v1Port: number, weights: [number, number]) =>
    makeConfig({
      virtualHosts: [
        vhost('a.example', [
          route(
            '/',
            weighted([
              ['v1', weights[0]],
              ['v2', weights[1]],
            ]),
          ),
        ]),
      ],
      backends: { [backendKey('v1')]: backend('v1', [v1Port]), [backendKey('v2')]: backend('v2', [5000]) },
    });
  const picks: string[] = [];
  // Endpoint churn: a new version before every single request.
  for (let i = 0; i < 20; i++) {
    await store.apply(config(4000 + i, [90, 10]));
    picks.push(store.table!.match('a.example', '/')!.splitter.choose({}).backend!.key);
  }
  assert.equal(picks.filter((p) => p === 'ns/v2:80').length, 2, 'exactly 2 of 20 at 10%');

  await store.apply(config(4100, [50, 50]));
  const after = [0, 1].map(() => store.table!.match('a.example', '/')!.splitter.choose({}).backend!.key);
  assert.deepEqual(after.sort(), ['ns/v1:80', 'ns/v2:80']);
});
