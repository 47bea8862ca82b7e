// Property tests: for generated snapshots (valid and hostile objects mixed), the output does not
// depend on input order, always passes the config schema, is in canonical key order, carries no
// control characters, and the claim index agrees with compile about every conflict.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../dataplane/api/canonical.ts';
import { validateConfig } from '../../dataplane/api/validate.ts';
import type { RouteRatio, Snapshot } from './api.ts';
import { buildClaimIndex } from './claims.ts';
import { compile } from './compile.ts';
import { snapshotFromYaml } from './testdata.ts';

const tlsCase = snapshotFromYaml(
  readFileSync(join(import.meta.dirname, 'testdata', 'tls-secret-redirect.in.yaml'), 'utf8'),
).snapshot;
const goodSecret = tlsCase.secrets[0];

const CONTROL = ['\r\n', '\n', '\u0000', '\t', '\u007f', '\u001b[31m'];
const withControl = (base: string) => fc.constantFrom(...CONTROL).map((c) => base + c + 'x');
const namespace = fc.constantFrom('shop', 'team-b');
const created = fc.constantFrom('2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z', undefined, 'yesterday');
const host = fc.oneof(
  fc.constantFrom(
    'shop.example.com',
    'SHOP.example.com.',
    'shop.example.com:8443',
    '*.example.com',
    'a.example.com',
  ),
  fc.constantFrom(undefined, '', '*', '*.*.example.com', 'bad_host.example.com'),
  withControl('evil.example.com'),
);
const path = fc.oneof(
  fc.constantFrom('/', '/api', '/api/', '/a/b', '/%7Eu', '/a%2Fb', '/a/../b', '/a//b', 'rel', '', '/a b'),
  withControl('/p'),
  fc.string({ maxLength: 6 }).map((s) => `/${s}`),
);
const pathType = fc.constantFrom('Exact', 'Prefix', 'ImplementationSpecific', 'Regex', undefined);
const serviceName = fc.constantFrom('web', 'api', 'checkout', 'checkout-v1', 'checkout-v2', 'Bad_Name');
const port = fc.oneof(
  fc.constantFrom({ number: 80 }, { name: 'http' }, { number: 8443 }, { name: 'grpc' }),
  fc.constantFrom({ number: 80, name: 'http' }, {}, { number: 0 }, { number: 70000 }),
);
const annotations = fc.dictionary(
  fc.constantFrom(
    'sluice.dev/ssl-redirect',
    'sluice.dev/body-size-limit',
    'sluice.dev/connect-timeout',
    'sluice.dev/backend-protocol',
    'sluice.dev/snippet',
    'example.com/other',
  ),
  fc.oneof(fc.constantFrom('true', 'false', '1m', '5s', 'HTTPS', 'x'), withControl('1m')),
  { maxKeys: 2 },
);

