// The long-lived compiler (createCompiler) against fresh compiles: over random sequences of edits
// its output is JSON-identical to compile(snapshot), and config pieces whose inputs did not change
// are the very objects of the previous result. Inputs and results are deep-frozen, as the operator
// freezes its cached objects, so a compiler that changed either would fail here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { V1EndpointSlice, V1Ingress, V1Secret, V1Service } from '@kubernetes/client-node';
import fc from 'fast-check';
import { canonicalJson } from '../../../contract/canonical.ts';
import type { DataplaneConfig } from '../../../contract/types.ts';
import { validateConfig } from '../../../contract/validate.ts';
import { deepFreeze } from '../../kube/freeze.ts';
import * as objects from '../../testing/objects.ts';
import type { CompileOptions, CompileResult, RouteRatio, Snapshot } from '../api.ts';
import { ConfigHasher } from '../emit/emit.ts';
import {
  denseIngressFields,
  denseRouteRatioFields,
  denseServiceFields,
  denseSliceFields,
  goodSecret,
  type IngressFields,
  ingressFields,
  ingressObject,
  keyOf,
  type RouteRatioFields,
  routeRatioFields,
  routeRatioObject,
  type ServiceFields,
  type SliceFields,
  serviceFields,
  serviceObject,
  shuffled,
  sliceFields,
  sliceObject,
} from '../testing/arbitraries.ts';
import { compileOk as compile, createCompilerOk as createCompiler } from '../testing/compile-ok.ts';
import { snapshotFromYaml } from '../testing/testdata.ts';

const EPOCH = new Date(0).toISOString();

/** A second certificate and key, other than goodSecret's. */
const otherCertificate = snapshotFromYaml(
  readFileSync(
    join(import.meta.dirname, '..', 'ingress', 'testdata', 'tls-oldest-ingress-certificate-wins.in.yaml'),
    'utf8',
  ),
).snapshot.secrets.find((s) => s.metadata?.name === 'new-tls')!;

// ---------------------------------------------------------------------------------------------
// A cluster that edits evolve, kept as the fields each object is built from, so an unchanged
// object stays the same object from snapshot to snapshot (as in the operator's informer caches).

interface Entry<F, O> {
  fields: F;
  object: O;
}

interface World {
  ingresses: Array<Entry<IngressFields, V1Ingress>>;
  services: Array<Entry<ServiceFields, V1Service>>;
  slices: Array<Entry<SliceFields, V1EndpointSlice>>;
  routeRatios: Array<Entry<RouteRatioFields, RouteRatio>>;
  secrets: V1Secret[];
  classes: { defaultClass: boolean; controller: string; nginxDefault: boolean };
  classObjects: Snapshot['ingressClasses'];
  /** Namespaces as the operator lists them, terminating or not. */
  namespaces: NonNullable<Snapshot['namespaces']>;
}

function frozen<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

function classObjects(c: World['classes']): Snapshot['ingressClasses'] {
  const isDefault = (on: boolean): Record<string, string> =>
    on ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {};
  return frozen<Snapshot['ingressClasses']>([
    {
      metadata: { name: 'sluice', annotations: isDefault(c.defaultClass) },
      spec: { controller: c.controller },
    },
    {
      metadata: { name: 'nginx', annotations: isDefault(c.nginxDefault), creationTimestamp: new Date(0) },
      spec: { controller: 'k8s.io/ingress-nginx' },
    },
  ]);
}

const junk = { 'tls.crt': 'eA==', 'tls.key': 'eA==' };

function secret(name: string, good: boolean): V1Secret {
  return frozen({ metadata: { namespace: 'shop', name }, data: good ? goodSecret.data : junk });
}

function snapshotOf(w: World): Snapshot {
  return {
    ingressClasses: w.classObjects.slice(),
    ingresses: w.ingresses.map((e) => e.object),
    services: w.services.map((e) => e.object),
    endpointSlices: w.slices.map((e) => e.object),
    secrets: w.secrets.slice(),
    routeRatios: w.routeRatios.map((e) => e.object),
    namespaces: w.namespaces.slice(),
  };
}

