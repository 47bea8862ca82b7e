// Compiler benchmark (not a test): generates 1,000 and 10,000 Ingresses (two paths each, a
// Service and an EndpointSlice of 3 endpoints per Ingress, 200 RouteRatios with a canary Service
// each) and prints the median compile time (wall and CPU) and heap use, then the claim index's
// build time and the cost of one admission conflict check, then a long-lived compiler's cold
// compile and its recompiles after one change of each kind. Targets for 10,000 Ingresses: a
// compile under 500 ms and under 300 MiB of heap; a recompile after one change under 100 ms; a
// conflict check well under 10 ms.
//
//   node hack/bench/compile.ts [--sizes=1000,10000] [--runs=7]

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { validateConfig } from '../../contract/validate.ts';
import type { Snapshot } from '../../operator/compile/api.ts';
import { buildClaimIndex } from '../../operator/compile/index.ts';
import {
  compileOk as compile,
  createCompilerOk as createCompiler,
} from '../../operator/compile/testing/compile-ok.ts';
import {
  endpointSlice,
  hostIngress,
  ingress,
  ingressClass,
  routeRatio,
  service,
} from '../../operator/testing/objects.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function flag(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const NAMESPACES = 50;
const ROUTE_RATIOS = 200;
const BASE_TIME = Date.UTC(2026, 0, 1);

/** A creationTimestamp `offsetMs` after the base time, as the API server writes it. */
const at = (offsetMs: number) => new Date(BASE_TIME + offsetMs).toISOString();

