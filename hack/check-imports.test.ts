import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { checkGraph, checkRepo, findCycles, importsOf } from './check-imports.ts';

test('the repository keeps every import rule', () => {
  assert.deepEqual(checkRepo(resolve(import.meta.dirname, '..')), []);
});

test('imports are read from static, dynamic and side-effect forms, never from bare packages', () => {
  const src = `import a from './a.ts';\nimport type { B } from "../b.ts";\nimport './c.ts';\nconst d = await import('./d.ts');\nimport fs from 'node:fs';`;
  assert.deepEqual(importsOf(src), ['./a.ts', '../b.ts', './c.ts', './d.ts']);
});

test('each layering rule is enforced', () => {
  const graph = new Map([
    ['dataplane/x.ts', ['../operator/y.ts', '../contract/types.ts']],
    ['operator/y.ts', ['../dataplane/x.ts', '../webhooks/w.ts']],
    ['webhooks/w.ts', ['../operator/compile/index.ts']],
    ['operator/compile/index.ts', []],
    ['contract/types.ts', ['../runtime/ops.ts']],
    ['runtime/ops.ts', ['../contract/flags.ts', '../dataplane/x.ts']],
    ['contract/flags.ts', []],
    ['dataplane/z.ts', ['./testing/net.ts']],
    ['dataplane/z.test.ts', ['./testing/net.ts']],
    ['dataplane/testing/net.ts', []],
  ]);
  const rules = checkGraph(graph).map((v) => `${v.file} ${v.rule}`);
  assert.ok(rules.includes('dataplane/x.ts dataplane/ must not import operator/'));
  assert.ok(rules.includes('operator/y.ts operator/ must not import dataplane/'));
  assert.ok(rules.includes('operator/y.ts operator/ must not import webhooks/'));
  assert.ok(rules.includes('contract/types.ts contract/ must not import runtime/'));
  assert.ok(rules.includes('runtime/ops.ts runtime/ must not import dataplane/'));
  assert.ok(rules.includes('dataplane/z.ts production code must not import test support'));
  assert.ok(!rules.some((r) => r.startsWith('dataplane/z.test.ts')));
  assert.ok(!rules.some((r) => r.startsWith('webhooks/w.ts')));
});

test('cycles are found, with a path that closes on itself', () => {
  const edges = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  const cycles = findCycles(edges);
  assert.equal(cycles.length, 2);
  const abc = cycles.find((c) => c.length === 4)!;
  assert.equal(abc[0], abc[3]);
  assert.deepEqual(new Set(abc), new Set(['a', 'b', 'c']));
  assert.ok(cycles.some((c) => c.join() === 'e,e'));
  assert.deepEqual(
    findCycles(
      new Map([
        ['x', ['y']],
        ['y', []],
      ]),
    ),
    [],
  );
});
