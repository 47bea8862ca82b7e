// fast-check arbitraries of valid configs, built with the fixtures: hosts, routes, splits and
// backends drawn from small pools, so two configs share many pieces (by content) and differ in a
// few, as consecutive versions do. `edited` derives a config from another keeping the unchanged
// pieces as the same objects, as the operator's compiler does.

import fc from 'fast-check';
import { configVersion } from '../canonical.ts';
import type { Backend, Certificate, DataplaneConfig, Route, VirtualHost } from '../types.ts';
import { backend, backendKey, makeConfig, route, sticky, vhost, weighted } from './fixtures.ts';

const HOSTS = ['a.example', 'b.example', 'c.example', 'd.example', '*.example', '*.b.example', '*'];
const PATHS = ['/', '/a', '/a/b', '/api', '/api/v2'];
export const BACKENDS = ['v1', 'v2', 'v3', 'v4'];
const CERTS = ['ns/tls-a', 'ns/tls-b'];

// Schema-valid PEM (the validator does not parse it; the routing table would refuse it).
const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
export const fakeCertificate = (n: number): Certificate => ({
  certPem: pem('CERTIFICATE', `MIIB${'A'.repeat(n % 7)}`),
  keyPem: pem('PRIVATE KEY', `MIGH${'B'.repeat(n % 5)}`),
});

const splitArb = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...BACKENDS), { minLength: 1, maxLength: 3 }),
    fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 3, maxLength: 3 }),
    fc.constantFrom('weighted', 'cookie', 'header'),
  )
  .map(([names, weights, mode]) => {
    const list = names.map((n, i): [string, number] => [n, weights[i]]);
    if (mode === 'cookie') return sticky(list, { cookie: { name: 'cohort' } });
    if (mode === 'header') return sticky(list, { header: { name: 'x-user' } });
    return weighted(
      list,
      weights[0] > 80 ? [{ header: { name: 'x-canary', value: 'on' }, backend: backendKey(names[0]) }] : [],
    );
  });

const routeArb: fc.Arbitrary<Route> = fc
  .record({
    path: fc.constantFrom(...PATHS),
    exact: fc.boolean(),
    split: splitArb,
    redirect: fc.boolean(),
    timeout: fc.constantFrom(1_000, 2_000),
  })
  .map((r) =>
    route(r.path, r.split, {
      pathType: r.exact ? 'Exact' : 'Prefix',
      httpsRedirect: r.redirect,
      policy: { connectTimeoutMs: r.timeout },
    }),
  );

const hostArb = (host: string): fc.Arbitrary<VirtualHost> =>
  fc
    .record({
      routes: fc.uniqueArray(routeArb, { selector: (r) => `${r.pathType} ${r.path}`, maxLength: 4 }),
      tls: fc.option(fc.constantFrom(...CERTS), { nil: undefined }),
    })
    .map((h) => vhost(host, h.routes, h.tls));

const backendArb = (name: string): fc.Arbitrary<Backend> =>
  fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }).map((ports) =>
    backend(
      name,
      ports.map((p) => 9000 + p),
    ),
  );

/**
 * Arbitraries whose certificates come from `certificate(n)`: the default is schema-valid PEM that
 * does not parse (enough for everything but a routing table, which needs real ones).
 */
export function arbitraries(certificate: (n: number) => Certificate = fakeCertificate) {
  return { configArb: configArbWith(certificate), editArb: editArbWith(certificate) };
}

/** A valid config: some hosts, every backend, every certificate, maybe defaults. */
const configArbWith = (certificate: (n: number) => Certificate): fc.Arbitrary<DataplaneConfig> =>
  fc
    .record({
      hosts: fc.subarray(HOSTS).chain((names) => fc.tuple(...names.map(hostArb))),
      backends: fc.tuple(...BACKENDS.map(backendArb)),
      certificates: fc.subarray([0, 1, 2, 3]),
      defaultRoute: fc.option(splitArb, { nil: undefined }),
      defaultCertificate: fc.boolean(),
    })
    .map((c) =>
      makeConfig({
        virtualHosts: c.hosts,
        backends: Object.fromEntries(BACKENDS.map((name, i) => [backendKey(name), c.backends[i]])),
        certificates: Object.fromEntries(
          CERTS.map((key, i) => [key, certificate(c.certificates.includes(i) ? i + 10 : i)]),
        ),
        defaultRoute: c.defaultRoute && {
          source: { ingress: 'ns/default' },
          policy: route('/', c.defaultRoute).policy,
          split: c.defaultRoute,
        },
        defaultCertificate: c.defaultCertificate ? CERTS[0] : undefined,
      }),
    );

/** One change to a config, as a new config sharing every piece it does not change. */
export type Edit =
  | { kind: 'host'; host: VirtualHost }
  | { kind: 'drop-host'; index: number }
  | { kind: 'backend'; name: string; backend: Backend }
  | { kind: 'certificate'; key: string; certificate: Certificate };

