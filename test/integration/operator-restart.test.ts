// The operator survives an API server restart: its watches resume (or relist) and a change made
// afterwards is compiled and pushed; traffic config from before stays in place meanwhile.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { startTestDataplane } from '../../dataplane/testing/net.ts';
import {
  freshNamespace,
  singleHostIngress as ingress,
  kubectlOk,
  startTestOperator,
  testIngressClass,
} from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

test('an API server restart is survived: a change made afterwards is served', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-restart');
  const cls = await testIngressClass(t, c);
  const dp = await startTestDataplane(t);
  const op = await startTestOperator(t, c, [
    ...cls.flags,
    `--config-token-file=${join(dp.dir, 'token')}`,
    `--dataplane-endpoints=http://127.0.0.1:${dp.ports.config}`,
    '--leader-elect=false',
  ]);
  const routed = (host: string) => async () => {
    const res = await fetch(`http://127.0.0.1:${dp.ports.ops}/debug/explain?url=http://${host}/`);
    return res.status === 200 && ((await res.json()) as { route?: unknown }).route !== undefined;
  };
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], ingress('before', cls.className, 'before.example.com'));
  await until(routed('before.example.com'), 'route before the restart');

  await c.restartApiServer();
  assert.ok(await routed('before.example.com')(), 'the data plane kept its config');
  await until(
    async () =>
      (
        await c.kubectl(['-n', ns, 'apply', '-f', '-'], {
          input: ingress('after', cls.className, 'after.example.com'),
        })
      ).code === 0,
    'apply after the restart',
  );
  await until(routed('after.example.com'), 'route for the change made after the restart', 90_000);
  const restarts = await op.metrics.registry.getSingleMetricAsString('sluice_operator_watch_restarts_total');
  assert.match(restarts, /resource="ingresses"/);
});
