import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configVersion, serializeConfig } from '../../contract/canonical.ts';
import { diffConfigs } from '../../contract/patch.ts';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { DataplaneMetrics } from '../observability/metrics.ts';
import { closedPort, request, startTestDataplane } from '../testing/net.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { StateFile } from './state-file.ts';
import { ConfigStore, type ConfigStoreOptions } from './store.ts';

function setup(t: import('node:test').TestContext, extra: Partial<ConfigStoreOptions> = {}) {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 4,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const store = new ConfigStore({
    registry,
    contexts: new SecureContextCache(),
    fallbackContext: undefined,
    ...extra,
  });
  t.after(() => registry.destroyAll());
  return { registry, store };
}

const wire = (from: ReturnType<typeof simpleConfig>, to: ReturnType<typeof simpleConfig>) =>
  JSON.parse(JSON.stringify(diffConfigs(from, to)));

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
  const { makeConfig, vhost, route, weighted, backend, backendKey } = await import(
    '../../contract/testing/fixtures.ts'
  );
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

test('patch outcomes reach onPatch and the patch counter; an applied patch reaches onApplied as a patch', async (t) => {
  const metrics = new DataplaneMetrics({});
  const seen: string[] = [];
  const { store } = setup(t, {
    onPatch: (outcome) => {
      seen.push(outcome);
      metrics.configPatch(outcome);
    },
    onApplied: (table, seconds, how) => {
      seen.push(`applied by ${how}`);
      metrics.configApplied(table.version, table.appliedAt, seconds, how);
    },
  });
  const a = simpleConfig('a.example', [1]);
  const b = simpleConfig('a.example', [2]);
  assert.equal(store.patch(wire(a, b)).ok, false); // nothing applied yet
  store.apply(a);
  const lying = { ...wire(a, b), version: simpleConfig('a.example', [3]).version };
  const refused = store.patch(lying);
  assert.ok(!refused.ok && refused.reason === 'invalid');
  assert.ok(store.patch(wire(a, b)).ok);
  assert.equal(store.table!.version, b.version);
  const same = store.patch(wire(b, b));
  assert.ok(same.ok && !same.changed);
  const stale = store.patch(wire(a, b));
  assert.ok(!stale.ok && stale.reason === 'base mismatch' && stale.version === b.version);
  assert.deepEqual(seen, [
    'base_mismatch',
    'applied by put',
    'invalid',
    'applied by patch',
    'applied',
    'unchanged',
    'base_mismatch',
  ]);
  const text = await metrics.registry.metrics();
  assert.match(text, /sluice_config_patches_total\{result="base_mismatch"\} 2/);
  assert.match(text, /sluice_config_patches_total\{result="applied"\} 1/);
  assert.match(text, /sluice_config_patches_total\{result="invalid"\} 1/);
  assert.match(text, /sluice_config_applies_total\{result="applied"\} 1/);
});

test('the state file gets the newest config in the background; persisted reports a failing file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const { store } = setup(t, { stateFile: new StateFile(path) });
  const a = simpleConfig('a.example', [1]);
  const b = simpleConfig('b.example', [2]);
  const applied = store.apply(a);
  assert.ok(applied.ok && applied.persisted);
  assert.ok(store.patch(wire(a, b)).ok);
  await store.flushState();
  assert.equal(readFileSync(path, 'utf8'), serializeConfig(b).text);

  const errors: Error[] = [];
  const broken = setup(t, {
    stateFile: new StateFile(join(dir, 'missing', 'config.json')),
    onPersistError: (err) => errors.push(err),
  }).store;
  const first = broken.apply(a);
  assert.ok(first.ok && first.persisted, 'not known to fail yet');
  await broken.flushState();
  assert.equal(errors.length, 1);
  const second = broken.patch(wire(a, b));
  assert.ok(second.ok && !second.persisted, 'the last write failed');
});

/** A config the schema before real IP literals accepted; requests to it threw from `new Pool`. */
function badAddressConfig() {
  const config = simpleConfig('a.example', [8080]);
  config.backends['ns/app:80'].endpoints[0].address = '1::2::3';
  config.version = configVersion(config);
  return config;
}

test('a saved config that is refused is set aside, never served, and not loaded again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  for (const [what, text] of [
    ['bad address', serializeConfig(badAddressConfig()).text],
    ['not JSON', '{"apiVersion":'],
  ] as const) {
    writeFileSync(path, text);
    const { store } = setup(t, { stateFile: new StateFile(path) });
    const loaded = await store.loadState();
    assert.ok(loaded !== undefined && !loaded.ok && loaded.reason === 'invalid', what);
    assert.equal(store.table, undefined, `${what}: nothing is served`);
    assert.equal(existsSync(path), false, `${what}: the state file is gone`);
    assert.ok(loaded.setAside?.startsWith(`${path}.rejected-`), what);
    assert.equal(readFileSync(loaded.setAside!, 'utf8'), text, `${what}: kept as it was for inspection`);
    if (what === 'bad address')
      assert.match(loaded.errors[0], /endpoints\[0\]\.address: is not an IPv4 or IPv6/);
    else assert.deepEqual(loaded.errors, ['state file: not valid JSON']);

    const restarted = setup(t, { stateFile: new StateFile(path) }).store;
    assert.equal(await restarted.loadState(), undefined, `${what}: a restart finds nothing to load`);
  }
});

test('a data plane started on a refused state file waits for the operator and keeps answering', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  writeFileSync(path, serializeConfig(badAddressConfig()).text);
  const first = await startTestDataplane(t, [`--state-file=${path}`]);
  assert.equal(first.store.table, undefined);
  const ready = await fetch(`http://127.0.0.1:${first.ports.ops}/readyz`);
  assert.equal(ready.status, 503, 'not ready until the operator pushes');
  const res = await request(first.ports.http, { host: 'a.example' });
  assert.equal(res.status, 503, 'no config yet: an answer, and the process is still here');
  const rejected = readdirSync(dir).filter((n) => n.startsWith('config.json.rejected-'));
  assert.equal(rejected.length, 1);
  await first.drain();

  // The restart finds no state file; the operator's push is served and saved.
  const second = await startTestDataplane(t, [`--state-file=${path}`]);
  assert.equal(second.store.table, undefined);
  const good = simpleConfig('a.example', [await closedPort()]);
  assert.equal((await second.push(good)).status, 200);
  const served = await request(second.ports.http, { host: 'a.example' });
  assert.equal(served.status, 502, 'routed to the (closed) endpoint of the pushed config');
  await second.store.flushState();
  assert.equal(readFileSync(path, 'utf8'), serializeConfig(good).text);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('config.json.rejected-')),
    rejected,
  );
});