const editArbWith = (certificate: (n: number) => Certificate): fc.Arbitrary<Edit> =>
  fc.oneof(
    fc.constantFrom(...HOSTS).chain((h) => hostArb(h).map((host): Edit => ({ kind: 'host', host }))),
    fc.nat({ max: HOSTS.length }).map((index): Edit => ({ kind: 'drop-host', index })),
    fc
      .constantFrom(...BACKENDS)
      .chain((name) => backendArb(name).map((b): Edit => ({ kind: 'backend', name, backend: b }))),
    fc.tuple(fc.constantFrom(...CERTS), fc.nat({ max: 20 })).map(
      ([key, n]): Edit => ({
        kind: 'certificate',
        key,
        certificate: certificate(n),
      }),
    ),
  );

const rank = (v: VirtualHost) => (v.kind === 'exact' ? 0 : v.kind === 'wildcard' ? 1 : 2);
const byHost = (a: VirtualHost, b: VirtualHost) =>
  rank(a) - rank(b) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);

/** `config` with the edit applied; unchanged pieces (and records) are the same objects. */
export function edited(config: DataplaneConfig, edit: Edit): DataplaneConfig {
  const next: DataplaneConfig = { ...config, version: '' };
  if (edit.kind === 'host') {
    // Routes sorted as the schema wants (the arbitrary's hosts come through makeConfig).
    const host = makeConfig({
      virtualHosts: [edit.host],
      backends: config.backends,
      certificates: config.certificates,
    }).virtualHosts[0];
    next.virtualHosts = [...config.virtualHosts.filter((v) => v.host !== host.host), host].sort(byHost);
  } else if (edit.kind === 'drop-host') {
    next.virtualHosts = config.virtualHosts.filter((_, i) => i !== edit.index);
  } else if (edit.kind === 'backend') {
    next.backends = { ...config.backends, [backendKey(edit.name)]: edit.backend };
  } else {
    next.certificates = { ...config.certificates, [edit.key]: edit.certificate };
  }
  next.version = configVersion(next);
  return next;
}

export const { configArb, editArb } = arbitraries();

// Servable configs: the edges of what the schema accepts, for tests that serve every config they
// draw (real listeners, real local backends). Every endpoint is on loopback.

/** Where servable configs send traffic: ports of local servers that answer, and one that is closed. */
export interface ServableTargets {
  /** A server on 127.0.0.1 and one on ::1. */
  v4Port: number;
  v6Port: number;
  /** A loopback port nothing listens on. */
  closedPort: number;
  /** Real certificate and key pairs (at least one). */
  certificates: Certificate[];
}

/** Odd but valid names: one letter, digits only, IDNA, the longest label, one-label wildcards. */
export const EDGE_HOSTS = [
  'a',
  '1.2.3.4',
  'xn--bcher-kva.example',
  `${'l'.repeat(63)}.example`,
  'x-1.y-2.example',
  '*.example',
  '*.0.example',
  '*',
];

/** Normal-form paths (what requests are matched in): dots, escapes and sub-delims that stay. */
export const EDGE_PATHS = [
  '/',
  '/a',
  '/a/',
  '/a.b',
  '/...',
  '/.well-known/x',
  '/a/..b',
  '/%20x',
  '/%C3%A9t%C3%A9',
  '/a;b=c',
  "/:@!$&'()*+,=",
  '/~u/-_',
];

/** IPv4 and IPv6 literals of loopback, in several spellings; the v6 ones reach `v6Port` on ::1. */
const V4_ADDRESSES = ['127.0.0.1'];
const V6_ADDRESSES = ['::1', '0:0:0:0:0:0:0:1', '::0001', '0000:0000:0000:0000:0000:0000:0000:0001'];

const COOKIE_NAMES = ['cohort', "a!#$%&'*+-.^_`|~z", 'X', 'sluice-cohort'];
const HEADER_NAMES = ['x-user', 'a', 'x-1', `x-${'h'.repeat(100)}`];
const HEADER_VALUES = ['on', 'a b', '~!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}', 'x'.repeat(512)];
const COOKIE_VALUES = ['1', 'abc', "!#$%&'()*+-./:<=>?@[]^_`{|}~"];

