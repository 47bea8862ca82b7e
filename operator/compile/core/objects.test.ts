import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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
  assert.equal(timestamp(new Date('+012000-01-01T00:00:00Z')), '+012000-01-01T00:00:00Z');
});

test('timestamps are toISOString without fractional seconds, for any time in years 0-9999', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
      const date = new Date(ms);
      assert.equal(timestamp(date), `${date.toISOString().slice(0, -5)}Z`);
    }),
    { numRuns: 5000 },
  );
  for (const text of [
    '2024-02-29T23:59:59Z',
    '2000-03-01T00:00:00Z',
    '1900-02-28T12:00:00Z',
    '0000-01-01T00:00:00Z',
  ]) {
    assert.equal(timestamp(new Date(text)), text);
  }
});
