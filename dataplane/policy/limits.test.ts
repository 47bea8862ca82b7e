// Rate and connection limits over real sockets. Rates are per minute and low, so the bucket leaks
// less than one request while a test runs: the counts asserted do not depend on timing.

import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import type { LimitsPolicy, RoutePolicy } from '../../contract/types.ts';
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
  limits: LimitsPolicy,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  flags: string[] = [],
): Promise<{ dp: TestDataplane; be: TestBackend }> {
  const be = await startBackend(t, 'app', handler);
  const dp = await startTestDataplane(t, flags);
  const policy: Partial<RoutePolicy> = { limits };
  const res = await dp.push(simpleConfig('app.example', [be.port], policy));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { dp, be };
}

async function statuses(port: number, n: number, headers: http.OutgoingHttpHeaders = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(port, { headers })).status);
  return out;
}

/** Polls until `check` holds; the limit only bounds a failing test, it measures nothing. */
async function until(what: string, check: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rate limits', () => {
  test('burst + 1 requests pass at once, then 503 (nginx limit_req with nodelay)', async (t) => {
    const { dp, be } = await serving(t, { exempt: [], rates: [{ burst: 4, per: 'minute', rate: 1 }] });
    const codes = await statuses(dp.ports.http, 8);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 503, 503, 503]);
    assert.equal(be.seen.length, 5, 'refused requests never reach the backend');
  });

  test('the tighter of two rates applies, and a refused request is not counted', async (t) => {
    const { dp } = await serving(t, {
      exempt: [],
      rates: [
        { burst: 2, per: 'minute', rate: 1 },
        { burst: 50, per: 'second', rate: 10 },
      ],
    });
    assert.deepEqual(await statuses(dp.ports.http, 5), [200, 200, 200, 503, 503]);
  });

  test('clients are counted apart (address after trusted proxies), and exempt CIDRs pass', async (t) => {
    const { dp } = await serving(
      t,
      { exempt: ['203.0.113.0/24'], rates: [{ burst: 0, per: 'minute', rate: 1 }] },
      undefined,
      ['--trusted-proxies=127.0.0.1/32'],
    );
    const port = dp.ports.http;
    assert.deepEqual(await statuses(port, 2, { 'x-forwarded-for': '198.51.100.1' }), [200, 503]);
    assert.deepEqual(await statuses(port, 2, { 'x-forwarded-for': '198.51.100.2' }), [200, 503]);
    assert.deepEqual(await statuses(port, 4, { 'x-forwarded-for': '203.0.113.9' }), [200, 200, 200, 200]);
  });

  test('the counters survive a config push that keeps the limits', async (t) => {
    const limits: LimitsPolicy = { exempt: [], rates: [{ burst: 1, per: 'minute', rate: 1 }] };
    const { dp, be } = await serving(t, limits);
    assert.deepEqual(await statuses(dp.ports.http, 2), [200, 200]);
    // Another route setting changes, the limits do not.
    const res = await dp.push(simpleConfig('app.example', [be.port], { limits, maxBodyBytes: 2048 }));
    assert.equal(res.status, 200);
    assert.deepEqual(await statuses(dp.ports.http, 1), [503]);
  });

  test('a WebSocket upgrade counts like a request', async (t) => {
    const { dp } = await serving(t, { exempt: [], rates: [{ burst: 0, per: 'minute', rate: 1 }] });
    assert.deepEqual(await statuses(dp.ports.http, 1), [200]);
    const res = await rawExchange(
      dp.ports.http,
      'GET /chat HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(res.text, /^HTTP\/1\.1 503 /);
  });
});

describe('connection limits', () => {
  test('requests in progress above the limit get 503; exempt clients and finished requests free slots', async (t) => {
    const held: http.ServerResponse[] = [];
    const { dp } = await serving(
      t,
      { connections: 2, exempt: ['203.0.113.0/24'], rates: [] },
      (_req, res) => {
        held.push(res);
      },
      ['--trusted-proxies=127.0.0.1/32'],
    );
    const port = dp.ports.http;
    const a = request(port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    const b = request(port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    await until('two requests held by the backend', () => held.length === 2);
    const third = await request(port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    assert.equal(third.status, 503);
    // Another client, and an exempt one, are not affected.
    const other = request(port, { headers: { 'x-forwarded-for': '198.51.100.2' } });
    const exempt = [1, 2, 3].map(() => request(port, { headers: { 'x-forwarded-for': '203.0.113.5' } }));
    await until('the other and exempt requests held', () => held.length === 6);
    for (const res of held.splice(0)) res.end('done');
    assert.deepEqual(
      (await Promise.all([a, b, other, ...exempt])).map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    // Finished requests released their slots.
    const again = request(port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
    let settled: number | undefined;
    void again.then((r) => (settled = r.status));
    await until('held again', () => held.length === 1 || settled !== undefined);
    assert.equal(settled, undefined, `answered without reaching the backend: ${settled}`);
    held[0].end('x');
    assert.equal((await again).status, 200);
  });
});
