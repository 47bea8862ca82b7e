// Golden cases: each processor folder keeps its own, testdata/<case>.in.yaml (multi-document YAML,
// see testdata.ts) -> testdata/<case>.out.json (config, statuses and events). Each case runs
// through the one-shot compile() and the long-lived createCompiler() (a fresh compiler, and one
// that compiled an empty snapshot first), and all three must give the golden output.
// Rewrite the expected files with: UPDATE_GOLDEN=1 node --test operator/compile/*/golden.test.ts

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalJson } from '../../../contract/canonical.ts';
import { validateConfig } from '../../../contract/validate.ts';
import type { CompileOutcome } from '../api.ts';
import { compile, createCompiler } from '../core/compile.ts';
import { emptySnapshot, snapshotFromYaml } from './testdata.ts';

const update = process.env.UPDATE_GOLDEN === '1';

/** The folders that hold golden cases, relative to operator/compile. */
export const GOLDEN_FOLDERS = ['namespaces', 'classes', 'ingress', 'routeratio', 'emit'];

/** Names of the cases in a testdata folder. */
export function goldenCases(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .sort();
}

/** The golden file's text for an outcome: config, statuses and events, not the outcome's `ok`. */
function goldenText(outcome: CompileOutcome): string {
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.stack);
  const { ok: _, ...result } = outcome;
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** Registers one test per case of `<folder>/testdata`. */
export function goldenTests(folder: string): void {
  const dir = join(folder, 'testdata');
  const cases = goldenCases(dir);
  test('the folder has golden cases', () => assert.ok(cases.length > 0));
  for (const name of cases) {
    test(`golden: ${name}`, () => {
      const { snapshot, options } = snapshotFromYaml(readFileSync(join(dir, `${name}.in.yaml`), 'utf8'));
      const outcome = compile(snapshot, options);
      const actual = goldenText(outcome);
      const config = outcome.ok ? outcome.config : undefined;
      const validation = validateConfig(config);
      assert.deepEqual(validation.ok ? [] : validation.errors, [], 'compiled config fails the schema');
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
      assert.equal(canonicalJson(config), JSON.stringify(config));

      const fresh = createCompiler(options);
      assert.equal(goldenText(fresh.compile(snapshot)), expected, 'long-lived compiler, first compile');
      const updated = createCompiler(options);
      goldenText(updated.compile(emptySnapshot()));
      assert.equal(
        goldenText(updated.compile(snapshot)),
        expected,
        'long-lived compiler, after an empty snapshot',
      );
      assert.equal(updated.stats.incrementalCompiles, 1, 'the case was compiled as an update');
    });
  }
}
