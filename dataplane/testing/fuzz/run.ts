// Drives the fuzz categories with fast-check and formats what fails: the seed and path that
// replay it, the shrunk case as bytes on the wire, and every oracle problem. Shared by the
// bounded test (edge-fuzz.test.ts) and the long run (hack/fuzz.ts).

import fc from 'fast-check';
import { describeCase, type FuzzCase, h1CaseArb, h2CaseArb } from './cases.ts';
import { FuzzFailure, type FuzzHarness, type Problem } from './harness.ts';

export const CATEGORIES = {
  'h1-plain': h1CaseArb({ tls: false }),
  'h1-tls': h1CaseArb({ tls: true }),
  upgrade: h1CaseArb({ upgrade: true }),
  h2: h2CaseArb,
} satisfies Record<string, fc.Arbitrary<FuzzCase>>;

export type Category = keyof typeof CATEGORIES;

export interface CategoryRun {
  category: Category;
  seed: number;
  cases: number;
  failed: boolean;
  /** Problems of the shrunk counterexample (empty when it passed). */
  problems: Problem[];
  /** Printable report of the failure, with the replay command. */
  report: string;
}

export async function runCategory(
  harness: FuzzHarness,
  category: Category,
  opts: { seed: number; numRuns: number; timeLimitMs: number; shrinkLimitMs: number; path?: string },
): Promise<CategoryRun> {
  const before = harness.cases;
  const property = fc.asyncProperty(CATEGORIES[category], (c) => harness.check(c));
  const params = {
    seed: opts.seed,
    // A run cut short by the time limit is a shorter run, not a failure.
    markInterruptAsFailure: false,
    // Uniform draws: the default bias favours the first constants and short arrays, which
    // leaves most of the grammar unvisited in a run of a few dozen cases.
    unbiased: true,
  };
  let details = await fc.check(property, {
    ...params,
    numRuns: opts.numRuns,
    path: opts.path,
    interruptAfterTimeLimit: opts.timeLimitMs,
  });
  // Shrinking restarts the process after each failing step: give it its own time, resuming
  // from the counterexample found (fast-check replays a path, then shrinks on from it).
  if (details.failed && details.counterexamplePath !== null) {
    const again = await fc.check(property, {
      ...params,
      path: details.counterexamplePath,
      interruptAfterTimeLimit: opts.shrinkLimitMs,
    });
    if (again.failed && again.counterexamplePath !== null) details = again;
  }
  const run: CategoryRun = {
    category,
    seed: opts.seed,
    cases: harness.cases - before,
    failed: details.failed,
    problems: [],
    report: '',
  };
  if (!details.failed) return run;
  const err = details.errorInstance;
  run.problems =
    err instanceof FuzzFailure
      ? err.problems
      : [{ kind: 'harness', detail: String((err as Error)?.stack ?? err) }];
  const example = details.counterexample?.[0] as FuzzCase | undefined;
  run.report = [
    `fuzz category ${category} failed (seed ${details.seed}, path ${details.counterexamplePath})`,
    `shrunk case: ${example ? describeCase(example) : '(none)'}`,
    'problems:',
    ...run.problems.map((p) => `  [${p.kind}] ${p.detail.replace(/\n/g, '\n    ')}`),
    `replay: SLUICE_FUZZ_ONLY=${category} SLUICE_FUZZ_SEED=${details.seed} SLUICE_FUZZ_PATH=${details.counterexamplePath} node --test dataplane/testing/fuzz/edge-fuzz.test.ts`,
  ].join('\n');
  return run;
}

/** A seed that differs per run unless one is given (SLUICE_FUZZ_SEED or --seed). */
export function pickSeed(given: string | undefined): number {
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isSafeInteger(n)) throw new Error(`seed ${JSON.stringify(given)} is not an integer`);
    return n;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
}
