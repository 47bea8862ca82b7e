// TLS termination over real sockets: certificates by SNI (generated here), the default
// certificate, HTTP/2 and HTTP/1.1 by ALPN, HTTPS redirects, and WebSocket upgrades.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { before, describe, test } from 'node:test';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import type { Certificate } from '../../contract/types.ts';
import { selfSignedCertificate } from '../../dataplane/edge/self-signed.ts';
import { request, startBackend, startTestDataplane } from '../../dataplane/testing/net.ts';
import { startWebSocketEcho } from '../../dataplane/testing/websocket.ts';

let certs: Record<'exact' | 'wild' | 'fallback', Certificate>;

before(async () => {
  certs = {
    exact: await selfSignedCertificate({ commonName: 'app.example' }),
    wild: await selfSignedCertificate({ commonName: 'wild', names: ['*.wild.example'] }),
    fallback: await selfSignedCertificate({ commonName: 'config-default' }),
  };
});

function tlsConfig(
  port: number,
  opts: { withDefault?: boolean; redirect?: boolean; maxBodyBytes?: number } = {},
) {
  const split = weighted([['app', 1]]);
  const policy = { maxBodyBytes: opts.maxBodyBytes ?? 1024 * 1024 };
  return makeConfig({
    virtualHosts: [
      vhost(
        'app.example',
        [route('/', split, { httpsRedirect: opts.redirect ?? false, policy })],
        'ns/exact',
      ),
      vhost('*.wild.example', [route('/', split)], 'ns/wild'),
      vhost('*', [route('/', split)]),
    ],
    backends: { [backendKey('app')]: backend('app', [port]) },
    certificates: { 'ns/exact': certs.exact, 'ns/wild': certs.wild, 'ns/fallback': certs.fallback },
    ...(opts.withDefault ? { defaultCertificate: 'ns/fallback' } : {}),
  });
}

function peerCert(
  port: number,
  servername?: string,
): Promise<{ cert: PeerCertificate; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const alpn = socket.alpnProtocol;
      socket.destroy();
      resolve({ cert, alpn });
    });
    socket.once('error', reject);
  });
}

describe('certificates by SNI', () => {
  test('exact host, wildcard host, config default, and no SNI', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(tlsConfig(be.port, { withDefault: true }));
    const port = dp.ports.https;
    assert.equal((await peerCert(port, 'app.example')).cert.subject.CN, 'app.example');
    assert.equal((await peerCert(port, 'APP.example')).cert.subject.CN, 'app.example');
    assert.equal((await peerCert(port, 'x.wild.example')).cert.subject.CN, 'wild');
    assert.equal((await peerCert(port, 'a.b.wild.example')).cert.subject.CN, 'config-default');
    assert.equal((await peerCert(port, 'unknown.example')).cert.subject.CN, 'config-default');
    assert.equal((await peerCert(port)).cert.subject.CN, 'config-default');
  });

  test("without a configured default, the data plane's own certificate", async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(tlsConfig(be.port));
    assert.equal((await peerCert(dp.ports.https, 'unknown.example')).cert.subject.CN, 'sluice-default');
    assert.equal((await peerCert(dp.ports.https)).cert.subject.CN, 'sluice-default');
    assert.equal((await peerCert(dp.ports.https, 'app.example')).cert.subject.CN, 'app.example');
  });
});

