// Test helpers for running the operator against the real local cluster: an IngressClass of its
// own per test (so concurrent tests and other operators never claim each other's Ingresses), the
// operator in-process or as a child process. Everything registers its own cleanup with the test.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { until } from '../../contract/testing/poll.ts';
import { buildOperator, type Operator } from '../app.ts';
import { loadConfig } from '../config.ts';
import { hostIngress, ingressClass } from './objects.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** Where cleanups go: a TestContext, or a suite-level `after`. */
export interface Scope {
  after(fn: () => unknown): void;
}

interface Kubectl {
  kubeconfig: string;
  kubectl(
    args: string[],
    opts?: { input?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

// The cluster is shared: another test may be restarting the API server right now.
const UNAVAILABLE =
  /connection refused|connection reset|unable to handle the request|ServiceUnavailable|TLS handshake timeout|i\/o timeout|EOF/;

/** kubectl that must succeed; waits out an API server that is briefly away. */
export async function kubectlOk(c: Kubectl, args: string[], input?: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await c.kubectl(args, { input });
    if (r.code === 0) return r.stdout;
    if (!UNAVAILABLE.test(r.stderr) || Date.now() > deadline) {
      throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** A fresh namespace from the cluster helper, once the API server answers. */
export async function freshNamespace<T>(
  t: T,
  c: Kubectl & { namespace(t: T, prefix?: string): Promise<string> },
  prefix: string,
): Promise<string> {
  await apiUp(c);
  return c.namespace(t, prefix);
}

/** Waits until the API server answers (it may be restarting for another test). */
export async function apiUp(c: Kubectl): Promise<void> {
  await until(async () => (await c.kubectl(['get', '--raw', '/readyz'])).code === 0, 'the API server');
}

export interface TestClass {
  className: string;
  controllerName: string;
  /** Flags that make an operator serve exactly this class. */
  flags: string[];
}

/** An IngressClass with a controller name unique to this test; deleted when the test ends. */
export async function testIngressClass(t: Scope, c: Kubectl): Promise<TestClass> {
  const id = randomBytes(4).toString('hex');
  const className = `sluice-${id}`;
  const controllerName = `sluice.dev/test-${id}`;
  await kubectlOk(
    c,
    ['apply', '-f', '-'],
    JSON.stringify(
      ingressClass(className, { labels: { 'sluice.dev/test': 'true' }, controller: controllerName }),
    ),
  );
  t.after(() => c.kubectl(['delete', 'ingressclass', className, '--ignore-not-found']));
  return {
    className,
    controllerName,
    flags: [`--class-name=${className}`, `--controller-name=${controllerName}`],
  };
}

function testLogger() {
  const level = process.env.SLUICE_TEST_LOG ?? 'silent';
  return pino({ level, base: { component: 'operator' } }, pino.destination(2));
}

/** The operator in this process, started and synced; stopped when the test ends. */
export async function startTestOperator(t: Scope, c: Kubectl, flags: string[]): Promise<Operator> {
  const config = loadConfig(
    [`--kubeconfig=${c.kubeconfig}`, '--ops-host=127.0.0.1', '--ops-port=1', ...flags],
    {},
  );
  const op = buildOperator(config, { log: testLogger() });
  t.after(() => op.stop());
  await op.start();
  return op;
}

export interface OperatorProcess {
  child: ChildProcess;
  opsPort: number;
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** GET on the ops port: status and parsed JSON (or text). */
  ops(path: string): Promise<{ status: number; body: unknown }>;
}

/** `node operator/main.ts` as a child process; killed when the test ends if still running. */
export function spawnOperator(t: Scope, flags: string[], opsPort: number): OperatorProcess {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'operator/main.ts'), `--ops-port=${opsPort}`, '--ops-host=127.0.0.1', ...flags],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/' },
    },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolveExit) => {
    if (child.exitCode !== null) resolveExit(child.exitCode);
    child.on('exit', (code) => resolveExit(code));
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    opsPort,
    output: () => out,
    exited,
    async ops(path: string) {
      const res = await fetch(`http://127.0.0.1:${opsPort}${path}`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // plain text
      }
      return { status: res.status, body };
    },
  };
}

/** An Ingress JSON document routing every path of `host` to `service` port 80, for kubectl. */
export function singleHostIngress(name: string, className: string, host: string, service = 'web'): string {
  return JSON.stringify(hostIngress(name, className, host, service));
}
