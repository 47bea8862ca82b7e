import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagError } from '../contract/flags.ts';
import { loadConfig, usage } from './config.ts';

test('defaults: self-managed certificates, ports 8443 and 9102', () => {
  const c = loadConfig([], {});
  assert.equal(c.port, 8443);
  assert.equal(c.opsPort, 9102);
  assert.equal(c.controllerName, 'sluice.dev/ingress-controller');
  assert.equal(c.className, 'sluice');
  assert.equal(c.hostOwnership, 'strict');
  assert.equal(c.maxBodyBytes, 3 * 1024 * 1024);
  assert.equal(c.recheckConflicts, true);
  assert.equal(c.ingressNginxClassNames, undefined, 'ingress-nginx mode is off by default');
  assert.deepEqual(loadConfig(['--ingress-nginx-compat'], {}).ingressNginxClassNames, ['nginx']);
  assert.deepEqual(
    loadConfig([], { SLUICE_INGRESS_NGINX_COMPAT: '1', SLUICE_INGRESS_NGINX_CLASS_NAMES: 'b,a' })
      .ingressNginxClassNames,
    ['a', 'b'],
  );
  assert.equal(c.tls.mode, 'self-managed');
  if (c.tls.mode !== 'self-managed') return;
  assert.equal(c.tls.secretName, 'sluice-webhook-certs');
  assert.equal(c.tls.caValidityMs, 365 * 86_400_000);
  assert.equal(c.tls.certValidityMs, 90 * 86_400_000);
});

test('flags win over SLUICE_ environment variables, which win over defaults', () => {
  const c = loadConfig(['--port=9443', '--ops-port', '9200'], {
    SLUICE_PORT: '1',
    SLUICE_HOST_OWNERSHIP: 'shared',
    SLUICE_NAMESPACE: 'edge',
  });
  assert.equal(c.port, 9443);
  assert.equal(c.opsPort, 9200);
  assert.equal(c.hostOwnership, 'shared');
  assert.equal(c.namespace, 'edge');
});

test('files mode from --tls-cert-file and --tls-key-file', () => {
  const c = loadConfig(
    ['--tls-cert-file=/tls/tls.crt', '--tls-key-file=/tls/tls.key', '--tls-file-poll-interval=2s'],
    {},
  );
  assert.deepEqual(c.tls, {
    mode: 'files',
    certFile: '/tls/tls.crt',
    keyFile: '/tls/tls.key',
    pollIntervalMs: 2000,
  });
});

test('self-managed extra names accept DNS names and IP addresses', () => {
  const c = loadConfig(['--tls-extra-names=127.0.0.1, ::1 ,webhook.local'], {});
  assert.equal(c.tls.mode, 'self-managed');
  if (c.tls.mode === 'self-managed')
    assert.deepEqual(c.tls.extraNames, ['127.0.0.1', '::1', 'webhook.local']);
});

test('bad values are all reported at once', () => {
  assert.throws(
    () =>
      loadConfig(
        [
          '--port=http',
          '--host-ownership=open',
          '--ca-validity=forever',
          '--tls-extra-names=a b',
          '--recheck-conflicts=yes',
        ],
        {},
      ),
    (err: Error) => {
      assert.ok(err instanceof FlagError);
      for (const flag of [
        '--port',
        '--host-ownership',
        '--ca-validity',
        '--tls-extra-names',
        '--recheck-conflicts',
      ]) {
        assert.ok(err.message.includes(flag), `${flag} in ${err.message}`);
      }
      return true;
    },
  );
  assert.throws(() => loadConfig(['--tls-cert-file=/x'], {}), /needs --tls-cert-file and --tls-key-file/);
  assert.throws(() => loadConfig(['--tls-mode=magic'], {}), /must be files or self-managed/);
});

test('unknown flags and positionals are refused, pointing to --help', () => {
  assert.throws(
    () => loadConfig(['--nope=1'], {}),
    (err: Error) =>
      err instanceof FlagError && /unknown argument "--nope=1" \(see --help\)/.test(err.message),
  );
  assert.throws(() => loadConfig(['extra'], {}), FlagError);
});

test('usage lists every flag with its environment variable', () => {
  assert.match(usage(), /--tls-cert-file \[SLUICE_TLS_CERT_FILE\]/);
});
