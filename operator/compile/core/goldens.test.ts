import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GOLDEN_FOLDERS, goldenCases } from '../testing/goldens.ts';

test('there are at least 40 golden cases across the processors', () => {
  const total = GOLDEN_FOLDERS.reduce(
    (n, folder) => n + goldenCases(join(import.meta.dirname, '..', folder, 'testdata')).length,
    0,
  );
  assert.ok(total >= 40, `only ${total} cases`);
});
