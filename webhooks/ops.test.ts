import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from './metrics.ts';
import { buildOps } from './ops.ts';

test('healthz, readyz with reasons, metrics', async (t) => {
  const metrics = createMetrics();
  let reasons = ['informer cache /apis/networking.k8s.io/v1/ingresses not synced'];
  const ops = buildOps({ registry: metrics.registry, notReady: () => reasons });
  t.after(() => ops.close());
  assert.equal((await ops.inject('/healthz')).body, 'ok\n');
  const notReady = await ops.inject('/readyz');
  assert.equal(notReady.statusCode, 503);
  assert.match(notReady.body, /not ready:\n- informer cache .* not synced/);
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
