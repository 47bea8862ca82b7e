// The upstream group's reading of ingress-nginx's annotations: units, defaults, what is a notice
// and what is a problem. Goldens (testdata/nginx-upstream-*) show the same through compile().

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAnnotations } from '../annotations.ts';

const N = 'nginx.ingress.kubernetes.io/';

function read(annotations: Record<string, string>) {
  const r = parseAnnotations(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])));
  return {
    policy: r.settings.policy,
    problems: r.problems.map((p) => p.field.slice(p.field.indexOf('/') + 1, -2)),
    notices: r.notices.map((p) => p.field.slice(p.field.indexOf('/') + 1, -2)),
  };
}

test('sizes in nginx syntax, timeouts in whole seconds (as the data-plane tests use them)', () => {
  assert.equal(read({ 'proxy-body-size': '1k' }).policy.maxBodyBytes, 1024);
  assert.equal(read({ 'proxy-body-size': '8M' }).policy.maxBodyBytes, 8 * 1024 ** 2);
  assert.equal(read({ 'proxy-body-size': '100' }).policy.maxBodyBytes, 100);
  const zero = read({ 'proxy-body-size': '0' });
  assert.equal(zero.policy.maxBodyBytes, 2 ** 40);
  assert.deepEqual(zero.notices, ['proxy-body-size']);
  const t = read({ 'proxy-read-timeout': '1', 'proxy-connect-timeout': '3', 'proxy-send-timeout': '60' });
  assert.equal(t.policy.responseTimeoutMs, 1_000);
  assert.equal(t.policy.connectTimeoutMs, 3_000);
  assert.deepEqual(t.problems, []);
  assert.equal(read({ 'proxy-read-timeout': '60s' }).policy.responseTimeoutMs, 60_000);
  assert.deepEqual(read({ 'proxy-connect-timeout': '301' }).problems, ['proxy-connect-timeout']);
  assert.deepEqual(read({ 'client-body-buffer-size': '16k' }).notices, []);
  assert.deepEqual(read({ 'client-body-buffer-size': 'lots' }).notices, ['client-body-buffer-size']);
});

test('backend-protocol: HTTP and HTTPS in any case; other protocols are problems naming the value', () => {
  assert.equal(read({ 'backend-protocol': 'https' }).policy.upstreamProtocol, 'https');
  assert.equal(read({ 'backend-protocol': 'HTTP' }).policy.upstreamProtocol, 'http');
  for (const p of ['GRPC', 'grpcs', 'H2C', 'AUTO_HTTP', 'FCGI']) {
    const r = parseAnnotations({ [`${N}backend-protocol`]: p });
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, new RegExp(`${p.toUpperCase()} is not served yet`));
  }
});

test('upstream-vhost, enable-access-log and affinity become policy fields as the data-plane tests use them', () => {
  assert.equal(read({ 'upstream-vhost': 'internal.example' }).policy.upstreamHost, 'internal.example');
  assert.deepEqual(read({ 'upstream-vhost': '$host' }).problems, ['upstream-vhost']);
  assert.equal(read({ 'enable-access-log': 'false' }).policy.accessLog, false);
  assert.equal('accessLog' in read({ 'enable-access-log': 'true' }).policy, false);
  assert.deepEqual(
    read({
      affinity: 'cookie',
      'session-cookie-name': 'route',
      'session-cookie-max-age': '3600',
      'session-cookie-samesite': 'Lax',
    }).policy.affinity,
    { cookie: { maxAgeSeconds: 3600, name: 'route', sameSite: 'Lax' }, mode: 'balanced' },
  );
  assert.deepEqual(
    read({ affinity: 'cookie', 'affinity-mode': 'persistent', 'session-cookie-secure': 'true' }).policy
      .affinity,
    { cookie: { name: 'INGRESSCOOKIE', secure: true }, mode: 'persistent' },
  );
  // Cookie settings without `affinity: cookie` turn nothing on.
  assert.equal(read({ 'session-cookie-name': 'route' }).policy.affinity, undefined);
});

test('a sluice.dev/ annotation wins over the ingress-nginx one', () => {
  const r = parseAnnotations({ [`${N}proxy-body-size`]: '8m', 'sluice.dev/body-size-limit': '2m' });
  assert.equal(r.settings.policy.maxBodyBytes, 2 * 1024 ** 2);
});

test('unserved retries and upstream TLS: notices, except verification asked for, which is a problem', () => {
  assert.deepEqual(read({ 'load-balance': 'round_robin' }).notices, []);
  assert.deepEqual(read({ 'load-balance': 'ewma' }).notices, ['load-balance']);
  assert.deepEqual(read({ 'proxy-next-upstream': 'error timeout' }).notices, []);
  assert.deepEqual(read({ 'proxy-next-upstream': 'error http_502' }).notices, ['proxy-next-upstream']);
  assert.deepEqual(read({ 'proxy-ssl-verify': 'on' }).problems, ['proxy-ssl-verify']);
  assert.deepEqual(read({ 'proxy-ssl-verify': 'off' }).problems, []);
  assert.deepEqual(read({ 'proxy-ssl-name': 'web.shop.svc' }).notices, ['proxy-ssl-name']);
});

test('service-upstream: "true" turns it on, "false" leaves it off, anything else is a problem', () => {
  const on = parseAnnotations({ [`${N}service-upstream`]: 'true' });
  assert.equal(on.settings.serviceUpstream, true);
  assert.deepEqual([on.problems, on.notices], [[], []]);
  assert.equal(parseAnnotations({ [`${N}service-upstream`]: 'false' }).settings.serviceUpstream, undefined);
  for (const bad of ['True', 'yes', 'true\r\nx: y', '\u0000', 't'.repeat(10_000)])
    assert.deepEqual(read({ 'service-upstream': bad }).problems, ['service-upstream'], JSON.stringify(bad));
});
