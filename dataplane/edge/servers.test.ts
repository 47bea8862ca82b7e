// The traffic listeners as a client meets them: which HTTP versions are served, when
// `100 Continue` is sent, and the Server header. Real listeners and backends on 127.0.0.1.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { type TestContext, test } from 'node:test';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import { rawExchange, request, startBackend, startTestDataplane } from '../testing/net.ts';

const HOST = 'shop.example.com';

async function setup(t: TestContext, flags: string[] = [], backendServer?: string) {
  const backend = await startBackend(t, 'app', (_req, res, body) => {
    if (backendServer !== undefined) res.setHeader('server', backendServer);
    res.end(`app:${body}`);
  });
  const dp = await startTestDataplane(t, flags);
  const pushed = await dp.push(simpleConfig(HOST, [backend.port], { maxBodyBytes: 1024 }));
  assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
  return { dp, backend };
}

/** Raw exchanges over TLS offer HTTP/1.1 by ALPN: node:http2's HTTP/1 fallback. */
const tls = { servername: HOST };

/** Sends a request head with `Expect: 100-continue`, and the body only after `100 Continue`. */
function continueExchange(port: number, head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let sentBody = false;
    socket.on('connect', () => socket.write(head));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!sentBody && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sentBody = true;
        socket.write(body);
      }
      if (/\r\n\r\napp:/.test(text) && text.endsWith(body)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

test('HTTP/1 listeners serve HTTP/1.0 and 1.1 only: 2.0 and 0.9 get 505 and a closed connection, and the process keeps serving', async (t) => {
  const { dp, backend } = await setup(t);
  for (const version of ['HTTP/2.0', 'HTTP/0.9']) {
    const bytes = `GET / ${version}\r\nHost: ${HOST}\r\n\r\n`;
    for (const [listener, exchange] of [
      ['http', () => rawExchange(dp.ports.http, bytes)],
      ['https (HTTP/1.1 by ALPN)', () => rawExchange(dp.ports.https, bytes, { tls })],
    ] as const) {
      const r = await exchange();
      assert.match(r.text, /^HTTP\/1\.1 505 /, `${version} on ${listener}: ${r.text}`);
      assert.match(r.text, /\r\nconnection: close\r\n/i, `${version} on ${listener}`);
      assert.match(r.text, /\r\nserver: sluice\r\n/i, `${version} on ${listener}`);
      assert.equal(r.closed, true, `${version} on ${listener}: connection closed`);
    }
  }
  // Versions node:http's parser refuses itself stay refused (400), and nothing was forwarded.
  for (const version of ['HTTP/1.2', 'HTTP/3.0']) {
    const r = await rawExchange(dp.ports.http, `GET / ${version}\r\nHost: ${HOST}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 400 /, `${version}: ${r.text}`);
  }
  assert.equal(backend.seen.length, 0);
  // The same process, same listeners: HTTP/1.0 and 1.1 still reach the backend.
  const ok10 = await rawExchange(dp.ports.http, `GET / HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`);
  assert.match(ok10.text, /^HTTP\/1\.1 200 /);
  const ok11 = await request(dp.ports.http, { host: HOST });
  assert.equal(ok11.status, 200);
  assert.equal(backend.seen.length, 2);
});

test('a WebSocket upgrade with an HTTP version other than 1.0 or 1.1 gets 505 and is not forwarded', async (t) => {
  const { dp, backend } = await setup(t);
  const upgrade = (version: string) =>
    `GET /chat ${version}\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  for (const exchange of [
    () => rawExchange(dp.ports.http, upgrade('HTTP/2.0')),
    () => rawExchange(dp.ports.https, upgrade('HTTP/2.0'), { tls }),
    () => rawExchange(dp.ports.http, upgrade('HTTP/0.9')),
  ]) {
    const r = await exchange();
    assert.match(r.text, /^HTTP\/1\.1 505 /, r.text);
    assert.equal(r.closed, true);
  }
  assert.equal(backend.seen.length, 0);
  assert.equal((await request(dp.ports.http, { host: HOST })).status, 200);
});

test('Expect: 100-continue with a Content-Length above the route limit gets 413 and never 100', async (t) => {
  const { dp, backend } = await setup(t);
  const head = `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 100-continue\r\nContent-Length: 2048\r\n\r\n`;
  for (const [listener, exchange] of [
    ['http', () => rawExchange(dp.ports.http, head)],
    ['https (HTTP/1.1 by ALPN)', () => rawExchange(dp.ports.https, head, { tls })],
  ] as const) {
    const r = await exchange();
    assert.match(r.text, /^HTTP\/1\.1 413 /, `${listener}: ${r.text}`);
    assert.doesNotMatch(r.text, /100 Continue/, listener);
    assert.equal(r.closed, true, `${listener}: closed, the body was never asked for`);
  }

  // HTTP/2: node:http2 would answer 100 on its own; the stream must see 413 and no 100.
  const client = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
    servername: HOST,
    rejectUnauthorized: false,
  });
  t.after(() => client.destroy());
  client.on('error', () => {});
  const stream = client.request(
    {
      ':method': 'POST',
      ':path': '/upload',
      ':authority': HOST,
      expect: '100-continue',
      'content-length': '2048',
    },
    { endStream: false },
  );
  let continued = false;
  stream.on('continue', () => {
    continued = true;
  });
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    stream.on('response', resolve);
    stream.on('error', reject);
  });
  assert.equal(headers[':status'], 413);
  assert.equal(continued, false);
  stream.close();
  client.close();
  assert.equal(backend.seen.length, 0);
});

