// Leader election on a real Lease: one leader at a time, hand-over on release, and a leader that
// can no longer renew steps down.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { KubeClient } from '../../operator/kube/client.ts';
import { LeaderElector } from '../../operator/leader.ts';
import { freshNamespace } from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

const fast = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };

test('one leader at a time; a released Lease is taken over at once', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-leader');
  const client = new KubeClient(c.kc);
  t.after(() => client.close());
  const name = `lease-${randomBytes(3).toString('hex')}`;
  const log: string[] = [];
  const elector = (identity: string) =>
    new LeaderElector({
      client,
      namespace: ns,
      name,
      identity,
      ...fast,
      onStartedLeading: () => log.push(`${identity} leads`),
      onStoppedLeading: () => log.push(`${identity} stops`),
    });
  const a = elector('a');
  const b = elector('b');
  t.after(() => Promise.all([a.stop(), b.stop()]));
  a.start();
  await until(() => a.isLeader, 'a leads');
  b.start();
  // b keeps trying for several retry periods and never gets it while a renews.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(b.isLeader, false);
  const lease = await c.kubectl(['-n', ns, 'get', 'lease', name, '-o', 'json']);
  const spec = JSON.parse(lease.stdout).spec;
  assert.equal(spec.holderIdentity, 'a');
  assert.equal(spec.leaseDurationSeconds, 3);
  assert.match(spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

  await a.stop({ release: true });
  assert.equal(a.isLeader, false);
  await until(() => b.isLeader, 'b takes over');
  assert.deepEqual(log, ['a leads', 'a stops', 'b leads']);
  const after = JSON.parse((await c.kubectl(['-n', ns, 'get', 'lease', name, '-o', 'json'])).stdout).spec;
  assert.equal(after.holderIdentity, 'b');
  assert.equal(after.leaseTransitions, 1);
});

test('a leader that cannot renew steps down; another takes over after the lease expires', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-leader');
  const client = new KubeClient(c.kc);
  t.after(() => client.close());
  const name = `lease-${randomBytes(3).toString('hex')}`;
  // The leader's client loses its credentials: renewals fail from then on.
  const brokenClient = new KubeClient(c.kc);
  t.after(() => brokenClient.close());
  let broken = false;
  const original = brokenClient.request.bind(brokenClient);
  brokenClient.request = (async (method: string, path: string, opts?: object) => {
    if (broken) throw new Error('connection refused');
    return original(method, path, opts);
  }) as typeof brokenClient.request;
  const a = new LeaderElector({ client: brokenClient, namespace: ns, name, identity: 'a', ...fast });
  const b = new LeaderElector({ client, namespace: ns, name, identity: 'b', ...fast });
  t.after(() => Promise.all([a.stop({ release: false }), b.stop()]));
  a.start();
  await until(() => a.isLeader, 'a leads');
  b.start();
  broken = true;
  await until(() => !a.isLeader, 'a steps down');
  assert.equal(b.isLeader, false, 'the lease has not expired yet when a steps down');
  await until(() => b.isLeader, 'b takes over');
  assert.equal(a.isLeader, false);
});