const ingress = fc.record({
  ns: namespace,
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  created,
  className: fc.constantFrom('sluice', 'sluice', 'nginx', undefined),
  annotations: fc.option(annotations, { nil: undefined }),
  rules: fc.array(
    fc.record({
      host,
      paths: fc.array(fc.record({ path, pathType, service: serviceName, port }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
    { maxLength: 3 },
  ),
  tls: fc.option(fc.constantFrom('shop-tls', 'missing-tls', 'junk-tls'), { nil: undefined }),
  defaultBackend: fc.option(fc.record({ service: serviceName, port }), { nil: undefined }),
});

const routeRatio = fc.record({
  ns: namespace,
  name: fc.constantFrom('rr1', 'rr2'),
  created,
  service: fc.record({ name: serviceName, port }),
  backends: fc.array(
    fc.record({
      name: serviceName,
      port,
      weight: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(-1)),
    }),
    { minLength: 0, maxLength: 3 },
  ),
  sticky: fc.constantFrom(
    undefined,
    { cookie: { name: 'c' } },
    { header: { name: 'X-User' } },
    { header: { name: 'x\r\n' } },
  ),
  override: fc.option(
    fc.record({ value: fc.oneof(fc.constant('always'), withControl('v')), backend: serviceName }),
    { nil: undefined },
  ),
});

const endpointAddress = fc.constantFrom(
  '198.18.0.1',
  '198.18.0.2',
  '127.0.0.1',
  'fd00::1',
  'not-an-ip',
  '10.0.0.1\n',
);

const snapshotArb = fc
  .record({
    ingresses: fc.array(ingress, { maxLength: 6 }),
    routeRatios: fc.array(routeRatio, { maxLength: 3 }),
    services: fc.array(fc.record({ ns: namespace, name: serviceName, external: fc.boolean() }), {
      maxLength: 6,
    }),
    slices: fc.array(
      fc.record({
        ns: namespace,
        service: serviceName,
        name: fc.constantFrom('s1', 's2'),
        addresses: fc.array(endpointAddress, { maxLength: 3 }),
        ready: fc.boolean(),
      }),
      { maxLength: 4 },
    ),
    defaultClass: fc.boolean(),
  })
  .map((g): Snapshot => {
    const snapshot: Snapshot = {
      ingressClasses: [
        {
          metadata: {
            name: 'sluice',
            annotations: g.defaultClass ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {},
          },
          spec: { controller: 'sluice.dev/ingress-controller' },
        },
        { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
      ],
      ingresses: [],
      services: [],
      endpointSlices: [],
      secrets: [
        { ...goodSecret, metadata: { namespace: 'shop', name: 'shop-tls' } },
        { metadata: { namespace: 'shop', name: 'junk-tls' }, data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } },
      ],
      routeRatios: [],
    };
    const seen = new Set<string>();
    for (const i of g.ingresses) {
      // Objects are unique by namespace/name in a real snapshot.
      if (seen.has(`i/${i.ns}/${i.name}`)) continue;
      seen.add(`i/${i.ns}/${i.name}`);
      snapshot.ingresses.push({
        metadata: {
          namespace: i.ns,
          name: i.name,
          creationTimestamp: i.created as unknown as Date,
          annotations: i.annotations,
        },
        spec: {
          ingressClassName: i.className,
          defaultBackend: i.defaultBackend
            ? { service: { name: i.defaultBackend.service, port: i.defaultBackend.port } }
            : undefined,
          tls: i.tls ? [{ hosts: ['shop.example.com'], secretName: i.tls }] : undefined,
          rules: i.rules.map((r) => ({
            host: r.host,
            http: {
              paths: r.paths.map((p) => ({
                path: p.path,
                pathType: p.pathType as string,
                backend: { service: { name: p.service, port: p.port } },
              })),
            },
          })),
        },
      });
    }
    for (const s of g.services) {
      if (seen.has(`s/${s.ns}/${s.name}`)) continue;
      seen.add(`s/${s.ns}/${s.name}`);
      snapshot.services.push({
        metadata: { namespace: s.ns, name: s.name },
        spec: s.external
          ? { type: 'ExternalName', externalName: 'localhost' }
          : { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      });
    }
    for (const e of g.slices) {
      const name = `${e.service}-${e.name}`.toLowerCase();
      if (seen.has(`e/${e.ns}/${name}`)) continue;
      seen.add(`e/${e.ns}/${name}`);
      snapshot.endpointSlices.push({
        addressType: 'IPv4',
        metadata: { namespace: e.ns, name, labels: { 'kubernetes.io/service-name': e.service } },
        ports: [{ name: 'http', port: 8080 }],
        endpoints: e.addresses.map((a) => ({ addresses: [a], conditions: { ready: e.ready } })),
      });
    }
    for (const r of g.routeRatios) {
      if (seen.has(`r/${r.ns}/${r.name}`)) continue;
      seen.add(`r/${r.ns}/${r.name}`);
      const rr: RouteRatio = {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'RouteRatio',
        metadata: {
          namespace: r.ns,
          name: r.name,
          generation: 2,
          creationTimestamp: r.created as unknown as Date,
        },
        spec: {
          service: r.service,
          backends: r.backends,
          sticky: r.sticky,
          overrides: r.override
            ? [{ header: { name: 'x-canary', value: r.override.value }, backend: r.override.backend }]
            : undefined,
        },
      };
      snapshot.routeRatios.push(rr);
    }
    return snapshot;
  });

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function shuffleSnapshot(s: Snapshot, seed: number): Snapshot {
  return {
    ingressClasses: shuffled(s.ingressClasses, seed),
    ingresses: shuffled(s.ingresses, seed + 1),
    services: shuffled(s.services, seed + 2),
    endpointSlices: shuffled(s.endpointSlices, seed + 3),
    secrets: shuffled(s.secrets, seed + 4),
    routeRatios: shuffled(s.routeRatios, seed + 5),
  };
}

/** Every string in the value, with the path to it. */
function* strings(value: unknown, where = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [where, value];
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) yield* strings(value[i], `${where}[${i}]`);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield [`${where}{key}`, k];
      yield* strings(v, `${where}.${k}`);
    }
  }
}

const RUNS = 150;

test('shuffling the input never changes the output', () => {
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snapshot, seed) => {
      const a = JSON.stringify(compile(snapshot));
      const b = JSON.stringify(compile(shuffleSnapshot(snapshot, seed)));
      assert.equal(b, a);
    }),
    { numRuns: RUNS },
  );
});

