import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Split } from '../../contract/types.ts';
import { readCookie } from './cookies.ts';
import { Splitter } from './splitter.ts';
import { BUCKETS, BucketMap, bucketOf } from './sticky.ts';
import { SmoothWeightedRoundRobin } from './swrr.ts';

function counts<T>(picks: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const p of picks) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

test('smooth weighted round robin: 90/10 over 10,000 picks is exactly 9,000/1,000', () => {
  const wrr = new SmoothWeightedRoundRobin([
    { item: 'a', weight: 90 },
    { item: 'b', weight: 10 },
  ]);
  const c = counts(Array.from({ length: 10_000 }, () => wrr.next()));
  assert.equal(c.get('a'), 9_000);
  assert.equal(c.get('b'), 1_000);
});

test('smooth weighted round robin spreads picks and never picks weight 0', () => {
  const wrr = new SmoothWeightedRoundRobin([
    { item: 'a', weight: 5 },
    { item: 'b', weight: 1 },
    { item: 'c', weight: 1 },
    { item: 'z', weight: 0 },
  ]);
  // nginx's example sequence for 5/1/1.
  assert.deepEqual(
    Array.from({ length: 7 }, () => wrr.next()),
    ['a', 'a', 'b', 'a', 'c', 'a', 'a'],
  );
  const all = Array.from({ length: 700 }, () => wrr.next());
  assert.equal(all.includes('z'), false);
});

test('all weights 0: nothing to pick', () => {
  const wrr = new SmoothWeightedRoundRobin([{ item: 'a', weight: 0 }]);
  assert.equal(wrr.empty, true);
  assert.equal(wrr.next(), undefined);
});

test('sticky buckets over 10,000 keys stay within 1 point of the weights', () => {
  const map = new BucketMap([
    { item: 'a', weight: 70 },
    { item: 'b', weight: 20 },
    { item: 'c', weight: 10 },
  ]);
  const c = counts(Array.from({ length: 10_000 }, (_, i) => map.pick(bucketOf(`user-${i}`))));
  assert.ok(Math.abs(c.get('a')! / 100 - 70) <= 1, `a: ${c.get('a')}`);
  assert.ok(Math.abs(c.get('b')! / 100 - 20) <= 1, `b: ${c.get('b')}`);
  assert.ok(Math.abs(c.get('c')! / 100 - 10) <= 1, `c: ${c.get('c')}`);
});

test('raising the last backend weight moves no key off it', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}-${(i * 7919) % 1000}`);
  let previous = new BucketMap([
    { item: 'v1', weight: 90 },
    { item: 'v2', weight: 10 },
  ]);
  for (const w of [11, 20, 35, 50, 80, 200, 1000]) {
    const next = new BucketMap([
      { item: 'v1', weight: 90 },
      { item: 'v2', weight: w },
    ]);
    let moved = 0;
    for (const k of keys) {
      const b = bucketOf(k);
      if (previous.pick(b) === 'v2') assert.equal(next.pick(b), 'v2', `key ${k} left v2 at weight ${w}`);
      if (previous.pick(b) !== next.pick(b)) moved++;
    }
    assert.ok(moved > 0, `raising v2 to ${w} should move some keys onto it`);
    previous = next;
  }
});

test('buckets cover 0..9999 in list order; weight 0 gets no bucket', () => {
  const map = new BucketMap([
    { item: 'a', weight: 1 },
    { item: 'z', weight: 0 },
    { item: 'b', weight: 1 },
  ]);
  assert.equal(map.pick(0), 'a');
  assert.equal(map.pick(4_999), 'a');
  assert.equal(map.pick(5_000), 'b');
  assert.equal(map.pick(BUCKETS - 1), 'b');
  for (let i = 0; i < BUCKETS; i += 37) assert.notEqual(map.pick(i), 'z');
});

const split = (s: Partial<Split>): Split => ({
  mode: 'weighted',
  overrides: [],
  backends: [
    { name: 'v1', backend: 'ns/v1:80', weight: 90 },
    { name: 'v2', backend: 'ns/v2:80', weight: 10 },
  ],
  ...s,
});

test('overrides come first: header then cookie, in order', () => {
  const s = new Splitter(
    split({
      overrides: [
        { header: { name: 'X-Canary', value: 'always' }, backend: 'ns/v2:80' },
        { cookie: { name: 'canary', value: 'yes' }, backend: 'ns/v2:80' },
      ],
    }),
    (k) => k,
  );
  for (let i = 0; i < 20; i++) {
    assert.equal(s.choose({ 'x-canary': 'always' }).backend, 'ns/v2:80');
    assert.equal(s.choose({ cookie: 'a=1; canary=yes' }).backend, 'ns/v2:80');
  }
  assert.equal(s.choose({ 'x-canary': 'never' }).reason, 'weighted');
});

test('sticky cookie: issued when absent, reused when present', () => {
  const s = new Splitter(split({ mode: 'sticky', sticky: { cookie: { name: 'cohort' } } }), (k) => k);
  const first = s.choose({});
  assert.ok(first.issueCookie);
  assert.equal(first.issueCookie.name, 'cohort');
  const again = s.choose({ cookie: `cohort=${first.issueCookie.value}` });
  assert.equal(again.issueCookie, undefined);
  assert.equal(again.backend, first.backend);
  assert.equal(again.reason, 'sticky');
});

test('sticky header: same key, same backend; no key falls back to weights', () => {
  const s = new Splitter(split({ mode: 'sticky', sticky: { header: { name: 'x-user' } } }), (k) => k);
  for (let i = 0; i < 50; i++) {
    const a = s.choose({ 'x-user': `u${i}` }).backend;
    assert.equal(s.choose({ 'x-user': `u${i}` }).backend, a);
  }
  assert.equal(s.choose({}).reason, 'weighted');
});

test('readCookie finds one cookie among many', () => {
  assert.equal(readCookie('a=1; b=2; c="3"', 'c'), '3');
  assert.equal(readCookie('a=1;b=2', 'b'), '2');
  assert.equal(readCookie(['a=1', 'b=2'], 'b'), '2');
  assert.equal(readCookie('ab=1', 'a'), undefined);
  assert.equal(readCookie(undefined, 'a'), undefined);
});
