// Keeps the chart's CRDs byte-identical to crds/: Helm installs charts/sluice/crds/ as is, and a
// copy that drifts would install a different API than the one the code is tested against.
//
//   node hack/sync-crds.ts           copy crds/*.yaml (CRDs only) into charts/sluice/crds/
//   node hack/sync-crds.ts --check   exit 1 and name the files that differ
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const sourceDir = join(root, 'crds');
export const chartCrdDir = join(root, 'charts/sluice/crds');

/** Files in crds/ whose documents are all CustomResourceDefinitions (examples are left out). */
export function crdFiles(dir = sourceDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .filter((f) => {
      const docs = parseAllDocuments(readFileSync(join(dir, f), 'utf8'));
      return (
        docs.length > 0 &&
        docs.every((d) => (d.toJS() as { kind?: string } | null)?.kind === 'CustomResourceDefinition')
      );
    })
    .sort();
}

/** Differences between crds/ and the chart's copy, one line each; empty when in sync. */
export function drift(): string[] {
  const want = crdFiles();
  const have = existsSync(chartCrdDir) ? readdirSync(chartCrdDir).filter((f) => /\.ya?ml$/.test(f)) : [];
  const problems: string[] = [];
  if (want.length === 0) problems.push(`no CRD files in ${sourceDir}`);
  for (const f of want) {
    const copy = join(chartCrdDir, f);
    if (!existsSync(copy)) problems.push(`charts/sluice/crds/${f} is missing`);
    else if (!readFileSync(copy).equals(readFileSync(join(sourceDir, f)))) {
      problems.push(`charts/sluice/crds/${f} differs from crds/${f}`);
    }
  }
  for (const f of have)
    if (!want.includes(f)) problems.push(`charts/sluice/crds/${f} has no counterpart in crds/`);
  return problems;
}

export function sync(): string[] {
  mkdirSync(chartCrdDir, { recursive: true });
  const want = crdFiles();
  for (const f of readdirSync(chartCrdDir)) if (!want.includes(f)) rmSync(join(chartCrdDir, f));
  for (const f of want) copyFileSync(join(sourceDir, f), join(chartCrdDir, f));
  return want;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const problems = drift();
    for (const p of problems) console.error(p);
    if (problems.length > 0) console.error('run: node hack/sync-crds.ts');
    process.exitCode = problems.length > 0 ? 1 : 0;
  } else {
    for (const f of sync()) console.log(`charts/sluice/crds/${f}`);
  }
}
