// ingress-nginx canary precedence as the data plane serves it: header overrides, then cookie
// overrides, then weights; "never" chooses among the primary backends, "always" among the canary
// ones. Real sockets: a data plane on loopback and one backend per Service.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backend, backendKey, makeConfig, route, vhost } from '../../contract/testing/fixtures.ts';
import type { Override, Split } from '../../contract/types.ts';
import { request, startBackend, startTestDataplane } from '../testing/net.ts';
import { Splitter } from './splitter.ts';

const HOST = 'shop.example';

function canarySplit(
  stable: number,
  canary: number,
  overrides: Override[],
  extra: Array<[string, number]> = [],
): Split {
  return {
    backends: [
      { backend: backendKey('stable'), name: 'stable', weight: stable },
      ...extra.map(([name, weight]) => ({ backend: backendKey(name), name, weight })),
      { backend: backendKey('canary'), canary: true, name: 'canary', weight: canary },
    ],
    mode: 'weighted',
    overrides,
  };
}

const HEADER_AND_COOKIE: Override[] = [
  { group: 'canary', header: { name: 'x-canary', value: 'always' } },
  { group: 'primary', header: { name: 'x-canary', value: 'never' } },
  { cookie: { name: 'canary', value: 'always' }, group: 'canary' },
  { cookie: { name: 'canary', value: 'never' }, group: 'primary' },
];

async function setup(t: import('node:test').TestContext, split: Split, more: string[] = []) {
  const names = ['stable', 'canary', ...more];
  const backends: Record<string, ReturnType<typeof backend>> = {};
  for (const name of names) backends[backendKey(name)] = backend(name, [(await startBackend(t, name)).port]);
  const dp = await startTestDataplane(t);
  const pushed = await dp.push(makeConfig({ virtualHosts: [vhost(HOST, [route('/', split)])], backends }));
  assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
  return async (headers: Record<string, string> = {}) => {
    const res = await request(dp.ports.http, { host: HOST, headers });
    assert.equal(res.status, 200);
    return res.headers['x-backend'] as string;
  };
}

test('precedence: header always/never, then cookie always/never, then weight', async (t) => {
  // Weight 0: only a header or cookie can reach the canary.
  const get = await setup(t, canarySplit(1, 0, HEADER_AND_COOKIE));
  assert.equal(await get({ 'x-canary': 'always' }), 'canary');
  // The header decides before the cookie, both ways.
  assert.equal(await get({ 'x-canary': 'never', cookie: 'canary=always' }), 'stable');
  assert.equal(await get({ 'x-canary': 'always', cookie: 'canary=never' }), 'canary');
  // Other header values fall through to the cookie.
  assert.equal(await get({ 'x-canary': 'yes', cookie: 'canary=always' }), 'canary');
  assert.equal(await get({ cookie: 'a=1; canary=always' }), 'canary');
  // Other cookie values, and nothing at all, fall through to the weight (0 for the canary).
  assert.equal(await get({ cookie: 'canary=maybe' }), 'stable');
  assert.equal(await get(), 'stable');
  // Header values compare exactly (ingress-nginx compares the text as sent).
  assert.equal(await get({ 'x-canary': 'Always' }), 'stable');
});

test('weights: 30 of 100 requests to the canary, exactly per cycle; "never" at weight 100 still reaches the primary', async (t) => {
  const get = await setup(t, canarySplit(70, 30, HEADER_AND_COOKIE));
  const seen: string[] = [];
  for (let i = 0; i < 100; i++) seen.push(await get());
  assert.equal(seen.filter((b) => b === 'canary').length, 30);
  t.diagnostic('weight 100: every plain request goes to the canary, "never" to the primary');
  const all = await setup(t, canarySplit(0, 100, HEADER_AND_COOKIE));
  for (let i = 0; i < 5; i++) assert.equal(await all(), 'canary');
  assert.equal(await all({ 'x-canary': 'never' }), 'stable');
  assert.equal(await all({ cookie: 'canary=never' }), 'stable');
});

