import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serializeConfig } from '../../contract/canonical.ts';
import { diffConfigs } from '../../contract/patch.ts';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  simpleConfig,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { StateFile } from '../config/state-file.ts';
import { ConfigStore } from '../config/store.ts';
import { selfSignedCertificate } from '../edge/self-signed.ts';
import { SecureContextCache } from '../edge/sni.ts';
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
  const { makeConfig, vhost, route, weighted, backend, backendKey } = await import(
    '../../contract/testing/fixtures.ts'
  );
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
  assert.deepEqual(res.json().errors, ['certificates["ns/tls"].certPem: not a valid certificate']);
  assert.equal(store.table?.version, good.version);
});

/** What no answer of the config API may carry: TLS library text, hashes, stack frames. */
function assertNoInternals(body: string) {
  assert.doesNotMatch(body, /error:[0-9A-F]{8}|routines|OpenSSL|ERR_OSSL|DECODER|asn1|PEM_read/i, body);
  assert.doesNotMatch(body, /sha256:[0-9a-f]{64}/, body);
  assert.doesNotMatch(body, /\n\s+at |\.ts:\d+|node:internal|SyntaxError|Unexpected/, body);
}

test('refusals say which field and what is wrong, without library text, hashes or stacks', async (t) => {
  const { app, store } = setup(t);
  const [one, two] = await Promise.all(
    ['one', 'two'].map((name) => selfSignedCertificate({ commonName: name, names: [`${name}.example`] })),
  );
  const withCert = (certPem: string, keyPem: string) =>
    makeConfig({
      virtualHosts: [vhost('a.example', [route('/', weighted([['app', 1]]))], 'shop/tls')],
      backends: { [backendKey('app')]: backend('app', [1234]) },
      certificates: { 'shop/tls': { certPem, keyPem } },
    });
  const garbage = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
  const cases: Array<[string, DataplaneConfig, string]> = [
    [
      'key that does not parse',
      withCert(one.certPem, garbage),
      'certificates["shop/tls"].keyPem: not a valid private key (PEM, unencrypted)',
    ],
    [
      'key of another certificate',
      withCert(one.certPem, two.keyPem),
      'certificates["shop/tls"].keyPem: does not match the certificate',
    ],
  ];
  for (const [what, config, message] of cases) {
    const res = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: config });
    assert.equal(res.statusCode, 400, what);
    assert.deepEqual(res.json().errors, [message], what);
    assert.equal(res.json().message, `invalid config: ${message}`, what);
    assertNoInternals(res.body);
  }
  assert.equal(store.table, undefined);

  const good = withCert(one.certPem, one.keyPem);
  const lying = { ...good, version: `sha256:${'0'.repeat(64)}` };
  const version = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: lying });
  assert.deepEqual(version.json().errors, ['version: does not match the content hash']);
  assertNoInternals(version.body);

  const address = simpleConfig('a.example', [1234]);
  address.backends[backendKey('app')].endpoints[0].address = ':::::';
  address.version = serializeConfig(address).version;
  const ip = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: address });
  assert.equal(ip.statusCode, 400);
  assert.match(
    ip.json().errors[0],
    /^backends\["ns\/app:80"\]\.endpoints\[0\]\.address: is not an IPv4 or IPv6 address/,
  );

  for (const [payload, status, message] of [
    ['{"apiVersion":', 400, 'body: not valid JSON, or has a "__proto__" or "constructor" key'],
    ['{"__proto__":{"x":1}}', 400, 'body: not valid JSON, or has a "__proto__" or "constructor" key'],
  ] as const) {
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/config',
      headers: { ...auth, 'content-type': 'application/json' },
      payload,
    });
    assert.equal(res.statusCode, status, payload);
    assert.equal(res.json().message, message, payload);
    assertNoInternals(res.body);
  }
  const text = await app.inject({
    method: 'PUT',
    url: '/v1/config',
    headers: { ...auth, 'content-type': 'application/xml' },
    payload: 'hello',
  });
  assert.equal(text.statusCode, 415);
  assert.equal(text.json().message, 'content-type: must be application/json');
  assert.equal(
    (await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: good })).statusCode,
    200,
  );
});

test('a body over the limit is refused by size, naming the limit', async (t) => {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 1,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  const app = build({ store, token: fixedToken('s3cret'), bodyLimit: 1024 });
  t.after(() => app.close());
  const res = await app.inject({
    method: 'PUT',
    url: '/v1/config',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify({ pad: 'x'.repeat(2048) }),
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().message, 'body: larger than 1024 bytes');
});

test('the applied config is saved and loaded by the next store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const first = setup(t, path);
  const config = simpleConfig('a.example', [1234]);
  const put = await first.app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: config });
  assert.equal(put.json().persisted, true);
  // Written in the background: the answer does not wait for the disk.
  await first.store.flushState();
  assert.equal(readFileSync(path, 'utf8'), serializeConfig(config).text);

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

// PATCH: a ConfigPatch against the applied version.

const twoHosts = (port: number, path = '/') =>
  makeConfig({
    virtualHosts: [
      vhost('a.example', [route('/', weighted([['a', 1]]))]),
      vhost('b.example', [route(path, weighted([['b', 1]]))]),
    ],
    backends: { [backendKey('a')]: backend('a', [port]), [backendKey('b')]: backend('b', [port + 1]) },
  });