/** Whether the world names two objects of one kind alike (compiled correctly, without reuse). */
function repeatsNames(w: World): boolean {
  const repeats = (keys: string[]) => new Set(keys).size !== keys.length;
  return (
    repeats(w.ingresses.map((e) => keyOf(e.object))) ||
    repeats(w.services.map((e) => keyOf(e.object))) ||
    repeats(w.slices.map((e) => keyOf(e.object))) ||
    repeats(w.secrets.map(keyOf))
  );
}

/** Puts an object: replaces the one with its name (in place, as an informer cache does), or appends. */
function put<F, O extends { metadata?: { namespace?: string; name?: string } }>(
  list: Array<Entry<F, O>>,
  fields: F,
  build: (f: F) => O,
): void {
  const object = frozen(build(fields));
  const at = list.findIndex((e) => keyOf(e.object) === keyOf(object));
  if (at >= 0) list[at] = { fields, object };
  else list.push({ fields, object });
}

function removeAt<T>(list: T[], at: number): void {
  if (list.length > 0) list.splice(at % list.length, 1);
}

const part = fc.constantFrom(
  'rules',
  'tls',
  'className',
  'annotations',
  'defaultBackend',
  'created',
  'deleting',
);

// Mostly dense objects (they meet on few hosts, paths, Services and Secrets), some hostile ones.
const anIngress = fc.oneof(
  { weight: 3, arbitrary: denseIngressFields },
  { weight: 1, arbitrary: ingressFields },
);
const aService = fc.oneof(
  { weight: 3, arbitrary: denseServiceFields },
  { weight: 1, arbitrary: serviceFields },
);
const aSlice = fc.oneof({ weight: 3, arbitrary: denseSliceFields }, { weight: 1, arbitrary: sliceFields });
const aRouteRatio = fc.oneof(
  { weight: 3, arbitrary: denseRouteRatioFields },
  { weight: 1, arbitrary: routeRatioFields },
);

const editArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('putIngress' as const), fields: anIngress }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('editIngress' as const),
      at: fc.nat(),
      part,
      fields: anIngress,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteIngress' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('putService' as const), fields: aService }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteService' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('putSlice' as const), fields: aSlice }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteSlice' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('putRouteRatio' as const), fields: aRouteRatio }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('editWeight' as const),
      at: fc.nat(),
      backend: fc.nat(),
      weight: fc.integer({ min: 0, max: 100 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteRouteRatio' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deleting' as const),
      of: fc.constantFrom('ingress', 'routeRatio'),
      at: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('namespace' as const),
      name: fc.constantFrom('shop', 'team-b'),
      terminating: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('secret' as const),
      name: fc.constantFrom('shop-tls', 'junk-tls', 'missing-tls', 'default-tls'),
      state: fc.constantFrom('good', 'junk', 'gone'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('class' as const),
      change: fc.constantFrom('defaultClass', 'controller', 'nginxDefault'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('copy' as const),
      of: fc.constantFrom('ingress', 'service', 'slice', 'routeRatio', 'secret', 'class', 'namespace'),
      at: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shuffle' as const), seed: fc.integer() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      of: fc.constantFrom('ingress', 'service', 'slice', 'secret'),
      at: fc.nat(),
    }),
  },
);

type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;

/** A replacement with the same content and a changed resourceVersion (and status). */
function sameContent<T extends object>(object: T): T {
  const copy = structuredClone(object) as T & { metadata?: Record<string, unknown>; status?: unknown };
  copy.metadata = { ...copy.metadata, resourceVersion: String(Math.random()) };
  if ('spec' in copy) copy.status = { observedGeneration: 7 };
  return deepFreeze(copy);
}