function svc(namespace: string, name: string) {
  return service(name, { namespace, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
}

function slice(namespace: string, name: string, n: number) {
  const endpoints = [0, 1, 2].map((k) => ({
    address: `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`.replace(
      /\.(\d+)$/,
      `.${(n * 3 + k) % 250}`,
    ),
    serving: true,
    terminating: false,
  }));
  return endpointSlice(name, {
    namespace,
    name: `${name}-x1`,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  });
}

export function generate(count: number): Snapshot {
  const snapshot: Snapshot = {
    ingressClasses: [ingressClass('sluice')],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
  };
  for (let i = 0; i < count; i++) {
    const namespace = `team-${i % NAMESPACES}`;
    const name = `app-${i}`;
    snapshot.services.push(svc(namespace, name));
    snapshot.endpointSlices.push(slice(namespace, name, i));
    snapshot.ingresses.push(
      ingress(name, {
        namespace,
        created: at(i * 1000),
        rules: [
          {
            host: `${name}.bench.example.com`,
            paths: [
              { path: '/', service: name },
              { path: '/api', pathType: 'Exact', service: name, port: 'http' },
            ],
          },
        ],
      }),
    );
  }
  for (let i = 0; i < Math.min(ROUTE_RATIOS, count); i++) {
    const namespace = `team-${i % NAMESPACES}`;
    const name = `app-${i}`;
    snapshot.services.push(svc(namespace, `${name}-canary`));
    snapshot.endpointSlices.push(slice(namespace, `${name}-canary`, count + i));
    snapshot.routeRatios.push(
      routeRatio(name, {
        namespace,
        generation: 1,
        created: at(0),
        service: { name },
        backends: [
          { name, weight: 90 },
          { name: `${name}-canary`, weight: 10, port: 'http' },
        ],
      }),
    );
  }
  return snapshot;
}

const MiB = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function bench(count: number, runs: number): void {
  const snapshot = generate(count);
  compile(snapshot); // warm-up
  const times: number[] = [];
  const cpu: number[] = [];
  const serialise: number[] = [];
  const heaps: number[] = [];
  let routes = 0;
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    gc();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const result = compile(snapshot);
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    // Heap in use right after the compile, garbage included: snapshot + result + transient.
    heaps.push(process.memoryUsage().heapUsed);
    // A yardstick for the machine: one native serialisation of the same config.
    const serialiseStart = performance.now();
    JSON.stringify(result.config);
    serialise.push(performance.now() - serialiseStart);
    if (r === 0) {
      routes = result.config.virtualHosts.reduce((n, v) => n + v.routes.length, 0);
      bytes = JSON.stringify(result.config).length;
      const check = validateConfig(result.config);
      if (!check.ok) throw new Error(`compiled config fails the schema: ${check.errors.join('; ')}`);
      const errors = result.events.filter((e) => e.type === 'Warning');
      if (errors.length > 0) throw new Error(`unexpected events: ${JSON.stringify(errors.slice(0, 3))}`);
    }
  }
  gc();
  const validateStart = performance.now();
  validateConfig(compile(snapshot).config);
  const withValidate = performance.now() - validateStart;
  console.log(
    `${String(count).padStart(6)} Ingresses (${routes} routes, ${Math.round(bytes / 1024)} KiB config): ` +
      `compile median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; ` +
      `CPU median ${median(cpu).toFixed(1)} ms, GC threads included); ` +
      `heap used after compile ${(Math.max(...heaps) / MiB).toFixed(1)} MiB; compile + schema validation ${withValidate.toFixed(1)} ms; ` +
      `yardstick: JSON.stringify of the config ${median(serialise).toFixed(1)} ms`,
  );
  claimIndex(snapshot, count);
  incremental(snapshot, runs);
}

/** A copy of the snapshot as the operator hands it over: new lists, the same objects. */
function relisted(s: Snapshot): Snapshot {
  return {
    ingressClasses: s.ingressClasses.slice(),
    ingresses: s.ingresses.slice(),
    services: s.services.slice(),
    endpointSlices: s.endpointSlices.slice(),
    secrets: s.secrets.slice(),
    routeRatios: s.routeRatios.slice(),
  };
}

/** The object with one change, as a new object (cached API objects are replaced, never edited). */
function edited<T>(object: T, edit: (copy: T) => void): T {
  const copy = structuredClone(object);
  edit(copy);
  return copy;
}

/**
 * A long-lived compiler (createCompiler): its cold compile, then recompiles after one change. Each
 * run changes another object, so every recompile has something to do.
 */
function incremental(base: Snapshot, runs: number): void {
  const cold: number[] = [];
  const coldHeap: number[] = [];
  const firstRecompile: number[] = [];
  for (let r = 0; r < runs; r++) {
    const compiler = createCompiler();
    gc();
    const start = performance.now();
    compiler.compile(base);
    cold.push(performance.now() - start);
    coldHeap.push(process.memoryUsage().heapUsed);
    // The second compile of a compiler, after one change (it may pay for work the first deferred).
    const next = relisted(base);
    next.ingresses[r] = edited(base.ingresses[r], (i) => {
      i.spec!.rules![0].http!.paths[1].path = '/first';
    });
    const second = performance.now();
    compiler.compile(next);
    firstRecompile.push(performance.now() - second);
  }
  const compiler = createCompiler();
  let current = base;
  const expected = compiler.compile(current).config.version;
  const count = base.ingresses.length;
  const recompile = (label: string, change: (s: Snapshot, r: number) => void): string => {
    const times: number[] = [];
    for (let r = 0; r < runs * 2; r++) {
      const next = relisted(current);
      change(next, r);
      gc();
      const start = performance.now();
      compiler.compile(next);
      times.push(performance.now() - start);
      current = next;
    }
    return `${label} ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)})`;
  };
  // Spread over the snapshot: each run edits another object.
  const pick = (r: number, n: number) => (r * 7919) % n;
  const lines = [
    recompile('one Ingress edited', (s, r) => {
      const i = pick(r, count);
      s.ingresses[i] = edited(s.ingresses[i], (ing) => {
        ing.spec!.rules![0].http!.paths[1].path = `/api-v${r}`;
      });
    }),
    recompile('one EndpointSlice edited', (s, r) => {
      const i = pick(r, s.endpointSlices.length);
      s.endpointSlices[i] = edited(s.endpointSlices[i], (slice) => {
        slice.endpoints![0].addresses = [`198.19.${r % 250}.${(r * 7) % 250}`];
      });
    }),
    recompile('one RouteRatio weight edited', (s, r) => {
      const i = pick(r, s.routeRatios.length);
      s.routeRatios[i] = edited(s.routeRatios[i], (rr) => {
        rr.spec.backends[1].weight = 11 + r; // never the 10 it starts with
      });
    }),
    recompile('nothing changed', () => {}),
  ];
  // Back at the first snapshot, the version must be the first one's again, and no update may
  // have failed over to a compile from nothing.
  const back = compiler.compile(relisted(base)).config.version;
  if (back !== expected || compiler.stats.recovered > 0) {
    throw new Error(
      `long-lived compiler went wrong: ${JSON.stringify(compiler.stats)}, ${back} vs ${expected}`,
    );
  }
  console.log(
    `${' '.repeat(6)} long-lived compiler: cold compile median ${median(cold).toFixed(1)} ms ` +
      `(min ${Math.min(...cold).toFixed(1)}; heap used after ${(Math.max(...coldHeap) / MiB).toFixed(1)} MiB); ` +
      `its first recompile ${median(firstRecompile).toFixed(1)} ms; recompile medians: ${lines.join('; ')}`,
  );
}

/** The admission webhook's side: building the claim index, then checking new Ingresses against it. */
function claimIndex(snapshot: Snapshot, count: number): void {
  buildClaimIndex(snapshot); // warm-up
  const builds: number[] = [];
  let index = buildClaimIndex(snapshot);
  for (let r = 0; r < 3; r++) {
    gc();
    const cpuStart = process.cpuUsage();
    index = buildClaimIndex(snapshot);
    const used = process.cpuUsage(cpuStart);
    builds.push((used.user + used.system) / 1000);
  }
  // One candidate in ten takes the host of an existing Ingress in another namespace.
  const checks = 1000;
  let conflicts = 0;
  let slowest = 0;
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < checks; i++) {
    const host = i % 10 === 0 ? `app-${i % count}.bench.example.com` : `new-${i}.bench.example.com`;
    const candidate = hostIngress(`new-${i}`, 'sluice', host, 'web', {
      namespace: 'review',
      created: at(1e9),
    });
    const start = performance.now();
    conflicts += index.ingressConflicts(candidate).length;
    slowest = Math.max(slowest, performance.now() - start);
  }
  const used = process.cpuUsage(cpuStart);
  console.log(
    `${' '.repeat(6)} claim index: build CPU median ${median(builds).toFixed(1)} ms; conflict check ` +
      `${((used.user + used.system) / checks).toFixed(1)} µs CPU each (slowest ${slowest.toFixed(2)} ms; ${conflicts} conflicts in ${checks})`,
  );
}

if (import.meta.main) main();

function main(): void {
  const sizes = flag('sizes', '1000,10000')
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
  const runs = Math.max(1, Number(flag('runs', '7')) || 7);
  console.log(`node ${process.version}, compile benchmark, ${runs} runs per size`);
  for (const size of sizes) bench(size, runs);
}
