// Golden tests: testdata/<case>.in.yaml -> testdata/<case>.out.json.
// Rewrite the expected files with: UPDATE_GOLDEN=1 node --test operator/compile/golden.test.ts

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalJson } from '../../contract/canonical.ts';
import { validateConfig } from '../../contract/validate.ts';
import { compile } from './compile.ts';
import { snapshotFromYaml } from './testdata.ts';

const dir = join(import.meta.dirname, 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.slice(0, -'.in.yaml'.length))
  .sort();

test('there are at least 40 golden cases', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const { snapshot, options } = snapshotFromYaml(readFileSync(join(dir, `${name}.in.yaml`), 'utf8'));
    const outcome = compile(snapshot, options);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.stack);
    // The golden files hold config, statuses and events, not the outcome's `ok`.
    const { ok: _, ...result } = outcome;
    const validation = validateConfig(result.config);
    assert.deepEqual(validation.ok ? [] : validation.errors, [], 'compiled config fails the schema');
    const actual = `${JSON.stringify(result, null, 2)}\n`;
    const outPath = join(dir, `${name}.out.json`);
    if (update) writeFileSync(outPath, actual);
    let expected: string;
    try {
      expected = readFileSync(outPath, 'utf8');
    } catch {
      assert.fail(`${name}.out.json is missing; run with UPDATE_GOLDEN=1 to write it`);
    }
    assert.deepEqual(JSON.parse(actual), JSON.parse(expected));
    assert.equal(actual, expected);
    // The compiler emits canonical key order, so hashing needs no sorted copy (emit.ts).
    assert.equal(canonicalJson(result.config), JSON.stringify(result.config));
  });
}
