// Lifecycle of the local control plane (bin/devcluster): build, start in the background, wait
// until it serves, stop and clean up. Used by `npm run cluster:*` and by the test helpers.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const root = resolve(import.meta.dirname, '../..');
export const stateDir = join(root, '.devcluster');
export const binary = join(root, 'bin', 'devcluster');
export const kubeconfigPath = join(stateDir, 'kubeconfig');
export const pidFile = join(stateDir, 'devcluster.pid');
export const logFile = join(stateDir, 'devcluster.log');
export const securePort = 16443;
export const server = `https://127.0.0.1:${securePort}`;

export function build(): void {
  const r = spawnSync('bash', [join(root, 'hack/devcluster/build.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building bin/devcluster failed');
}

export function pid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const n = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(n) || n <= 0) return undefined;
  try {
    process.kill(n, 0);
    return n;
  } catch {
    return undefined;
  }
}

/** GET a path on the API server as the admin identity; resolves to the status and body. */
export function apiGet(path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const pki = join(stateDir, 'pki');
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${server}${path}`,
      {
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function isReady(): Promise<boolean> {
  try {
    const r = await apiGet('/readyz');
    return r.status === 200;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Waits for /readyz and for the controller-manager to have made the default ServiceAccount. */
async function waitUsable(limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  let stage = 'readyz';
  while (Date.now() < deadline) {
    if (pid() === undefined) {
      throw new Error(`devcluster exited while starting; last log lines:\n${tail(logFile)}`);
    }
    try {
      if (stage === 'readyz' && (await apiGet('/readyz')).status === 200) stage = 'serviceaccount';
      if (
        stage === 'serviceaccount' &&
        (await apiGet('/api/v1/namespaces/default/serviceaccounts/default')).status === 200
      ) {
        stage = 'node';
      }
      if (stage === 'node' && (await nodeReadyOrNoAgent())) return;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`devcluster not usable after ${limitMs} ms (waiting for ${stage}); see ${logFile}`);
}

// With the node agent built in, `up` returns once its node reports Ready.
async function nodeReadyOrNoAgent(): Promise<boolean> {
  if (!hasSubcommand('node-agent')) return true;
  const r = await apiGet('/api/v1/nodes');
  if (r.status !== 200) return false;
  const list = JSON.parse(r.body) as {
    items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }>;
  };
  return list.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

const subcommands = new Map<string, boolean>();
export function hasSubcommand(name: string): boolean {
  let known = subcommands.get(name);
  if (known === undefined) {
    // The usage line that `devcluster` prints without arguments lists its subcommands.
    const r = spawnSync(binary, [], { encoding: 'utf8' });
    known = `${r.stdout}${r.stderr}`.includes(name);
    subcommands.set(name, known);
  }
  return known;
}

/** Starts the cluster unless one is running; a dead cluster's leftovers are removed first. */
export function up(opts: { quiet?: boolean } = {}): Promise<{ started: boolean }> {
  return withLock(() => upLocked(opts));
}

async function upLocked(opts: { quiet?: boolean }): Promise<{ started: boolean }> {
  if (pid() !== undefined) {
    // A cluster started from an older binary lacks what the newer one adds: replace it.
    if (existsSync(binary) && statSync(binary).mtimeMs > statSync(pidFile).mtimeMs) {
      if (!opts.quiet) console.log('bin/devcluster changed since the cluster started: restarting it');
      await downLocked();
    } else {
      await waitUsable(5 * 60_000);
      return { started: false };
    }
  }
  build();
  cleanup();
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const log = openSync(logFile, 'a');
  const child = spawn(binary, ['serve', '--dir', stateDir], {
    cwd: root,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error('could not start bin/devcluster');
  writeFileSync(pidFile, `${child.pid}\n`);
  child.unref();
  const started = Date.now();
  await waitUsable(5 * 60_000);
  if (!opts.quiet) console.log(`devcluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { started: true };
}

const lockDir = join(root, '.devcluster.lock');

/**
 * Serialises up/down across processes (test files run in parallel processes). The lock is a
 * directory holding the owner's pid, so a lock left by a killed process is recognised and taken.
 */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const owner = join(lockDir, 'pid');
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, `${process.pid}\n`);
      break;
    } catch {
      if (lockIsStale(owner)) rmSync(lockDir, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function lockIsStale(owner: string): boolean {
  try {
    const holder = Number(readFileSync(owner, 'utf8').trim());
    if (!(holder > 0)) throw new Error('no owner yet');
    process.kill(holder, 0);
    return false;
  } catch (err) {
    // No live owner: either it died, or it has not written its pid yet (give it 10 s).
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    try {
      return Date.now() - statSync(lockDir).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
}

/** Removes network namespaces, links and processes a killed cluster left behind. */
function cleanup(): void {
  if (existsSync(binary) && hasSubcommand('cleanup')) {
    spawnSync(binary, ['cleanup', '--dir', stateDir], { stdio: 'inherit' });
  }
}

export function down(): Promise<void> {
  return withLock(downLocked);
}

async function downLocked(): Promise<void> {
  const p = pid();
  if (p !== undefined) {
    process.kill(p, 'SIGTERM');
    const deadline = Date.now() + 45_000;
    while (pid() !== undefined && Date.now() < deadline) await sleep(200);
    if (pid() !== undefined) process.kill(p, 'SIGKILL');
    while (pid() !== undefined) await sleep(100);
  }
  cleanup();
  rmSync(stateDir, { recursive: true, force: true });
}

/** Restarts kube-apiserver inside a running cluster and waits until it serves again. */
export async function restartApiServer(): Promise<void> {
  const p = pid();
  if (p === undefined) throw new Error('devcluster is not running');
  process.kill(p, 'SIGUSR1');
  const deadline = Date.now() + 20_000;
  while ((await isReady()) && Date.now() < deadline) await sleep(100);
  await waitUsable(3 * 60_000);
}

/** Applies Sluice's CRDs (as an install does) and waits until the API server serves them. */
export function installCrds(): void {
  const run = (args: string[]) => {
    const res = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr || res.error?.message}`);
  };
  run(['apply', '-f', join(root, 'crds/routeratio.yaml')]);
  run(['wait', '--for=condition=Established', 'crd/routeratios.sluice.dev', '--timeout=60s']);
}
