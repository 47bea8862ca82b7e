// Source-range access lists over real sockets: the client address after trusted proxies, deny
// before allow, IPv4 and IPv6 clients, and WebSocket upgrades refused like plain requests.

import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import type { RoutePolicy } from '../../contract/types.ts';
import {
  type HttpResult,
  rawExchange,
  request,
  startBackend,
  startTestDataplane,
  type TestBackend,
  type TestDataplane,
} from '../testing/net.ts';
import { startWebSocketEcho } from '../testing/websocket.ts';

async function serving(
  t: TestContext,
  sourceRanges: NonNullable<RoutePolicy['sourceRanges']>,
  flags: string[] = [],
): Promise<{ dp: TestDataplane; be: TestBackend }> {
  const be = await startBackend(t, 'app');
  const dp = await startTestDataplane(t, flags);
  const res = await dp.push(simpleConfig('app.example', [be.port], { sourceRanges }));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { dp, be };
}

/** A request over IPv6 loopback (the shared helper speaks IPv4). */
function request6(port: number): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '::1', port, path: '/', headers: { host: 'app.example' }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const upgrade = (xff = '') =>
  'GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${xff}\r\n`;

describe('source ranges', () => {
  test('an address inside the allow list passes; outside it gets 403 and the backend sees nothing', async (t) => {
    const inside = await serving(t, { allow: ['127.0.0.0/8'] });
    assert.equal((await request(inside.dp.ports.http)).status, 200);
    const outside = await serving(t, { allow: ['10.0.0.0/8', '2001:db8::/32'] });
    const res = await request(outside.dp.ports.http);
    assert.equal(res.status, 403);
    assert.equal(outside.be.seen.length, 0);
  });

  test('deny is checked before allow, as nginx lists deny entries first', async (t) => {
    const { dp, be } = await serving(t, { allow: ['127.0.0.0/8'], deny: ['127.0.0.1/32'] });
    assert.equal((await request(dp.ports.http)).status, 403);
    assert.equal(be.seen.length, 0);
    const other = await serving(t, { deny: ['10.0.0.0/8'] });
    assert.equal((await request(other.dp.ports.http)).status, 200, 'a deny list alone lets others through');
  });

  test("a trusted proxy's X-Forwarded-For names the client; an untrusted peer's is ignored", async (t) => {
    const trusted = await serving(t, { allow: ['203.0.113.0/24'] }, ['--trusted-proxies=127.0.0.1/32']);
    const port = trusted.dp.ports.http;
    assert.equal((await request(port, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 200);
    assert.equal((await request(port, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 403);
    // An IPv4 client written as IPv4-mapped IPv6 is the same client.
    assert.equal((await request(port, { headers: { 'x-forwarded-for': '::ffff:203.0.113.9' } })).status, 200);
    assert.equal(trusted.be.seen.length, 2);

    const untrusted = await serving(t, { allow: ['203.0.113.0/24'] });
    const spoofed = await request(untrusted.dp.ports.http, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(spoofed.status, 403, 'a header from an untrusted peer does not open the list');
  });

  test('IPv6 clients: on an IPv6 listener and through a trusted proxy', async (t) => {
    const onV6 = await serving(t, { allow: ['::1/128'] }, ['--address=::1']);
    assert.equal((await request6(onV6.dp.ports.http)).status, 200);
    const refused = await serving(t, { allow: ['2001:db8::/32', '127.0.0.0/8'] }, ['--address=::1']);
    assert.equal((await request6(refused.dp.ports.http)).status, 403, '::1 is not 127.0.0.1');

    const proxied = await serving(t, { allow: ['0.0.0.0/0'], deny: ['2001:db8:bad::/48'] }, [
      '--trusted-proxies=127.0.0.1/32',
    ]);
    const port = proxied.dp.ports.http;
    assert.equal((await request(port, { headers: { 'x-forwarded-for': '2001:db8:bad::7' } })).status, 403);
    // An allow list of IPv4 ranges only does not let an IPv6 client in.
    assert.equal((await request(port, { headers: { 'x-forwarded-for': '2001:db8:600d::7' } })).status, 403);
    const v6ok = await serving(t, { allow: ['2001:db8::/32'], deny: ['2001:db8:bad::/48'] }, [
      '--trusted-proxies=127.0.0.1/32',
    ]);
    const v6port = v6ok.dp.ports.http;
    assert.equal((await request(v6port, { headers: { 'x-forwarded-for': '2001:DB8:600D::7' } })).status, 200);
    assert.equal((await request(v6port, { headers: { 'x-forwarded-for': '2001:db8:bad::1' } })).status, 403);
  });

  test('a WebSocket upgrade from a denied address is refused before reaching the backend', async (t) => {
    const ws = await startWebSocketEcho(t);
    const dp = await startTestDataplane(t, ['--trusted-proxies=127.0.0.1/32']);
    const res = await dp.push(
      simpleConfig('app.example', [ws.port], { sourceRanges: { deny: ['198.51.100.0/24'] } }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const denied = await rawExchange(dp.ports.http, upgrade('X-Forwarded-For: 198.51.100.4\r\n'), 500);
    assert.match(denied.text, /^HTTP\/1\.1 403 /);
    assert.equal(ws.upgrades.length, 0);
    const allowed = await rawExchange(dp.ports.http, upgrade('X-Forwarded-For: 203.0.113.4\r\n'), 500);
    assert.match(allowed.text, /^HTTP\/1\.1 101 /);
    assert.equal(ws.upgrades.length, 1);
  });

  test('a list entry the data plane cannot take refuses everyone (never open)', async (t) => {
    // 1.2.3.4/99 fits the schema's characters but is no subnet: the step must fail closed.
    const { dp, be } = await serving(t, { allow: ['127.0.0.0/8', '1.2.3.4/99'] });
    assert.equal((await request(dp.ports.http)).status, 403);
    assert.equal(be.seen.length, 0);
  });
});
