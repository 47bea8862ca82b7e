import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configVersion } from './canonical.ts';
import type { DataplaneConfig } from './types.ts';
import { compareRoutes, readablePath, validateConfig } from './validate.ts';

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Fu\nZm9v\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----\n';

function sample(): DataplaneConfig {
  const policy = {
    maxBodyBytes: 1_048_576,
    connectTimeoutMs: 5_000,
    responseTimeoutMs: 60_000,
    upstreamProtocol: 'http' as const,
  };
  const config: DataplaneConfig = {
    apiVersion: 'sluice.dev/dataplane/v1',
    version: '',
    virtualHosts: [
      {
        kind: 'exact',
        host: 'shop.example.com',
        tls: { certificate: 'shop/shop-tls' },
        routes: [
          {
            path: '/api',
            pathType: 'Exact',
            source: { ingress: 'shop/api', rule: 0, path: 1 },
            httpsRedirect: true,
            policy,
            split: {
              mode: 'sticky',
              sticky: { cookie: { name: 'sluice-cohort' } },
              overrides: [
                { header: { name: 'x-canary', value: 'always' }, backend: 'shop/checkout-v2:http' },
              ],
              backends: [
                { name: 'checkout-v1', backend: 'shop/checkout-v1:80', weight: 90 },
                { name: 'checkout-v2', backend: 'shop/checkout-v2:http', weight: 10 },
              ],
              routeRatio: 'shop/checkout',
            },
          },
          {
            path: '/api',
            pathType: 'Prefix',
            source: { ingress: 'shop/api', rule: 0, path: 0 },
            httpsRedirect: true,
            policy,
            split: {
              mode: 'weighted',
              overrides: [],
              backends: [{ name: 'api', backend: 'shop/api:80', weight: 1 }],
            },
          },
        ],
      },
      { kind: 'wildcard', host: '*.example.com', routes: [] },
      { kind: 'any', host: '*', routes: [] },
    ],
    defaultRoute: {
      source: { ingress: 'shop/default' },
      policy,
      split: {
        mode: 'weighted',
        overrides: [],
        backends: [{ name: 'api', backend: 'shop/api:80', weight: 1 }],
      },
    },
    backends: {
      'shop/api:80': {
        service: { namespace: 'shop', name: 'api', port: '80' },
        endpoints: [
          { address: '198.18.0.10', port: 8080, ready: true, serving: true, terminating: false },
          { address: 'fd00::1', port: 8080, ready: true, serving: true, terminating: false },
        ],
      },
      'shop/checkout-v1:80': {
        service: { namespace: 'shop', name: 'checkout-v1', port: '80' },
        endpoints: [],
      },
      'shop/checkout-v2:http': {
        service: { namespace: 'shop', name: 'checkout-v2', port: 'http' },
        endpoints: [],
      },
    },
    certificates: { 'shop/shop-tls': { certPem: PEM_CERT, keyPem: PEM_KEY } },
    defaultCertificate: 'shop/shop-tls',
  };
  config.version = configVersion(config);
  return config;
}

/** Applies `edit` to a fresh sample, re-hashes it, validates. */
function validateEdited(edit: (c: DataplaneConfig) => void) {
  const config = sample();
  edit(config);
  config.version = configVersion(config);
  return validateConfig(config);
}

test('a complete config validates', () => {
  const result = validateConfig(sample());
  assert.equal(result.ok, true);
});

test('non-objects and unknown properties are refused with readable paths', () => {
  assert.deepEqual(validateConfig(null), { ok: false, errors: ['config: must be object'] });
  const result = validateEdited((c) => {
    (c.virtualHosts[0].routes[0] as unknown as Record<string, unknown>).snippet = 'x';
  });
  assert.deepEqual(result, { ok: false, errors: ['virtualHosts[0].routes[0]: unknown property "snippet"'] });
});

test('control characters, CR and LF are refused in every string kind', () => {
  const cases: Array<[string, (c: DataplaneConfig) => void]> = [
    ['virtualHosts[0].host', (c) => (c.virtualHosts[0].host = 'shop.example.com\r\nx')],
    ['virtualHosts[0].routes[0].path', (c) => (c.virtualHosts[0].routes[0].path = '/api\n')],
    ['virtualHosts[0].routes[0].path', (c) => (c.virtualHosts[0].routes[0].path = '/a\tb')],
    [
      'virtualHosts[0].routes[0].split.overrides[0].header.name',
      (c) => (c.virtualHosts[0].routes[0].split.overrides[0].header!.name = 'x-a\r\n'),
    ],
    [
      'virtualHosts[0].routes[0].split.overrides[0].header.value',
      (c) => (c.virtualHosts[0].routes[0].split.overrides[0].header!.value = 'a\r\nset-cookie: x'),
    ],
    [
      'virtualHosts[0].routes[0].split.sticky.cookie.name',
      (c) => (c.virtualHosts[0].routes[0].split.sticky = { cookie: { name: 'a\u0000' } }),
    ],
    [
      'virtualHosts[0].routes[0].source.ingress',
      (c) => (c.virtualHosts[0].routes[0].source.ingress = 'shop/api\u007f'),
    ],
    [
      'backends["shop/api:80"].endpoints[0].address',
      (c) => (c.backends['shop/api:80'].endpoints[0].address = '198.18.0.1\n'),
    ],
    [
      'certificates["shop/shop-tls"].certPem',
      (c) => (c.certificates['shop/shop-tls'].certPem = PEM_CERT + 'include /etc/passwd\n'),
    ],
  ];
  for (const [where, edit] of cases) {
    const result = validateEdited(edit);
    assert.equal(result.ok, false, where);
    assert.ok(
      (result as { errors: string[] }).errors[0].startsWith(`${where}:`),
      (result as { errors: string[] }).errors[0],
    );
  }
});

