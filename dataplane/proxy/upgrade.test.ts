// WebSocket upgrades over real sockets: a connection becomes a raw tunnel only after the
// endpoint completed the WebSocket handshake; any other answer is relayed as a plain response
// and the client connection closed, so nothing sent after it reaches a backend unrouted.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import { startBackend, startTestDataplane, type TestDataplane } from '../testing/net.ts';
import { startWebSocketEcho } from '../testing/websocket.ts';
import { webSocketAccept } from './upgrade.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const upgradeRequest = (path: string, extra = `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`) =>
  `GET ${path} HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;

/** Polls until `check` holds; the limit only bounds a failing test, it measures nothing. */
async function until(what: string, check: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface RawClient {
  socket: Socket;
  readonly text: string;
  readonly closed: boolean;
}

function rawClient(t: TestContext, port: number, first: string): RawClient {
  const socket = connect(port, '127.0.0.1');
  const state = { socket, text: '', closed: false };
  socket.on('connect', () => socket.write(first));
  socket.on('data', (d: Buffer) => (state.text += d.toString('latin1')));
  socket.on('error', () => {});
  socket.on('close', () => (state.closed = true));
  t.after(() => socket.destroy());
  return state;
}

async function dataplaneWith(
  t: TestContext,
  routes: Array<{ path: string; exact?: boolean; port: number; responseTimeoutMs?: number }>,
): Promise<TestDataplane> {
  const dp = await startTestDataplane(t);
  const res = await dp.push(
    makeConfig({
      virtualHosts: [
        vhost(
          'app.example',
          routes.map((r, i) =>
            route(r.path, weighted([[`b${i}`, 1]]), {
              pathType: r.exact ? 'Exact' : 'Prefix',
              policy: r.responseTimeoutMs ? { responseTimeoutMs: r.responseTimeoutMs } : {},
            }),
          ),
        ),
      ],
      backends: Object.fromEntries(routes.map((r, i) => [backendKey(`b${i}`), backend(`b${i}`, [r.port])])),
    }),
  );
  assert.equal(res.status, 200);
  return dp;
}

describe('an upgrade the backend does not accept never becomes a tunnel', () => {
  test('a 200 answer is relayed with Connection: close; a later request on the socket reaches no backend', async (t) => {
    const first = await startBackend(t, 'first');
    const admin = await startBackend(t, 'admin');
    const dp = await dataplaneWith(t, [
      { path: '/ws', port: first.port },
      { path: '/admin', exact: true, port: admin.port },
    ]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/ws'));
    await until('the 200 answer with its body', () => client.text.endsWith('\r\n\r\nfirst'));
    assert.match(client.text, /^HTTP\/1\.1 200 /);
    assert.match(client.text, /\r\nconnection: close\r\n/i);
    assert.match(client.text, /\r\nx-backend: first\r\n/i);
    // The raw request a tunnel would carry straight to `first`, past the Exact route to `admin`
    // and past the X-Forwarded-* and underscore-header rewriting.
    client.socket.write(
      'GET /admin HTTP/1.1\r\nHost: app.example\r\nX_Role: admin\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n',
    );
    await until(
      'the connection closed, or a second answer',
      () => client.closed || client.text.split('HTTP/1.1 ').length > 2,
    );
    assert.equal(client.closed, true);
    assert.deepEqual(
      first.seen.map((s) => s.url),
      ['/ws'],
    );
    assert.equal(admin.seen.length, 0);
  });

  test('a request pipelined behind the upgrade is dropped, not forwarded', async (t) => {
    const first = await startBackend(t, 'first');
    const admin = await startBackend(t, 'admin');
    const dp = await dataplaneWith(t, [
      { path: '/ws', port: first.port },
      { path: '/admin', exact: true, port: admin.port },
    ]);
    const client = rawClient(
      t,
      dp.ports.http,
      `${upgradeRequest('/ws')}GET /admin HTTP/1.1\r\nHost: app.example\r\n\r\n`,
    );
    await until('the connection closed', () => client.closed);
    assert.match(client.text, /^HTTP\/1\.1 200 /);
    assert.equal(client.text.split('HTTP/1.1 ').length, 2);
    assert.deepEqual(
      first.seen.map((s) => s.url),
      ['/ws'],
    );
    assert.equal(admin.seen.length, 0);
  });

  test('a chunked error answer is relayed whole, then the connection closes', async (t) => {
    const be = await startBackend(t, 'be', (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain', server: 'backend/1.0' });
      res.write('no such ');
      res.end('socket');
    });
    const dp = await dataplaneWith(t, [{ path: '/', port: be.port }]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/chat'));
    await until('the connection closed', () => client.closed);
    const [head, body] = client.text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 404 /);
    assert.match(head, /\r\nconnection: close(\r\n|$)/i);
    assert.doesNotMatch(head, /transfer-encoding|backend\/1\.0/i);
    // Our Server header replaces the backend's, as on every other answer.
    assert.match(head, /\r\nserver: sluice(\r\n|$)/);
    assert.equal(body, 'no such socket');
  });

  test('a 101 with a wrong Sec-WebSocket-Accept is a 502, and the client bytes never reach the backend', async (t) => {
    const echo = await startWebSocketEcho(t, {
      answer: () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n',
    });
    const dp = await dataplaneWith(t, [{ path: '/', port: echo.port }]);
    const client = rawClient(
      t,
      dp.ports.http,
      `${upgradeRequest('/chat')}GET /next HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    await until('the connection closed', () => client.closed);
    assert.match(client.text, /^HTTP\/1\.1 502 /);
    assert.equal(echo.upgrades.length, 1);
    assert.equal(Buffer.concat(echo.received).length, 0);
  });

  test('a 101 without Upgrade: websocket is a 502', async (t) => {
    const echo = await startWebSocketEcho(t, {
      answer: (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(key)}\r\n\r\n`,
    });
    const dp = await dataplaneWith(t, [{ path: '/', port: echo.port }]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/chat'));
    await until('the connection closed', () => client.closed);
    assert.match(client.text, /^HTTP\/1\.1 502 /);
  });

  test('an oversized upstream answer head is a 502', async (t) => {
    const echo = await startWebSocketEcho(t, {
      answer: (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(key)}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    });
    const dp = await dataplaneWith(t, [{ path: '/', port: echo.port }]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/chat'));
    await until('the connection closed', () => client.closed);
    assert.match(client.text, /^HTTP\/1\.1 502 /);
  });

  test("an upstream that never answers gets the route's response timeout: 504", async (t) => {
    const echo = await startWebSocketEcho(t, { answer: () => '' });
    const dp = await dataplaneWith(t, [{ path: '/', port: echo.port, responseTimeoutMs: 200 }]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/chat'));
    await until('the connection closed', () => client.closed);
    assert.match(client.text, /^HTTP\/1\.1 504 /);
  });
});

describe('the client handshake is checked before anything is forwarded', () => {
  for (const [name, extra] of [
    ['no Sec-WebSocket-Key', 'Sec-WebSocket-Version: 13\r\n'],
    [
      'a Sec-WebSocket-Key that is not 16 bytes',
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n',
    ],
    [
      'two Sec-WebSocket-Key headers',
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Key: ${KEY}\r\n`,
    ],
    ['no Sec-WebSocket-Version', `Sec-WebSocket-Key: ${KEY}\r\n`],
    ['Sec-WebSocket-Version 8', `Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: ${KEY}\r\n`],
  ] as const) {
    test(`${name}: 400`, async (t) => {
      const echo = await startWebSocketEcho(t);
      const dp = await dataplaneWith(t, [{ path: '/', port: echo.port }]);
      const client = rawClient(t, dp.ports.http, upgradeRequest('/chat', extra));
      await until('the connection closed', () => client.closed);
      assert.match(client.text, /^HTTP\/1\.1 400 /);
      assert.match(client.text, /\r\nserver: sluice\r\n/);
      assert.equal(echo.upgrades.length, 0);
    });
  }

  test('a valid handshake is tunnelled and echoes frames', async (t) => {
    const echo = await startWebSocketEcho(t);
    const dp = await dataplaneWith(t, [{ path: '/', port: echo.port }]);
    const client = rawClient(t, dp.ports.http, upgradeRequest('/chat'));
    await until('the 101 answer', () => client.text.includes('\r\n\r\n'));
    assert.match(client.text, /^HTTP\/1\.1 101 /);
    assert.equal(client.text.split('\r\n\r\n')[0].match(/\r\nserver: /gi)?.length, 1);
    assert.match(
      client.text,
      new RegExp(`\r\nSec-WebSocket-Accept: ${webSocketAccept(KEY).replace(/[+/]/g, '\\$&')}\r\n`, 'i'),
    );
    // A masked text frame "hello" (RFC 6455 5.3); the echo answers unmasked.
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('hello').map((b, i) => b ^ mask[i % 4]);
    client.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | 5]), mask, payload]));
    await until('the echoed frame', () => client.text.endsWith('\x81\x05hello'));
    assert.equal(echo.upgrades[0]['x-forwarded-for'], '127.0.0.1');
    assert.equal(dp.traffic.tunnels.size, 1);
  });
});
