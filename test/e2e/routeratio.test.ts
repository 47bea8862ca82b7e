// End to end: a RouteRatio 90/10 gives the expected split through two data-plane replicas;
// `kubectl patch` to 50/50 and then 0/100 changes it; `kubectl get rr` shows the summary and
// Programmed=True for the new generation, and once it does every replica serves the new split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk } from '../../operator/testing/harness.ts';
import { routeRatio, service } from '../../operator/testing/objects.ts';
import { echoApp, ingress, rolledOut, type Stack, startStack, tally } from '../support/stack.ts';

type Json = Record<string, unknown>;

/** The `checkout` RouteRatio splitting over both versions (port 80) with these weights. */
const checkout = (v1: number, v2: number) =>
  routeRatio('checkout', {
    service: { name: 'checkout' },
    backends: [
      { name: 'checkout-v1', weight: v1 },
      { name: 'checkout-v2', weight: v2 },
    ],
  });

/** A merge patch that sets the weights. */
const weights = (v1: number, v2: number): Json => ({ spec: { backends: checkout(v1, v2).spec.backends } });

/** Waits for Programmed=True at the current generation; returns the `kubectl get rr` line. */
async function programmed(stack: Stack): Promise<{ generation: number; line: string; summary: string }> {
  return until(async () => {
    const rr = JSON.parse(await kubectlOk(stack.c, ['-n', stack.app, 'get', 'rr', 'checkout', '-o', 'json']));
    const gen = rr.metadata.generation as number;
    const ok = (rr.status?.conditions ?? []).some(
      (c: Json) => c.type === 'Programmed' && c.status === 'True' && c.observedGeneration === gen,
    );
    if (!ok || rr.status?.observedGeneration !== gen) return undefined;
    const line = (
      await kubectlOk(stack.c, ['-n', stack.app, 'get', 'rr', 'checkout', '--no-headers'])
    ).trim();
    return { generation: gen, line, summary: rr.status.summary as string };
  }, 'Programmed=True for the current generation');
}

const within = (count: number | undefined, total: number, percent: number, points: number) =>
  Math.abs(((count ?? 0) / total) * 100 - percent) <= points;

test('canary rollout with a RouteRatio', async (t) => {
  const stack = await startStack(t);
  const { c, app, cls } = stack;
  await stack.apply([
    ...echoApp('checkout-v1', 'v1', 1, { 'app.kubernetes.io/part-of': 'checkout' }),
    ...echoApp('checkout-v2', 'v2', 1, { 'app.kubernetes.io/part-of': 'checkout' }),
    service('checkout', {
      selector: { 'app.kubernetes.io/part-of': 'checkout' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }) as Json,
    ingress('shop', cls.className, [
      { host: 'shop.example.com', paths: [{ path: '/', service: 'checkout' }] },
    ]),
    checkout(90, 10) as unknown as Json,
  ]);
  await rolledOut(stack, 'checkout-v1', 1);
  await rolledOut(stack, 'checkout-v2', 1);

  await t.test('90/10', async () => {
    const p = await programmed(stack);
    assert.equal(p.summary, 'checkout-v1=90% checkout-v2=10%');
    assert.match(p.line, /^checkout\s+checkout\s+checkout-v1=90% checkout-v2=10%\s+True\s/);
    // Endpoints of both backends are in place once the backends report ready endpoints.
    await until(async () => {
      const rr = JSON.parse(await kubectlOk(c, ['-n', app, 'get', 'rr', 'checkout', '-o', 'json']));
      return rr.status.backends.every((b: Json) => b.readyEndpoints === 1) ? true : undefined;
    }, 'ready endpoints in status');
    await programmed(stack);
    const counts = await tally(stack, 'shop.example.com', 400, { concurrency: 8 });
    assert.ok(within(counts.v1, 400, 90, 5) && within(counts.v2, 400, 10, 5), JSON.stringify(counts));
    assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 400, JSON.stringify(counts));
  });

  /** The canary rollout step a user takes: `kubectl patch rr checkout --type merge -p ...`. */
  const setWeights = (v1: number, v2: number) =>
    kubectlOk(c, [
      '-n',
      app,
      'patch',
      'rr',
      'checkout',
      '--type',
      'merge',
      '-p',
      JSON.stringify(weights(v1, v2)),
    ]);

  await t.test('kubectl patch to 50/50', async () => {
    await setWeights(50, 50);
    const p = await programmed(stack);
    assert.equal(p.generation, 2);
    assert.match(p.line, /checkout-v1=50% checkout-v2=50%\s+True/);
    // Programmed means every replica serves it: no waiting needed now.
    for (const address of await stack.dataplanePods()) {
      const counts = await tally(stack, 'shop.example.com', 100, { address, concurrency: 1 });
      assert.deepEqual(counts, { v1: 50, v2: 50 }, `replica ${address}`);
    }
  });

  await t.test('and to 0/100', async () => {
    await setWeights(0, 100);
    const p = await programmed(stack);
    assert.equal(p.generation, 3);
    assert.match(p.line, /checkout-v1=0% checkout-v2=100%\s+True/);
    const counts = await tally(stack, 'shop.example.com', 200, { concurrency: 8 });
    assert.deepEqual(counts, { v2: 200 });
  });
});
