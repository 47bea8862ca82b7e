import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configVersion } from './canonical.ts';
import { compareRoutes } from './order.ts';
import { applyPatch, diffConfigs } from './patch.ts';
import type { DataplaneConfig } from './types.ts';
import { ConfigValidator, readablePath, validateConfig } from './validate.ts';

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

// ConfigValidator: the same answers as validateConfig, with pieces it has seen not checked again.

/** `base` with host `i` replaced by an edited copy (other pieces shared), re-hashed. */
function withHost(base: DataplaneConfig, i: number, edit: (v: DataplaneConfig['virtualHosts'][0]) => void) {
  const host = structuredClone(base.virtualHosts[i]);
  edit(host);
  const config = { ...base, virtualHosts: base.virtualHosts.map((v, j) => (j === i ? host : v)) };
  config.version = configVersion(config);
  return config;
}

test('ConfigValidator gives validateConfig’s result, cold and with cached pieces', () => {
  const base = sample();
  const warm = new ConfigValidator();
  assert.equal(warm.config(base).ok, true);
  const variants: Array<[string, unknown]> = [
    ['valid', base],
    ['not an object', 'x'],
    ['wrong apiVersion', { ...base, apiVersion: 'v0' }],
    ['bad path', withHost(base, 0, (v) => (v.routes[0].path = '/api\n'))],
    ['unknown property', withHost(base, 0, (v) => Object.assign(v.routes[1], { snippet: 'x' }))],
    ['unknown backend', withHost(base, 0, (v) => (v.routes[1].split.backends[0].backend = 'shop/nope:80'))],
    ['unsorted routes', withHost(base, 0, (v) => v.routes.reverse())],
    [
      'bad backend key',
      { ...base, backends: { ...base.backends, __proto__x: base.backends['shop/api:80'] } },
    ],
    ['proto key', JSON.parse(`{"backends":{"__proto__":{}}}`)],
    ['unsorted hosts', { ...base, virtualHosts: [...base.virtualHosts].reverse() }],
    ['missing certificate', { ...base, certificates: {} }],
    ['wrong version', { ...base, version: `sha256:${'1'.repeat(64)}` }],
    [
      'bad endpoint',
      {
        ...base,
        backends: {
          ...base.backends,
          'shop/x:80': {
            service: { namespace: 'shop', name: 'x', port: '80' },
            endpoints: [{ address: '1.2.3.4\n' }],
          },
        },
      },
    ],
  ];
  for (const [name, value] of variants) {
    const expected = validateConfig(value);
    assert.deepEqual(new ConfigValidator().config(value), expected, `cold: ${name}`);
    assert.deepEqual(warm.config(value), expected, `warm: ${name}`);
    assert.deepEqual(
      warm.config(value, { checkVersion: false }),
      validateConfig(value, { checkVersion: false }),
      name,
    );
  }
  const bad = warm.config(withHost(base, 0, (v) => (v.routes[0].path = '/api\n'))) as { errors: string[] };
  assert.match(bad.errors[0], /^virtualHosts\[0\]\.routes\[0\]\.path: /);
});

