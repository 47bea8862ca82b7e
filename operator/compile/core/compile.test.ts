import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../contract/validate.ts';
import type { CompileOutcome, Snapshot } from '../api.ts';
import { compileOk } from '../testing/compile-ok.ts';
import { compile, createCompiler } from './compile.ts';

test('compile never throws, whatever it is given', () => {
  const junk: unknown[] = [
    undefined,
    null,
    {},
    { ingresses: null, services: 'x' },
    {
      ingresses: [null, 1, 'x', [], { metadata: null }],
      routeRatios: [null, { metadata: { namespace: 'a', name: 'b' } }],
    },
    {
      ingressClasses: [{}],
      endpointSlices: [{ metadata: { namespace: 'a', name: 'b', labels: 5 } }],
      secrets: [7],
    },
  ];
  for (const snapshot of junk) {
    const result = compile(snapshot as Snapshot, snapshot as object);
    assert.ok(result.ok, result.ok ? '' : result.error.stack);
    assert.equal(validateConfig(result.config).ok, true);
  }
});

test('the same snapshot gives the same version; a change gives another', () => {
  const snapshot: Snapshot = {
    ingressClasses: [{ metadata: { name: 'sluice' }, spec: { controller: 'sluice.dev/ingress-controller' } }],
    ingresses: [
      {
        metadata: { namespace: 'a', name: 'x' },
        spec: {
          ingressClassName: 'sluice',
          rules: [
            {
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'w', port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
  };
  const a = compileOk(snapshot).config.version;
  assert.equal(compileOk(structuredClone(snapshot)).config.version, a);
  snapshot.ingresses[0].spec!.rules![0].http!.paths[0].path = '/x';
  assert.notEqual(compileOk(snapshot).config.version, a);
});

/** A routed Ingress `name` for host `<name>.example.com`, with its class. */
function routed(name: string): Snapshot {
  return {
    ingressClasses: [{ metadata: { name: 'sluice' }, spec: { controller: 'sluice.dev/ingress-controller' } }],
    ingresses: [
      {
        metadata: { namespace: 'a', name, uid: `uid-${name}`, creationTimestamp: new Date(0) },
        spec: {
          ingressClassName: 'sluice',
          rules: [
            {
              host: `${name}.example.com`,
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'w', port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
  };
}

/**
 * The same snapshot, except that reading its Ingress list throws: the engine fails the way a bug
 * in it would, from inside the compile.
 */
function faulty(snapshot: Snapshot, message = 'injected fault'): Snapshot {
  const copy = { ...snapshot };
  Object.defineProperty(copy, 'ingresses', {
    enumerable: true,
    get() {
      throw new Error(message);
    },
  });
  return copy;
}

/** The failure's error, or a test failure naming what came back instead. */
function failure(outcome: CompileOutcome): Error {
  if (outcome.ok) assert.fail(`expected a failed compile, got version ${outcome.config.version}`);
  return outcome.error;
}

test('a compile that throws returns the failed outcome: no config, the error with its stack', () => {
  const outcome = compile(faulty(routed('shop'), 'engine broke'));
  const error = failure(outcome);
  assert.equal(error.message, 'engine broke');
  assert.match(error.stack ?? '', /Engine\.compile/);
  // No config, statuses or events to take by mistake.
  assert.deepEqual(Object.keys(outcome).sort(), ['error', 'ok']);
});

test('something thrown that is not an Error comes back as an Error', () => {
  const snapshot = { ...routed('shop') };
  Object.defineProperty(snapshot, 'services', {
    get() {
      throw 'not an error object';
    },
  });
  assert.equal(failure(compile(snapshot)).message, 'not an error object');
});

test('a long-lived compiler: a failed compile keeps nothing, the next snapshot compiles from nothing', () => {
  const compiler = createCompiler();
  const first = compiler.compile(routed('one'));
  assert.ok(first.ok);
  assert.deepEqual(compiler.stats, { fullCompiles: 1, incrementalCompiles: 0, recovered: 0, failures: 0 });

  // The update throws, and so does the compile from nothing it falls back to.
  assert.equal(failure(compiler.compile(faulty(routed('two')))).message, 'injected fault');
  assert.deepEqual(compiler.stats, { fullCompiles: 2, incrementalCompiles: 0, recovered: 1, failures: 1 });

  // Another fault right after: the compiler holds no state, so it fails from nothing at once.
  failure(compiler.compile(faulty(routed('two'))));
  assert.deepEqual(compiler.stats, { fullCompiles: 3, incrementalCompiles: 0, recovered: 1, failures: 2 });

  // The fault gone: a full compile with the same output as a fresh one, then updates again.
  const healed = compiler.compile(routed('two'));
  assert.ok(healed.ok);
  assert.equal(compiler.stats.fullCompiles, 4);
  assert.equal(JSON.stringify(healed), JSON.stringify(compile(routed('two'))));
  assert.deepEqual(
    healed.config.virtualHosts.map((v) => v.host),
    ['two.example.com'],
  );
  assert.ok(compiler.compile(routed('three')).ok);
  assert.equal(compiler.stats.incrementalCompiles, 1);
});