describe('HTTP/2 and HTTP/1.1 by ALPN', () => {
  test('ALPN offers h2 and http/1.1', async (t) => {
    const dp = await startTestDataplane(t);
    assert.equal((await peerCert(dp.ports.https, 'app.example')).alpn, 'h2');
  });

  test('HTTP/2 requests are proxied to an HTTP/1.1 backend, bodies included', async (t) => {
    const be = await startBackend(t, 'app', (req, res, body) => {
      res.setHeader('x-backend', 'app');
      res.setHeader('connection', 'keep-alive');
      res.end(`${req.method} ${req.url} ${body.length}`);
    });
    const dp = await startTestDataplane(t);
    await dp.push(tlsConfig(be.port, { maxBodyBytes: 1000 }));
    const session = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
      servername: 'app.example',
      rejectUnauthorized: false,
    });
    t.after(() => session.close());
    const h2 = (headers: http2.OutgoingHttpHeaders, body?: string) =>
      new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const stream = session.request(headers, { endStream: body === undefined });
        let text = '';
        let resHeaders: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => (resHeaders = h));
        stream.on('data', (d: Buffer) => (text += d));
        stream.on('end', () =>
          resolve({ status: Number(resHeaders[':status']), headers: resHeaders, body: text }),
        );
        stream.on('error', reject);
        if (body !== undefined) stream.end(body);
      });
    const get = await h2({ ':method': 'GET', ':path': '/a/./b', ':authority': 'app.example' });
    assert.equal(get.status, 200);
    assert.equal(get.body, 'GET /a/b 0');
    assert.equal(get.headers['x-backend'], 'app');
    assert.equal(be.seen[0].headers.host, 'app.example');
    assert.equal(be.seen[0].headers['x-forwarded-proto'], 'https');

    const post = await h2(
      { ':method': 'POST', ':path': '/up', ':authority': 'app.example' },
      'z'.repeat(500),
    );
    assert.equal(post.body, 'POST /up 500');
    const tooBig = await h2(
      { ':method': 'POST', ':path': '/up', ':authority': 'app.example' },
      'z'.repeat(1500),
    );
    assert.equal(tooBig.status, 413);
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h2({ ':method': 'GET', ':path': `/m${i}`, ':authority': 'app.example' }),
      ),
    );
    assert.deepEqual(
      many.map((r) => r.body),
      Array.from({ length: 20 }, (_, i) => `GET /m${i} 0`),
    );
  });

  test('HTTP/1.1 over TLS', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    await dp.push(tlsConfig(be.port));
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: dp.ports.https,
          path: '/',
          servername: 'app.example',
          headers: { host: 'app.example' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          assert.equal((res.socket as import('node:tls').TLSSocket).alpnProtocol, false);
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, 'app');
  });
});

test('HTTP to a TLS route redirects to HTTPS (308) on the configured port', async (t) => {
  const be = await startBackend(t, 'app');
  const dp = await startTestDataplane(t, ['--https-redirect-port=9443']);
  await dp.push(tlsConfig(be.port, { redirect: true }));
  const res = await request(dp.ports.http, { host: 'app.example', path: '/x/../y?z=1' });
  assert.equal(res.status, 308);
  assert.equal(res.headers.location, 'https://app.example:9443/y?z=1');
  assert.equal(be.seen.length, 0);
});

describe('WebSocket upgrades', () => {
  test('a WebSocket client talks to the backend through the proxy', async (t) => {
    const echo = await startWebSocketEcho(t);
    const dp = await startTestDataplane(t);
    await dp.push(
      makeConfig({
        virtualHosts: [vhost('*', [route('/ws', weighted([['ws', 1]]))])],
        backends: { [backendKey('ws')]: backend('ws', [echo.port]) },
      }),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${dp.ports.http}/ws/chat`);
    t.after(() => ws.close());
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error('websocket error'));
      ws.onopen = () => {
        ws.send('hello');
        ws.send('x'.repeat(1000));
      };
      ws.onmessage = (e) => {
        replies.push(String(e.data));
        if (replies.length === 2) resolve();
      };
    });
    assert.deepEqual(replies, ['hello', 'x'.repeat(1000)]);
    assert.equal(echo.upgrades[0]['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.upgrades[0].upgrade, 'websocket');
    const metrics = await (await fetch(`http://127.0.0.1:${dp.ports.ops}/metrics`)).text();
    assert.match(metrics, /sluice_open_connections\{listener="upgraded"\} 1/);
  });

  test('upgrades over TLS (HTTP/1.1 by ALPN) are tunnelled too', async (t) => {
    const echo = await startWebSocketEcho(t);
    const dp = await startTestDataplane(t);
    await dp.push(
      makeConfig({
        virtualHosts: [vhost('app.example', [route('/', weighted([['ws', 1]]))], 'ns/exact')],
        backends: { [backendKey('ws')]: backend('ws', [echo.port]) },
        certificates: { 'ns/exact': certs.exact },
      }),
    );
    const head = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: dp.ports.https,
        servername: 'app.example',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      socket.on('secureConnect', () =>
        socket.write(
          'GET /chat HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString());
      });
      socket.on('error', reject);
    });
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.equal(echo.upgrades[0]['x-forwarded-proto'], 'https');
  });

  test('an upgrade with no route gets 404 on the raw socket', async (t) => {
    const dp = await startTestDataplane(t);
    await dp.push(makeConfig({ virtualHosts: [], backends: {} }));
    const { rawExchange } = await import('../../dataplane/testing/net.ts');
    const res = await rawExchange(
      dp.ports.http,
      'GET / HTTP/1.1\r\nHost: x.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(res.text, /^HTTP\/1\.1 404 /);
    assert.equal(res.closed, true);
  });
});
