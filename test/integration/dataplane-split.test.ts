// Split accuracy through the real proxy: weighted round robin is exact, zero weights get
// nothing, and sticky cohorts hold their shape and only ever grow the last backend.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  sticky,
  vhost,
  weighted,
} from '../../contract/testing/fixtures.ts';
import { startBackend, startTestDataplane } from '../../dataplane/testing/net.ts';

/** Sends `count` requests with `concurrency` in flight; returns the backend name of each, in order. */
async function send(
  port: number,
  count: number,
  concurrency: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<string[]> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency });
  const out: string[] = new Array(count);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          const res = await pool.request({
            path: '/',
            method: 'GET',
            headers: { host: 'app.example', ...headers(i) },
          });
          const body = await res.body.text();
          out[i] = res.statusCode === 200 ? body : `status ${res.statusCode}`;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return out;
}

function tally(names: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const n of names) t[n] = (t[n] ?? 0) + 1;
  return t;
}

async function setup(t: import('node:test').TestContext, names: string[]) {
  const backends = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await startBackend(t, n)] as const)),
  );
  const dp = await startTestDataplane(t);
  const config = (split: ReturnType<typeof weighted>) =>
    makeConfig({
      virtualHosts: [vhost('app.example', [route('/', split)])],
      backends: Object.fromEntries(names.map((n) => [backendKey(n), backend(n, [backends[n].port])])),
    });
  return { dp, config };
}

test('90/10 over 10,000 requests lands exactly 9,000/1,000', async (t) => {
  const { dp, config } = await setup(t, ['v1', 'v2']);
  assert.equal(
    (
      await dp.push(
        config(
          weighted([
            ['v1', 90],
            ['v2', 10],
          ]),
        ),
      )
    ).status,
    200,
  );
  assert.deepEqual(tally(await send(dp.ports.http, 10_000, 32)), { v1: 9_000, v2: 1_000 });
});

test('70/30/0 over 500 requests at 10 concurrent: within 5 points, the 0 backend gets none', async (t) => {
  const { dp, config } = await setup(t, ['a', 'b', 'c']);
  await dp.push(
    config(
      weighted([
        ['a', 70],
        ['b', 30],
        ['c', 0],
      ]),
    ),
  );
  const counts = tally(await send(dp.ports.http, 500, 10));
  assert.equal(counts.c, undefined);
  assert.ok(Math.abs(counts.a / 5 - 70) <= 5, JSON.stringify(counts));
  assert.ok(Math.abs(counts.b / 5 - 30) <= 5, JSON.stringify(counts));
  assert.equal(counts.a + counts.b, 500);
});

test('sticky cohorts over 10,000 keys stay within 1 point; raising the last weight moves no key off it', async (t) => {
  const { dp, config } = await setup(t, ['v1', 'v2']);
  const byKey = (i: number) => ({ 'x-user': `user-${i}` });
  await dp.push(
    config(
      sticky(
        [
          ['v1', 80],
          ['v2', 20],
        ],
        { header: { name: 'x-user' } },
      ),
    ),
  );
  const first = await send(dp.ports.http, 10_000, 32, byKey);
  const counts = tally(first);
  assert.ok(Math.abs(counts.v1 / 100 - 80) <= 1, JSON.stringify(counts));
  assert.ok(Math.abs(counts.v2 / 100 - 20) <= 1, JSON.stringify(counts));

  // Same keys again: every one on the same backend.
  const again = await send(dp.ports.http, 1_000, 32, byKey);
  assert.deepEqual(again, first.slice(0, 1_000));

  // Raise the last backend: every key on v2 stays there; some keys from v1 join it.
  await dp.push(
    config(
      sticky(
        [
          ['v1', 80],
          ['v2', 40],
        ],
        { header: { name: 'x-user' } },
      ),
    ),
  );
  const onV2 = first.flatMap((b, i) => (b === 'v2' ? [i] : []));
  const stayed = await send(dp.ports.http, onV2.length, 32, (j) => byKey(onV2[j]));
  assert.deepEqual(tally(stayed), { v2: onV2.length });
  const onV1 = first.flatMap((b, i) => (b === 'v1' ? [i] : [])).slice(0, 2_000);
  const joined = tally(await send(dp.ports.http, onV1.length, 32, (j) => byKey(onV1[j])));
  // v2's share goes from 20% to 33.3%: about a sixth of v1's keys move to it.
  assert.ok(joined.v2 > 0 && Math.abs(joined.v2 / onV1.length - 1 / 6) <= 0.05, JSON.stringify(joined));
});
