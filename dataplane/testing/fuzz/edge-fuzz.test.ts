// Bounded property-based fuzzing of a real data-plane process with raw HTTP/1 bytes (plain and
// TLS), WebSocket upgrades and raw HTTP/2 frames; the oracle is in harness.ts. The seed differs
// per run and is printed; a failure prints the shrunk case and the command that replays it.
// `npm run fuzz` is the long run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FuzzHarness } from './harness.ts';
import { CATEGORIES, type Category, pickSeed, runCategory } from './run.ts';

const seed = pickSeed(process.env.SLUICE_FUZZ_SEED);
const only = process.env.SLUICE_FUZZ_ONLY as Category | undefined;
if (only !== undefined && !(only in CATEGORIES))
  throw new Error(`SLUICE_FUZZ_ONLY: ${only} is not one of ${Object.keys(CATEGORIES).join(', ')}`);
const categories = only ? [only] : (Object.keys(CATEGORIES) as Category[]);
// About 9 s per category keeps a passing file under a minute on a slow 2-core machine; a failing
// category spends up to 8 s more shrinking its counterexample.
const TIME_LIMIT_MS = 9_000;
const SHRINK_LIMIT_MS = 8_000;

test(`hostile traffic never breaks the data plane's routing, process or upstream slots (seed ${seed})`, async (t) => {
  const harness = new FuzzHarness();
  t.after(() => harness.stop());
  await harness.start();
  t.diagnostic(`seed ${seed}`);
  for (const category of categories) {
    await t.test(category, async (st) => {
      const run = await runCategory(harness, category, {
        seed,
        numRuns: 1_000,
        timeLimitMs: TIME_LIMIT_MS,
        shrinkLimitMs: SHRINK_LIMIT_MS,
        path: process.env.SLUICE_FUZZ_PATH || undefined,
      });
      st.diagnostic(`${run.cases} cases`);
      if (run.failed) console.log(`\n${run.report}\n`);
      assert.ok(run.cases > 0, 'no case ran');
      assert.equal(run.failed, false, run.report);
    });
  }
  if (harness.metricMissing)
    t.diagnostic('sluice_upstream_connections_in_use is not exported yet: it counted as 0');
});