/** Applies an edit; true when it changes nothing the compiler reads. */
function apply(w: World, e: Edit): boolean {
  switch (e.kind) {
    case 'putIngress':
      put(w.ingresses, e.fields, ingressObject);
      return false;
    case 'editIngress': {
      if (w.ingresses.length === 0) return false;
      const at = e.at % w.ingresses.length;
      const before = w.ingresses[at].fields;
      const key = e.part === 'className' ? 'className' : e.part;
      const fields = { ...before, [key]: e.fields[key as keyof IngressFields] };
      w.ingresses[at] = { fields, object: frozen(ingressObject(fields)) };
      return false;
    }
    case 'deleteIngress':
      removeAt(w.ingresses, e.at);
      return false;
    case 'putService':
      put(w.services, e.fields, serviceObject);
      return false;
    case 'deleteService':
      removeAt(w.services, e.at);
      return false;
    case 'putSlice':
      put(w.slices, e.fields, sliceObject);
      return false;
    case 'deleteSlice':
      removeAt(w.slices, e.at);
      return false;
    case 'putRouteRatio':
      put(w.routeRatios, e.fields, routeRatioObject);
      return false;
    case 'editWeight': {
      if (w.routeRatios.length === 0) return false;
      const at = e.at % w.routeRatios.length;
      const before = w.routeRatios[at].fields;
      if (before.backends.length === 0) return false;
      const backends = before.backends.map((b, i) =>
        i === e.backend % before.backends.length ? { ...b, weight: e.weight } : b,
      );
      const fields = { ...before, backends };
      w.routeRatios[at] = { fields, object: frozen(routeRatioObject(fields)) };
      return false;
    }
    case 'deleteRouteRatio':
      removeAt(w.routeRatios, e.at);
      return false;
    case 'deleting': {
      // The object gets (or, for the generator's sake, loses) its deletionTimestamp.
      if (e.of === 'ingress') {
        if (w.ingresses.length === 0) return false;
        const at = e.at % w.ingresses.length;
        const fields = { ...w.ingresses[at].fields, deleting: !w.ingresses[at].fields.deleting };
        w.ingresses[at] = { fields, object: frozen(ingressObject(fields)) };
      } else {
        if (w.routeRatios.length === 0) return false;
        const at = e.at % w.routeRatios.length;
        const fields = { ...w.routeRatios[at].fields, deleting: !w.routeRatios[at].fields.deleting };
        w.routeRatios[at] = { fields, object: frozen(routeRatioObject(fields)) };
      }
      return false;
    }
    case 'namespace': {
      // Starts terminating, or (deleted and created again) is active once more.
      const at = w.namespaces.findIndex((n) => n.name === e.name);
      const state = frozen({ name: e.name, terminating: e.terminating });
      if (at >= 0) w.namespaces[at] = state;
      else w.namespaces.push(state);
      return false;
    }
    case 'secret': {
      const at = w.secrets.findIndex((s) => s.metadata?.name === e.name);
      if (e.state === 'gone') {
        if (at >= 0) w.secrets.splice(at, 1);
      } else if (at >= 0) w.secrets[at] = secret(e.name, e.state === 'good');
      else w.secrets.push(secret(e.name, e.state === 'good'));
      return false;
    }
    case 'class': {
      const c = w.classes;
      if (e.change === 'defaultClass') c.defaultClass = !c.defaultClass;
      else if (e.change === 'nginxDefault') c.nginxDefault = !c.nginxDefault;
      else
        c.controller =
          c.controller === 'sluice.dev/ingress-controller'
            ? 'example.com/other'
            : 'sluice.dev/ingress-controller';
      w.classObjects = classObjects(c);
      return false;
    }
    case 'copy': {
      const lists = {
        ingress: w.ingresses,
        service: w.services,
        slice: w.slices,
        routeRatio: w.routeRatios,
      } as Record<string, Array<Entry<unknown, object>>>;
      if (e.of === 'secret') {
        if (w.secrets.length > 0)
          w.secrets[e.at % w.secrets.length] = sameContent(w.secrets[e.at % w.secrets.length]);
      } else if (e.of === 'class') {
        w.classObjects = w.classObjects.map(sameContent);
      } else if (e.of === 'namespace') {
        w.namespaces = w.namespaces.map((n) => frozen({ ...n }));
      } else {
        const list = lists[e.of];
        if (list.length > 0) {
          const at = e.at % list.length;
          list[at] = { fields: list[at].fields, object: sameContent(list[at].object) };
        }
      }
      return true;
    }
    case 'shuffle':
      w.ingresses = shuffled(w.ingresses, e.seed);
      w.services = shuffled(w.services, e.seed + 1);
      w.slices = shuffled(w.slices, e.seed + 2);
      w.routeRatios = shuffled(w.routeRatios, e.seed + 3);
      w.secrets = shuffled(w.secrets, e.seed + 4);
      w.namespaces = shuffled(w.namespaces, e.seed + 5);
      return true;
    case 'duplicate': {
      const lists = { ingress: w.ingresses, service: w.services, slice: w.slices } as Record<
        string,
        Array<Entry<unknown, object>>
      >;
      if (e.of === 'secret') {
        if (w.secrets.length > 0) w.secrets.push(sameContent(w.secrets[e.at % w.secrets.length]));
      } else {
        const list = lists[e.of];
        if (list.length > 0) {
          const entry = list[e.at % list.length];
          list.push({ fields: entry.fields, object: sameContent(entry.object) });
        }
      }
      return false;
    }
  }
}

