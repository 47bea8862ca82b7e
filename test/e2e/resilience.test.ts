// End to end: killing the operator leaves traffic flowing; killing the leader of two fails over
// (within the 15 s lease) and the new leader serves changes; an API server restart is survived
// (watches resume and a change made afterwards is served).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk, type OperatorProcess } from '../../operator/testing/harness.ts';
import { echoApp, ingress, rolledOut, type Stack, startStack } from '../support/stack.ts';

async function leader(ops: OperatorProcess[]): Promise<OperatorProcess | undefined> {
  for (const p of ops) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const r = await p.ops('/readyz').catch(() => undefined);
    if (r?.status === 200 && (r.body as { info?: { leader?: boolean } }).info?.leader === true) return p;
  }
  return undefined;
}

/** Sends requests until stopped; collects failures. */
function steadyTraffic(stack: Stack, host: string, want: string) {
  let stop = false;
  let count = 0;
  const failures: string[] = [];
  const done = (async () => {
    while (!stop) {
      const r = await stack
        .get(host)
        .catch((err: Error) => ({ status: 0, text: undefined, body: err.message, pod: undefined }));
      count++;
      if (r.text !== want) failures.push(`${r.status} ${r.body.slice(0, 100)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { count, failures };
    },
  };
}

test('operator failures and API server restarts', async (t) => {
  const stack = await startStack(t, { operators: 2 });
  const { cls } = stack;
  await stack.apply([
    ...echoApp('web', 'web'),
    ingress('one', cls.className, [{ host: 'one.example.com', paths: [{ path: '/', service: 'web' }] }]),
  ]);
  await rolledOut(stack, 'web', 1);
  await until(async () => ((await stack.get('one.example.com')).text === 'web' ? true : undefined), 'served');

  await t.test('killing the leader of two fails over, traffic keeps flowing', async () => {
    const traffic = steadyTraffic(stack, 'one.example.com', 'web');
    const first = await until(() => leader(stack.operators), 'a leader');
    first.child.kill('SIGKILL');
    await first.exited;
    await stack.apply([
      ingress('two', cls.className, [{ host: 'two.example.com', paths: [{ path: '/', service: 'web' }] }]),
    ]);
    const second = await until(() => leader(stack.operators), 'the standby takes over');
    assert.notEqual(second, first);
    await until(
      async () => ((await stack.get('two.example.com')).text === 'web' ? true : undefined),
      'change served by the new leader',
    );
    const { count, failures } = await traffic.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${count} requests failed`);
  });

  await t.test('with no operator at all, traffic keeps flowing', async () => {
    const traffic = steadyTraffic(stack, 'one.example.com', 'web');
    for (const p of stack.operators) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        assert.equal(await p.exited, 0);
      }
    }
    await new Promise((r) => setTimeout(r, 3000));
    const { count, failures } = await traffic.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${count} requests failed`);
    assert.ok(count > 10);
    // The released Lease lets a new operator lead at once.
    const lease = JSON.parse(
      await kubectlOk(stack.c, ['-n', stack.sys, 'get', 'lease', 'sluice-operator', '-o', 'json']),
    );
    assert.equal(lease.spec.holderIdentity ?? '', '');
  });

  await t.test('an API server restart is survived: a change made afterwards is served', async () => {
    await stack.startOperator('op-after');
    await until(() => leader(stack.operators), 'a leader again');
    const traffic = steadyTraffic(stack, 'one.example.com', 'web');
    await stack.c.restartApiServer();
    await until(async () => {
      await stack.apply([
        ingress('three', cls.className, [
          { host: 'three.example.com', paths: [{ path: '/', service: 'web' }] },
        ]),
      ]);
      return true;
    }, 'apply after the restart');
    await until(
      async () => ((await stack.get('three.example.com')).text === 'web' ? true : undefined),
      'served after the restart',
      120_000,
    );
    const { count, failures } = await traffic.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${count} requests failed during the restart`);
  });
});