test('ConfigValidator does not look inside a piece it has validated again', () => {
  const base = sample();
  let reads = 0;
  // Counts reads of the routes, which only the schema and a host's own checks look at.
  const counted = new Proxy(base.virtualHosts[0], {
    get(target, key, receiver) {
      if (key === 'routes') reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  const config = { ...base, virtualHosts: [counted, ...base.virtualHosts.slice(1)] };
  const validator = new ConfigValidator();
  assert.equal(validator.config(config).ok, true);
  assert.ok(reads > 0);

  reads = 0;
  const next = { ...config, backends: { ...config.backends } }; // a new config, same pieces
  assert.equal(validator.config(next, { checkVersion: false }).ok, true);
  assert.equal(reads, 0, 'a cached host is neither schema-checked nor route-checked again');
  assert.equal(new ConfigValidator().config(next, { checkVersion: false }).ok, true);
  assert.ok(reads > 0, 'another validator checks it');
});

/** A patch from `from` to `to` as it arrives over the wire. */
const wirePatch = (from: DataplaneConfig, to: DataplaneConfig) =>
  JSON.parse(JSON.stringify(diffConfigs(from, to)));

test('ConfigValidator.patch: applies, or names what is wrong', () => {
  const base = sample();
  const validator = new ConfigValidator();
  assert.equal(validator.config(base).ok, true);

  const target = withHost(base, 0, (v) => (v.routes[1].policy.connectTimeoutMs = 1_234));
  const ok = validator.patch(base, wirePatch(base, target));
  assert.ok(ok.ok);
  assert.equal(JSON.stringify(ok.config), JSON.stringify(applyPatch(base, wirePatch(base, target))));
  assert.equal(ok.config.virtualHosts[1], base.virtualHosts[1], 'kept hosts are base’s objects');

  const errorsOf = (patch: unknown) => {
    const r = validator.patch(base, patch);
    assert.equal(r.ok, false);
    return (r as { errors: string[] }).errors;
  };
  const patch = wirePatch(base, target);
  assert.match(errorsOf({ ...patch, base: `sha256:${'2'.repeat(64)}` })[0], /^base: /);
  const badPath = structuredClone(patch);
  badPath.virtualHosts.set[0].routes[0].path = '/x\r\n';
  assert.match(errorsOf(badPath)[0], /^virtualHosts\.set\[0\]\.routes\[0\]\.path: /);
  const proto = JSON.parse(
    JSON.stringify(patch).replace('"backends":{"set":{}', '"backends":{"set":{"__proto__":{}}'),
  );
  assert.match(errorsOf(proto).join('; '), /backends\.set: key "__proto__" is not allowed/);
  assert.match(
    errorsOf({ ...patch, backends: { set: {}, remove: ['__proto__'] } })[0],
    /^backends\.remove\[0\]/,
  );
  assert.match(errorsOf({ ...patch, extra: 1 })[0], /unknown property "extra"/);
  const twice = structuredClone(patch);
  twice.virtualHosts.set.push(twice.virtualHosts.set[0]);
  assert.match(errorsOf(twice)[0], /^virtualHosts\.set\[1\]\.host: set twice/);
  assert.match(
    errorsOf({ ...patch, version: `sha256:${'3'.repeat(64)}` })[0],
    /^version: does not match the content hash/,
  );
  // Removing a backend a kept host still routes to.
  const gone = {
    ...patch,
    virtualHosts: { set: [], remove: [] },
    backends: { set: {}, remove: ['shop/api:80'] },
  };
  assert.match(
    errorsOf(gone)[0],
    /^virtualHosts\[0\]\.routes\[1\]\.split\.backends\[0\]\.backend: no backend "shop\/api:80"/,
  );
  // A new host whose routes are out of order.
  const unsorted = structuredClone(patch);
  unsorted.virtualHosts.set[0].routes.reverse();
  assert.match(errorsOf(unsorted)[0], /^virtualHosts\[0\]\.routes\[1\]: routes must be unique and sorted/);
});

test('ConfigValidator.patch from a base it did not validate checks the whole result', () => {
  const base = sample();
  const target = withHost(base, 0, (v) => (v.routes[1].httpsRedirect = false));
  const result = new ConfigValidator().patch(base, wirePatch(base, target));
  assert.ok(result.ok);
  assert.equal(configVersion(result.config), target.version);
});

test('ConfigValidator.patch counts who uses each key along a chain of patches', () => {
  const policy = sample().virtualHosts[0].routes[1].policy;
  const host = (name: string, backend: string) => ({
    kind: 'exact' as const,
    host: name,
    routes: [
      {
        path: '/',
        pathType: 'Prefix' as const,
        source: { ingress: 'ns/web', rule: 0, path: 0 },
        httpsRedirect: false,
        policy,
        split: { mode: 'weighted' as const, overrides: [], backends: [{ name: 'x', backend, weight: 1 }] },
      },
    ],
  });
  const svc = (name: string) => ({ service: { namespace: 'ns', name, port: '80' }, endpoints: [] });
  const make = (hosts: DataplaneConfig['virtualHosts'], backends: string[]): DataplaneConfig => {
    const config: DataplaneConfig = {
      apiVersion: 'sluice.dev/dataplane/v1',
      version: '',
      virtualHosts: hosts,
      backends: Object.fromEntries(backends.map((b) => [`ns/${b}:80`, svc(b)])),
      certificates: {},
    };
    config.version = configVersion(config);
    return config;
  };
  const validator = new ConfigValidator();
  let current = make(
    [host('a.example', 'ns/v1:80'), host('b.example', 'ns/v2:80'), host('c.example', 'ns/v2:80')],
    ['v1', 'v2', 'v3'],
  );
  assert.ok(validator.config(current).ok);
  const step = (to: DataplaneConfig) => {
    const result = validator.patch(current, wirePatch(current, to));
    if (result.ok) current = result.config;
    return result;
  };
  const [a, , c] = current.virtualHosts;
  assert.ok(step(make([a, c], ['v1', 'v2', 'v3'])).ok, 'b removed');
  const refused = step(make([a, c], ['v1', 'v3']));
  assert.equal(refused.ok, false, 'c still routes to v2');
  assert.match(
    (refused as { errors: string[] }).errors[0],
    /^virtualHosts\[1\]\.routes\[0\]\.split\.backends\[0\]\.backend: no backend "ns\/v2:80"/,
  );
  assert.ok(step(make([a, host('c.example', 'ns/v3:80')], ['v1', 'v2', 'v3'])).ok, 'c moved to v3');
  assert.ok(step(make(current.virtualHosts, ['v1', 'v3'])).ok, 'v2 unused now');
  const dangling = step(make([...current.virtualHosts, host('d.example', 'ns/v2:80')], ['v1', 'v3']));
  assert.equal(dangling.ok, false, 'a new host cannot use a removed backend');
  assert.ok(step(make([current.virtualHosts[0]], ['v1'])).ok, 'c and v3 removed together');
});

test('ConfigValidator: a config sharing the last one’s host list and records still has its own checks', () => {
  const base = sample();
  const validator = new ConfigValidator();
  assert.equal(validator.config(base).ok, true);
  const defaultRoute = structuredClone(base.defaultRoute!);
  defaultRoute.split.backends[0].backend = 'shop/nope:80';
  const badDefault = { ...base, defaultRoute };
  badDefault.version = configVersion(badDefault);
  assert.deepEqual(validator.config(badDefault), validateConfig(badDefault));
  assert.equal(validator.config(badDefault).ok, false);

  const { 'shop/api:80': _, ...fewer } = base.backends;
  const missing = { ...base, backends: fewer };
  missing.version = configVersion(missing);
  assert.equal(validator.config(missing).ok, false, 'same hosts, a record without a key they use');
  const sameRecords = { ...base, defaultCertificate: 'shop/other' };
  sameRecords.version = configVersion(sameRecords);
  assert.equal(validator.config(sameRecords).ok, false);
});

test('endpoint addresses must be real IPv4 or IPv6 literals, without zone or IPv4-mapped form', () => {
  const address = (value: string) =>
    validateEdited((c) => {
      c.backends['shop/api:80'].endpoints[1].address = value;
    });
  const refused = [
    ':::::',
    '1::2::3',
    'ab:cd',
    ':1',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
    '::ffff:10.0.0.1',
    '::FFFF:198.18.0.1',
    'fe80::1%eth0',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.256',
    '...',
  ];
  for (const value of refused) {
    const result = address(value);
    assert.equal(result.ok, false, value);
    assert.match(
      (result as { errors: string[] }).errors[0],
      /^backends\["shop\/api:80"\]\.endpoints\[1\]\.address: /,
      value,
    );
  }
  assert.deepEqual((address(':::::') as { errors: string[] }).errors, [
    'backends["shop/api:80"].endpoints[1].address: is not an IPv4 or IPv6 address (no zone id, no IPv4-mapped form)',
  ]);
  for (const value of [
    '::1',
    '::',
    '1:2:3:4:5:6:7::',
    'FD00::A',
    '64:ff9b::198.18.0.1',
    '10.0.0.1',
    '0.0.0.0',
  ]) {
    assert.equal(address(value).ok, true, value);
  }
  // The same check in the cached validator and in patches (their pieces use the same schema).
  const base = sample();
  const bad = sample();
  bad.backends['shop/api:80'].endpoints[1].address = '1::2::3';
  bad.version = configVersion(bad);
  assert.equal(new ConfigValidator().config(bad).ok, false);
  const validator = new ConfigValidator();
  assert.ok(validator.config(base).ok);
  const patched = validator.patch(base, JSON.parse(JSON.stringify(diffConfigs(base, bad))));
  assert.equal(patched.ok, false);
  assert.match((patched as { errors: string[] }).errors[0], /address: is not an IPv4 or IPv6 address/);
});

test('route paths must be in the normal form requests are matched in', () => {
  const path = (value: string) =>
    validateEdited((c) => {
      c.virtualHosts[0].routes = [{ ...c.virtualHosts[0].routes[1], path: value }];
    });
  const never = [
    '/a/./b',
    '/a/../b',
    '/.',
    '/..',
    '/a/.',
    '/a/..',
    '//',
    '/a//b',
    '/a/%2E%2E/b',
    '/%2E',
    '/%41',
    '/a%7E',
    '/a%2Fb',
    '/a%5Cb',
    '/%00',
    '/%7F',
  ];
  for (const value of never) {
    const result = path(value);
    assert.equal(result.ok, false, value);
    assert.match(
      (result as { errors: string[] }).errors[0],
      /^virtualHosts\[0\]\.routes\[0\]\.path: can never match/,
      value,
    );
  }
  for (const value of [
    '/',
    '/a/',
    '/a.b',
    '/...',
    '/.well-known/x',
    '/a/..b',
    '/%20',
    '/%C3%A9',
    '/a;b=c',
    '/~u',
  ]) {
    assert.equal(path(value).ok, true, value);
  }
});

test('a wrong version is named without the expected hash', () => {
  const config = sample();
  config.virtualHosts[0].routes[0].httpsRedirect = false;
  const expected = configVersion(config);
  for (const result of [validateConfig(config), new ConfigValidator().config(config)]) {
    assert.deepEqual(result, { ok: false, errors: ['version: does not match the content hash'] });
    assert.doesNotMatch(JSON.stringify(result), new RegExp(expected.slice(7)));
  }
});