const optionsArb = fc.constantFrom<CompileOptions>(
  {},
  { hostOwnership: 'shared' },
  { defaultCertificateSecret: 'shop/default-tls' },
  { defaultCertificateSecret: 'shop/junk-tls', hostOwnership: 'shared' },
  { defaultCertificateSecret: 'not a key' },
);

const worldArb = fc.record({
  ingresses: fc.array(anIngress, { maxLength: 6 }),
  services: fc.array(aService, { maxLength: 5 }),
  slices: fc.array(aSlice, { maxLength: 4 }),
  routeRatios: fc.array(aRouteRatio, { maxLength: 3 }),
  defaultClass: fc.boolean(),
  terminating: fc.constantFrom<string[]>([], [], ['team-b'], ['shop']),
});

function newWorld(g: typeof worldArb extends fc.Arbitrary<infer T> ? T : never): World {
  const classes = {
    defaultClass: g.defaultClass,
    controller: 'sluice.dev/ingress-controller',
    nginxDefault: false,
  };
  const w: World = {
    ingresses: [],
    services: [],
    slices: [],
    routeRatios: [],
    secrets: [secret('shop-tls', true), secret('junk-tls', false)],
    classes,
    classObjects: classObjects(classes),
    namespaces: g.terminating.map((name) => frozen({ name, terminating: true })),
  };
  for (const f of g.ingresses) put(w.ingresses, f, ingressObject);
  for (const f of g.services) put(w.services, f, serviceObject);
  for (const f of g.slices) put(w.slices, f, sliceObject);
  for (const f of g.routeRatios) put(w.routeRatios, f, routeRatioObject);
  return w;
}

test('a long-lived compiler gives what a fresh compile gives, over any sequence of edits', () => {
  fc.assert(
    fc.property(
      worldArb,
      fc.array(editArb, { minLength: 1, maxLength: 25 }),
      optionsArb,
      (g, edits, options) => {
        const w = newWorld(g);
        const compiler = createCompiler(options);
        // The configs here are small, so the compiler joins piece texts; this one splices them.
        const splicer = new ConfigHasher(0);
        let previous: CompileResult | undefined;
        let wasMalformed = true;
        for (const [step, e] of [undefined, ...edits].entries()) {
          const noop = e ? apply(w, e) : false;
          const snapshot = snapshotOf(w);
          const actual = compiler.compile(snapshot);
          const expected = compile(snapshot, options);
          assert.equal(
            JSON.stringify(actual),
            JSON.stringify(expected),
            `step ${step}: ${JSON.stringify(e)}`,
          );
          assert.equal(splicer.version(actual.config), actual.config.version, `step ${step}: spliced hash`);
          const malformed = repeatsNames(w);
          if (noop && previous && !malformed && !wasMalformed) {
            assert.equal(
              actual.config,
              previous.config,
              `step ${step}: ${JSON.stringify(e)} changed the config`,
            );
          }
          // Results are shared with later compiles: freezing them makes any later change throw.
          previous = deepFreeze(actual);
          wasMalformed = malformed;
        }
        assert.equal(compiler.stats.recovered, 0, 'an update threw and was redone from nothing');
      },
    ),
    { numRuns: Number(process.env.PROP_RUNS ?? 300) },
  );
});

