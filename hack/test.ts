// npm test: type check, lint, unit tests, then the integration and end-to-end tests against the
// real local cluster (started here if none runs, stopped again afterwards).
//
//   node hack/test.ts                 everything
//   node hack/test.ts --unit          checks and unit tests only
//   node hack/test.ts --integration   integration and end-to-end tests only
//   node hack/test.ts <files...>      just these test files (cluster started if any is under test/)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { down, pid, root, up } from './lib/devcluster.ts';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const integrationOnly = args.includes('--integration');
const files = args.filter((a) => !a.startsWith('--'));

// test/differential needs no cluster (real nginx and a data plane on loopback): run with the unit tests.
const unitRoots = [
  'contract',
  'runtime',
  'operator',
  'webhooks',
  'dataplane',
  'hack',
  'crds',
  'charts',
  'test/differential',
];
const needsCluster = (f: string) => f.startsWith('test/') && !f.startsWith('test/differential/');
const integrationRoots = ['test/integration', 'test/e2e'];

function findTests(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const e of readdirSync(abs, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.test.ts')) continue;
    const path = relative(root, join(e.parentPath, e.name));
    if (path.includes('node_modules') || path.startsWith('hack/devcluster')) continue;
    out.push(path);
  }
  return out.sort();
}

const tally = { pass: 0, fail: 0, skip: 0 };

function run(step: string, cmd: string, argv: string[]): boolean {
  console.log(`\n=== ${step}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

/** A check that is not a node:test file (type check, lint) counts as one test in the tally. */
function check(step: string, cmd: string, argv: string[]): boolean {
  const ok = run(step, cmd, argv);
  if (ok) tally.pass++;
  else tally.fail++;
  return ok;
}

const tapDir = mkdtempSync(join(tmpdir(), 'sluice-test-'));

function nodeTest(step: string, testFiles: string[], concurrency: number, timeoutMs: number): boolean {
  if (testFiles.length === 0) return true;
  const tap = join(tapDir, `${step.replace(/\W+/g, '-')}.tap`);
  const ok = run(step, process.execPath, [
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeoutMs}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...testFiles,
  ]);
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  tally.pass += count('pass');
  tally.fail += count('fail') + count('cancelled');
  tally.skip += count('skipped') + count('todo');
  return ok;
}

let ok = true;
let startedCluster = false;
try {
  const unitFiles = files.length > 0 ? files.filter((f) => !needsCluster(f)) : unitRoots.flatMap(findTests);
  const integrationFiles =
    files.length > 0 ? files.filter(needsCluster) : integrationRoots.flatMap(findTests);

  if (!integrationOnly && files.length === 0) {
    ok = check('type check (tsc --noEmit)', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']) && ok;
    ok = check('lint (biome check)', 'npx', ['biome', 'check', '.']) && ok;
    ok = check('import rules (hack/check-imports.ts)', process.execPath, ['hack/check-imports.ts']) && ok;
  }
  if (!integrationOnly) ok = nodeTest('unit tests', unitFiles, 2, 120_000) && ok;
  if (!unitOnly && integrationFiles.length > 0) {
    console.log('\n=== local cluster');
    const wasRunning = pid() !== undefined;
    await up();
    startedCluster = !wasRunning;
    ok = nodeTest('integration and end-to-end tests', integrationFiles, 1, 600_000) && ok;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  ok = false;
} finally {
  if (startedCluster || (process.env.CI && pid() !== undefined)) {
    console.log('\n=== stopping local cluster');
    await down();
  }
  rmSync(tapDir, { recursive: true, force: true });
}
console.log(`\n${tally.pass} passed, ${tally.fail} failed${tally.skip ? `, ${tally.skip} skipped` : ''}`);
process.exitCode = ok && tally.fail === 0 ? 0 : 1;
