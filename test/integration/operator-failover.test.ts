// Two operator processes with leader election against the real cluster: only the leader pushes;
// SIGKILL of the leader hands over within the lease duration (the 15 s default) and the new
// leader serves changes; SIGTERM releases the Lease and exits cleanly.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { closedPort, startTestDataplane } from '../../dataplane/testing/net.ts';
import {
  freshNamespace,
  singleHostIngress as ingress,
  kubectlOk,
  type OperatorProcess,
  spawnOperator,
  testIngressClass,
} from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

async function isLeader(p: OperatorProcess): Promise<boolean> {
  const r = await p.ops('/readyz').catch(() => undefined);
  return r?.status === 200 && (r.body as { info?: { leader?: boolean } }).info?.leader === true;
}

test('killing the leader hands over to the standby, which keeps serving changes', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-failover');
  const cls = await testIngressClass(t, c);
  const dp = await startTestDataplane(t);
  const flags = [
    `--kubeconfig=${c.kubeconfig}`,
    ...cls.flags,
    `--config-token-file=${join(dp.dir, 'token')}`,
    `--dataplane-endpoints=http://127.0.0.1:${dp.ports.config}`,
    `--lease-namespace=${ns}`,
    '--lease-name=sluice-operator',
    '--queue-hold-off=20ms',
  ];
  const a = spawnOperator(t, [...flags, '--identity=op-a'], await closedPort());
  await until(() => isLeader(a), 'op-a leads');
  const b = spawnOperator(t, [...flags, '--identity=op-b'], await closedPort());
  await until(async () => (await b.ops('/readyz')).status === 200, 'op-b synced (warm standby)');
  assert.equal(await isLeader(b), false);

  const routed = (host: string) => async () => {
    const res = await fetch(`http://127.0.0.1:${dp.ports.ops}/debug/explain?url=http://${host}/`);
    return res.status === 200 && ((await res.json()) as { route?: unknown }).route !== undefined;
  };
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], ingress('one', cls.className, 'one.example.com'));
  await until(routed('one.example.com'), 'leader pushed the first Ingress');

  a.child.kill('SIGKILL');
  await a.exited;
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], ingress('two', cls.className, 'two.example.com'));
  // Handed over once the lease has expired (15 s by default), then the change is pushed.
  await until(() => isLeader(b), 'op-b takes over');
  await until(routed('two.example.com'), 'the new leader pushed the change');
  const lease = JSON.parse(await kubectlOk(c, ['-n', ns, 'get', 'lease', 'sluice-operator', '-o', 'json']));
  assert.equal(lease.spec.holderIdentity, 'op-b');
  assert.ok(lease.spec.leaseTransitions >= 1);

  // A clean stop releases the Lease.
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0, b.output().slice(-2000));
  const released = JSON.parse(
    await kubectlOk(c, ['-n', ns, 'get', 'lease', 'sluice-operator', '-o', 'json']),
  );
  assert.equal(released.spec.holderIdentity ?? '', '');
  assert.match(b.output(), /"msg":"stopped"/);
});
