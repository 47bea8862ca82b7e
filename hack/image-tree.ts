// Assembles the file tree the Dockerfile's final stage would contain, in a temporary directory,
// and starts an entry point from it. There is no container engine here, so this is how we prove
// the image runs with production dependencies only: the tree gets exactly the files the COPY
// lines name (minus .dockerignore) and a `npm ci --omit=dev` of its own, never the repo's
// node_modules.
//
//   node hack/image-tree.ts --entry dataplane/main.ts [--keep] [-- entry args...]
//   node hack/image-tree.ts --print            assemble, print the directory, keep it

import type { ChildProcess, StdioOptions } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, matchesGlob, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The install the deps stage must run; anything else in the Dockerfile is refused, not guessed at. */
const DEPS_INSTALL = 'npm ci --omit=dev --ignore-scripts';

export interface CopyStep {
  sources: string[];
  dest: string;
  fromStage?: string;
}

export interface DockerfilePlan {
  workdir: string;
  /** COPY steps of the deps stage (what `npm ci` needs). */
  depsCopies: CopyStep[];
  /** COPY steps of the final stage from the build context. */
  finalCopies: CopyStep[];
  entrypoint: string[];
}

/** Reads the subset of Dockerfile syntax our Dockerfile uses; anything unexpected is an error. */
export function planFromDockerfile(text: string): DockerfilePlan {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Array<{
    name?: string;
    copies: CopyStep[];
    runs: string[];
    workdir: string;
    entrypoint: string[];
  }> = [];
  for (const line of lines) {
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const op = instr.toUpperCase();
    if (op === 'FROM') {
      const m = /^\S+(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`Dockerfile: cannot read FROM line: ${line}`);
      stages.push({ name: m[1], copies: [], runs: [], workdir: '/', entrypoint: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${op} before FROM`);
    if (op === 'COPY') {
      const words = args.split(/\s+/);
      let fromStage: string | undefined;
      while (words[0]?.startsWith('--')) {
        const flag = words.shift()!;
        if (flag.startsWith('--from=')) fromStage = flag.slice('--from='.length);
        else if (!flag.startsWith('--chown=') && !flag.startsWith('--chmod=')) {
          throw new Error(`Dockerfile: unsupported COPY flag ${flag}`);
        }
      }
      if (words.length < 2 || words.some((w) => w.startsWith('['))) {
        throw new Error(`Dockerfile: COPY needs plain sources and a destination: ${line}`);
      }
      const dest = words.pop()!;
      stage.copies.push({ sources: words, dest, fromStage });
    } else if (op === 'RUN') {
      stage.runs.push(args);
    } else if (op === 'WORKDIR') {
      stage.workdir = args;
    } else if (op === 'ENTRYPOINT') {
      stage.entrypoint = JSON.parse(args) as string[];
    }
  }
  if (stages.length !== 2)
    throw new Error(`Dockerfile: expected a deps stage and a final stage, found ${stages.length}`);
  const [deps, final] = stages;
  if (!deps.runs.some((r) => r.startsWith(DEPS_INSTALL))) {
    throw new Error(`Dockerfile: the deps stage must install with "${DEPS_INSTALL}"`);
  }
  const fromDeps = final.copies.filter((c) => c.fromStage !== undefined);
  const onlyNodeModules =
    fromDeps.length === 1 &&
    fromDeps[0].fromStage === deps.name &&
    fromDeps[0].sources.length === 1 &&
    /(^|\/)node_modules\/?$/.test(fromDeps[0].sources[0]);
  if (!onlyNodeModules)
    throw new Error('Dockerfile: the final stage must copy exactly node_modules from the deps stage');
  return {
    workdir: final.workdir,
    depsCopies: deps.copies,
    finalCopies: final.copies.filter((c) => c.fromStage === undefined),
    entrypoint: final.entrypoint,
  };
}

export function readDockerignore(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function ignored(rel: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    const pat = p.replace(/^\/+|\/+$/g, '');
    return matchesGlob(rel, pat) || matchesGlob(rel, `${pat}/**`);
  });
}

/**
 * Copies `src` (relative to the context) to `target`, skipping ignored paths: a directory's
 * contents go into `target`, a file becomes `target`.
 */
function copyFiltered(context: string, src: string, target: string, patterns: string[]): void {
  const rel = normalize(src).replace(/\/+$/, '');
  if (rel.startsWith('..') || rel.startsWith('/')) throw new Error(`COPY source outside the context: ${src}`);
  const abs = join(context, rel);
  if (!existsSync(abs)) throw new Error(`COPY source missing from the context: ${src}`);
  if (ignored(rel, patterns)) return;
  if (!statSync(abs).isDirectory()) {
    mkdirSync(dirname(target), { recursive: true });
    cpSync(abs, target);
    return;
  }
  for (const e of readdirSync(abs, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const fileRel = relative(context, join(e.parentPath, e.name));
    if (ignored(fileRel, patterns)) continue;
    const to = join(target, relative(rel, fileRel));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(join(context, fileRel), to);
  }
}

/** COPY semantics: several sources or a trailing slash make the destination a directory. */
function applyCopies(context: string, steps: CopyStep[], workdirInTree: string, patterns: string[]): void {
  for (const step of steps) {
    const dest = join(workdirInTree, step.dest);
    const destIsDir = step.sources.length > 1 || step.dest.endsWith('/') || step.dest === '.';
    for (const src of step.sources) {
      const isDir = statSync(join(context, src)).isDirectory();
      const target = isDir || !destIsDir ? dest : join(dest, basename(src));
      copyFiltered(context, src, target, patterns);
    }
  }
}

/** Tests and their support: test files, `testing/` folders, golden data, the top-level `test/`. */
export function isTestSupportPath(rel: string): boolean {
  const parts = rel.split('/');
  return (
    rel.endsWith('.test.ts') || parts[0] === 'test' || parts.includes('testing') || parts.includes('testdata')
  );
}

/** Files of the tree (outside node_modules) that are test support; the image must have none. */
export function testSupportIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((f) => !f.split('/').includes('node_modules') && isTestSupportPath(f))
    .sort();
}

export interface ImageTree {
  /** The image's WORKDIR, assembled on disk. */
  dir: string;
  entrypoint: string[];
  remove(): void;
}

export interface AssembleOptions {
  root?: string;
  /** Where npm output goes; defaults to this process's stderr. */
  stdio?: StdioOptions;
}

/** Builds the final stage's file tree: the COPY'd sources plus a production-only `npm ci`. */
export function assembleImageTree(opts: AssembleOptions = {}): ImageTree {
  const root = opts.root ?? repoRoot;
  const plan = planFromDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const dockerignore = join(root, '.dockerignore');
  const patterns = existsSync(dockerignore) ? readDockerignore(readFileSync(dockerignore, 'utf8')) : [];
  const base = mkdtempSync(join(tmpdir(), 'sluice-image-'));
  const remove = () => rmSync(base, { recursive: true, force: true });
  try {
    const dir = join(base, plan.workdir.replace(/^\/+/, ''));
    mkdirSync(dir, { recursive: true });
    // The deps stage: its inputs, then the same install it runs.
    applyCopies(root, plan.depsCopies, dir, patterns);
    const npm = spawnSync(
      'npm',
      [...DEPS_INSTALL.split(' ').slice(1), '--no-audit', '--no-fund', '--prefer-offline'],
      {
        cwd: dir,
        stdio: opts.stdio ?? ['ignore', 'inherit', 'inherit'],
        // npm runs on the project's Node 24 (the base image's), not whatever `node` is first on PATH.
        env: {
          ...process.env,
          NODE_ENV: 'production',
          PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        },
      },
    );
    if (npm.status !== 0) throw new Error(`npm ci --omit=dev failed in ${dir} (exit ${npm.status})`);
    // The final stage: drop what the deps stage needed but the final stage does not copy.
    for (const step of plan.depsCopies) {
      for (const src of step.sources) {
        const copiedLater = plan.finalCopies.some((c) => c.sources.includes(src));
        if (!copiedLater) rmSync(join(dir, step.dest, basename(src)), { force: true });
      }
    }
    applyCopies(root, plan.finalCopies, dir, patterns);
    // .dockerignore is what keeps test support out of the image; refuse a tree where it did not.
    const leaked = testSupportIn(dir);
    if (leaked.length > 0) {
      throw new Error(
        `test support in the image tree (extend .dockerignore): ${leaked.slice(0, 10).join(', ')}`,
      );
    }
    return { dir, entrypoint: plan.entrypoint, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
}

/**
 * Starts `entry` from the tree the way the image's ENTRYPOINT would: `node <entry>` in WORKDIR,
 * with NODE_ENV=production and no access to the repository's node_modules.
 */
export function startEntry(tree: ImageTree, entry: string, opts: StartOptions = {}): ChildProcess {
  if (tree.entrypoint.join(' ') !== 'node') {
    throw new Error(`the image's ENTRYPOINT is ${JSON.stringify(tree.entrypoint)}, expected ["node"]`);
  }
  const file = normalize(entry);
  if (file.startsWith('..') || file.startsWith('/') || !existsSync(join(tree.dir, file))) {
    throw new Error(`entry point ${entry} is not in the image tree`);
  }
  // process.execPath is the project's Node 24, as in the node:24-slim base image.
  return spawn(process.execPath, [file, ...(opts.args ?? [])], {
    cwd: tree.dir,
    env: { ...process.env, NODE_ENV: 'production', NODE_PATH: '', ...opts.env },
    stdio: opts.stdio ?? 'inherit',
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      entry: { type: 'string' },
      keep: { type: 'boolean', default: false },
      print: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (!values.entry && !values.print) {
    console.error('usage: node hack/image-tree.ts --entry <path/main.ts> [--keep] [-- args...] | --print');
    process.exitCode = 2;
    return;
  }
  const tree = assembleImageTree();
  if (values.print || !values.entry) {
    console.log(tree.dir);
    return;
  }
  console.error(`image tree: ${tree.dir}`);
  const child = startEntry(tree, values.entry, { args: positionals });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => {
    if (!values.keep) tree.remove();
    process.exitCode = code ?? (signal ? 128 : 1);
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