// ---------------------------------------------------------------------------------------------
// Which pieces change, on a small cluster shaped like the benchmark's.

function cluster(count: number): Snapshot {
  const s: Snapshot = {
    ingressClasses: [objects.ingressClass('sluice')],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [{ metadata: { namespace: 'team-0', name: 'tls' }, data: goodSecret.data }],
    routeRatios: [],
  };
  const service = (ns: string, name: string, n: number) => {
    s.services.push({ metadata: { namespace: ns, name }, spec: { ports: [{ name: 'http', port: 80 }] } });
    s.endpointSlices.push({
      addressType: 'IPv4',
      metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: [`198.18.0.${n}`], conditions: { ready: true } }],
    });
  };
  for (let i = 0; i < count; i++) {
    const ns = `team-${i % 3}`;
    const name = `app-${i}`;
    service(ns, name, i + 1);
    s.ingresses.push({
      metadata: { namespace: ns, name, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) },
      spec: {
        ingressClassName: 'sluice',
        tls: i === 0 ? [{ hosts: [`${name}.example.com`], secretName: 'tls' }] : undefined,
        defaultBackend: i === 1 ? { service: { name, port: { number: 80 } } } : undefined,
        rules: [
          {
            host: `${name}.example.com`,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } },
                { path: '/api', pathType: 'Exact', backend: { service: { name, port: { name: 'http' } } } },
              ],
            },
          },
        ],
      },
    });
  }
  // app-3 is split with a canary.
  service('team-0', 'app-3-canary', 200);
  s.routeRatios.push(
    objects.routeRatio('app-3', {
      namespace: 'team-0',
      generation: 1,
      created: EPOCH,
      service: { name: 'app-3' },
      backends: [
        { name: 'app-3', weight: 90 },
        { name: 'app-3-canary', weight: 10 },
      ],
    }),
  );
  return deepFreeze(s);
}

/** The snapshot with one object replaced by an edited copy (a new, frozen object). */
function replaced<K extends Exclude<keyof Snapshot, 'namespaces'>>(
  s: Snapshot,
  kind: K,
  name: string,
  edit: (copy: Snapshot[K][number]) => void,
): Snapshot {
  const list = (s[kind] as Array<Snapshot[K][number]>).map((o) => {
    if (o.metadata?.name !== name) return o;
    const copy = structuredClone(o);
    edit(copy);
    return deepFreeze(copy);
  });
  return { ...s, [kind]: list };
}

/** Which pieces of `b` are not the very objects of `a`. */
function changedPieces(a: DataplaneConfig, b: DataplaneConfig) {
  const before = new Map(a.virtualHosts.map((v) => [v.host, v]));
  return {
    virtualHosts: b.virtualHosts.filter((v) => before.get(v.host) !== v).map((v) => v.host),
    backends: Object.keys(b.backends).filter((k) => a.backends[k] !== b.backends[k]),
    certificates: Object.keys(b.certificates).filter((k) => a.certificates[k] !== b.certificates[k]),
    defaultRoute: a.defaultRoute !== b.defaultRoute,
  };
}

const NOTHING = { virtualHosts: [], backends: [], certificates: [], defaultRoute: false };

function step(compiler: ReturnType<typeof createCompiler>, s: Snapshot, before: CompileResult) {
  const after = compiler.compile(s);
  assert.equal(JSON.stringify(after), JSON.stringify(compile(s)));
  return { after, changed: changedPieces(before.config, after.config) };
}

test('editing one path changes exactly its host', () => {
  const s = cluster(20);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const next = replaced(s, 'ingresses', 'app-7', (i) => {
    i.spec!.rules![0].http!.paths[1].path = '/v2';
  });
  const { after, changed } = step(compiler, next, first);
  assert.deepEqual(changed, { ...NOTHING, virtualHosts: ['app-7.example.com'] });
  assert.notEqual(after.config.version, first.config.version);
  // The records of backends and of statuses are the same objects: nothing in them changed.
  assert.equal(after.config.backends, first.config.backends);
  assert.equal(after.statuses.ingresses, first.statuses.ingresses);
});

