// The import rules of the layout (docs/architecture.md), checked in `npm test`:
//   - contract/ imports nothing of Sluice's own packages: it is the neutral ground;
//   - dataplane/ imports nothing of operator/ or webhooks/, and they import nothing of dataplane/
//     (the config contract is all they share);
//   - runtime/ (process plumbing shared by the three programs) imports only contract/;
//   - production code never imports test support (`testing/` folders, `test/`, `*.test.ts`);
//   - no import cycles.
//
//   node hack/check-imports.ts          prints every violation, exit 1 if any
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export interface Violation {
  file: string;
  target: string;
  rule: string;
}

const packages = ['contract', 'runtime', 'operator', 'webhooks', 'dataplane'] as const;
type Package = (typeof packages)[number];

/** What each package may import of Sluice's own packages (itself always). */
const allowed: Record<Package, readonly Package[]> = {
  contract: [],
  runtime: ['contract'],
  operator: ['contract', 'runtime'],
  webhooks: ['contract', 'runtime', 'operator'],
  dataplane: ['contract', 'runtime'],
};

const importPattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Relative import specifiers of a module's source (static, dynamic and side-effect imports). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(importPattern)) out.push(m[2]);
  return out;
}

function packageOf(path: string): Package | undefined {
  const top = path.split('/')[0];
  return (packages as readonly string[]).includes(top) ? (top as Package) : undefined;
}

export function isTestSupport(path: string): boolean {
  return path.endsWith('.test.ts') || path.startsWith('test/') || path.split('/').includes('testing');
}

/** Checks a module graph given as repo-relative path -> relative import specifiers. */
export function checkGraph(graph: Map<string, string[]>): Violation[] {
  const violations: Violation[] = [];
  const edges = new Map<string, string[]>();
  for (const [file, specs] of graph) {
    const targets: string[] = [];
    for (const spec of specs) {
      const target = join(dirname(file), spec);
      targets.push(target);
      const from = packageOf(file);
      const to = packageOf(target);
      if (from !== undefined && to !== undefined && from !== to && !allowed[from].includes(to)) {
        violations.push({ file, target, rule: `${from}/ must not import ${to}/` });
      }
      if (from !== undefined && !isTestSupport(file) && isTestSupport(target)) {
        violations.push({ file, target, rule: 'production code must not import test support' });
      }
    }
    edges.set(file, targets);
  }
  for (const cycle of findCycles(edges)) {
    violations.push({ file: cycle[0], target: cycle[1], rule: `import cycle: ${cycle.join(' -> ')}` });
  }
  return violations;
}

/** One representative cycle per strongly connected component (Tarjan), as a closed path. */
export function findCycles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    const selfLoop = (edges.get(v) ?? []).includes(v);
    if (component.length > 1 || selfLoop) cycles.push(cycleThrough(v, new Set(component), edges));
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** A path from `start` back to itself inside one component (breadth-first, shortest). */
function cycleThrough(start: string, component: Set<string>, edges: Map<string, string[]>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.splice(1, 0, x);
        path.push(start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  for (const top of [...packages, 'hack', 'test']) {
    const dir = join(root, top);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith('.ts')) continue;
      const path = relative(root, join(e.parentPath, e.name));
      if (path.includes('node_modules') || path.startsWith('hack/devcluster')) continue;
      out.push(path);
    }
  }
  return out.sort();
}

export function checkRepo(root: string): Violation[] {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) graph.set(file, importsOf(readFileSync(join(root, file), 'utf8')));
  return checkGraph(graph);
}

if (import.meta.main) {
  const root = resolve(import.meta.dirname, '..');
  const violations = checkRepo(root);
  for (const v of violations) console.error(`${v.file}: ${v.rule} (${v.target})`);
  console.log(
    violations.length === 0
      ? 'imports: every layering rule holds, no cycles'
      : `imports: ${violations.length} violation(s)`,
  );
  process.exitCode = violations.length === 0 ? 0 : 1;
}
