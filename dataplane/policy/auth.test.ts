// Basic and external authentication over real sockets: a data plane on loopback, a backend that
// records what reaches it, and (for external auth) a real auth server on loopback.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http, { type OutgoingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { defaultPolicy, simpleConfig } from '../../contract/testing/fixtures.ts';
import type { RoutePolicy } from '../../contract/types.ts';
import {
  closedPort,
  closeServer,
  listen,
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
  type TestBackend,
  type TestDataplane,
} from '../testing/net.ts';
import { BCRYPT_PER_INGRESS, basicAuthStep } from './auth.ts';
import type { StepContext } from './steps.ts';

const apr1 = createRequire(import.meta.url)('apache-md5') as (password: string) => string;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function serving(
  t: TestContext,
  policy: Partial<RoutePolicy>,
): Promise<{ dp: TestDataplane; be: TestBackend }> {
  const be = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const res = await dp.push(simpleConfig('app.example', [be.port], policy));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { dp, be };
}

describe('basic auth', () => {
  const users = [
    { name: 'ann', hash: bcrypt.hashSync('bcrypt-pw', 4) },
    { name: 'bob', hash: apr1('apr1-pw') },
    { name: 'cid', hash: `{SHA}${createHash('sha1').update('sha-pw').digest('base64')}` },
    // $2y$ as htpasswd -B writes it.
    { name: 'dee', hash: bcrypt.hashSync('y-pw', 4).replace(/^\$2b\$/, '$2y$') },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));

  test('the config schema refuses a realm that could break its quoted-string, and plain passwords', async (t) => {
    const { dp } = await serving(t, {});
    for (const basicAuth of [
      { realm: 'a"b', users },
      { realm: 'a\r\nX-Injected: 1', users },
      { realm: 'ok', users: [{ name: 'ann', hash: 'plaintext' }] },
      { realm: 'ok', users: [{ name: 'a:b', hash: users[0].hash }] },
    ]) {
      const refused = await dp.push(simpleConfig('app.example', [1], { basicAuth }));
      assert.equal(refused.status, 400, JSON.stringify(basicAuth));
    }
  });

  test('each hash kind admits its password and refuses others', async (t) => {
    const { dp, be } = await serving(t, { basicAuth: { realm: 'Staff only', users } });
    const port = dp.ports.http;
    for (const [user, good] of [
      ['ann', 'bcrypt-pw'],
      ['bob', 'apr1-pw'],
      ['cid', 'sha-pw'],
      ['dee', 'y-pw'],
    ]) {
      const ok = await request(port, { headers: { authorization: basic(user, good) } });
      assert.equal(ok.status, 200, `${user} with the right password`);
      assert.equal(ok.body, 'app');
      // Again: served from the cache of verified credentials, same answer.
      assert.equal((await request(port, { headers: { authorization: basic(user, good) } })).status, 200);
      const bad = await request(port, { headers: { authorization: basic(user, `${good}x`) } });
      assert.equal(bad.status, 401, `${user} with a wrong password`);
      assert.equal(bad.headers['www-authenticate'], 'Basic realm="Staff only"');
    }
    const seenBefore = be.seen.length;
    for (const authorization of [
      undefined,
      basic('nobody', 'bcrypt-pw'),
      basic('ann', ''),
      'Bearer abc',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
    ]) {
      const res = await request(port, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers['www-authenticate'], 'Basic realm="Staff only"');
    }
    assert.equal(be.seen.length, seenBefore, 'no refused request reached the backend');
  });

  test('a WebSocket upgrade without credentials is refused and never reaches the backend', async (t) => {
    const { dp, be } = await serving(t, { basicAuth: { realm: 'ws', users } });
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const head = `GET /chat HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`;
    const denied = await rawExchange(dp.ports.http, `${head}\r\n`);
    assert.match(denied.text, /^HTTP\/1\.1 401 /);
    assert.match(denied.text, /www-authenticate: Basic realm="ws"/i);
    const wrong = await rawExchange(dp.ports.http, `${head}Authorization: ${basic('ann', 'nope')}\r\n\r\n`);
    assert.match(wrong.text, /^HTTP\/1\.1 401 /);
    assert.equal(be.seen.length, 0);
  });

  test('no users: everyone is refused (the compiler emits this when the Secret is unusable)', async (t) => {
    const { dp, be } = await serving(t, { basicAuth: { realm: 'closed', users: [] } });
    const res = await request(dp.ports.http, { headers: { authorization: basic('ann', 'bcrypt-pw') } });
    assert.equal(res.status, 401);
    assert.equal(be.seen.length, 0);
  });

  test('bcrypt checks beyond the per-Ingress cap are answered 503 instead of queueing', async () => {
    // The step itself, called while earlier checks are still running (no timing involved).
    const slow = [{ name: 'eve', hash: bcrypt.hashSync('pw', 10) }];
    const policy = { ...defaultPolicy, basicAuth: { realm: 'r', users: slow } };
    const step = basicAuthStep(policy, { ingress: 'ns/cap', host: 'app.example', path: '/' })!;
    const answers: Array<{ status: number; headers?: OutgoingHttpHeaders }> = [];
    const ctx = (password: string): StepContext =>
      ({
        req: { headers: { authorization: basic('eve', password) } },
        reply: (status: number, _m?: string, headers?: OutgoingHttpHeaders) =>
          answers.push({ status, headers }),
      }) as unknown as StepContext;
    const running = Array.from({ length: BCRYPT_PER_INGRESS }, (_, i) => step(ctx(`wrong-${i}`)));
    assert.ok(
      running.every((r) => r instanceof Promise),
      'the first checks run asynchronously',
    );
    assert.equal(step(ctx('pw')), true, 'one more is answered at once');
    assert.deepEqual(answers, [{ status: 503, headers: { 'retry-after': '1' } }]);
    assert.deepEqual(await Promise.all(running), Array(BCRYPT_PER_INGRESS).fill(true));
    assert.deepEqual(
      answers.slice(1).map((a) => a.status),
      Array(BCRYPT_PER_INGRESS).fill(401),
    );
    // Once they finished, the right password is checked and let through.
    assert.equal(await step(ctx('pw')), false);
  });
});