test('an EndpointSlice change changes exactly its backends', () => {
  const s = cluster(20);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const next = replaced(s, 'endpointSlices', 'app-5-1', (e) => {
    e.endpoints = [{ addresses: ['198.18.1.1'], conditions: { ready: true } }];
  });
  const { changed } = step(compiler, next, first);
  // Routes name the port as 80 and as http: one backend.
  assert.deepEqual(changed, { ...NOTHING, backends: ['team-2/app-5:80'] });
});

test('a RouteRatio weight edit changes the hosts it splits and no backend', () => {
  const s = cluster(20);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const next = replaced(s, 'routeRatios', 'app-3', (rr) => {
    (rr as RouteRatio).spec.backends[0].weight = 50;
    (rr as RouteRatio).spec.backends[1].weight = 50;
  });
  const { after, changed } = step(compiler, next, first);
  assert.deepEqual(changed, { ...NOTHING, virtualHosts: ['app-3.example.com'] });
  assert.equal(after.statuses.routeRatios['team-0/app-3'].summary, 'app-3=50% app-3-canary=50%');
});

test('a replacement with the same content, or the same objects listed again, change nothing', () => {
  const s = cluster(20);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  let current = first;
  const sameObjects = { ...s, ingresses: [...s.ingresses].reverse(), services: s.services.slice() };
  const copies: Snapshot[] = [
    sameObjects,
    replaced(s, 'ingresses', 'app-2', (i) => {
      i.status = { loadBalancer: { ingress: [{ ip: '198.18.0.9' }] } };
    }),
    replaced(s, 'routeRatios', 'app-3', (rr) => {
      (rr as RouteRatio).status = { observedGeneration: 1, summary: 'app-3=90% app-3-canary=10%' };
    }),
    replaced(s, 'services', 'app-4', (svc) => {
      svc.metadata!.labels = { team: 'x' };
    }),
    replaced(s, 'endpointSlices', 'app-4-1', (e) => {
      e.metadata!.resourceVersion = '42';
    }),
    replaced(s, 'secrets', 'tls', (secret) => {
      secret.metadata!.resourceVersion = '43';
    }),
  ];
  for (const copy of copies) {
    const { after } = step(compiler, copy, current);
    assert.equal(after.config, first.config);
    current = after;
  }
  assert.equal(compiler.stats.fullCompiles, 1);
  assert.equal(compiler.stats.recovered, 0);
});

test('a certificate rotation changes the certificate, not the host', () => {
  const s = cluster(5);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const rotated = replaced(s, 'secrets', 'tls', (secret) => {
    secret.data = otherCertificate.data;
  });
  const { after, changed } = step(compiler, rotated, first);
  assert.deepEqual(changed, { ...NOTHING, certificates: ['team-0/tls'] });
  assert.notEqual(
    after.config.certificates['team-0/tls'].certPem,
    first.config.certificates['team-0/tls'].certPem,
  );
});

test('editing the Ingress of the default route elsewhere keeps the default route', () => {
  const s = cluster(10);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const next = replaced(s, 'ingresses', 'app-1', (i) => {
    i.spec!.rules![0].http!.paths[1].path = '/v2';
  });
  const { changed } = step(compiler, next, first);
  assert.deepEqual(changed, { ...NOTHING, virtualHosts: ['app-1.example.com'] });
});

test('a new default backend changes the default route and nothing else', () => {
  const s = cluster(10);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  assert.ok(first.config.defaultRoute);
  const next = replaced(s, 'ingresses', 'app-1', (i) => {
    i.spec!.defaultBackend = { service: { name: 'app-4', port: { name: 'http' } } };
  });
  const { changed } = step(compiler, next, first);
  // app-4 (team-1, as app-1) is already a backend of app-4's routes: `http` and `80` are one.
  assert.deepEqual(changed, { ...NOTHING, defaultRoute: true, backends: [] });
});

