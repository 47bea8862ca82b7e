// The route policy fields of ingress-nginx's upstream annotations, on a data plane with real
// sockets. The policies are those the compiler makes of the annotations named in each test
// (operator/compile/ingress/nginx/upstream.test.ts checks that mapping).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import type { Backend, RoutePolicy } from '../../contract/types.ts';
import { loadConfig } from '../options.ts';
import { buildDataplane } from '../start.ts';
import { rawExchange, request, startBackend, startTestDataplane, type TestBackend } from '../testing/net.ts';

const base: RoutePolicy = {
  connectTimeoutMs: 5_000,
  maxBodyBytes: 1024 * 1024,
  responseTimeoutMs: 60_000,
  upstreamProtocol: 'http',
};

/** The policy the compiler makes of ingress-nginx annotations that change `fields`. */
function policyOf(fields: Partial<RoutePolicy>): RoutePolicy {
  return { ...base, ...fields };
}

function configFor(policy: RoutePolicy, backends: Record<string, Backend>, names = ['app']) {
  return makeConfig({
    virtualHosts: [vhost('app.example', [route('/app', weighted(names.map((n) => [n, 1])), { policy })])],
    backends,
  });
}

test('proxy-body-size: a body of exactly the size passes, one byte more is 413', async (t) => {
  const b = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const policy = policyOf({ maxBodyBytes: 1024 }); // proxy-body-size: 1k
  assert.equal(
    (await dp.push(configFor(policy, { [backendKey('app')]: backend('app', [b.port]) }))).status,
    200,
  );
  const ok = await request(dp.ports.http, { path: '/app', method: 'POST', body: 'x'.repeat(1024) });
  assert.equal(ok.status, 200);
  assert.equal(b.seen.at(-1)?.body.length, 1024);
  const big = await request(dp.ports.http, { path: '/app', method: 'POST', body: 'x'.repeat(1025) });
  assert.equal(big.status, 413);
  assert.equal(b.seen.length, 1);
});

test('proxy-read-timeout: an upstream silent for longer than the seconds given answers 504', async (t) => {
  const held: Array<() => void> = [];
  const b = await startBackend(t, 'slow', (_req, res) => held.push(() => res.end('late')));
  t.after(() => {
    for (const release of held) release();
  });
  const dp = await startTestDataplane(t);
  // proxy-read-timeout: "1", proxy-connect-timeout: "3"
  const policy = policyOf({ responseTimeoutMs: 1_000, connectTimeoutMs: 3_000 });
  await dp.push(configFor(policy, { [backendKey('app')]: backend('app', [b.port]) }));
  const res = await request(dp.ports.http, { path: '/app' });
  assert.equal(res.status, 504);
  assert.equal(b.seen.length, 1);
});

