import assert from 'node:assert/strict';
import { test } from 'node:test';
import { append, compact, sortInPlace, timestamp } from './objects.ts';

test('sortInPlace sorts short and long lists stably, in place', () => {
  const byKey = (a: { k: number }, b: { k: number }) => a.k - b.k;
  for (const length of [0, 1, 2, 3, 16, 17, 200]) {
    const items = Array.from({ length }, (_, i) => ({ k: (i * 7) % 5, i }));
    const expected = [...items].sort(byKey);
    const sorted = sortInPlace(items, byKey);
    assert.equal(sorted, items, 'the same array');
    assert.deepEqual(sorted, expected, `length ${length}`);
  }
});

test('compact and append keep the items and their order', () => {
  const short = [1, 2];
  const copy = compact(short);
  assert.notEqual(copy, short);
  assert.deepEqual(copy, [1, 2]);
  const long = Array.from({ length: 40 }, (_, i) => i);
  assert.equal(compact(long), long, 'long lists are kept as they are');

  let list: number[] = [];
  for (let i = 0; i < 40; i++) list = append(list, i);
  assert.deepEqual(list, long);
  const before = [1];
  assert.deepEqual(append(before, 2), [1, 2]);
  assert.deepEqual(before, [1], 'a short list is not changed; the result is a new one');
});

test('timestamps drop fractional seconds, from a Date or a string', () => {
  assert.equal(timestamp(new Date('2026-11-20T10:00:00.999Z')), '2026-11-20T10:00:00Z');
  assert.equal(timestamp('2026-11-20T12:00:00+02:00'), '2026-11-20T10:00:00Z');
  assert.equal(timestamp('yesterday'), '');
  assert.equal(timestamp(new Date(Number.NaN)), '');
  assert.equal(timestamp(undefined), '');
});
