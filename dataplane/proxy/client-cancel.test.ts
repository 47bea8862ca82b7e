// Clients that go away, at every stage of an exchange and in every way a client can go: the
// upstream request is aborted and its connection slot comes back, seen through
// sluice_upstream_connections_in_use. Real backends on loopback, real HTTP/1.1, TLS and HTTP/2
// clients.

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import { closeServer, listen, startTestDataplane, type TestDataplane } from '../testing/net.ts';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

type Mode = 'hold' | 'trickle' | 'flood' | 'fast';

interface ControlledBackend {
  port: number;
  endpoint: string;
  /** Requests whose head arrived. */
  received: number;
  /** Responses whose connection went away before they ended. */
  abandoned: number;
  /** The proxy stopped reading a flood response (the backend's writes are blocked). */
  blocked: boolean;
  written: number;
}

/**
 * hold: never answers. trickle: headers, then 1 KiB every 20 ms, forever. flood: writes as fast
 * as the proxy reads, forever. fast: 256 KiB at once.
 */
async function startControlled(t: TestContext, mode: Mode): Promise<ControlledBackend> {
  const state: ControlledBackend = {
    port: 0,
    endpoint: '',
    received: 0,
    abandoned: 0,
    blocked: false,
    written: 0,
  };
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    state.received++;
    req.resume();
    res.on('close', () => {
      if (!res.writableFinished) state.abandoned++;
    });
    if (mode === 'hold') return;
    if (mode === 'fast') {
      res.end(Buffer.alloc(256 * 1024, 'f'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(mode === 'trickle' ? 1024 : 64 * 1024, 'x');
    if (mode === 'trickle') {
      res.write(chunk);
      const timer = setInterval(() => res.write(chunk), 20);
      timers.add(timer);
      res.on('close', () => {
        clearInterval(timer);
        timers.delete(timer);
      });
      return;
    }
    const pump = () => {
      while (!res.destroyed) {
        state.written += chunk.length;
        if (!res.write(chunk)) {
          state.blocked = true;
          res.once('drain', () => {
            state.blocked = false;
            pump();
          });
          return;
        }
      }
    };
    pump();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  state.port = (server.address() as AddressInfo).port;
  state.endpoint = `127.0.0.1:${state.port}`;
  t.after(() => {
    for (const timer of timers) clearInterval(timer);
    return closeServer(server, sockets);
  });
  return state;
}

async function inUse(dp: TestDataplane, endpoint: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${dp.ports.ops}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`sluice_upstream_connections_in_use{endpoint="${endpoint}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Polls until `check` holds; the limit only bounds a failing test, it measures nothing. */
async function until(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function slotsReturn(dp: TestDataplane, be: ControlledBackend): Promise<void> {
  let last: number | undefined;
  const what = () =>
    `sluice_upstream_connections_in_use{endpoint="${be.endpoint}"} back to 0 (last: ${last})`;
  await until(what, async () => {
    last = await inUse(dp, be.endpoint);
    return last === 0;
  });
}

// The upstream must not be freed by a response timeout: only by the client going away.
const policy = { maxBodyBytes: 10_000_000, responseTimeoutMs: 600_000 };

async function dataplaneFor(
  t: TestContext,
  be: ControlledBackend,
  flags: string[] = [],
): Promise<TestDataplane> {
  const dp = await startTestDataplane(t, flags);
  const res = await dp.push(
    makeConfig({
      virtualHosts: [vhost('app.example', [route('/', weighted([['app', 1]]), { policy })])],
      backends: { [backendKey('app')]: backend('app', [be.port]) },
    }),
  );
  assert.equal(res.status, 200);
  return dp;
}

type ClientKind = 'h1' | 'h1-tls' | 'h2';

interface Client {
  /** Resolves when the first response body bytes arrived. */
  firstBytes: Promise<void>;
  /** Goes away the way this kind of client does: socket destroyed, or RST_STREAM(CANCEL). */
  cancel(): void;
}

function openClient(
  t: TestContext,
  dp: TestDataplane,
  kind: ClientKind,
  opts: { read: boolean; upload?: boolean },
): Client {
  let gotBytes!: () => void;
  const firstBytes = new Promise<void>((r) => (gotBytes = r));
  if (kind === 'h2') {
    const session = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
      servername: 'app.example',
      rejectUnauthorized: false,
    });
    session.on('error', () => {});
    t.after(() => session.destroy());
    const stream = session.request(
      { ':path': '/x', ':authority': 'app.example', ':method': opts.upload ? 'POST' : 'GET' },
      { endStream: !opts.upload },
    );
    stream.on('error', () => {});
    if (opts.upload) stream.write(Buffer.alloc(1000, 'u'));
    if (opts.read) stream.on('data', () => gotBytes());
    else stream.pause();
    return { firstBytes, cancel: () => stream.close(NGHTTP2_CANCEL) };
  }
  const head = opts.upload
    ? 'POST /x HTTP/1.1\r\nHost: app.example\r\nContent-Length: 100000\r\n\r\n' + 'u'.repeat(1000)
    : 'GET /x HTTP/1.1\r\nHost: app.example\r\n\r\n';
  const socket =
    kind === 'h1-tls'
      ? tlsConnect({
          host: '127.0.0.1',
          port: dp.ports.https,
          servername: 'app.example',
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect(dp.ports.http, '127.0.0.1');
  socket.on('error', () => {});
  t.after(() => socket.destroy());
  socket.once(kind === 'h1-tls' ? 'secureConnect' : 'connect', () => socket.write(head));
  // The head can arrive with or without body bytes: wait for more than the head.
  let seen = '';
  if (opts.read)
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end !== -1 && seen.length > end + 4) gotBytes();
    });
  return { firstBytes, cancel: () => socket.destroy() };
}

const kinds: ClientKind[] = ['h1', 'h1-tls', 'h2'];

describe('a client that goes away gives its upstream connection back', () => {
  for (const kind of kinds) {
    test(`${kind}: before the upstream answers`, async (t) => {
      const be = await startControlled(t, 'hold');
      const dp = await dataplaneFor(t, be);
      const client = openClient(t, dp, kind, { read: true });
      await until('the backend got the request', () => be.received === 1);
      assert.equal(await inUse(dp, be.endpoint), 1);
      client.cancel();
      await slotsReturn(dp, be);
      await until('the upstream request was aborted', () => be.abandoned === 1);
    });

    test(`${kind}: in the middle of the response body`, async (t) => {
      const be = await startControlled(t, 'trickle');
      const dp = await dataplaneFor(t, be);
      const client = openClient(t, dp, kind, { read: true });
      await client.firstBytes;
      assert.equal(await inUse(dp, be.endpoint), 1);
      client.cancel();
      await slotsReturn(dp, be);
      await until('the upstream request was aborted', () => be.abandoned === 1);
    });

    test(`${kind}: while not reading a large body (backpressure)`, async (t) => {
      const be = await startControlled(t, 'flood');
      const dp = await dataplaneFor(t, be);
      const client = openClient(t, dp, kind, { read: false });
      // Blocked after a good amount written: the proxy paused the upstream for the client.
      await until('the proxy stopped reading the upstream', () => be.blocked && be.written > 256 * 1024);
      assert.equal(await inUse(dp, be.endpoint), 1);
      client.cancel();
      await slotsReturn(dp, be);
      await until('the upstream request was aborted', () => be.abandoned === 1);
    });

    test(`${kind}: in the middle of the request body`, async (t) => {
      const be = await startControlled(t, 'hold');
      const dp = await dataplaneFor(t, be);
      const client = openClient(t, dp, kind, { read: true, upload: true });
      await until('the backend got the request', () => be.received === 1);
      client.cancel();
      await slotsReturn(dp, be);
      await until('the upstream request was aborted', () => be.abandoned === 1);
    });
  }

  for (const how of ['session destroyed', 'GOAWAY with an error'] as const) {
    test(`h2: ${how}, with one stream waiting and one under backpressure`, async (t) => {
      const hold = await startControlled(t, 'hold');
      const flood = await startControlled(t, 'flood');
      const dp = await startTestDataplane(t);
      const split = weighted([['app', 1]]);
      const floodSplit = weighted([['flood', 1]]);
      await dp.push(
        makeConfig({
          virtualHosts: [
            vhost('app.example', [route('/', split, { policy }), route('/flood', floodSplit, { policy })]),
          ],
          backends: {
            [backendKey('app')]: backend('app', [hold.port]),
            [backendKey('flood')]: backend('flood', [flood.port]),
          },
        }),
      );
      const session = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
        servername: 'app.example',
        rejectUnauthorized: false,
      });
      session.on('error', () => {});
      t.after(() => session.destroy());
      for (const path of ['/', '/flood']) {
        const stream = session.request({ ':path': path, ':authority': 'app.example' });
        stream.on('error', () => {});
        stream.pause();
      }
      await until('both backends got their request', () => hold.received === 1 && flood.blocked);
      if (how === 'GOAWAY with an error') session.goaway(NGHTTP2_INTERNAL_ERROR);
      else session.destroy();
      await slotsReturn(dp, hold);
      await slotsReturn(dp, flood);
      await until('both upstream requests were aborted', () => hold.abandoned === 1 && flood.abandoned === 1);
    });
  }
});

/** Rejects when `p` is not settled within `ms`: a hang guard for a failing test, not a measurement. */
function settles<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

test('HTTP/2 streams reset right after their HEADERS never use up the endpoint', async (t) => {
  const be = await startControlled(t, 'fast');
  const dp = await dataplaneFor(t, be, ['--upstream-max-connections=2']);
  const session = http2.connect(`https://127.0.0.1:${dp.ports.https}`, {
    servername: 'app.example',
    rejectUnauthorized: false,
  });
  session.on('error', () => {});
  t.after(() => session.destroy());
  // What a browser does when a page navigates away: HEADERS then RST_STREAM, many times.
  for (let i = 0; i < 40; i++) {
    const stream = session.request({ ':path': `/x${i}`, ':authority': 'app.example' });
    stream.on('error', () => {});
    stream.close(NGHTTP2_CANCEL);
  }
  const get = () =>
    new Promise<{ status: number; length: number }>((resolve, reject) => {
      const stream = session.request({ ':path': '/after', ':authority': 'app.example' });
      let status = 0;
      let length = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (d: Buffer) => (length += d.length));
      stream.on('end', () => resolve({ status, length }));
      stream.on('error', reject);
    });
  for (let i = 0; i < 3; i++) {
    const res = await settles(get(), 20_000, 'a request after the resets (connection slots leaked)');
    assert.deepEqual(res, { status: 200, length: 256 * 1024 });
  }
  await slotsReturn(dp, be);
});
