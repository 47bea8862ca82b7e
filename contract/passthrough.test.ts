// The passthrough field of a virtual host: both sides refuse it anywhere but on an exact host
// without routes and certificate, and with a backend that is not in the config.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backend, backendKey, makeConfig, route, vhost, weighted } from './testing/fixtures.ts';
import type { VirtualHost } from './types.ts';
import { validateConfig } from './validate.ts';

const passthrough = { backend: backendKey('db'), source: { ingress: 'ns/db' } };
const backends = { [backendKey('db')]: backend('db', [8443]), [backendKey('app')]: backend('app', [8080]) };
const cert = {
  certPem: '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n',
  keyPem: '-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n',
};

function check(host: VirtualHost) {
  return validateConfig(makeConfig({ virtualHosts: [host], backends, certificates: { 'ns/tls': cert } }));
}

test('an exact host without routes or certificate may be passed through', () => {
  const r = check({ ...vhost('db.example.com', []), passthrough });
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
});

test('passthrough on a wildcard host, with routes, with a certificate, or to a missing backend is refused', () => {
  const bad: Array<[VirtualHost, RegExp]> = [
    [{ ...vhost('*.example.com', []), passthrough }, /kind/],
    [{ ...vhost('db.example.com', [route('/', weighted([['app', 1]]))]), passthrough }, /routes/],
    [{ ...vhost('db.example.com', [], 'ns/tls'), passthrough }, /must NOT be valid|tls/],
    [
      { ...vhost('db.example.com', []), passthrough: { ...passthrough, backend: backendKey('gone') } },
      /passthrough\.backend: no backend/,
    ],
    [{ ...vhost('db.example.com', []), passthrough: { ...passthrough, extra: 1 } as never }, /passthrough/],
  ];
  for (const [host, why] of bad) {
    const r = check(host);
    assert.equal(r.ok, false, JSON.stringify(host));
    assert.match(r.ok ? '' : r.errors.join('; '), why);
  }
});