interface AuthServer {
  url: string;
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
}

async function startAuthServer(
  t: TestContext,
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<AuthServer> {
  const seen: AuthServer['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    answer(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  t.after(() => closeServer(server, sockets));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`, seen };
}

const external = (url: string, extra: Partial<NonNullable<RoutePolicy['externalAuth']>> = {}) => ({
  externalAuth: { method: 'GET', responseHeaders: [], timeoutMs: 5_000, url, ...extra },
});

describe('external auth', () => {
  test('2xx allows, and the named auth headers replace whatever the client sent', async (t) => {
    const auth = await startAuthServer(t, (req, res) => {
      const ok = req.headers.cookie === 'session=good';
      res.writeHead(ok ? 200 : 401, ok ? { 'x-auth-user': 'ann', 'x-auth-email': 'ann@example.com' } : {});
      res.end();
    });
    const { dp, be } = await serving(
      t,
      external(auth.url, { responseHeaders: ['x-auth-group', 'x-auth-user'] }),
    );
    const res = await request(dp.ports.http, {
      path: '/orders?id=7',
      method: 'POST',
      body: 'payload',
      headers: { cookie: 'session=good', 'x-auth-user': 'mallory', 'x-auth-group': 'admins' },
    });
    assert.equal(res.status, 200);
    const up = be.seen.at(-1)!;
    assert.equal(up.headers['x-auth-user'], 'ann');
    assert.equal(up.headers['x-auth-group'], undefined, 'client value removed, auth sent none');
    assert.equal(up.headers['x-auth-email'], undefined, 'not named: not copied');
    assert.equal(up.body, 'payload');
    const sub = auth.seen.at(-1)!;
    assert.equal(sub.method, 'GET');
    assert.equal(sub.url, '/auth');
    assert.equal(sub.headers['x-original-url'], 'http://app.example/orders?id=7');
    assert.equal(sub.headers['x-original-method'], 'POST');
    assert.equal(sub.headers['x-auth-request-redirect'], '/orders?id=7');
    assert.equal(sub.headers.cookie, 'session=good');
    assert.equal(sub.headers['content-length'], undefined, 'no body to the auth service');
    assert.equal(sub.headers['x-forwarded-proto'], 'http');
  });

  test('401 and 403 are passed on; 401 with a sign-in URL redirects with rd', async (t) => {
    const auth = await startAuthServer(t, (req, res) => {
      res.writeHead(req.headers['x-want'] === 'forbid' ? 403 : 401, { 'www-authenticate': 'Bearer' });
      res.end('no');
    });
    const { dp, be } = await serving(t, external(auth.url));
    const denied = await request(dp.ports.http);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Bearer');
    const forbidden = await request(dp.ports.http, { headers: { 'x-want': 'forbid' } });
    assert.equal(forbidden.status, 403);
    assert.equal(be.seen.length, 0);

    const { dp: dp2 } = await serving(
      t,
      external(auth.url, { signin: 'https://login.example/start', method: 'HEAD' }),
    );
    const redirect = await request(dp2.ports.http, { path: '/a/b?x=1' });
    assert.equal(redirect.status, 302);
    assert.equal(
      redirect.headers.location,
      `https://login.example/start?rd=http://app.example${encodeURIComponent('/a/b?x=1')}`,
    );
    assert.equal(auth.seen.at(-1)!.method, 'HEAD');
  });

  test('an auth service that answers 5xx, redirects, is down or too slow denies with 500', async (t) => {
    const auth = await startAuthServer(t, (req, res) => {
      if (req.headers['x-case'] === 'slow') return; // never answers
      res.writeHead(req.headers['x-case'] === 'redirect' ? 302 : 502, { location: '/elsewhere' });
      res.end();
    });
    const { dp, be } = await serving(t, external(auth.url, { timeoutMs: 300 }));
    for (const c of ['5xx', 'redirect', 'slow']) {
      const res = await request(dp.ports.http, { headers: { 'x-case': c } });
      assert.equal(res.status, 500, c);
    }
    const down = await closedPort();
    const { dp: dp2 } = await serving(t, external(`http://127.0.0.1:${down}/auth`));
    assert.equal((await request(dp2.ports.http)).status, 500);
    assert.equal(be.seen.length, 0);
  });

  test('a WebSocket upgrade is checked too', async (t) => {
    const auth = await startAuthServer(t, (_req, res) => {
      res.writeHead(401);
      res.end();
    });
    const { dp, be } = await serving(t, external(auth.url));
    const res = await rawExchange(
      dp.ports.http,
      'GET /chat HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(res.text, /^HTTP\/1\.1 401 /);
    assert.equal(auth.seen.length, 1);
    assert.equal(auth.seen[0].headers['x-original-method'], 'GET');
    assert.equal(be.seen.length, 0);
  });
});