test('Expect: 100-continue within the limit: 100 first, then the body is forwarded; unknown Expect gets 417', async (t) => {
  const { dp, backend } = await setup(t);
  const text = await continueExchange(
    dp.ports.http,
    `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
    'hello',
  );
  assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, text);
  assert.match(text, /app:hello$/);
  assert.equal(backend.seen.at(-1)?.body, 'hello');
  assert.equal(backend.seen.at(-1)?.headers.expect, undefined, 'Expect is answered at the edge');

  // HTTP/2: the client waits for the 100 before it sends the body.
  const client = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
    servername: HOST,
    rejectUnauthorized: false,
  });
  t.after(() => client.destroy());
  const stream = client.request(
    {
      ':method': 'POST',
      ':path': '/upload',
      ':authority': HOST,
      expect: '100-continue',
      'content-length': '3',
    },
    { endStream: false },
  );
  stream.once('continue', () => stream.end('h2!'));
  let h2Body = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    h2Body += d;
  });
  const h2Status = await new Promise<number>((resolve, reject) => {
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', reject);
  });
  await new Promise((resolve) => stream.on('end', resolve));
  assert.equal(h2Status, 200);
  assert.equal(h2Body, 'app:h2!');
  client.close();

  const odd = await rawExchange(
    dp.ports.http,
    `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nExpect: something-else\r\nContent-Length: 0\r\n\r\n`,
  );
  assert.match(odd.text, /^HTTP\/1\.1 417 /, odd.text);
  assert.equal(backend.seen.length, 2, 'the 417 request was not forwarded');
});

test('Server header: sluice on local and proxied answers (HTTP/1.1 and HTTP/2), the backend one replaced', async (t) => {
  const { dp } = await setup(t, [], 'Apache/2.4.1 (Unix)');
  const proxied = await request(dp.ports.http, { host: HOST });
  assert.equal(proxied.status, 200);
  assert.equal(proxied.headers.server, 'sluice');
  const local = await request(dp.ports.http, { host: 'unknown.example' });
  assert.equal(local.status, 404);
  assert.equal(local.headers.server, 'sluice');

  const client = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
    servername: HOST,
    rejectUnauthorized: false,
  });
  t.after(() => client.destroy());
  for (const authority of [HOST, 'unknown.example']) {
    const stream = client.request({ ':path': '/', ':authority': authority });
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.on('response', resolve);
      stream.on('error', reject);
    });
    stream.resume();
    await new Promise((resolve) => stream.on('close', resolve));
    assert.equal(headers.server, 'sluice', authority);
  }
  client.close();
});

test('--server-header sets another name; none removes it and the backend one still does not pass', async (t) => {
  const named = await setup(t, ['--server-header=edge'], 'Apache/2.4.1 (Unix)');
  assert.equal((await request(named.dp.ports.http, { host: HOST })).headers.server, 'edge');
  assert.equal((await request(named.dp.ports.http, { host: 'unknown.example' })).headers.server, 'edge');

  const none = await setup(t, ['--server-header=none'], 'Apache/2.4.1 (Unix)');
  const proxied = await request(none.dp.ports.http, { host: HOST });
  assert.equal(proxied.status, 200);
  assert.equal(proxied.headers.server, undefined);
  const local = await request(none.dp.ports.http, { host: 'unknown.example' });
  assert.equal(local.status, 404);
  assert.equal(local.headers.server, undefined);
});