test('"never" chooses among the primary backends by their weights (a RouteRatio beside the canary)', async (t) => {
  const get = await setup(t, canarySplit(3, 1, HEADER_AND_COOKIE, [['v2', 1]]), ['v2']);
  const seen: string[] = [];
  for (let i = 0; i < 40; i++) seen.push(await get({ 'x-canary': 'never' }));
  assert.equal(seen.filter((b) => b === 'canary').length, 0);
  assert.equal(seen.filter((b) => b === 'stable').length, 30);
  assert.equal(seen.filter((b) => b === 'v2').length, 10);
});

test('header value and pattern: exact value, RE2 search; a backtracking-hostile value answers', async (t) => {
  const get = await setup(
    t,
    canarySplit(1, 0, [
      { group: 'canary', header: { name: 'x-region', value: 'eu-west' } },
      { group: 'canary', header: { name: 'x-user', pattern: '^(alice|bob)$' } },
      { group: 'canary', header: { name: 'x-evil', pattern: '^(a+)+$' } },
    ]),
  );
  assert.equal(await get({ 'x-region': 'eu-west' }), 'canary');
  assert.equal(await get({ 'x-region': 'eu-west-1' }), 'stable');
  // With a value set, "always" is an ordinary value.
  assert.equal(await get({ 'x-region': 'always' }), 'stable');
  assert.equal(await get({ 'x-user': 'bob' }), 'canary');
  assert.equal(await get({ 'x-user': 'bobby' }), 'stable');
  // Exponential for a backtracking engine; linear for RE2, so it answers (and does not match).
  assert.equal(await get({ 'x-evil': `${'a'.repeat(4000)}!` }), 'stable');
  assert.equal(await get({ 'x-evil': 'a'.repeat(4000) }), 'canary');
});

test('the config is refused when a pattern does not compile under RE2 or a group has no backend', async (t) => {
  const dp = await startTestDataplane(t);
  const backends = {
    [backendKey('stable')]: backend('stable', [9]),
    [backendKey('canary')]: backend('canary', [9]),
  };
  for (const [split, field] of [
    [
      canarySplit(1, 0, [{ group: 'canary', header: { name: 'x-a', pattern: '(?=a)a' } }]),
      'overrides[0].header.pattern',
    ],
    [
      canarySplit(1, 0, [{ group: 'canary', header: { name: 'x-a', pattern: '(a)\\1' } }]),
      'overrides[0].header.pattern',
    ],
    [
      {
        mode: 'weighted',
        overrides: [{ group: 'canary', header: { name: 'x-a', value: 'always' } }],
        backends: [{ backend: backendKey('stable'), name: 'stable', weight: 1 }],
      },
      'overrides[0].group',
    ],
  ] as Array<[Split, string]>) {
    const res = await dp.push(makeConfig({ virtualHosts: [vhost(HOST, [route('/', split)])], backends }));
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.body.errors), new RegExp(field.replace(/[.[\]]/g, '\\$&')));
  }
});

test('sticky split: "never" keeps the client on the primary backends, "always" on the canary', () => {
  const split: Split = {
    ...canarySplit(50, 50, HEADER_AND_COOKIE, [['v2', 50]]),
    mode: 'sticky',
    sticky: { header: { name: 'x-user' } },
  };
  const s = new Splitter(split, (k) => k);
  for (let i = 0; i < 200; i++) {
    const never = s.choose({ 'x-user': `u${i}`, 'x-canary': 'never' });
    assert.notEqual(never.backend, backendKey('canary'));
    assert.equal(s.choose({ 'x-user': `u${i}`, 'x-canary': 'never' }).backend, never.backend);
    assert.equal(s.choose({ 'x-user': `u${i}`, cookie: 'canary=always' }).backend, backendKey('canary'));
  }
});