test('a port named by name or by number is one backend, and a spelling change changes nothing', () => {
  const s = cluster(10);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  assert.equal(first.config.backends['team-1/app-1:http'], undefined);
  assert.ok(first.config.backends['team-1/app-1:80']);
  const next = replaced(s, 'ingresses', 'app-1', (i) => {
    i.spec!.defaultBackend = { service: { name: 'app-1', port: { name: 'http' } } };
  });
  const { changed } = step(compiler, next, first);
  assert.deepEqual(changed, NOTHING);
});

test('a snapshot naming an object twice is compiled from nothing, and right', () => {
  const s = cluster(5);
  const compiler = createCompiler();
  compiler.compile(s);
  const twice = { ...s, services: [...s.services, structuredClone(s.services[0])] };
  const result = compiler.compile(twice);
  assert.equal(JSON.stringify(result), JSON.stringify(compile(twice)));
  assert.equal(compiler.stats.fullCompiles, 2);
  const again = compiler.compile(s);
  assert.equal(JSON.stringify(again), JSON.stringify(compile(s)));
  assert.equal(compiler.stats.fullCompiles, 3);
  assert.equal(compiler.stats.recovered, 0);
});

// ---------------------------------------------------------------------------------------------
// Interactions rare in random edits: each sequence compiled by one compiler and checked step by
// step against fresh compiles.

function ingress(
  ns: string,
  name: string,
  created: number,
  host: string,
  service: string,
  extra = {},
): V1Ingress {
  return {
    metadata: { namespace: ns, name, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, created)) },
    spec: {
      ingressClassName: 'sluice',
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
      ...extra,
    },
  };
}

function splitting(ns: string, service: string, extra: Partial<RouteRatio['spec']> = {}): RouteRatio {
  return objects.routeRatio(`${service}-split`, {
    namespace: ns,
    generation: 1,
    created: EPOCH,
    service: { name: service },
    backends: [
      { name: service, weight: 1 },
      { name: `${service}-canary`, weight: 1 },
    ],
    spec: extra,
  });
}

function base(): Snapshot {
  const s: Snapshot = {
    ingressClasses: [objects.ingressClass('sluice')],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [{ metadata: { namespace: 'shop', name: 'tls' }, data: goodSecret.data }],
    routeRatios: [],
  };
  for (const name of ['web', 'web-canary', 'api']) {
    for (const ns of ['shop', 'team-b']) {
      s.services.push({ metadata: { namespace: ns, name }, spec: { ports: [{ name: 'http', port: 80 }] } });
    }
  }
  return s;
}

/**
 * Compiles each snapshot with one compiler; every result must equal a fresh compile's. The
 * snapshots share the objects they have in common, as the operator's do.
 */
function compileAll(options: CompileOptions, ...snapshots: Snapshot[]): CompileResult[] {
  const compiler = createCompiler(options);
  const results = snapshots.map((s) => {
    const result = compiler.compile(deepFreeze(s));
    assert.equal(JSON.stringify(result), JSON.stringify(compile(s, options)));
    return deepFreeze(result);
  });
  assert.equal(compiler.stats.recovered, 0);
  return results;
}

test('narrowing a RouteRatio to one Ingress returns the others to their Service', () => {
  const s = base();
  s.ingresses.push(
    ingress('shop', 'a', 1, 'a.example.com', 'web'),
    ingress('shop', 'b', 2, 'b.example.com', 'web'),
  );
  s.routeRatios.push(splitting('shop', 'web'));
  const narrowed = { ...s, routeRatios: [splitting('shop', 'web', { ingresses: ['a'] })] };
  const [, after] = compileAll({}, s, narrowed, s);
  const split = (host: string) => after.config.virtualHosts.find((v) => v.host === host)!.routes[0].split;
  assert.equal(split('a.example.com').routeRatio, 'shop/web-split');
  assert.equal(split('b.example.com').routeRatio, undefined);
});

test('when an older Ingress takes a path, every loser names the new holder', () => {
  const s = base();
  s.ingresses.push(
    ingress('shop', 'b', 2, 'shop.example.com', 'web'),
    ingress('shop', 'c', 3, 'shop.example.com', 'api'),
  );
  const older = { ...s, ingresses: [...s.ingresses, ingress('shop', 'a', 1, 'shop.example.com', 'web')] };
  const [first, second] = compileAll({}, s, older, s);
  assert.match(first.statuses.ingresses['shop/c'].rejected[0].message, /Ingress shop\/b/);
  assert.match(second.statuses.ingresses['shop/c'].rejected[0].message, /Ingress shop\/a/);
  assert.match(second.statuses.ingresses['shop/b'].rejected[0].message, /Ingress shop\/a/);
});

