// Test helper: one real local control plane per test run, a fresh namespace per test.
// hack/test.ts starts the cluster before the integration files and stops it after; a file run on
// its own starts (or reuses) one and leaves it running for the next.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { installCrds, kubeconfigPath, restartApiServer, server, up } from '../../hack/lib/devcluster.ts';
import { type RunResult, run } from './run.ts';

export type KubectlResult = RunResult;

export interface TestCluster {
  kubeconfig: string;
  kc: KubeConfig;
  server: string;
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string }): Promise<KubectlResult>;
  namespace(t: TestContext, prefix?: string): Promise<string>;
  restartApiServer(): Promise<void>;
}

let shared: Promise<TestCluster> | undefined;

export function cluster(): Promise<TestCluster> {
  shared ??= start();
  return shared;
}

export function kubectl(
  args: string[],
  opts: { input?: string; kubeconfig?: string } = {},
): Promise<KubectlResult> {
  return run('kubectl', ['--kubeconfig', opts.kubeconfig ?? kubeconfigPath, ...args], { input: opts.input });
}

async function start(): Promise<TestCluster> {
  await up({ quiet: true });
  // Every Sluice component expects its CRD; tests get a cluster that has it, as after an install.
  installCrds();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    kubeconfig: kubeconfigPath,
    kc,
    server,
    kubectl,
    restartApiServer,
    async namespace(t: TestContext, prefix = 'test'): Promise<string> {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
      // Retried for a while: a test before this one may have just restarted the API server.
      for (let attempt = 0; ; attempt++) {
        try {
          await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/test': 'true' } } } });
          break;
        } catch (err) {
          if ((err as { code?: number }).code === 409) break; // an earlier attempt got through
          if (attempt >= 120) throw err;
          await sleep(500);
        }
      }
      t.after(async () => {
        // Deletion is asynchronous (the namespace controller finalises it); tests do not wait.
        await core.deleteNamespace({ name }).catch(() => undefined);
      });
      return name;
    },
  };
}
