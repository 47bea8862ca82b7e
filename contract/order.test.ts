import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareHosts, compareRoutes, hostKind, hostSortKey } from './order.ts';

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const hostArb = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')),
  fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => `*.${l.join('.')}`),
  fc.constant('*'),
);
const vhostArb = hostArb.map((host) => ({ host, kind: hostKind(host) }));
const routeArb = fc.record({
  path: fc.stringMatching(/^\/[a-z/]{0,12}$/),
  pathType: fc.constantFrom('Exact' as const, 'Prefix' as const),
});

test('host sort keys order hosts exactly as compareHosts does', () => {
  fc.assert(
    fc.property(vhostArb, vhostArb, (a, b) => {
      const byKey = hostSortKey(a) < hostSortKey(b) ? -1 : hostSortKey(a) > hostSortKey(b) ? 1 : 0;
      assert.equal(byKey, Math.sign(compareHosts(a, b)));
    }),
  );
  const sorted = ['*', '*.b.example', 'z.example', 'a.example', '*.a.example']
    .map((host) => ({ host, kind: hostKind(host) }))
    .sort(compareHosts)
    .map((v) => v.host);
  assert.deepEqual(sorted, ['a.example', 'z.example', '*.a.example', '*.b.example', '*']);
});

test('route order is a strict total order: longest first, Exact before Prefix at equal length', () => {
  fc.assert(
    fc.property(routeArb, routeArb, routeArb, (a, b, c) => {
      const same = a.path === b.path && a.pathType === b.pathType;
      assert.equal(compareRoutes(a, b) === 0, same);
      assert.equal(Math.sign(compareRoutes(a, b)) + Math.sign(compareRoutes(b, a)), 0);
      if (compareRoutes(a, b) < 0 && compareRoutes(b, c) < 0) assert.ok(compareRoutes(a, c) < 0);
      if (a.path.length > b.path.length) assert.ok(compareRoutes(a, b) < 0);
    }),
  );
  assert.ok(compareRoutes({ path: '/ab', pathType: 'Exact' }, { path: '/ab', pathType: 'Prefix' }) < 0);
});