test('hosts must match their kind', () => {
  assert.equal(validateEdited((c) => (c.virtualHosts[1].host = '*.*.example.com')).ok, false);
  assert.equal(validateEdited((c) => (c.virtualHosts[0].host = '*.example.com')).ok, false);
  assert.equal(validateEdited((c) => (c.virtualHosts[2].host = 'x')).ok, false);
  assert.equal(validateEdited((c) => (c.virtualHosts[0].host = 'Shop.example.com')).ok, false);
});

test('sticky is present exactly in sticky mode', () => {
  assert.equal(validateEdited((c) => delete c.virtualHosts[0].routes[0].split.sticky).ok, false);
  assert.equal(
    validateEdited((c) => (c.virtualHosts[0].routes[1].split.sticky = { header: { name: 'x-user' } })).ok,
    false,
  );
  assert.equal(
    validateEdited(
      (c) =>
        (c.virtualHosts[0].routes[0].split.sticky = { header: { name: 'x-user' }, cookie: { name: 'c' } }),
    ).ok,
    false,
  );
});

test('references must exist and overrides must name a split backend', () => {
  const missing = validateEdited((c) => delete c.backends['shop/api:80']);
  assert.equal(missing.ok, false);
  assert.match(
    (missing as { errors: string[] }).errors[0],
    /^virtualHosts\[0\]\.routes\[1\]\.split\.backends\[0\]/,
  );
  const override = validateEdited(
    (c) => (c.virtualHosts[0].routes[0].split.overrides[0].backend = 'shop/api:80'),
  ) as { ok: false; errors: string[] };
  assert.match(override.errors[0], /is not one of the split's backends/);
  assert.equal(validateEdited((c) => (c.defaultCertificate = 'shop/other')).ok, false);
  assert.equal(validateEdited((c) => (c.virtualHosts[0].tls = { certificate: 'shop/other' })).ok, false);
});

test('virtual hosts and routes must be sorted and unique', () => {
  assert.equal(validateEdited((c) => c.virtualHosts.reverse()).ok, false);
  assert.equal(validateEdited((c) => c.virtualHosts[0].routes.reverse()).ok, false);
  assert.equal(validateEdited((c) => c.virtualHosts.push({ kind: 'any', host: '*', routes: [] })).ok, false);
});

test('the version must be the content hash', () => {
  const config = sample();
  config.virtualHosts[0].routes[0].httpsRedirect = false;
  const result = validateConfig(config);
  assert.equal(result.ok, false);
  assert.match((result as { errors: string[] }).errors[0], /^version: does not match/);
  assert.equal(validateConfig(config, { checkVersion: false }).ok, true);
});

test('bounds: weights, ports, split sizes', () => {
  assert.equal(
    validateEdited((c) => (c.virtualHosts[0].routes[0].split.backends[0].weight = 10_001)).ok,
    false,
  );
  assert.equal(validateEdited((c) => (c.virtualHosts[0].routes[0].split.backends[0].weight = 1.5)).ok, false);
  assert.equal(validateEdited((c) => (c.backends['shop/api:80'].endpoints[0].port = 0)).ok, false);
  assert.equal(validateEdited((c) => (c.virtualHosts[0].routes[1].split.backends = [])).ok, false);
});

test('readablePath and compareRoutes', () => {
  assert.equal(readablePath(''), 'config');
  assert.equal(readablePath('/virtualHosts/0/routes/1/path'), 'virtualHosts[0].routes[1].path');
  assert.equal(readablePath('/backends/shop~1api:80'), 'backends["shop/api:80"]');
  assert.ok(compareRoutes({ path: '/abc', pathType: 'Prefix' }, { path: '/ab', pathType: 'Exact' }) < 0);
  assert.ok(compareRoutes({ path: '/ab', pathType: 'Exact' }, { path: '/ab', pathType: 'Prefix' }) < 0);
  assert.equal(compareRoutes({ path: '/ab', pathType: 'Exact' }, { path: '/ab', pathType: 'Exact' }), 0);
});
