// TLS passthrough as a client meets it: real data plane, real TLS backend with its own
// certificate, real sockets on 127.0.0.1.

import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import tls from 'node:tls';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import { until } from '../../contract/testing/poll.ts';
import { closedPort, startBackend, startTestDataplane } from '../testing/net.ts';
import { readClientHello } from './client-hello.ts';
import { selfSignedCertificate } from './self-signed.ts';

const PASS = 'db.example.com';
const WEB = 'shop.example.com';

/** A TLS echo server with its own certificate: answers `<name>:<line>` per line received. */
async function startTlsBackend(t: TestContext, name: string) {
  const cert = await selfSignedCertificate({ commonName: `${name}.backend.test` });
  const sockets = new Set<Socket>();
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => {
    socket.on('data', (d: Buffer) => socket.write(`${name}:${d.toString()}`));
    socket.on('error', () => {});
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, cert };
}

async function setup(t: TestContext, passPorts: number[], webPort: number) {
  const dp = await startTestDataplane(t);
  const config = makeConfig({
    virtualHosts: [
      vhost(WEB, [route('/', weighted([['app', 1]]))]),
      { ...vhost(PASS, []), passthrough: { backend: backendKey('db'), source: { ingress: 'ns/db' } } },
    ],
    backends: {
      [backendKey('app')]: backend('app', [webPort]),
      [backendKey('db')]: backend('db', passPorts),
    },
  });
  const pushed = await dp.push(config);
  assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
  return dp;
}

/** Connects over TLS, sends one line, resolves to the peer certificate's CN and the answer. */
function tlsRoundTrip(port: number, servername: string | undefined, line: string) {
  return new Promise<{ cn: string; text: string }>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    let text = '';
    let cn = '';
    socket.on('secureConnect', () => {
      cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      socket.write(line);
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes(line)) {
        socket.destroy();
        resolve({ cn, text });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ cn, text }));
  });
}

/** Sends raw bytes; resolves when the server closes the connection (never on our own). */
function closedAfter(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
}

test('a passthrough host reaches the TLS backend, whose own certificate the client sees; bytes go both ways', async (t) => {
  const db = await startTlsBackend(t, 'db');
  const web = await startBackend(t, 'web');
  const dp = await setup(t, [db.port], web.port);
  const r = await tlsRoundTrip(dp.ports.https, PASS, 'hello\n');
  assert.equal(r.cn, 'db.backend.test');
  assert.equal(r.text, 'db:hello\n');
  // Upper case and a trailing dot name the same host.
  const upper = await tlsRoundTrip(dp.ports.https, 'DB.Example.COM.', 'again\n');
  assert.equal(upper.text, 'db:again\n');
  await until(async () => {
    const res = await fetch(`http://127.0.0.1:${dp.ports.ops}/metrics`);
    const text = await res.text();
    return /sluice_passthrough_connections_total\{outcome="piped"\} 2/.test(text);
  }, 'two piped connections counted');
});

test('other names, and hellos without SNI, are terminated by Sluice as usual', async (t) => {
  const db = await startTlsBackend(t, 'db');
  const web = await startBackend(t, 'web');
  const dp = await setup(t, [db.port], web.port);
  for (const servername of [WEB, undefined]) {
    const cn = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        {
          host: '127.0.0.1',
          port: dp.ports.https,
          servername,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        },
        () => {
          const c = String(socket.getPeerCertificate().subject?.CN ?? '');
          socket.write(`GET / HTTP/1.1\r\nHost: ${WEB}\r\nConnection: close\r\n\r\n`);
          let text = '';
          socket.on('data', (d: Buffer) => {
            text += d.toString();
          });
          socket.on('end', () => {
            assert.match(text, /^HTTP\/1\.1 200 /);
            assert.match(text, /\r\n\r\nweb$/);
            resolve(c);
          });
        },
      );
      socket.on('error', reject);
    });
    assert.notEqual(cn, 'db.backend.test', `servername ${servername}`);
  }
  assert.equal(web.seen.length, 2);
});

test('a garbage or truncated hello closes the connection and the listener keeps serving', async (t) => {
  const db = await startTlsBackend(t, 'db');
  const web = await startBackend(t, 'web');
  const dp = await setup(t, [db.port], web.port);
  // Plain HTTP on the TLS port, a record claiming to be a huge handshake, and a non-hello.
  for (const bytes of [
    Buffer.from(`GET / HTTP/1.1\r\nHost: ${PASS}\r\n\r\n`),
    Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01]),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03]),
  ]) {
    assert.equal(await closedAfter(dp.ports.https, bytes), '', bytes.toString('hex'));
  }
  const r = await tlsRoundTrip(dp.ports.https, PASS, 'still\n');
  assert.equal(r.text, 'db:still\n');
});

test('a passthrough host whose endpoint refuses connections: the client connection is closed', async (t) => {
  const web = await startBackend(t, 'web');
  const dp = await setup(t, [await closedPort()], web.port);
  await assert.rejects(tlsRoundTrip(dp.ports.https, PASS, 'x\n'));
  await until(async () => {
    const text = await (await fetch(`http://127.0.0.1:${dp.ports.ops}/metrics`)).text();
    return /sluice_passthrough_connections_total\{outcome="connect_failed"\} 1/.test(text);
  }, 'one failed connection counted');
});

/** The first bytes a node:tls client sends: its ClientHello. */
function captureHello(t: TestContext, servername?: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', (d: Buffer) => {
        socket.destroy();
        server.close();
        resolve(d);
      });
    });
    t.after(() => server.close());
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const client = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      client.on('error', () => {});
    });
  });
}

test('readClientHello: the name of a real hello, whole, byte by byte and split over two records; none without SNI', async (t) => {
  const hello = await captureHello(t, 'Api.Example.com');
  assert.deepEqual(readClientHello(hello), { status: 'ok', serverName: 'api.example.com' });
  for (let n = 0; n < hello.length; n++) {
    assert.equal(readClientHello(hello.subarray(0, n)).status, 'more', `prefix ${n}`);
  }
  // The same handshake message in two records.
  const body = hello.subarray(5);
  const record = (part: Buffer) =>
    Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  const split = Buffer.concat([record(body.subarray(0, 7)), record(body.subarray(7))]);
  assert.deepEqual(readClientHello(split), { status: 'ok', serverName: 'api.example.com' });
  assert.deepEqual(readClientHello(await captureHello(t)), { status: 'ok' });
  // A host_name length running past its extension is refused, not guessed at.
  const broken = Buffer.from(hello);
  const at = broken.indexOf('Api.Example.com');
  broken.writeUInt16BE(0xff, at - 2);
  assert.equal(readClientHello(broken).status, 'bad');
  // So are control characters in the name.
  const ctl = Buffer.from(hello);
  ctl[at + 3] = 0x0a;
  assert.equal(readClientHello(ctl).status, 'bad');
});