test('upstream-vhost: the upstream gets that Host, for plain requests and WebSocket upgrades', async (t) => {
  const b = await startBackend(t, 'app');
  const dp = await startTestDataplane(t);
  const policy = policyOf({ upstreamHost: 'internal.example' }); // upstream-vhost
  await dp.push(configFor(policy, { [backendKey('app')]: backend('app', [b.port]) }));
  const res = await request(dp.ports.http, { path: '/app', host: 'app.example' });
  assert.equal(res.status, 200);
  assert.equal(b.seen[0].headers.host, 'internal.example');
  assert.equal(b.seen[0].headers['x-forwarded-host'], 'app.example');
  // The backend answers the upgrade with a plain 200, relayed as such: what counts is what it saw.
  const up = await rawExchange(
    dp.ports.http,
    'GET /app HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  assert.match(up.text, /^HTTP\/1\.1 200 /);
  assert.equal(b.seen.length, 2);
  assert.equal(b.seen[1].headers.host, 'internal.example');
  assert.equal(b.seen[1].headers['x-forwarded-host'], 'app.example');
});

/** Three endpoints of one backend, each answering with its own name. */
async function threeEndpoints(t: TestContext): Promise<TestBackend[]> {
  return Promise.all(['e0', 'e1', 'e2'].map((n) => startBackend(t, n)));
}

function cookieOf(
  setCookie: string[] | undefined,
  name: string,
): { value: string; line: string } | undefined {
  const line = setCookie?.find((c) => c.startsWith(`${name}=`));
  return line === undefined ? undefined : { value: line.slice(name.length + 1).split(';')[0], line };
}

test('affinity cookie (balanced): one endpoint per client, spread over clients, kept when its endpoint stays', async (t) => {
  const eps = await threeEndpoints(t);
  const dp = await startTestDataplane(t);
  const policy = policyOf({
    // affinity: cookie, session-cookie-name: route, -max-age: "3600", -samesite: Lax
    affinity: { cookie: { maxAgeSeconds: 3600, name: 'route', sameSite: 'Lax' }, mode: 'balanced' },
  });
  const all = backend(
    'app',
    eps.map((e) => e.port),
  );
  await dp.push(configFor(policy, { [backendKey('app')]: all }));

  const clients: Array<{ cookie: string; endpoint: string }> = [];
  for (let i = 0; i < 24; i++) {
    const first = await request(dp.ports.http, { path: '/app/x' });
    assert.equal(first.status, 200);
    const c = cookieOf(first.headers['set-cookie'], 'route');
    assert.ok(c, 'a client without the cookie gets one');
    assert.match(c.line, /; Path=\/app; Max-Age=3600; HttpOnly; SameSite=Lax$/);
    for (const e of eps) assert.ok(!c.value.includes(String(e.port)) && !c.value.includes('127.0.0.1'));
    clients.push({ cookie: c.value, endpoint: first.body });
    for (let j = 0; j < 5; j++) {
      const again = await request(dp.ports.http, {
        path: '/app/x',
        headers: { cookie: `a=b; route=${c.value}` },
      });
      assert.equal(again.body, first.body, 'the same endpoint on every request');
      assert.equal(
        cookieOf(again.headers['set-cookie'], 'route'),
        undefined,
        'no new cookie while it is valid',
      );
    }
  }
  assert.ok(new Set(clients.map((c) => c.endpoint)).size >= 2, 'clients are spread over endpoints');

  // e2 goes: its clients move to one remaining endpoint each; the others stay where they were.
  await dp.push(configFor(policy, { [backendKey('app')]: backend('app', [eps[0].port, eps[1].port]) }));
  for (const c of clients) {
    const a = await request(dp.ports.http, { path: '/app/x', headers: { cookie: `route=${c.cookie}` } });
    const b = await request(dp.ports.http, { path: '/app/x', headers: { cookie: `route=${c.cookie}` } });
    assert.notEqual(a.body, 'e2');
    assert.equal(a.body, b.body);
    if (c.endpoint !== 'e2') assert.equal(a.body, c.endpoint, 'clients of remaining endpoints do not move');
  }
});

test('affinity cookie (persistent): sticks to one endpoint, a new endpoint and cookie once it is gone', async (t) => {
  const eps = await threeEndpoints(t);
  const dp = await startTestDataplane(t);
  const policy = policyOf({
    // affinity: cookie, affinity-mode: persistent, session-cookie-secure: "true"
    affinity: { cookie: { name: 'INGRESSCOOKIE', secure: true }, mode: 'persistent' },
  });
  await dp.push(
    configFor(policy, {
      [backendKey('app')]: backend(
        'app',
        eps.map((e) => e.port),
      ),
    }),
  );

  const first = await request(dp.ports.http, { path: '/app' });
  const c = cookieOf(first.headers['set-cookie'], 'INGRESSCOOKIE');
  assert.ok(c);
  assert.match(c.line, /; Path=\/app; HttpOnly; Secure$/);
  for (let j = 0; j < 8; j++) {
    const again = await request(dp.ports.http, {
      path: '/app',
      headers: { cookie: `INGRESSCOOKIE=${c.value}` },
    });
    assert.equal(again.body, first.body);
    assert.equal(again.headers['set-cookie'], undefined);
  }
  // A cookie that names no endpoint (forged, or from elsewhere) gets a fresh one.
  const forged = await request(dp.ports.http, {
    path: '/app',
    headers: { cookie: 'INGRESSCOOKIE=aaaaaaaaaaaaaaaaaaaaaa' },
  });
  assert.ok(cookieOf(forged.headers['set-cookie'], 'INGRESSCOOKIE'));

  const gone = ['e0', 'e1', 'e2'].indexOf(first.body);
  const rest = eps.filter((_, i) => i !== gone).map((e) => e.port);
  await dp.push(configFor(policy, { [backendKey('app')]: backend('app', rest) }));
  const moved = await request(dp.ports.http, {
    path: '/app',
    headers: { cookie: `INGRESSCOOKIE=${c.value}` },
  });
  assert.equal(moved.status, 200);
  assert.notEqual(moved.body, first.body);
  const renewed = cookieOf(moved.headers['set-cookie'], 'INGRESSCOOKIE');
  assert.ok(renewed, 'a new cookie once the endpoint is gone');
  assert.notEqual(renewed.value, c.value);
  for (let j = 0; j < 5; j++) {
    const again = await request(dp.ports.http, {
      path: '/app',
      headers: { cookie: `INGRESSCOOKIE=${renewed.value}` },
    });
    assert.equal(again.body, moved.body);
    assert.equal(again.headers['set-cookie'], undefined);
  }
});

test('enable-access-log "false": no access log line for the route, other routes still logged', async (t) => {
  const b = await startBackend(t, 'app');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dp-'));
  writeFileSync(join(dir, 'token'), 'test-token-0123456789');
  const options = loadConfig([
    `--config-token-file=${join(dir, 'token')}`,
    '--address=127.0.0.1',
    '--config-address=127.0.0.1',
    '--ops-address=127.0.0.1',
    '--http-port=0',
    '--https-port=0',
    '--config-port=0',
    '--ops-port=0',
    '--access-log=true',
    '--drain-timeout=2s',
  ]);
  const lines: string[] = [];
  const dp = await buildDataplane(options, {
    processMetrics: false,
    log: pino({ level: 'silent' }),
    accessLogDestination: { write: (s: string) => lines.push(s) },
  }).start();
  t.after(async () => {
    await dp.drain();
    rmSync(dir, { recursive: true, force: true });
  });
  const quiet = policyOf({ accessLog: false }); // enable-access-log: "false"
  const config = makeConfig({
    virtualHosts: [
      vhost('app.example', [
        route('/quiet', weighted([['app', 1]]), { policy: quiet }),
        route('/loud', weighted([['app', 1]])),
      ]),
    ],
    backends: { [backendKey('app')]: backend('app', [b.port]) },
  });
  const put = await fetch(`http://127.0.0.1:${dp.ports.config}/v1/config`, {
    method: 'PUT',
    headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  assert.equal(put.status, 200);
  assert.equal((await request(dp.ports.http, { path: '/quiet' })).status, 200);
  assert.equal((await request(dp.ports.http, { path: '/loud' })).status, 200);
  // The later request is logged; once its line is there, the earlier one would be too.
  for (let i = 0; i < 200 && !lines.some((l) => l.includes('"/loud"')); i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(lines.some((l) => l.includes('"path":"/loud"')));
  assert.ok(!lines.some((l) => l.includes('/quiet')), lines.join(''));
});
