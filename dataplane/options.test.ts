import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagError } from '../contract/flags.ts';
import { loadConfig } from './options.ts';

test('defaults follow the port convention', () => {
  const o = loadConfig(['--config-token-file=/t'], {});
  assert.equal(o.httpPort, 8080);
  assert.equal(o.httpsPort, 8443);
  assert.equal(o.configPort, 9000);
  assert.equal(o.opsPort, 9100);
  assert.equal(o.accessLog, true);
  assert.equal(o.headerTimeoutMs, 60_000);
  assert.deepEqual(o.trustedProxies, []);
});

test('flags win over environment, environment over defaults', () => {
  const env = {
    SLUICE_CONFIG_TOKEN_FILE: '/env-token',
    SLUICE_HTTP_PORT: '81',
    SLUICE_OPS_PORT: '9999',
    SLUICE_ACCESS_LOG: 'false',
  };
  const o = loadConfig(['--http-port=82', '--trusted-proxies=10.0.0.0/8, 192.168.0.1'], env);
  assert.equal(o.configTokenFile, '/env-token');
  assert.equal(o.httpPort, 82);
  assert.equal(o.opsPort, 9999);
  assert.equal(o.accessLog, false);
  assert.deepEqual(o.trustedProxies, ['10.0.0.0/8', '192.168.0.1']);
});

test('every bad value is reported at once', () => {
  try {
    loadConfig(['--http-port=x', '--header-timeout=soon', '--access-log=maybe', '--address=nowhere'], {});
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof FlagError);
    for (const flag of [
      '--config-token-file',
      '--http-port',
      '--header-timeout',
      '--access-log',
      '--address',
    ]) {
      assert.match(err.message, new RegExp(flag));
    }
  }
  assert.throws(() => loadConfig(['--no-such-flag=1'], {}), FlagError);
  assert.throws(() => loadConfig(['--config-token-file=/t', '--default-cert-file=/c'], {}), /go together/);
});

test('--server-header: sluice by default, any printable value, none removes it, bad values refused', () => {
  assert.equal(loadConfig(['--config-token-file=/t'], {}).serverHeader, 'sluice');
  assert.equal(loadConfig(['--config-token-file=/t', '--server-header=edge 1'], {}).serverHeader, 'edge 1');
  assert.equal(loadConfig(['--config-token-file=/t', '--server-header=none'], {}).serverHeader, '');
  assert.equal(loadConfig(['--config-token-file=/t'], { SLUICE_SERVER_HEADER: 'none' }).serverHeader, '');
  for (const bad of ['a\r\nx-injected: 1', ' padded', 'caf\u00e9', 'x'.repeat(257)]) {
    assert.throws(
      () => loadConfig(['--config-token-file=/t', `--server-header=${bad}`], {}),
      (err: Error) => err instanceof FlagError && /--server-header/.test(err.message),
      JSON.stringify(bad),
    );
  }
});
