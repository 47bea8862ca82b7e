// The data plane's edge over real sockets: request smuggling and framing, limits, timeouts and
// upstream failures, with real backends on loopback.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  simpleConfig,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import {
  closedPort,
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
} from '../../dataplane/testing/net.ts';

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('request smuggling and framing', () => {
  const cases: Array<[name: string, raw: string, status: number]> = [
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n',
      400,
    ],
    [
      'duplicate Content-Length',
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      400,
    ],
    [
      'equal duplicate Content-Length',
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
      400,
    ],
    [
      'malformed Content-Length',
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 3x\r\n\r\nabc',
      400,
    ],
    ['signed Content-Length', 'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: +3\r\n\r\nabc', 400],
    [
      'Transfer-Encoding other than chunked',
      'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    [
      'Transfer-Encoding list',
      'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      400,
    ],
    [
      'space before colon',
      'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['duplicate Host', 'GET / HTTP/1.1\r\nHost: app.example\r\nHost: other.example\r\n\r\n', 400],
    ['missing Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: app.example\n\n', 400],
  ];
  for (const [name, raw, status] of cases) {
    test(`${name}: ${status} and the connection closes`, async (t) => {
      const be = await startBackend(t, 'app');
      const dp = await startTestDataplane(t);
      await dp.push(simpleConfig('app.example', [be.port]));
      const res = await rawExchange(dp.ports.http, raw);
      assert.equal(statusOf(res.text), status, res.text);
      assert.equal(res.closed, true, 'connection must close');
      assert.equal(res.text.match(/HTTP\/1\.1/g)?.length, 1, 'exactly one response');
      assert.equal(be.seen.length, 0, 'nothing reaches the backend');
    });
  }

  test('a pipelined second request after a valid one is served in order, never mixed', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await rawExchange(
      dp.ports.http,
      'POST /one HTTP/1.1\r\nHost: app.example\r\nContent-Length: 3\r\n\r\nabcGET /two HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.text.match(/HTTP\/1\.1 200/g)?.length, 2);
    assert.deepEqual(
      be.seen.map((s) => [s.method, s.url, s.body]),
      [
        ['POST', '/one', 'abc'],
        ['GET', '/two', ''],
      ],
    );
  });
});

describe('limits and timeouts', () => {
  test('request head over the limit: 431', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--max-header-bytes=2048']);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await rawExchange(
      dp.ports.http,
      `GET / HTTP/1.1\r\nHost: app.example\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`,
    );
    assert.equal(statusOf(res.text), 431);
    assert.equal(be.seen.length, 0);
  });

  test('chunked body over the route limit: 413 and close; the backend never gets the whole body', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port], { maxBodyBytes: 100 }));
    const chunk = `40\r\n${'x'.repeat(64)}\r\n`;
    const res = await rawExchange(
      dp.ports.http,
      `POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}${chunk}0\r\n\r\n`,
    );
    assert.equal(statusOf(res.text), 413, res.text);
    assert.equal(res.closed, true);
    assert.equal(be.seen.filter((s) => s.body.length > 100).length, 0);
    const small = await rawExchange(
      dp.ports.http,
      `POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}0\r\n\r\n`,
    );
    assert.equal(statusOf(small.text), 200);
    assert.equal(be.seen.at(-1)?.body, 'x'.repeat(64));
  });

  test('a client that never finishes its request head gets 408', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--header-timeout=300ms', '--request-timeout=600ms']);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await rawExchange(dp.ports.http, 'GET / HTTP/1.1\r\nHost: app.example\r\nX-Slow: ', 5_000);
    assert.equal(statusOf(res.text), 408, res.text);
    assert.equal(res.closed, true);
  });

  test('a client that stalls mid-body gets 408', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--header-timeout=300ms', '--request-timeout=600ms']);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await rawExchange(
      dp.ports.http,
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 10\r\n\r\nabc',
      5_000,
    );
    assert.equal(statusOf(res.text), 408, res.text);
    assert.equal(res.closed, true);
    assert.equal(be.seen.length, 0);
  });

  test('an upstream that does not answer in time: 504', async (t) => {
    const slow = await startBackend(t, 'slow', () => {
      /* never answers */
    });
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [slow.port], { responseTimeoutMs: 300 }));
    const res = await request(dp.ports.http, { host: 'app.example' });
    assert.equal(res.status, 504);
  });

  test('an upstream that refuses connections: 502', async (t) => {
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [await closedPort()]));
    const res = await request(dp.ports.http, { host: 'app.example' });
    assert.equal(res.status, 502);
  });

  test('an upstream that resets mid-response: the client connection is cut, not given a clean end', async (t) => {
    const be = await startBackend(t, 'app', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port]));
    await assert.rejects(request(dp.ports.http, { host: 'app.example' }));
  });

  test('no config yet: 503 and not ready', async (t) => {
    const dp = await startTestDataplane(t);
    const res = await request(dp.ports.http, { host: 'app.example' });
    assert.equal(res.status, 503);
    const ready = await fetch(`http://127.0.0.1:${dp.ports.ops}/readyz`);
    assert.equal(ready.status, 503);
  });
});