const patchOf = (from: DataplaneConfig, to: DataplaneConfig) => JSON.stringify(diffConfigs(from, to));

function patchCall(app: ReturnType<typeof build>, payload: string | object) {
  return app.inject({
    method: 'PATCH',
    url: '/v1/config',
    headers: { ...auth, 'content-type': 'application/json' },
    payload,
  });
}

test('PATCH needs the token and the applied version as its base (else 409 with the version)', async (t) => {
  const { app } = setup(t);
  const a = twoHosts(1000);
  const b = twoHosts(2000);
  const anon = await app.inject({ method: 'PATCH', url: '/v1/config', payload: patchOf(a, b) });
  assert.equal(anon.statusCode, 401);

  const none = await patchCall(app, patchOf(a, b));
  assert.equal(none.statusCode, 409);
  assert.deepEqual(none.json(), { error: 'base mismatch', version: null });

  await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: b });
  const stale = await patchCall(app, patchOf(a, b));
  assert.equal(stale.statusCode, 409);
  assert.deepEqual(stale.json(), { error: 'base mismatch', version: b.version });
});

test('PATCH gives exactly what a PUT of the target gives; the same version again is unchanged', async (t) => {
  const patched = setup(t);
  const put = setup(t);
  const a = twoHosts(3000);
  const b = { ...a, virtualHosts: [a.virtualHosts[0], twoHosts(3000, '/v2').virtualHosts[1]] };
  b.version = serializeConfig(b).version;
  await patched.app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: a });
  const before = patched.store.table!;

  const res = await patchCall(patched.app, patchOf(a, b));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().version, b.version);
  assert.equal(res.json().changed, true);
  assert.equal(typeof res.json().appliedAt, 'string');
  const full = await put.app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: b });
  assert.equal(full.json().version, b.version);
  assert.equal(serializeConfig(patched.store.config!).text, serializeConfig(put.store.config!).text);
  for (const [host, path] of [
    ['a.example', '/x'],
    ['b.example', '/v2/x'],
    ['b.example', '/x'],
  ]) {
    assert.equal(
      patched.store.table!.match(host, path)?.routeLabel,
      put.store.table!.match(host, path)?.routeLabel,
      `${host}${path}`,
    );
  }
  assert.equal(patched.store.table!.match('b.example', '/x'), undefined);
  assert.equal(
    patched.store.table!.hosts.exact('a.example'),
    before.hosts.exact('a.example'),
    'the untouched host keeps its compiled entry',
  );

  const again = await patchCall(patched.app, patchOf(b, b));
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().changed, false);
  const get = await patched.app.inject({ method: 'GET', url: '/v1/config', headers: auth });
  assert.equal(get.json().version, b.version);
});

test('a refused PATCH is a 400 naming the problem; the last good config keeps serving', async (t) => {
  const { app, store } = setup(t);
  const a = twoHosts(4000);
  const b = twoHosts(4000, '/v2');
  await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: a });
  const table = store.table;

  const lying = JSON.parse(patchOf(a, b));
  lying.version = a.version.replace(/.$/, (c: string) => (c === '0' ? '1' : '0'));
  const hash = await patchCall(app, lying);
  assert.equal(hash.statusCode, 400);
  assert.equal(hash.json().error, 'invalid patch');
  assert.match(hash.json().errors[0], /^version: does not match the content hash/);

  const bad = JSON.parse(patchOf(a, b));
  bad.virtualHosts.set[0].host = 'b.example\r\nx';
  const schema = await patchCall(app, bad);
  assert.equal(schema.statusCode, 400);
  assert.match(schema.json().errors[0], /^virtualHosts\.set\[0\]/);

  const dangling = { ...JSON.parse(patchOf(a, b)), virtualHosts: { set: [], remove: [] } };
  dangling.backends = { set: {}, remove: [backendKey('b')] };
  const refs = await patchCall(app, dangling);
  assert.equal(refs.statusCode, 400);
  assert.match(
    refs.json().message,
    /^invalid patch: virtualHosts\[1\]\.routes\[0\]\.split\.backends\[0\]\.backend: no backend/,
  );

  const notJson = await patchCall(app, '{"base":');
  assert.equal(notJson.statusCode, 400);
  const notPatch = await patchCall(app, []);
  assert.equal(notPatch.statusCode, 400);

  assert.equal(store.table, table, 'nothing was swapped');
  assert.ok(store.table!.match('b.example', '/x'));
});

test('a patch that adds and removes hosts and backends routes by the new config right away', async (t) => {
  const { app, store } = setup(t);
  const a = twoHosts(5000);
  await app.inject({ method: 'PUT', url: '/v1/config', headers: auth, payload: a });
  const c = makeConfig({
    virtualHosts: [a.virtualHosts[0], vhost('c.example', [route('/', weighted([['c', 1]]))])],
    backends: { [backendKey('a')]: a.backends[backendKey('a')], [backendKey('c')]: backend('c', [5009]) },
  });
  const res = await patchCall(app, patchOf(a, c));
  assert.equal(res.statusCode, 200, res.body);
  const table = store.table!;
  assert.equal(table.match('b.example', '/'), undefined);
  assert.equal(table.match('c.example', '/')?.splitter.choose({}).backend?.key, backendKey('c'));
  assert.equal(table.match('a.example', '/')?.splitter.choose({}).backend?.key, backendKey('a'));
});
