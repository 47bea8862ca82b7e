// End to end: an Ingress with two hosts and several paths, served by two data-plane replicas
// (pods) to the right backend pods; scaling a backend up and down changes the endpoints served
// without a failed request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk } from '../../operator/testing/harness.ts';
import { echoApp, ingress, rolledOut, startStack } from '../support/stack.ts';

test('routing through two data-plane replicas', async (t) => {
  const stack = await startStack(t);
  const { c, app, cls } = stack;
  await stack.apply([
    ...echoApp('web', 'web'),
    ...echoApp('api', 'api'),
    ...echoApp('api-v2', 'api-v2'),
    ...echoApp('admin', 'admin'),
    ingress('shop', cls.className, [
      {
        host: 'shop.example.com',
        paths: [
          { path: '/', service: 'web' },
          { path: '/api', service: 'api' },
          { path: '/api/v2', service: 'api-v2' },
          { path: '/health', service: 'admin', pathType: 'Exact' },
        ],
      },
      { host: 'admin.example.com', paths: [{ path: '/', service: 'admin' }] },
    ]),
  ]);
  for (const d of ['web', 'api', 'api-v2', 'admin']) await rolledOut(stack, d, 1);

  const expected: Array<[string, string, string | number]> = [
    ['shop.example.com', '/', 'web'],
    ['shop.example.com', '/cart/items', 'web'],
    ['shop.example.com', '/api', 'api'],
    ['shop.example.com', '/api/orders', 'api'],
    ['shop.example.com', '/apiary', 'web'],
    ['shop.example.com', '/api/v2/orders', 'api-v2'],
    ['shop.example.com', '/health', 'admin'],
    ['shop.example.com', '/health/deep', 'web'],
    ['SHOP.example.com.', '/api', 'api'],
    ['admin.example.com', '/anything', 'admin'],
    ['unknown.example.com', '/', 404],
  ];

  await t.test('each host and path reaches its backend on every replica', async () => {
    const pods = await stack.dataplanePods();
    assert.equal(pods.length, 2);
    // The first answer may still race the push of the backends' endpoints: wait for it once.
    await until(
      async () => (await stack.get('admin.example.com', '/', { address: pods[1] })).text === 'admin',
      'routes served',
    );
    for (const address of pods) {
      for (const [host, path, want] of expected) {
        const r = await until(async () => {
          const got = await stack.get(host, path, { address });
          return typeof want === 'number'
            ? got.status === want
              ? got
              : undefined
            : got.text === want
              ? got
              : undefined;
        }, `${host}${path} -> ${want} on ${address}`);
        if (typeof want === 'number') assert.equal(r.status, want);
        else assert.equal(r.text, want, `${host}${path} on ${address}`);
      }
    }
    // And through the load balancer in front of both.
    assert.equal((await stack.get('shop.example.com', '/api/orders')).text, 'api');
  });

  await t.test("Ingress status shows the data plane's load-balancer address", async () => {
    const ip = await until(async () => {
      const out = await kubectlOk(c, [
        '-n',
        app,
        'get',
        'ingress',
        'shop',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      ]);
      return out.trim() || undefined;
    }, 'Ingress status');
    assert.equal(ip, stack.lb);
  });

  await t.test('scaling a backend up and down changes the endpoints without a failed request', async () => {
    let stop = false;
    const failures: string[] = [];
    const pods = new Set<string>();
    let requests = 0;
    const load = (async () => {
      while (!stop) {
        const r = await stack
          .get('shop.example.com', '/')
          .catch((err: Error) => ({ status: 0, text: undefined, pod: undefined, body: err.message }));
        requests++;
        if (r.status !== 200 || r.text !== 'web') failures.push(`${r.status} ${r.body.slice(0, 120)}`);
        else if (r.pod) pods.add(r.pod);
      }
    })();
    try {
      await kubectlOk(c, ['-n', app, 'scale', 'deployment', 'web', '--replicas=3']);
      await rolledOut(stack, 'web', 3);
      await until(() => (pods.size >= 3 ? true : undefined), 'traffic reaches all three pods');
      await kubectlOk(c, ['-n', app, 'scale', 'deployment', 'web', '--replicas=1']);
      await rolledOut(stack, 'web', 1);
      const remaining = JSON.parse(
        await kubectlOk(c, ['-n', app, 'get', 'pods', '-l', 'app=web', '-o', 'json']),
      )
        .items.filter((p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp)
        .map((p: { metadata: { name: string } }) => p.metadata.name);
      // Once the terminating pods' endpoints are gone from the config, only the remaining pod answers.
      await until(async () => {
        const after = new Set<string>();
        for (let i = 0; i < 20; i++) after.add((await stack.get('shop.example.com', '/')).pod ?? '');
        return [...after].sort().join() === [...remaining].sort().join() ? true : undefined;
      }, `only ${remaining.join()} answering`);
    } finally {
      stop = true;
      await load;
    }
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.ok(requests > 50, `enough traffic during the scaling (${requests})`);
  });
});
