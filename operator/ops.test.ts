import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build as buildOps } from '../runtime/ops.ts';
import { createMetrics } from './metrics.ts';

test('/readyz follows the sync state; /healthz and /metrics answer', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  let reason: string | undefined = 'waiting for the first list of ingresses';
  const app = buildOps({
    registry: metrics.registry,
    checks: { informers: () => reason },
    info: () => ({ leader: true }),
  });
  t.after(() => app.close());
  const notReady = await app.inject('/readyz');
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().status, 'unready');
  assert.match(notReady.json().checks.informers, /ingresses/);
  reason = undefined;
  const ready = await app.inject('/readyz');
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'ok', checks: { informers: 'ok' }, info: { leader: true } });
  assert.equal((await app.inject('/healthz')).statusCode, 200);
  metrics.reconciles.inc({ result: 'pushed' });
  metrics.watchRestarts.inc({ resource: 'ingresses', reason: 'gone' });
  const m = await app.inject('/metrics');
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /sluice_operator_reconciles_total\{result="pushed"\} 1/);
  assert.match(m.body, /sluice_operator_watch_restarts_total\{resource="ingresses",reason="gone"\} 1/);
  assert.match(m.body, /sluice_operator_compile_seconds_bucket/);
  assert.match(m.body, /sluice_operator_queue_depth 0/);
});
