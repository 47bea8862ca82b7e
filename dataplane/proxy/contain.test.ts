// A throw inside the traffic path ends that one request (500), is logged and counted, and the
// listeners keep serving. The throw comes from a routing table whose `match` fails for one path,
// handed to the traffic app through its ordinary `table` option.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import { build } from '../apps/traffic.ts';
import { ConfigStore } from '../config/store.ts';
import { selfSignedCertificate } from '../edge/self-signed.ts';
import { createHttpListener, createHttpsListener } from '../edge/servers.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { TrustedProxies } from '../edge/trusted-proxies.ts';
import { DataplaneMetrics } from '../observability/metrics.ts';
import type { RoutingTable } from '../routing/table.ts';
import { closeServer, listen, rawExchange, request, startBackend } from '../testing/net.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';

const HOST = 'shop.example.com';

/** Endpoints handed out for `/pool` requests, whose pool() throws. */
const brokenUpstreams: Array<{ inflight: number }> = [];

/**
 * The applied table, except that matching `/boom` throws (an internal fault, not bad input) and
 * `/pool` routes to an endpoint whose connection pool cannot be built.
 */
function faultyTable(table: RoutingTable): RoutingTable {
  return new Proxy(table, {
    get(target, prop) {
      if (prop === 'match') {
        return (host: string, path: string) => {
          if (path.startsWith('/boom')) throw new Error('broken route index');
          const route = target.match(host, path);
          if (route === undefined || !path.startsWith('/pool')) return route;
          // An endpoint whose connection pool cannot be built: the dispatch throws synchronously.
          const choice = route.splitter.choose({});
          const backend = choice.backend!;
          const real = backend.balancer.pick()!;
          const broken = Object.create(real) as typeof real;
          broken.pool = () => {
            throw new Error('pool cannot be built');
          };
          brokenUpstreams.push(broken);
          const balancer = { ...backend.balancer, pick: () => broken };
          const splitter = { choose: () => ({ ...choice, backend: { ...backend, balancer } }) };
          return { ...route, splitter } as unknown as typeof route;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function setup(t: TestContext) {
  const backend = await startBackend(t, 'app');
  const metrics = new DataplaneMetrics({});
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 16,
    keepAliveTimeoutMs: 5_000,
    ejectBaseMs: 60_000,
    ejectMaxMs: 60_000,
    onEject: () => {},
  });
  t.after(() => registry.destroyAll());
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  const applied = await store.apply(simpleConfig(HOST, [backend.port]));
  assert.ok(applied.ok, JSON.stringify(applied));
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()));
        cb();
      },
    }),
  );
  const app = build({
    table: () => (store.table ? faultyTable(store.table) : undefined),
    registry,
    trustedProxies: new TrustedProxies([]),
    metrics,
    log,
  });
  const limits = {
    maxHeaderBytes: 16_384,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
  };
  const plain = createHttpListener(
    { request: app.http, checkContinue: app.continueHttp, upgrade: app.upgradeHttp },
    limits,
  );
  const cert = await selfSignedCertificate({ commonName: HOST, names: [HOST] });
  const secure = createHttpsListener(
    { request: app.https, checkContinue: app.continueHttps, upgrade: app.upgradeHttps },
    limits,
    { defaultCert: cert, sniContext: () => undefined },
  );
  await listen(plain.server);
  await listen(secure.server);
  t.after(async () => {
    for (const s of secure.sessions) s.destroy();
    await closeServer(plain.server, plain.sockets as never);
    await closeServer(secure.server, secure.sockets as never);
  });
  const faults = async (stage: string) => {
    const metric = await metrics.registry.getSingleMetric('sluice_request_faults_total')!.get();
    return metric.values.find((v) => v.labels.stage === stage)?.value ?? 0;
  };
  return {
    backend,
    lines,
    faults,
    http: (plain.server.address() as AddressInfo).port,
    https: (secure.server.address() as AddressInfo).port,
  };
}

test('a throw while handling one HTTP/1.1 request: 500, logged, counted, and the next request is served', async (t) => {
  const s = await setup(t);
  const failed = await request(s.http, { host: HOST, path: '/boom?token=secret' });
  assert.equal(failed.status, 500);
  assert.equal(failed.headers.connection, 'close');
  assert.equal(failed.headers.server, 'sluice');
  assert.equal(await s.faults('request'), 1);
  const line = s.lines.find((l) => l.msg === 'fault contained to one request');
  assert.ok(line, JSON.stringify(s.lines));
  assert.equal(line.level, 50, 'error level');
  assert.equal(line.stage, 'request');
  assert.equal(line.host, HOST);
  assert.equal(line.path, '/boom', 'the query string is not logged');
  assert.match(JSON.stringify(line.err), /broken route index/);

  const ok = await request(s.http, { host: HOST, path: '/fine' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'app');
  assert.equal(s.backend.seen.length, 1);
});

test('a dispatch that throws gives its upstream slot back: 500, and the in-flight count returns to 0', async (t) => {
  const s = await setup(t);
  brokenUpstreams.length = 0;
  const failed = await request(s.http, { host: HOST, path: '/pool' });
  assert.equal(failed.status, 500);
  assert.equal(await s.faults('request'), 1);
  assert.equal(brokenUpstreams.length, 1);
  assert.equal(brokenUpstreams[0].inflight, 0, 'the endpoint holds no request that never left');
  const ok = await request(s.http, { host: HOST, path: '/fine' });
  assert.equal(ok.status, 200);
});

test('a throw while handling an HTTP/2 stream resets nothing else: 500 on that stream, the session goes on', async (t) => {
  const s = await setup(t);
  const client = http2.connect(`https://127.0.0.1:${s.https}`, {
    servername: HOST,
    rejectUnauthorized: false,
  });
  t.after(() => client.destroy());
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = client.request({ ':path': path, ':authority': HOST });
      let status = 0;
      let body = '';
      stream.on('response', (h) => {
        status = Number(h[':status']);
      });
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        body += d;
      });
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
  assert.equal((await get('/boom')).status, 500);
  const ok = await get('/fine');
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'app');
  assert.equal(await s.faults('request'), 1);
  client.close();
});

test('a throw in the WebSocket upgrade handler: 500 on that connection, counted as upgrade, listener still serves', async (t) => {
  const s = await setup(t);
  const r = await rawExchange(
    s.http,
    `GET /boom HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.match(r.text, /^HTTP\/1\.1 500 /, r.text);
  assert.equal(r.closed, true);
  assert.equal(await s.faults('upgrade'), 1);
  assert.equal((await request(s.http, { host: HOST, path: '/fine' })).status, 200);
});

test('a throw in the Expect: 100-continue path: 500 without 100, counted', async (t) => {
  const s = await setup(t);
  const r = await rawExchange(
    s.http,
    `POST /boom HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
  );
  assert.match(r.text, /^HTTP\/1\.1 500 /, r.text);
  assert.doesNotMatch(r.text, /100 Continue/);
  assert.equal(await s.faults('request'), 1);
  assert.equal((await request(s.http, { host: HOST, path: '/fine' })).status, 200);
});
