// CORS over real sockets: preflights answered here with ingress-nginx's headers, actual requests
// with the headers added to the upstream's answer, origins matched whole (one-label wildcards,
// case-insensitive), and nothing at all for an origin that is not allowed.

import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import type { CorsPolicy } from '../../contract/types.ts';
import {
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
  type TestBackend,
  type TestDataplane,
} from '../testing/net.ts';

const DEFAULTS: CorsPolicy = {
  allowCredentials: true,
  allowHeaders:
    'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
  allowMethods: 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
  allowOrigins: ['*'],
  maxAgeSeconds: 1728000,
};

async function serving(
  t: TestContext,
  cors: Partial<CorsPolicy>,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ dp: TestDataplane; be: TestBackend }> {
  const be = await startBackend(t, 'app', handler);
  const dp = await startTestDataplane(t);
  const res = await dp.push(simpleConfig('app.example', [be.port], { cors: { ...DEFAULTS, ...cors } }));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { dp, be };
}

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'PUT',
    'access-control-request-headers': 'content-type',
  },
});

function corsHeaders(headers: http.IncomingHttpHeaders): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('access-control-')));
}

describe('CORS', () => {
  test("defaults (origin *): a preflight is answered 204 here with ingress-nginx's headers", async (t) => {
    const { dp, be } = await serving(t, {});
    const res = await request(dp.ports.http, preflight('https://any.example.net'));
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.deepEqual(corsHeaders(res.headers), {
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': DEFAULTS.allowMethods,
      'access-control-allow-headers': DEFAULTS.allowHeaders,
      'access-control-max-age': '1728000',
    });
    assert.equal(be.seen.length, 0, 'the preflight never reaches the backend');
    // On the wire: no body bytes after the head, content-length 0.
    const raw = await rawExchange(
      dp.ports.http,
      'OPTIONS / HTTP/1.1\r\nHost: app.example\r\nOrigin: https://a.example\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n',
    );
    assert.match(raw.text, /^HTTP\/1\.1 204 /);
    assert.match(raw.text, /\r\ncontent-length: 0\r\n/i);
    assert.ok(raw.text.endsWith('\r\n\r\n'), 'nothing after the head');
  });

  test('defaults: an actual request gets the headers on the backend answer, Origin or not', async (t) => {
    const { dp, be } = await serving(t, {});
    const withOrigin = await request(dp.ports.http, { headers: { origin: 'https://a.example' } });
    assert.equal(withOrigin.status, 200);
    assert.equal(withOrigin.body, 'app');
    assert.equal(withOrigin.headers['access-control-allow-origin'], '*');
    assert.equal(withOrigin.headers['access-control-max-age'], '1728000');
    const without = await request(dp.ports.http);
    assert.equal(without.headers['access-control-allow-origin'], '*', 'as nginx, also without Origin');
    // OPTIONS that is not a preflight (no Access-Control-Request-Method) goes to the backend.
    const options = await request(dp.ports.http, {
      method: 'OPTIONS',
      headers: { origin: 'https://a.example' },
    });
    assert.equal(options.status, 200);
    assert.equal(options.headers['access-control-allow-origin'], '*');
    assert.equal(be.seen.length, 3);
  });

  test('listed origins: echoed when allowed (whole, case-insensitive, one-label wildcard)', async (t) => {
    const { dp } = await serving(t, {
      allowOrigins: ['https://app.example.com', 'https://*.example.org:8443'],
      allowCredentials: false,
      exposeHeaders: 'X-Request-Id, *',
    });
    const allowed = ['https://app.example.com', 'HTTPS://App.Example.COM', 'https://a-1.example.org:8443'];
    for (const origin of allowed) {
      const res = await request(dp.ports.http, { headers: { origin } });
      assert.equal(res.headers['access-control-allow-origin'], origin, origin);
      assert.equal(res.headers['access-control-expose-headers'], 'X-Request-Id, *');
      assert.equal(res.headers['access-control-allow-credentials'], undefined, 'credentials off');
      const pre = await request(dp.ports.http, preflight(origin));
      assert.equal(pre.status, 204, origin);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.equal(pre.headers.vary, 'Origin');
    }
    const refused = [
      'https://app.example.com.evil.net',
      'https://evilapp.example.com',
      'http://app.example.com',
      'https://app.example.com:444',
      'https://a.b.example.org:8443',
      'https://example.org:8443',
      'https://.example.org:8443',
      'https://x.example.org',
      'null',
    ];
    for (const origin of refused) {
      const res = await request(dp.ports.http, { headers: { origin } });
      assert.equal(res.status, 200, origin);
      assert.deepEqual(corsHeaders(res.headers), {}, origin);
    }
    const noOrigin = await request(dp.ports.http);
    assert.deepEqual(corsHeaders(noOrigin.headers), {}, 'no Origin, no headers');
  });

  test('a preflight from an origin not allowed is not answered here and gets no CORS headers', async (t) => {
    const { dp, be } = await serving(t, { allowOrigins: ['https://app.example.com'] });
    const res = await request(dp.ports.http, preflight('https://evil.example.com'));
    assert.equal(res.status, 200, 'the backend answered');
    assert.deepEqual(corsHeaders(res.headers), {});
    assert.equal(be.seen.length, 1);
    assert.equal(be.seen[0].method, 'OPTIONS');
  });

  test("the upstream's own CORS headers are replaced, not doubled", async (t) => {
    const { dp } = await serving(t, { allowOrigins: ['https://app.example.com'] }, (_req, res) => {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-max-age', '5');
      res.end('own');
    });
    const res = await request(dp.ports.http, { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.body, 'own');
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(res.headers['access-control-max-age'], '1728000');
  });

  test('with a redirect on the route, a preflight is answered first, as in nginx; others are redirected', async (t) => {
    const be = await startBackend(t, 'app');
    const dp = await startTestDataplane(t);
    const policy = { cors: DEFAULTS, redirect: { code: 301, url: 'https://new.example.com/' } };
    assert.equal((await dp.push(simpleConfig('app.example', [be.port], policy))).status, 200);
    assert.equal((await request(dp.ports.http, preflight('https://a.example'))).status, 204);
    const res = await request(dp.ports.http, { headers: { origin: 'https://a.example' } });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://new.example.com/');
    assert.equal(be.seen.length, 0);
  });
});