test('every output passes the schema, is canonical and never reports a compiler failure', () => {
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      const result = compile(snapshot);
      const validation = validateConfig(result.config);
      assert.deepEqual(validation.ok ? [] : validation.errors, []);
      assert.equal(canonicalJson(result.config), JSON.stringify(result.config));
      assert.ok(!result.events.some((e) => e.reason === 'CompileFailed'), JSON.stringify(result.events));
    }),
    { numRuns: RUNS },
  );
});

test('no control character from the input reaches the output', () => {
  const PEM_FIELD = /\.(certPem|keyPem)$/;
  const isControl = (code: number) =>
    code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      for (const [where, text] of strings(compile(snapshot))) {
        const allowed = PEM_FIELD.test(where) ? text.replace(/\n/g, '') : text;
        const bad = [...allowed].find((c) => isControl(c.charCodeAt(0)));
        assert.equal(bad, undefined, `control character at ${where}: ${JSON.stringify(text)}`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('the claim index reports exactly the conflicts compile acts on', () => {
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      const result = compile(snapshot);
      const index = buildClaimIndex(snapshot);
      for (const ingress of snapshot.ingresses) {
        const key = `${ingress.metadata?.namespace}/${ingress.metadata?.name}`;
        const status = result.statuses.ingresses[key];
        if (!status || status.rejected.some((r) => r.reason === 'InvalidAnnotation')) continue;
        const fromCompile = new Set(
          status.rejected
            .filter((r) => r.reason === 'PathConflict' || r.reason === 'HostOwnedByOtherNamespace')
            .map((r) => r.message),
        );
        const fromIndex = new Set(index.ingressConflicts(ingress).map((c) => c.message));
        assert.deepEqual([...fromIndex].sort(), [...fromCompile].sort(), key);
      }
      for (const rr of snapshot.routeRatios) {
        const status = result.statuses.routeRatios[`${rr.metadata.namespace}/${rr.metadata.name}`];
        const accepted = status?.conditions.find((c) => c.type === 'Accepted');
        const conflicts = index.routeRatioConflicts(rr);
        if (accepted?.reason === 'Conflicted')
          assert.deepEqual(
            conflicts.map((c) => c.message),
            [accepted.message],
          );
        else assert.deepEqual(conflicts, []);
      }
    }),
    { numRuns: RUNS },
  );
});
