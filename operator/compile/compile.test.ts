import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../dataplane/api/validate.ts';
import type { Snapshot } from './api.ts';
import { compile } from './compile.ts';

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
    assert.equal(validateConfig(result.config).ok, true);
    assert.ok(!result.events.some((e) => e.reason === 'CompileFailed'), JSON.stringify(result.events));
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
  const a = compile(snapshot).config.version;
  assert.equal(compile(structuredClone(snapshot)).config.version, a);
  snapshot.ingresses[0].spec!.rules![0].http!.paths[0].path = '/x';
  assert.notEqual(compile(snapshot).config.version, a);
});
