// Regex routes and the path annotations' policy fields (rewrite-target, app-root,
// x-forwarded-prefix) on a data plane with real sockets, for plain requests and WebSocket upgrades.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import type { Route, RoutePolicy } from '../../contract/types.ts';
import {
  closeServer,
  listen,
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
} from '../testing/net.ts';

const regex = (path: string, name: string, policy: Partial<RoutePolicy> = {}): Route =>
  route(path, weighted([[name, 1]]), { pathType: 'Regex', policy });

test('regex routes: Exact first, then the first pattern in config order, case-insensitive, anchored at the start only', async (t) => {
  const users = await startBackend(t, 'users');
  const json = await startBackend(t, 'json');
  const exact = await startBackend(t, 'exact');
  const rest = await startBackend(t, 'rest');
  const dp = await startTestDataplane(t);
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        regex('/api/v[0-9]+/users', 'users'),
        regex('/api/.*\\.json', 'json'),
        route('/api/v1/users', weighted([['exact', 1]]), { pathType: 'Exact' }),
        regex('/', 'rest'),
      ]),
    ],
    backends: {
      [backendKey('users')]: backend('users', [users.port]),
      [backendKey('json')]: backend('json', [json.port]),
      [backendKey('exact')]: backend('exact', [exact.port]),
      [backendKey('rest')]: backend('rest', [rest.port]),
    },
  });
  // The order the schema asks for: longest first, Regex ties by path descending.
  assert.deepEqual(
    config.virtualHosts[0].routes.map((r) => r.path),
    ['/api/v[0-9]+/users', '/api/v1/users', '/api/.*\\.json', '/'],
  );
  assert.equal((await dp.push(config)).status, 200);
  const cases: Array<[string, string]> = [
    ['/api/v2/users', 'users'],
    ['/API/V2/USERS/42', 'users'], // ~*: case-insensitive, and no segment boundary after the pattern
    ['/api/v2/users.json', 'users'], // the first pattern that matches wins, not the longest match
    ['/api/v1/users', 'exact'], // Exact before any pattern
    ['/api/x/data.JSON', 'json'],
    ['/x/api/v2/users', 'rest'], // anchored at the start
    ['/anything', 'rest'],
  ];
  for (const [path, want] of cases) {
    const res = await request(dp.ports.http, { path, host: 'app.example' });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['x-backend'], want, path);
  }
});

test('rewrite-target: the groups of the path build the upstream path; the query follows as nginx appends it', async (t) => {
  const b = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const key = { [backendKey('app')]: backend('app', [b.port]) };
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        regex('/something(/|$)(.*)', 'app', { rewriteTarget: '/$2', xForwardedPrefix: '/something' }),
        regex('/find/([a-z]+)', 'app', { rewriteTarget: '/search?q=$1' }),
        regex('/drop/(.*)', 'app', { rewriteTarget: '/$1?' }),
      ]),
    ],
    backends: key,
  });
  assert.equal((await dp.push(config)).status, 200);
  const cases: Array<[string, string]> = [
    ['/something/new/page?x=1', '/new/page?x=1'],
    ['/something', '/'],
    ['/SOMETHING/Mixed', '/Mixed'], // groups keep the request's case
    ['/find/abc', '/search?q=abc'],
    ['/find/abc?page=2', '/search?q=abc&page=2'],
    ['/drop/keep?gone=1', '/keep'],
  ];
  for (const [path, upstream] of cases) {
    const res = await request(dp.ports.http, {
      path,
      host: 'app.example',
      headers: { 'x-forwarded-prefix': '/from-client' },
    });
    assert.equal(res.status, 200, path);
    assert.equal(b.seen.at(-1)?.url, upstream, path);
  }
  // x-forwarded-prefix replaces what the client sent, on its route only.
  const first = b.seen[0];
  assert.equal(first.headers['x-forwarded-prefix'], '/something');
  assert.equal(b.seen[3].headers['x-forwarded-prefix'], '/from-client');
});

test('a catastrophic pattern stays linear: (a+)+$ against a long path answers', async (t) => {
  const b = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const config = makeConfig({
    virtualHosts: [vhost('app.example', [regex('/(a+)+$', 'app')])],
    backends: { [backendKey('app')]: backend('app', [b.port]) },
  });
  assert.equal((await dp.push(config)).status, 200);
  const miss = await request(dp.ports.http, { path: `/${'a'.repeat(1900)}b`, host: 'app.example' });
  assert.equal(miss.status, 404);
  const hit = await request(dp.ports.http, { path: `/${'a'.repeat(1900)}`, host: 'app.example' });
  assert.equal(hit.status, 200);
});

test('app-root: exactly / answers 302 to the root (query dropped); other paths are proxied', async (t) => {
  const b = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [route('/', weighted([['app', 1]]), { policy: { appRoot: '/app1' } })]),
    ],
    backends: { [backendKey('app')]: backend('app', [b.port]) },
  });
  assert.equal((await dp.push(config)).status, 200);
  for (const path of ['/', '/?a=1']) {
    const res = await request(dp.ports.http, { path, host: 'app.example' });
    assert.equal(res.status, 302, path);
    assert.equal(res.headers.location, 'http://app.example/app1', path);
  }
  const other = await request(dp.ports.http, { path: '/app1', host: 'app.example' });
  assert.equal(other.status, 200);
  assert.deepEqual(
    b.seen.map((s) => s.url),
    ['/app1'],
  );
});

test('a WebSocket upgrade on a regex route is rewritten like a plain request', async (t) => {
  const seen: string[] = [];
  const server = createServer((_req, res) => res.end());
  const sockets = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket) => {
    seen.push(req.url!);
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
  });
  await listen(server);
  t.after(() => closeServer(server, sockets));
  const port = (server.address() as AddressInfo).port;
  const dp = await startTestDataplane(t);
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        regex('/ws(/|$)(.*)', 'app', { rewriteTarget: '/socket/$2' }),
        regex('/', 'app'),
      ]),
    ],
    backends: { [backendKey('app')]: backend('app', [port]) },
  });
  assert.equal((await dp.push(config)).status, 200);
  const res = await rawExchange(
    dp.ports.http,
    'GET /WS/chat?room=1 HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    300,
  );
  assert.match(res.text, /^HTTP\/1\.1 101 /);
  assert.deepEqual(seen, ['/socket/chat?room=1']);
});
