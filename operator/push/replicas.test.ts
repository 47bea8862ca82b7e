import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { parseStaticEndpoints, replicasFromSlices } from './replicas.ts';

const slice = (
  endpoints: Array<{ ip: string; ready?: boolean; terminating?: boolean; pod?: string }>,
  ports: Array<{ name?: string; port: number }> = [{ name: 'config', port: 9000 }],
  addressType = 'IPv4',
): V1EndpointSlice => ({
  addressType,
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: e.ready, terminating: e.terminating },
    targetRef: e.pod ? { kind: 'Pod', name: e.pod } : undefined,
  })),
  ports,
});

test('ready and not-yet-ready replicas are both pushed to; terminating ones are not', () => {
  const r = replicasFromSlices(
    [
      slice([
        { ip: '198.18.0.3', ready: true, pod: 'dp-b' },
        { ip: '198.18.0.2', ready: false, pod: 'dp-a' },
        { ip: '198.18.0.4', ready: false, terminating: true },
      ]),
    ],
    { scheme: 'http' },
  );
  assert.deepEqual(r, [
    { id: 'http://198.18.0.2:9000', url: 'http://198.18.0.2:9000', ready: false, name: 'dp-a' },
    { id: 'http://198.18.0.3:9000', url: 'http://198.18.0.3:9000', ready: true, name: 'dp-b' },
  ]);
});

test('the config port is found by name, else by number; slices without it are skipped', () => {
  const byNumber = replicasFromSlices(
    [slice([{ ip: '198.18.0.2' }], [{ name: 'http', port: 8080 }, { port: 9000 }])],
    {
      scheme: 'https',
      port: 9000,
    },
  );
  assert.deepEqual(
    byNumber.map((x) => [x.id, x.ready]),
    [['https://198.18.0.2:9000', true]],
  );
  assert.deepEqual(
    replicasFromSlices([slice([{ ip: '198.18.0.2' }], [{ name: 'http', port: 8080 }])], { scheme: 'http' }),
    [],
  );
});

test('IPv6 addresses are bracketed and duplicates across slices merge', () => {
  const r = replicasFromSlices(
    [
      slice([{ ip: 'fd00::2', ready: false }], undefined, 'IPv6'),
      slice([{ ip: 'fd00::2', ready: true }], undefined, 'IPv6'),
      slice([{ ip: 'x' }], undefined, 'FQDN'),
    ],
    { scheme: 'http' },
  );
  assert.deepEqual(
    r.map((x) => [x.id, x.ready]),
    [['http://[fd00::2]:9000', true]],
  );
});

test('static endpoints: origins only, clear errors otherwise', () => {
  assert.deepEqual(
    parseStaticEndpoints('http://127.0.0.1:9000, http://127.0.0.1:9001/,http://127.0.0.1:9000').map(
      (r) => r.id,
    ),
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9001'],
  );
  assert.throws(() => parseStaticEndpoints('127.0.0.1:9000'), /only http and https|not a URL/);
  assert.throws(() => parseStaticEndpoints('ftp://127.0.0.1'), /only http and https/);
  assert.throws(() => parseStaticEndpoints('http://127.0.0.1:9000/v1/config'), /only scheme, host and port/);
  assert.throws(() => parseStaticEndpoints(' , '), /empty/);
});
