import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build as buildOps } from '../runtime/ops.ts';
import { createMetrics } from './metrics.ts';

test('healthz, readyz with reasons, metrics', async (t) => {
  const metrics = createMetrics();
  let reasons = ['informer cache /apis/networking.k8s.io/v1/ingresses not synced'];
  const ops = buildOps({
    registry: metrics.registry,
    checks: { informers: () => reasons.join('; ') || undefined },
  });
  t.after(() => ops.close());
  assert.deepEqual((await ops.inject('/healthz')).json(), { status: 'ok' });
  const notReady = await ops.inject('/readyz');
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().status, 'unready');
  assert.match(notReady.json().checks.informers, /informer cache .* not synced/);
  reasons = [];
  assert.equal((await ops.inject('/readyz')).statusCode, 200);
  metrics.admissions.inc({ resource: 'ingress', operation: 'CREATE', result: 'denied' });
  const m = await ops.inject('/metrics');
  assert.equal(m.statusCode, 200);
  assert.match(m.headers['content-type'] as string, /text\/plain/);
  assert.match(
    m.body,
    /sluice_webhook_admission_requests_total\{resource="ingress",operation="CREATE",result="denied"\} 1/,
  );
  assert.match(m.body, /sluice_webhook_process_cpu_seconds_total/);
});
