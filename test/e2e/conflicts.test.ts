// End to end: conflicting Ingresses created while no webhook runs. The older keeps the traffic,
// the newer gets a Warning Event; a host owned by another namespace cannot be taken over.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk } from '../../operator/testing/harness.ts';
import { echoApp, ingress, list, rolledOut, startStack } from '../support/stack.ts';

interface EventList {
  items: Array<{ type: string; reason: string; message?: string; reportingComponent?: string }>;
}

test('conflicting Ingresses', async (t) => {
  const stack = await startStack(t);
  const { c, app, cls } = stack;
  await stack.apply([
    ...echoApp('old-app', 'old'),
    ...echoApp('new-app', 'new'),
    ingress('older', cls.className, [{ host: 'c.example.com', paths: [{ path: '/', service: 'old-app' }] }]),
  ]);
  await rolledOut(stack, 'old-app', 1);
  await rolledOut(stack, 'new-app', 1);
  await until(
    async () => ((await stack.get('c.example.com')).text === 'old' ? true : undefined),
    'older served',
  );

  await t.test('the older Ingress keeps the route; the newer gets a Warning Event', async () => {
    await stack.apply([
      ingress('newer', cls.className, [
        { host: 'c.example.com', paths: [{ path: '/', service: 'new-app' }] },
        { host: 'n.example.com', paths: [{ path: '/', service: 'new-app' }] },
      ]),
    ]);
    // The newer Ingress's other, unconflicted rule is served: so its compile has happened.
    await until(
      async () => ((await stack.get('n.example.com')).text === 'new' ? true : undefined),
      'newer compiled',
    );
    const events = await until(async () => {
      const out = JSON.parse(
        await kubectlOk(c, [
          '-n',
          app,
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=newer',
          '-o',
          'json',
        ]),
      ) as EventList;
      return out.items.length > 0 ? out.items : undefined;
    }, 'a Warning Event for the newer Ingress');
    assert.equal(events[0].type, 'Warning');
    assert.equal(events[0].reason, 'PathConflict');
    assert.match(events[0].message ?? '', new RegExp(`Ingress ${app}/older`));
    for (let i = 0; i < 20; i++) assert.equal((await stack.get('c.example.com')).text, 'old');
  });

  await t.test('another namespace cannot add rules to a host it does not own', async () => {
    const other = `e2e-other-${randomBytes(4).toString('hex')}`;
    await kubectlOk(c, ['create', 'namespace', other]);
    t.after(() => c.kubectl(['delete', 'namespace', other, '--wait=false']));
    await kubectlOk(
      c,
      ['-n', other, 'apply', '-f', '-'],
      list([
        ...echoApp('intruder', 'intruder'),
        ingress('intruder', cls.className, [
          { host: 'c.example.com', paths: [{ path: '/admin', service: 'intruder' }] },
        ]),
      ]),
    );
    const events = await until(async () => {
      const out = JSON.parse(
        await kubectlOk(c, [
          '-n',
          other,
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=intruder',
          '-o',
          'json',
        ]),
      ) as EventList;
      return out.items.find((e) => e.type === 'Warning') ? out.items : undefined;
    }, 'a Warning Event for the intruding Ingress');
    assert.ok(
      events.some((e) => e.reason === 'HostOwnedByOtherNamespace'),
      JSON.stringify(events),
    );
    assert.equal((await stack.get('c.example.com', '/admin')).text, 'old');
  });
});
