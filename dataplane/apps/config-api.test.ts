import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateFile } from '../config/state-file.ts';
import { ConfigStore } from '../config/store.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { simpleConfig } from '../testing/fixtures.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { build } from './config-api.ts';
import { fixedToken, tokenFromFile } from './token.ts';

function setup(t: import('node:test').TestContext, stateFile?: string) {
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
    stateFile: stateFile ? new StateFile(stateFile) : undefined,
  });
  const app = build({ store, token: fixedToken('s3cret') });
  t.after(async () => {
    await app.close();
    await registry.closeAll();
  });
  return { app, store };
}

const auth = { authorization: 'Bearer s3cret' };

test('every call needs the bearer token', async (t) => {
  const { app } = setup(t);
  for (const headers of [
    {},
    { authorization: 'Bearer wrong' },
    { authorization: 'Basic s3cret' },
    { authorization: 'Bearer s3cret extra' },
  ]) {
    const res = await app.inject({ method: 'GET', url: '/v1/config', headers });
    assert.equal(res.statusCode, 401, JSON.stringify(headers));
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
  }
  const put = await app.inject({ method: 'PUT', url: '/v1/config', payload: simpleConfig('a.example', [1]) });
  assert.equal(put.statusCode, 401);
});

test('PUT applies a config; GET reports the version; the same version again is a no-op', async (t) => {
  const { app, store } = setup(t);
  const empty = await app.inject({ method: 'GET', url: '/v1/config', headers: auth });
  assert.deepEqual(empty.json(), { version: null, appliedAt: null });

  const config = simpleConfig('a.example', [1234]);
  const put = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: config });
  assert.equal(put.statusCode, 200);
  assert.equal(put.json().version, config.version);
  assert.equal(put.json().changed, true);
  const table = store.table;

  const again = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: config });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().changed, false);
  assert.equal(store.table, table, 'an unchanged version keeps the same routing table');

  const got = await app.inject({ method: 'GET', url: '/v1/config', headers: auth });
  assert.equal(got.json().version, config.version);
  assert.equal(typeof got.json().appliedAt, 'string');
});

test('an invalid config is refused with 400 naming the errors; the last good one keeps serving', async (t) => {
  const { app, store } = setup(t);
  const good = simpleConfig('a.example', [1234]);
  await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: good });

  const badHost = { ...simpleConfig('a.example', [1234]) } as Record<string, unknown>;
  (badHost.virtualHosts as Array<{ host: string }>)[0].host = 'bad host\r\nx: y';
  const res = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: badHost });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error, 'invalid config');
  assert.ok(res.json().errors.length > 0);
  assert.match(res.json().errors[0], /virtualHosts\[0\]/);

  const wrongVersion = { ...good, version: `sha256:${'0'.repeat(64)}` };
  const res2 = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: wrongVersion });
  assert.equal(res2.statusCode, 400);
  assert.match(res2.json().errors.join(' '), /version/);

  const notJson = await app.inject({
    method: 'PUT',
    url: '/v1/config',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: '{"apiVersion":',
  });
  assert.equal(notJson.statusCode, 400);

  assert.equal(store.table?.version, good.version);
});

test('a certificate that does not parse is refused and changes nothing', async (t) => {
  const { app, store } = setup(t);
  const good = simpleConfig('a.example', [1234]);
  await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: good });
  const { makeConfig, vhost, route, weighted, backend, backendKey } = await import('../testing/fixtures.ts');
  const broken = makeConfig({
    virtualHosts: [vhost('a.example', [route('/', weighted([['app', 1]]))], 'ns/tls')],
    backends: { [backendKey('app')]: backend('app', [1234]) },
    certificates: {
      'ns/tls': {
        certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      },
    },
  });
  const res = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: broken });
  assert.equal(res.statusCode, 400);
  assert.match(res.json().errors[0], /certificate "ns\/tls" is not usable/);
  assert.equal(store.table?.version, good.version);
});

test('the applied config is saved and loaded by the next store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const first = setup(t, path);
  const config = simpleConfig('a.example', [1234]);
  const put = await first.app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: config });
  assert.equal(put.json().persisted, true);

  const second = setup(t, path);
  assert.equal(second.store.config, undefined);
  const loaded = await second.store.loadState();
  assert.ok(loaded?.ok);
  assert.equal(second.store.table?.version, config.version);
});

test('the token file is re-read when it changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  writeFileSync(path, 'first\n');
  const check = tokenFromFile(path, { recheckMs: 0 });
  assert.equal(check.verify('Bearer first'), true);
  assert.equal(check.verify('Bearer second'), false);
  writeFileSync(path, 'second\n');
  utimesSync(path, new Date(), new Date(Date.now() + 5_000));
  assert.equal(check.verify('Bearer second'), true);
  assert.equal(check.verify('Bearer first'), false);
  assert.throws(() => tokenFromFile(join(dir, 'missing')));
  writeFileSync(join(dir, 'blank'), '  \n');
  assert.throws(() => tokenFromFile(join(dir, 'blank')), /empty/);
});