export function servableArbitraries(targets: ServableTargets) {
  const endpointArb = fc.oneof(
    fc.record({ address: fc.constantFrom(...V4_ADDRESSES), port: fc.constant(targets.v4Port) }),
    fc.record({ address: fc.constantFrom(...V6_ADDRESSES), port: fc.constant(targets.v6Port) }),
    fc.record({
      address: fc.constantFrom(...V4_ADDRESSES, ...V6_ADDRESSES),
      port: fc.constantFrom(targets.closedPort, 1, 65_535),
    }),
  );
  const backendOf = (name: string): fc.Arbitrary<Backend> =>
    fc.uniqueArray(endpointArb, { maxLength: 3, selector: (e) => `${e.address} ${e.port}` }).chain((eps) =>
      fc.tuple(...eps.map(() => fc.boolean())).map((terminating) => ({
        service: { namespace: 'ns', name, port: '80' },
        endpoints: eps.map((e, i) => ({
          address: e.address,
          port: e.port,
          ready: !terminating[i],
          serving: true,
          terminating: terminating[i],
        })),
      })),
    );

  const overrideArb = (names: string[]) =>
    fc
      .oneof(
        fc
          .record({ name: fc.constantFrom(...HEADER_NAMES), value: fc.constantFrom(...HEADER_VALUES) })
          .map((header) => ({ header })),
        fc
          .record({ name: fc.constantFrom(...COOKIE_NAMES), value: fc.constantFrom(...COOKIE_VALUES) })
          .map((cookie) => ({ cookie })),
      )
      .chain((o) => fc.constantFrom(...names).map((n) => ({ ...o, backend: backendKey(n) })));

  const splitArb = fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...BACKENDS), { minLength: 1, maxLength: 4 }),
      fc.array(fc.constantFrom(0, 0, 1, 7, 10_000), { minLength: 4, maxLength: 4 }),
      fc.constantFrom('weighted', 'cookie', 'header'),
      fc.constantFrom(...COOKIE_NAMES),
      fc.constantFrom(...HEADER_NAMES),
    )
    .chain(([names, weights, mode, cookie, header]) =>
      fc.array(overrideArb(names), { maxLength: 2 }).map((overrides) => {
        const list = names.map((n, i): [string, number] => [n, weights[i]]);
        const base =
          mode === 'cookie'
            ? sticky(list, { cookie: { name: cookie } })
            : mode === 'header'
              ? sticky(list, { header: { name: header } })
              : weighted(list);
        return { ...base, overrides };
      }),
    );

  const policyArb = fc.record({
    maxBodyBytes: fc.constantFrom(0, 1, 1024 * 1024, 2 ** 40),
    connectTimeoutMs: fc.constantFrom(1, 2_000, 300_000),
    responseTimeoutMs: fc.constantFrom(1, 10_000, 3_600_000),
    upstreamProtocol: fc.constantFrom<'http' | 'https'>('http', 'http', 'https'),
  });

  const routeArb: fc.Arbitrary<Route> = fc
    .record({
      path: fc.constantFrom(...EDGE_PATHS),
      exact: fc.boolean(),
      split: splitArb,
      redirect: fc.boolean(),
      policy: policyArb,
      rule: fc.nat({ max: 100_000 }),
    })
    .map((r) => {
      // A Prefix path has no trailing slash (except `/`), as the compiler writes it.
      const path = !r.exact && r.path.length > 1 && r.path.endsWith('/') ? r.path.slice(0, -1) : r.path;
      const out = route(path, r.split, {
        pathType: r.exact ? 'Exact' : 'Prefix',
        httpsRedirect: r.redirect,
        policy: r.policy,
      });
      return { ...out, source: { ...out.source, rule: r.rule } };
    });

  const certKeys = targets.certificates.map((_, i) => `ns/tls-${i}`);
  const hostArb = (host: string): fc.Arbitrary<VirtualHost> =>
    fc
      .record({
        routes: fc.uniqueArray(routeArb, { selector: (r) => `${r.pathType} ${r.path}`, maxLength: 4 }),
        tls: fc.option(fc.constantFrom(...certKeys), { nil: undefined }),
      })
      .map((h) => vhost(host, h.routes, h.tls));

  const configArb: fc.Arbitrary<DataplaneConfig> = fc
    .record({
      hosts: fc.subarray(EDGE_HOSTS, { minLength: 1 }).chain((names) => fc.tuple(...names.map(hostArb))),
      backends: fc.tuple(...BACKENDS.map(backendOf)),
      defaultRoute: fc.option(fc.tuple(splitArb, policyArb), { nil: undefined }),
      defaultCertificate: fc.option(fc.constantFrom(...certKeys), { nil: undefined }),
    })
    .map((c) =>
      makeConfig({
        virtualHosts: c.hosts,
        backends: Object.fromEntries(BACKENDS.map((name, i) => [backendKey(name), c.backends[i]])),
        certificates: Object.fromEntries(certKeys.map((key, i) => [key, targets.certificates[i]])),
        defaultRoute: c.defaultRoute && {
          source: { ingress: 'ns/default' },
          policy: c.defaultRoute[1],
          split: c.defaultRoute[0],
        },
        defaultCertificate: c.defaultCertificate,
      }),
    );
  return { configArb };
}
