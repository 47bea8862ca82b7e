// Redirects over real sockets: a route's fixed redirect (code and Location exactly as configured,
// for plain requests and WebSocket upgrades) and the HTTPS redirect that force-ssl-redirect turns
// on for a host without TLS, which a trusted proxy's X-Forwarded-Proto: https satisfies.

import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  simpleConfig,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import type { RoutePolicy } from '../../contract/types.ts';
import {
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
  type TestBackend,
  type TestDataplane,
} from '../testing/net.ts';

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

describe('redirects', () => {
  test('permanent redirect: 301 with the URL as written, the request path not appended', async (t) => {
    const url = 'https://new.example.com/landing?from=old&x=%2F';
    const { dp, be } = await serving(t, { redirect: { code: 301, url } });
    for (const method of ['GET', 'POST', 'HEAD']) {
      const res = await request(dp.ports.http, {
        method,
        path: '/some/page?q=1',
        body: method === 'POST' ? 'x' : undefined,
      });
      assert.equal(res.status, 301, method);
      assert.equal(res.headers.location, url, method);
    }
    assert.equal(be.seen.length, 0, 'the backend is never asked');
  });

  test('the configured code is used (302, 307, 308)', async (t) => {
    for (const code of [302, 307, 308]) {
      const { dp } = await serving(t, { redirect: { code, url: 'http://maintenance.example.com' } });
      const res = await request(dp.ports.http);
      assert.equal(res.status, code);
      assert.equal(res.headers.location, 'http://maintenance.example.com');
    }
  });

  test('a WebSocket upgrade gets the redirect too', async (t) => {
    const { dp, be } = await serving(t, { redirect: { code: 301, url: 'https://new.example.com/ws' } });
    const res = await rawExchange(
      dp.ports.http,
      'GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      500,
    );
    assert.match(res.text, /^HTTP\/1\.1 301 /);
    assert.match(res.text, /\r\nlocation: https:\/\/new\.example\.com\/ws\r\n/i);
    assert.equal(be.seen.length, 0);
  });

  test('www redirect: 308 to the other name with path and query, one trailing slash dropped', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--trusted-proxies=127.0.0.1/32']);
    const push = await dp.push(
      simpleConfig('app.example', [be.port], { wwwRedirect: { code: 308, host: 'example.org' } }),
    );
    assert.equal(push.status, 200, JSON.stringify(push.body));
    const cases: Array<[string, string]> = [
      ['/', 'http://example.org'],
      ['/a/b/', 'http://example.org/a/b'],
      ['/a/b/?q=1&r=%20', 'http://example.org/a/b/?q=1&r=%20'],
      ['/p?x=/', 'http://example.org/p?x='],
      ['/only', 'http://example.org/only'],
    ];
    for (const [path, location] of cases) {
      for (const method of ['GET', 'POST']) {
        const res = await request(dp.ports.http, { method, path, body: method === 'POST' ? 'x' : undefined });
        assert.equal(res.status, 308, `${method} ${path}`);
        assert.equal(res.headers.location, location, `${method} ${path}`);
      }
    }
    // The scheme is the client's, as a trusted proxy reports it.
    const viaProxy = await request(dp.ports.http, { path: '/x', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(viaProxy.status, 308);
    assert.equal(viaProxy.headers.location, 'https://example.org/x');
    const upgrade = await rawExchange(
      dp.ports.http,
      'GET /ws?a=1 HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      500,
    );
    assert.match(upgrade.text, /^HTTP\/1\.1 308 /);
    assert.match(upgrade.text, /\r\nlocation: http:\/\/example\.org\/ws\?a=1\r\n/i);
    assert.equal(be.seen.length, 0, 'the backend is never asked');
  });

  test('a forced HTTPS redirect on a host without TLS: 308 to the same host, path and query', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t, ['--trusted-proxies=127.0.0.1/32']);
    const config = makeConfig({
      virtualHosts: [vhost('app.example', [route('/', weighted([['app', 1]]), { httpsRedirect: true })])],
      backends: { [backendKey('app')]: backend('app', [be.port]) },
    });
    assert.equal((await dp.push(config)).status, 200);
    const res = await request(dp.ports.http, { path: '/a/b/?q=1&r=%20' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, 'https://app.example/a/b/?q=1&r=%20');
    // TLS ended in front: the proxy says the client spoke HTTPS, so the request goes through.
    const viaProxy = await request(dp.ports.http, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(viaProxy.status, 200);
    assert.equal(be.seen.length, 1);
  });
});