describe('proxying', () => {
  test('Upgrade: h2c is ignored and the request proxied normally; TRACE is refused', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port]));
    const h2c = await rawExchange(
      dp.ports.http,
      'GET /x HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    );
    assert.equal(statusOf(h2c.text), 200, h2c.text);
    assert.equal(be.seen[0].headers.upgrade, undefined);
    assert.equal(be.seen[0].headers['http2-settings'], undefined);
    const trace = await request(dp.ports.http, { host: 'app.example', method: 'TRACE' });
    assert.equal(trace.status, 405);
    assert.equal(be.seen.length, 1);
  });

  test('Expect: 100-continue is answered by the proxy and not forwarded', async (t) => {
    const be = await startBackend(t, 'app', (_req, res, body) => res.end(`got ${body}`));
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await rawExchange(
      dp.ports.http,
      'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello',
    );
    assert.match(res.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.match(res.text, /got hello$/);
    assert.equal(be.seen[0].headers.expect, undefined);
  });

  test('response headers: hop-by-hop removed, set-cookie kept, streaming body intact', async (t) => {
    const big = 'y'.repeat(256 * 1024);
    const be = await startBackend(t, 'app', (_req, res) => {
      res.setHeader('connection', 'x-internal');
      res.setHeader('x-internal', 'secret');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.write(big.slice(0, 1000));
      setTimeout(() => res.end(big.slice(1000)), 10);
    });
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port]));
    const res = await request(dp.ports.http, { host: 'app.example' });
    assert.equal(res.status, 200);
    assert.equal(res.body, big);
    assert.equal(res.headers['x-internal'], undefined);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  });

  test('large request bodies stream through (content-length and chunked)', async (t) => {
    const be = await startBackend(t, 'app', (_req, res, body) => res.end(String(body.length)));
    const dp = await startTestDataplane(t);
    await dp.push(simpleConfig('app.example', [be.port], { maxBodyBytes: 4 * 1024 * 1024 }));
    const body = Buffer.alloc(3 * 1024 * 1024, 'z');
    const fixed = await request(dp.ports.http, { host: 'app.example', method: 'PUT', body });
    assert.equal(fixed.body, String(body.length));
    const chunked = await request(dp.ports.http, {
      host: 'app.example',
      method: 'PUT',
      headers: { 'transfer-encoding': 'chunked' },
      body,
    });
    assert.equal(chunked.body, String(body.length));
  });

  test('X-Forwarded-* from a trusted proxy are kept, the client address is resolved', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--trusted-proxies=127.0.0.0/8']);
    await dp.push(simpleConfig('app.example', [be.port]));
    await request(dp.ports.http, {
      host: 'app.example',
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-request-id': 'abc-123' },
    });
    const h = be.seen[0].headers;
    assert.equal(h['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-real-ip'], '198.51.100.7');
    assert.equal(h['x-request-id'], 'abc-123');
  });

  test('several routes and backends: each request lands where the config says', async (t) => {
    const a = await startBackend(t, 'a');
    const b = await startBackend(t, 'b');
    const dp = await startTestDataplane(t);
    await dp.push(
      makeConfig({
        virtualHosts: [
          vhost('app.example', [
            route('/a', weighted([['a', 1]])),
            route('/b', weighted([['b', 1]]), { pathType: 'Exact' }),
          ]),
        ],
        backends: { [backendKey('a')]: backend('a', [a.port]), [backendKey('b')]: backend('b', [b.port]) },
      }),
    );
    assert.equal((await request(dp.ports.http, { host: 'app.example', path: '/a/x' })).body, 'a');
    assert.equal((await request(dp.ports.http, { host: 'app.example', path: '/b' })).body, 'b');
    assert.equal((await request(dp.ports.http, { host: 'app.example', path: '/b/x' })).status, 404);
  });
});

test('garbage, aborted uploads and vanished clients never take the process down', async (t) => {
  const slow = await startBackend(t, 'slow', (_req, res) => {
    setTimeout(() => res.end('late'), 200);
  });
  const dp = await startTestDataplane(t);
  await dp.push(simpleConfig('app.example', [slow.port], { maxBodyBytes: 1_000_000 }));
  const rnd = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + n * 31) % 256));
  const sends: Array<string | Buffer> = [
    rnd(64),
    rnd(3000),
    'GET / HTTP/1.1\r\nHost: app.example\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 100000\r\n\r\npartial body',
    'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc',
    'GET /%%%% HTTP/1.1\r\nHost: app.example\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: \x01\x02\r\n\r\n',
    'GET / HTTP/9.9\r\nHost: app.example\r\n\r\n',
    `GET /${'a/'.repeat(5000)} HTTP/1.1\r\nHost: app.example\r\n\r\n`,
    'GET / HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  ];
  // Short idle windows: the client goes away while requests are in flight or bodies half-sent.
  await Promise.all(sends.map((raw) => rawExchange(dp.ports.http, raw, 50)));
  await Promise.all(sends.map((raw) => rawExchange(dp.ports.https, raw, 50)));
  await new Promise((r) => setTimeout(r, 300));
  const res = await request(dp.ports.http, { host: 'app.example' });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'late');
});
