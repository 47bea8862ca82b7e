import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { build } from './ops.ts';

function setup(t: import('node:test').TestContext, checks: Record<string, () => string | undefined>) {
  const registry = new Registry();
  const counter = new Counter({ name: 'sluice_test_total', help: 'test', registers: [registry] });
  const app = build({
    registry,
    checks,
    info: () => ({ leader: true }),
    plugins: [
      async (scope) => {
        scope.get('/debug/extra', async () => ({ extra: true }));
      },
    ],
  });
  t.after(() => app.close());
  return { app, counter };
}

test('/healthz is always ok', async (t) => {
  const { app } = setup(t, { cache: () => 'not synced' });
  const r = await app.inject('/healthz');
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { status: 'ok' });
});

test('/readyz reports every check by name and is 503 until all pass', async (t) => {
  let cache: string | undefined = 'informer ingresses not synced';
  const { app } = setup(t, { cache: () => cache, certificate: () => undefined });
  const not = await app.inject('/readyz');
  assert.equal(not.statusCode, 503);
  assert.deepEqual(not.json(), {
    status: 'unready',
    checks: { cache: 'informer ingresses not synced', certificate: 'ok' },
    info: { leader: true },
  });
  cache = undefined;
  const ok = await app.inject('/readyz');
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), {
    status: 'ok',
    checks: { cache: 'ok', certificate: 'ok' },
    info: { leader: true },
  });
});

test('/metrics serves the registry; plugins add routes', async (t) => {
  const { app, counter } = setup(t, {});
  counter.inc();
  const m = await app.inject('/metrics');
  assert.equal(m.statusCode, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  assert.match(m.body, /sluice_test_total 1/);
  assert.deepEqual((await app.inject('/debug/extra')).json(), { extra: true });
});
