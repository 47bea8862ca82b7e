// Hitless config swaps: while 32 requests are always in flight, 200 config versions are pushed.
// Not one request may fail, and each must be routed by a single applied version: version i sends
// traffic to backend i only, so the backend that answered names the version that routed it, and
// that version must have been current at some moment while the request was in flight.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { backend, backendKey, makeConfig, route, vhost, weighted } from '../../contract/testing/fixtures.ts';
import { startBackend, startTestDataplane } from '../../dataplane/testing/net.ts';

const VERSIONS = 200;
const CONCURRENCY = 32;

test('200 config pushes under 32 concurrent requests: zero failures, none half-applied', async (t) => {
  const servers = await Promise.all(Array.from({ length: VERSIONS }, (_, i) => startBackend(t, String(i))));
  const configFor = (i: number) =>
    makeConfig({
      virtualHosts: [
        vhost('app.example', [route('/', weighted([[`v${i}`, 1]]))]),
        vhost('*.app.example', [route('/', weighted([[`v${i}`, 1]]))]),
      ],
      backends: { [backendKey(`v${i}`)]: backend(`v${i}`, [servers[i].port]) },
    });
  const dp = await startTestDataplane(t);
  assert.equal((await dp.push(configFor(0))).status, 200);

  // Versions whose PUT has been answered (applied) and whose PUT has been sent (may be applied).
  let applied = 0;
  let sent = 0;
  let pushing = true;
  const failures: string[] = [];
  const inconsistent: string[] = [];
  let total = 0;
  let spanning = 0;

  const pool = new Pool(`http://127.0.0.1:${dp.ports.http}`, { connections: CONCURRENCY });
  t.after(() => pool.close());
  const client = async (n: number) => {
    let k = 0;
    while (pushing) {
      const lo = applied;
      const host = k++ % 2 === 0 ? 'app.example' : `c${n}.app.example`;
      try {
        const res = await pool.request({ path: `/r${n}`, method: 'GET', headers: { host } });
        const body = await res.body.text();
        const hi = sent;
        total++;
        if (hi > lo) spanning++;
        if (res.statusCode !== 200) {
          failures.push(`status ${res.statusCode}: ${body.trim()}`);
          continue;
        }
        const version = Number(body);
        if (!(version >= lo && version <= hi))
          inconsistent.push(`answered by v${version}, in flight during v${lo}..v${hi}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: CONCURRENCY }, (_, n) => client(n));

  for (let i = 1; i < VERSIONS; i++) {
    sent = i;
    const res = await dp.push(configFor(i));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    applied = i;
  }
  // Let the clients run on the last version for a moment, then stop them.
  await new Promise((r) => setTimeout(r, 100));
  pushing = false;
  await Promise.all(clients);

  assert.deepEqual(failures, []);
  assert.deepEqual(inconsistent, []);
  // The test means something only if requests really were in flight across swaps.
  assert.ok(spanning >= VERSIONS / 2, `only ${spanning} of ${total} requests overlapped a push`);
  // Endpoint pools of replaced versions are closed once their last request is done.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(dp.metrics.registry.getSingleMetric('sluice_upstream_endpoints') !== undefined, true);
  const endpoints = (await dp.metrics.registry.getSingleMetricAsString('sluice_upstream_endpoints'))
    .trim()
    .split('\n')
    .at(-1);
  assert.equal(endpoints, 'sluice_upstream_endpoints 1');
});
