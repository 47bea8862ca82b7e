import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRequestId } from './request-id.ts';

test('request ids are UUID-shaped and distinct', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = nextRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 10_000);
});
