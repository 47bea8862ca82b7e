// Long fuzz run against a real data-plane process (harness: dataplane/testing/fuzz/). Cycles
// through the categories (HTTP/1 plain and TLS, WebSocket upgrades, HTTP/2 frames), a new seed
// per round, prints cases per minute and each distinct finding with its shrunk case and replay
// command. Exit code 1 when anything was found.
//
//   node hack/fuzz.ts [--minutes 10] [--seed N] [--only h1-plain|h1-tls|upgrade|h2] [--round-seconds 60]

import { parseArgs } from 'node:util';
import { FuzzHarness } from '../dataplane/testing/fuzz/harness.ts';
import {
  CATEGORIES,
  type Category,
  type CategoryRun,
  pickSeed,
  runCategory,
} from '../dataplane/testing/fuzz/run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    only: { type: 'string' },
    'round-seconds': { type: 'string', default: '60' },
  },
});
const minutes = Number(values.minutes);
const roundMs = Number(values['round-seconds']) * 1_000;
if (!(minutes > 0) || !(roundMs > 0)) {
  console.error('--minutes and --round-seconds must be positive numbers');
  process.exit(2);
}
if (values.only !== undefined && !(values.only in CATEGORIES)) {
  console.error(`--only: ${values.only} is not one of ${Object.keys(CATEGORIES).join(', ')}`);
  process.exit(2);
}
const categories = values.only ? [values.only as Category] : (Object.keys(CATEGORIES) as Category[]);
let seed = pickSeed(values.seed);
console.log(`fuzzing for ${minutes} min, first seed ${seed}, categories ${categories.join(', ')}`);

const harness = new FuzzHarness({ log: (l) => console.log(l) });
const findings = new Map<string, CategoryRun>();
const started = Date.now();
const end = started + minutes * 60_000;
let lastCount = 0;
const meter = setInterval(() => {
  console.log(
    `${harness.cases - lastCount} cases in the last minute (${harness.cases} in all), ${findings.size} findings`,
  );
  lastCount = harness.cases;
}, 60_000);

/** Same bug, other bytes: findings are grouped by problem kind and detail without numbers. */
const signature = (run: CategoryRun) =>
  run.problems
    .map(
      (p) =>
        `${p.kind}:${p.detail
          .split('\n')[0]
          .replace(/\d+/g, 'N')
          .replace(/"[^"]*"/g, 'S')}`,
    )
    .join('|');

try {
  await harness.start();
  for (let round = 0; Date.now() < end; round++) {
    const category = categories[round % categories.length];
    const run = await runCategory(harness, category, {
      seed,
      numRuns: 1_000_000,
      timeLimitMs: Math.min(roundMs, Math.max(1_000, end - Date.now())),
      shrinkLimitMs: 60_000,
    });
    if (run.failed) {
      const key = signature(run);
      if (!findings.has(key)) {
        findings.set(key, run);
        console.log(`\nFINDING ${findings.size}\n${run.report}\n`);
      }
    }
    seed = (seed + 1) | 0;
  }
} finally {
  clearInterval(meter);
  await harness.stop();
}
const perMinute = (harness.cases / ((Date.now() - started) / 60_000)).toFixed(0);
console.log(
  `\n${harness.cases} cases in ${((Date.now() - started) / 60_000).toFixed(1)} min (${perMinute} per minute)`,
);
if (harness.metricMissing)
  console.log('sluice_upstream_connections_in_use was not exported: it counted as 0');
console.log(`${findings.size} distinct findings`);
for (const [i, run] of [...findings.values()].entries())
  console.log(`${i + 1}. ${run.report.split('\n')[0]}\n   ${run.problems[0]?.detail.split('\n')[0]}`);
process.exitCode = findings.size > 0 ? 1 : 0;
