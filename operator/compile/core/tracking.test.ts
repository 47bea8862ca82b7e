import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { sameJson, TrackedList, updateSorted } from './tracking.ts';

function tracked() {
  let made = 0;
  const list = new TrackedList<{ raw: unknown; n: number }>((raw) => ({ raw, n: made++ }));
  return { list, made: () => made };
}

const objects = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));

test('an edit, an insertion and a deletion are found by position, each record kept', () => {
  const { list, made } = tracked();
  const [a, b, c, d] = objects(4);
  list.update([a, b, c]);
  const records = [...list.current];
  const edited = { i: 1 };
  let changes = list.update([a, edited, c]);
  assert.deepEqual(changes.removed, [records[1]]);
  assert.deepEqual(
    changes.added.map((r) => r.raw),
    [edited],
  );
  assert.equal(list.current[0], records[0]);
  assert.equal(list.current[2], records[2]);
  changes = list.update([a, edited, d, c]);
  assert.deepEqual(
    changes.added.map((r) => r.raw),
    [d],
  );
  assert.deepEqual(changes.removed, []);
  changes = list.update([edited, d, c]);
  assert.deepEqual(changes.removed, [records[0]]);
  assert.deepEqual(changes.added, []);
  assert.equal(made(), 5);
});

test('objects that moved keep their records, in small and large reorderings', () => {
  for (const n of [5, 500]) {
    const { list, made } = tracked();
    const all = objects(n);
    list.update(all);
    const byObject = new Map(list.current.map((r) => [r.raw, r]));
    const reordered = [...all].reverse();
    const changes = list.update(reordered);
    assert.deepEqual(changes, { added: [], removed: [] });
    assert.ok(list.current.every((r, i) => r === byObject.get(reordered[i])));
    assert.equal(made(), n);
  }
});

test('whatever the lists, the changes turn one into the other', () => {
  const pool = objects(12);
  // In the pool's order (edits, insertions, deletions) or shuffled (moves).
  const lists = fc.array(fc.oneof(fc.subarray(pool), fc.shuffledSubarray(pool)), {
    minLength: 1,
    maxLength: 6,
  });
  fc.assert(
    fc.property(lists, (sequence) => {
      const { list } = tracked();
      let live = new Map<unknown, unknown>();
      for (const next of sequence) {
        const changes = list.update(next);
        for (const r of changes.removed)
          assert.ok(live.delete(r.raw), 'removed an object that was not there');
        for (const r of changes.added) {
          assert.ok(!live.has(r.raw), 'added an object that was there');
          live.set(r.raw, r);
        }
        assert.deepEqual(new Set(live.keys()), new Set(next));
        assert.deepEqual(
          list.current.map((r) => r.raw),
          next,
        );
        live = new Map(list.current.map((r) => [r.raw, r]));
      }
    }),
  );
});

test('updateSorted inserts and removes in order, with or without a comparator', () => {
  assert.deepEqual(updateSorted(['b', 'd'], ['c', 'a', 'e'], new Set(['d'])), ['a', 'b', 'c', 'e']);
  const many = Array.from({ length: 40 }, (_, i) => 40 - i);
  assert.deepEqual(
    updateSorted([0, 50], many, undefined, (x, y) => x - y),
    Array.from({ length: 41 }, (_, i) => i).concat([50]),
  );
});

test('sameJson ignores key order and compares dates by time', () => {
  assert.ok(sameJson({ a: [1, { b: 2 }], c: 'x' }, { c: 'x', a: [1, { b: 2 }] }));
  assert.ok(sameJson(new Date(5), new Date(5)));
  assert.ok(!sameJson({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!sameJson([1, 2], [2, 1]));
  assert.ok(!sameJson({ a: undefined }, {}));
});
