import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { DOC, renderTable, withTable } from './nginx-table.ts';

test('docs/migrate-from-ingress-nginx.md holds the table the registry and groups give (run node hack/nginx-table.ts --write)', () => {
  const page = readFileSync(DOC, 'utf8');
  assert.equal(withTable(page), page);
});

test('the table has a row per annotation, counts that add up, and escapes pipes in reasons', () => {
  const table = renderTable([
    { name: 'a', status: 'served', reason: '' },
    { name: 'b', status: 'refused', reason: 'x | y' },
  ]);
  assert.match(
    table,
    /2 annotations: 1 served, 0 served with a difference, 1 refused, 0 ignored, 0 not served\./,
  );
  assert.match(table, /\| `b` \| refused \| x \\\| y \|/);
  const page = withTable('intro\n<!-- table -->\nold\n<!-- /table -->\nend\n', 'NEW');
  assert.equal(page, 'intro\n<!-- table -->\n\nNEW\n\n<!-- /table -->\nend\n');
});
