import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readPortRef, ServiceIndex, usableAddress } from './endpoints.ts';

test('only addresses a pod can have are usable', () => {
  assert.equal(usableAddress('198.18.0.1', 'IPv4'), '198.18.0.1');
  assert.equal(usableAddress('FD00::1', 'IPv6'), 'fd00::1');
  for (const bad of [
    '127.0.0.1',
    '0.0.0.0',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    'fd00::1',
    'x',
    '1.2.3',
  ]) {
    assert.equal(usableAddress(bad, 'IPv4'), undefined, bad);
  }
  for (const bad of [
    '::1',
    '::',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '1.2.3.4',
    'fe80::1%eth0',
  ]) {
    assert.equal(usableAddress(bad, 'IPv6'), undefined, bad);
  }
});

test('a port reference is exactly one of number or name', () => {
  assert.deepEqual(readPortRef({ number: 80 }), { number: 80 });
  assert.deepEqual(readPortRef({ name: 'http' }), { name: 'http' });
  for (const bad of [
    {},
    { number: 80, name: 'http' },
    { number: 0 },
    { number: 65_536 },
    { name: 'HTTP' },
    { name: '80' },
    null,
  ]) {
    assert.equal(readPortRef(bad), undefined, JSON.stringify(bad));
  }
});

test('Service ports resolve by number or name to the EndpointSlice port of the same name', () => {
  const index = new ServiceIndex(
    [
      {
        metadata: { namespace: 'ns', name: 'web' },
        spec: {
          ports: [
            { name: 'http', port: 80 },
            { name: 'metrics', port: 9090 },
          ],
        },
      },
    ],
    [
      {
        addressType: 'IPv4',
        metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
        ports: [
          { name: 'http', port: 8080 },
          { name: 'metrics', port: 9100 },
        ],
        endpoints: [
          { addresses: ['198.18.0.2'] },
          { addresses: ['198.18.0.1'], conditions: { ready: true } },
        ],
      },
    ],
  );
  const byNumber = index.resolve('ns', 'web', { number: 80 });
  assert.deepEqual(
    byNumber.backend.endpoints.map((e) => `${e.address}:${e.port}`),
    ['198.18.0.1:8080', '198.18.0.2:8080'],
  );
  assert.equal(byNumber.readyEndpoints, 2);
  assert.deepEqual(
    index.resolve('ns', 'web', { name: 'metrics' }).backend.endpoints.map((e) => e.port),
    [9100, 9100],
  );
  assert.equal(index.servicePortKey('ns', 'web', { name: 'http' }), 'ns/web:80');
  assert.equal(index.servicePortKey('ns', 'web', { number: 80 }), 'ns/web:80');
  assert.equal(index.servicePortKey('ns', 'gone', { name: 'http' }), 'ns/gone:http');
  assert.equal(index.resolve('ns', 'web', { number: 81 }).problem?.reason, 'PortNotFound');
  assert.equal(index.resolve('ns', 'gone', { number: 80 }).problem?.reason, 'ServiceNotFound');
});

test('slices are merged in name order, duplicates once; spellings of one port share endpoints', () => {
  const slice = (name: string, addresses: string[]) => ({
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: addresses.map((a) => ({ addresses: [a] })),
  });
  const index = new ServiceIndex(
    [{ metadata: { namespace: 'ns', name: 'web' }, spec: { ports: [{ name: 'http', port: 80 }] } }],
    [slice('web-b', ['198.18.0.3', '198.18.0.1']), slice('web-a', ['198.18.0.2', '198.18.0.1'])],
  );
  const byNumber = index.resolve('ns', 'web', { number: 80 });
  assert.deepEqual(
    byNumber.backend.endpoints.map((e) => e.address),
    ['198.18.0.1', '198.18.0.2', '198.18.0.3'],
  );
  assert.equal(byNumber.readyEndpoints, 3);
  assert.equal(index.resolve('ns', 'web', { name: 'http' }), byNumber, 'one backend per Service port');
  assert.equal(byNumber.key, 'ns/web:80');
  assert.equal(byNumber.backend.service.port, '80');
  assert.equal(index.resolve('ns', 'web', { number: 80 }), byNumber, 'memoised');
  const missing = index.resolve('ns', 'web', { name: 'grpc' });
  assert.equal(missing.key, 'ns/web:grpc', 'a port that does not resolve keeps its reference');
  assert.equal(missing.problem?.reason, 'PortNotFound');
});

test('a ClusterIP backend: its own key, the Service port, followed when the ClusterIP changes', () => {
  const service = (clusterIP: string | undefined) => ({
    metadata: { namespace: 'ns', name: 'web' },
    spec: { ...(clusterIP === undefined ? {} : { clusterIP }), ports: [{ name: 'http', port: 80 }] },
  });
  const slice = {
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ addresses: ['198.18.0.1'] }],
  };
  const first = service('10.96.0.10');
  const index = new ServiceIndex([first], [slice]);
  const viaIp = index.resolve('ns', 'web', { name: 'http' }, true);
  assert.equal(viaIp.key, 'ns/web:80@cluster-ip');
  assert.deepEqual(viaIp.backend.endpoints, [
    { address: '10.96.0.10', port: 80, ready: true, serving: true, terminating: false },
  ]);
  const plain = index.resolve('ns', 'web', { number: 80 });
  assert.equal(plain.key, 'ns/web:80');
  assert.deepEqual(
    plain.backend.endpoints.map((e) => `${e.address}:${e.port}`),
    ['198.18.0.1:8080'],
  );
  // Memoised per kind: the same objects again within a compile.
  assert.equal(index.resolve('ns', 'web', { number: 80 }, true), viaIp);
  assert.equal(index.resolve('ns', 'web', { number: 80 }), plain);

  // A new ClusterIP: both backends are reported changed; the ClusterIP one resolves to it.
  index.beginChanges();
  const second = service('10.96.0.99');
  index.removeService(first);
  index.addService(second);
  assert.ok(index.changedBackends.includes(viaIp));
  assert.deepEqual(
    index.resolve('ns', 'web', { number: 80 }, true).backend.endpoints.map((e) => e.address),
    ['10.96.0.99'],
  );

  // Headless, none written, or not a pod-network address: a problem naming the Service.
  for (const [clusterIP, says] of [
    ['None', 'is headless'],
    [undefined, 'has no ClusterIP'],
    ['127.0.0.1', 'has a ClusterIP Sluice does not route to'],
  ] as const) {
    index.beginChanges();
    const next = service(clusterIP);
    index.removeService(second);
    index.addService(next);
    const r = index.resolve('ns', 'web', { number: 80 }, true);
    assert.equal(r.problem?.reason, 'NoClusterIP', String(clusterIP));
    assert.ok(r.problem?.message.startsWith(`Service ns/web ${says}`), r.problem?.message);
    assert.deepEqual(r.backend.endpoints, []);
    // The endpoints backend is unaffected.
    assert.deepEqual(
      index.resolve('ns', 'web', { number: 80 }).backend.endpoints.map((e) => e.address),
      ['198.18.0.1'],
    );
    index.removeService(next);
    index.addService(second);
  }
});