test('a host takes its certificate only from an Ingress routed on it', () => {
  const s = base();
  const tls = { tls: [{ hosts: ['shop.example.com'], secretName: 'tls' }] };
  s.ingresses.push(ingress('shop', 'a', 2, 'shop.example.com', 'web', tls));
  // An older Ingress of another namespace takes the host: shop/a is left out, and so is its TLS.
  const taken = { ...s, ingresses: [...s.ingresses, ingress('team-b', 'x', 1, 'shop.example.com', 'web')] };
  const [first, second, third] = compileAll({}, s, taken, s);
  assert.deepEqual(first.config.virtualHosts[0].tls, { certificate: 'shop/tls' });
  assert.equal(second.config.virtualHosts[0].tls, undefined);
  assert.deepEqual(second.config.certificates, {});
  assert.deepEqual(third.config, first.config);
});

test('the default route follows a RouteRatio on its Service, and its removal', () => {
  const s = base();
  s.ingresses.push(
    ingress('shop', 'a', 1, 'a.example.com', 'api', {
      defaultBackend: { service: { name: 'web', port: { number: 80 } } },
    }),
  );
  const split = { ...s, routeRatios: [splitting('shop', 'web')] };
  const [first, second, third] = compileAll({}, s, split, s);
  assert.equal(first.config.defaultRoute?.split.routeRatio, undefined);
  assert.equal(second.config.defaultRoute?.split.routeRatio, 'shop/web-split');
  assert.equal(
    second.statuses.routeRatios['shop/web-split'].conditions[0].message,
    'splits 1 route of Ingress shop/a',
  );
  assert.equal(third.config.defaultRoute?.split.routeRatio, undefined);
  assert.ok(!('shop/web-canary:80' in third.config.backends));
});

test('a Secret that appears gives hosts without a secretName the default certificate', () => {
  const s = base();
  s.secrets = [];
  s.ingresses.push(
    ingress('shop', 'a', 1, 'shop.example.com', 'web', { tls: [{ hosts: ['shop.example.com'] }] }),
  );
  const withDefault = {
    ...s,
    secrets: [{ metadata: { namespace: 'shop', name: 'default' }, data: goodSecret.data }],
  };
  const options = { defaultCertificateSecret: 'shop/default' };
  const [first, second, third] = compileAll(options, s, withDefault, s);
  assert.equal(first.config.virtualHosts[0].tls, undefined);
  assert.deepEqual(second.config.virtualHosts[0].tls, { certificate: 'shop/default' });
  assert.equal(second.config.defaultCertificate, 'shop/default');
  assert.ok(third.events.some((e) => e.reason === 'SecretNotFound'));
});

test('a large cluster (long lists sorted in bulk) compiles to a canonical, valid config, and back', () => {
  const s = cluster(300);
  const compiler = createCompiler();
  const first = compiler.compile(s);
  const check = (r: CompileResult) => {
    const validation = validateConfig(r.config);
    assert.deepEqual(validation.ok ? [] : validation.errors, []);
    assert.equal(canonicalJson(r.config), JSON.stringify(r.config));
    const keys = Object.keys(r.statuses.ingresses);
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(!r.events.some((e) => e.reason === 'CompileFailed'));
  };
  check(first);
  assert.equal(first.config.virtualHosts.length, 300);
  // Half the Ingresses go, then come back: many removals and additions at once.
  const half = { ...s, ingresses: s.ingresses.filter((_, i) => i % 2 === 0) };
  const second = compiler.compile(half);
  check(second);
  assert.equal(JSON.stringify(second), JSON.stringify(compile(half)));
  const third = compiler.compile(s);
  assert.equal(JSON.stringify(third), JSON.stringify(first));
  assert.equal(compiler.stats.recovered, 0);
});
