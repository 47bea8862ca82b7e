import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envName, FlagError, parseDuration } from '../contract/flags.ts';
import { FLAGS, loadConfig, usage } from './config.ts';

const base = ['--config-token-file=/run/token'];

test('defaults', () => {
  const c = loadConfig(base, { POD_NAMESPACE: 'sluice', POD_NAME: 'operator-0' });
  assert.equal(c.className, 'sluice');
  assert.equal(c.controllerName, 'sluice.dev/ingress-controller');
  assert.equal(c.hostOwnership, 'strict');
  assert.equal(c.dataplaneNamespace, 'sluice');
  assert.equal(c.dataplaneService, 'sluice-dataplane');
  assert.equal(c.dataplanePort, 9000);
  assert.equal(c.opsPort, 9101);
  assert.equal(c.leaderElect, true);
  assert.equal(c.leaseNamespace, 'sluice');
  assert.equal(c.leaseDurationMs, 15_000);
  assert.equal(c.renewDeadlineMs, 10_000);
  assert.equal(c.retryPeriodMs, 2_000);
  assert.equal(c.identity, 'operator-0');
  assert.equal(c.queueHoldOffMs, 10);
  assert.deepEqual(c.publishService, { namespace: 'sluice', name: 'sluice-dataplane' });
  assert.equal(c.publishStatus, true);
  assert.equal(c.ingressNginxClassNames, undefined, 'ingress-nginx mode is off by default');
});

test('ingress-nginx mode and status publishing', () => {
  const on = loadConfig([...base, '--ingress-nginx-compat', '--publish-status=false'], {});
  assert.deepEqual(on.ingressNginxClassNames, ['nginx']);
  assert.equal(on.publishStatus, false);
  const names = loadConfig(base, {
    SLUICE_INGRESS_NGINX_COMPAT: 'true',
    SLUICE_INGRESS_NGINX_CLASS_NAMES: 'nginx-internal, nginx,nginx',
  });
  assert.deepEqual(names.ingressNginxClassNames, ['nginx', 'nginx-internal']);
  const off = loadConfig([...base, '--ingress-nginx-class-names=edge'], {});
  assert.equal(off.ingressNginxClassNames, undefined, 'names alone do not turn the mode on');
  assert.throws(
    () => loadConfig([...base, '--ingress-nginx-compat', '--ingress-nginx-class-names=Bad_Name'], {}),
    (err: unknown) =>
      err instanceof FlagError && err.problems.some((p) => /--ingress-nginx-class-names: "Bad_Name"/.test(p)),
  );
  assert.throws(
    () => loadConfig([...base, '--ingress-nginx-compat=maybe', '--publish-status=no'], {}),
    (err: unknown) =>
      err instanceof FlagError &&
      err.problems.some((p) => p.startsWith('--ingress-nginx-compat')) &&
      err.problems.some((p) => p.startsWith('--publish-status')),
  );
});

test('flags beat environment variables, which beat defaults', () => {
  const env = {
    SLUICE_OPS_PORT: '9200',
    SLUICE_HOST_OWNERSHIP: 'shared',
    SLUICE_CONFIG_TOKEN_FILE: '/env/token',
  };
  const c = loadConfig(
    ['--ops-port=9300', '--leader-elect=false', '--dataplane-endpoints=http://127.0.0.1:9000'],
    env,
  );
  assert.equal(c.opsPort, 9300);
  assert.equal(c.hostOwnership, 'shared');
  assert.equal(c.configTokenFile, '/env/token');
  assert.equal(c.leaderElect, false);
  assert.deepEqual(
    c.dataplaneEndpoints?.map((r) => r.url),
    ['http://127.0.0.1:9000'],
  );
  assert.equal(loadConfig([...base, '--leader-elect'], {}).leaderElect, true);
});

test('bad values are all reported at once', () => {
  assert.throws(
    () =>
      loadConfig(
        [
          '--ops-port=99999',
          '--host-ownership=loose',
          '--lease-duration=5s',
          '--bogus=1',
          '--publish-service=nope',
          '--queue-hold-off=soon',
        ],
        {},
      ),
    (err: unknown) => {
      assert.ok(err instanceof FlagError);
      const text = err.problems.join('\n');
      for (const expected of [
        /--ops-port/,
        /--host-ownership/,
        /lease-duration > --renew-deadline/,
        /unknown argument "--bogus=1"/,
        /--publish-service/,
        /--queue-hold-off/,
        /--config-token-file .* is required/,
      ]) {
        assert.match(text, expected);
      }
      return true;
    },
  );
});

test('durations read as on the other components', () => {
  assert.equal(loadConfig([...base, '--queue-hold-off=250ms'], {}).queueHoldOffMs, 250);
  assert.equal(loadConfig([...base, '--push-timeout=1m30s'], {}).pushTimeoutMs, 90_000);
  assert.equal(loadConfig([...base, '--queue-max-delay', '40'], {}).queueMaxDelayMs, 40);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.throws(
    () => loadConfig([...base, '--queue-hold-off=0'], {}),
    /--queue-hold-off: must be at least 1 ms/,
  );
});

test('every flag has an environment name and shows in the usage text', () => {
  const text = usage();
  for (const flag of Object.keys(FLAGS)) {
    assert.match(envName(flag), /^SLUICE_[A-Z_]+$/);
    assert.ok(text.includes(`--${flag} [${envName(flag)}]`), flag);
  }
});
