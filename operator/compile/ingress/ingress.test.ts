import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIngress } from './ingress.ts';

function withPaths(paths: Array<[string, string]>): unknown {
  return {
    metadata: { namespace: 'shop', name: 'web' },
    spec: {
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: paths.map(([path, pathType]) => ({
              path,
              pathType,
              backend: { service: { name: 'web', port: { number: 80 } } },
            })),
          },
        },
      ],
    },
  };
}

test('a path listed twice is refused, in short and long Ingresses alike', () => {
  for (const count of [3, 40]) {
    const paths: Array<[string, string]> = Array.from({ length: count }, (_, i) => [`/p${i}`, 'Prefix']);
    paths.push(['/p1/', 'Prefix'], ['/p1', 'Exact']);
    const parsed = parseIngress(withPaths(paths));
    assert.ok(parsed);
    assert.equal(parsed.paths.length, count + 1, `${count}: Exact /p1 is another claim`);
    assert.deepEqual(
      parsed.rejected.map((r) => [r.path, r.reason]),
      [['/p1/', 'DuplicatePath']],
    );
    assert.equal(parsed.problems[0].field, `spec.rules[0].http.paths[${count}]`);
  }
});

test('problems name the field of the path, backend or host', () => {
  const parsed = parseIngress({
    metadata: { namespace: 'shop', name: 'web' },
    spec: {
      defaultBackend: { service: { name: 'web', port: {} } },
      rules: [
        { host: 'bad_host', http: { paths: [{ path: '/', pathType: 'Prefix' }] } },
        {
          http: {
            paths: [
              {
                path: 'rel',
                pathType: 'Prefix',
                backend: { service: { name: 'web', port: { number: 80 } } },
              },
              { path: '/', pathType: 'Prefix', backend: { resource: { kind: 'Bucket' } } },
            ],
          },
        },
      ],
    },
  });
  assert.ok(parsed);
  assert.deepEqual(
    parsed.problems.map((p) => p.field),
    [
      'spec.rules[0].host',
      'spec.rules[1].http.paths[0].path',
      'spec.rules[1].http.paths[1].backend.resource',
      'spec.defaultBackend.service.port',
    ],
  );
  assert.deepEqual(
    parsed.rejected.map((r) => [r.host, r.path, r.reason]),
    [
      ['bad_host', '/', 'InvalidHost'],
      ['*', 'rel', 'InvalidPath'],
      ['*', '/', 'InvalidBackend'],
    ],
  );
});
