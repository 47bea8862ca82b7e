// Builds an operator from its settings: Kubernetes client, data-plane client, controller and
// ops server. `main.ts` adds flags, signals and `listen`; tests build one in-process.

import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigValidator } from '../contract/validate.ts';
import { createCompiler, isSluiceIngress } from './compile/index.ts';
import type { OperatorConfig } from './config.ts';
import { Controller } from './controller.ts';
import { loadAuth } from './kube/auth.ts';
import { KubeClient } from './kube/client.ts';
import { createMetrics, type OperatorMetrics } from './metrics.ts';
import { buildOps } from './ops.ts';
import { DataplaneClient } from './push/dataplane-client.ts';
import { TokenFile } from './push/token.ts';

export interface Operator {
  controller: Controller;
  ops: FastifyInstance;
  metrics: OperatorMetrics;
  log: Logger;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildOperator(
  config: OperatorConfig,
  deps: { log?: Logger; kubeConfig?: KubeConfig } = {},
): Operator {
  const log = deps.log ?? pino({ level: config.logLevel, base: { component: 'operator' } });
  const metrics = createMetrics();
  const client = new KubeClient(deps.kubeConfig ?? loadAuth({ kubeconfig: config.kubeconfig }));
  const token = new TokenFile(config.configTokenFile);
  const ca = config.dataplaneCaFile ? readFileSync(config.dataplaneCaFile, 'utf8') : undefined;
  const dataplaneClient = new DataplaneClient({
    token: () => token.get(),
    ca,
    serverName: config.dataplaneServerName,
    timeoutMs: config.pushTimeoutMs,
  });

  const compileOptions = {
    className: config.className,
    controllerName: config.controllerName,
    hostOwnership: config.hostOwnership,
    defaultCertificateSecret: config.defaultCertificate,
  };
  // Both long-lived: work for objects that did not change is reused, and pieces of the config that
  // did not change are neither rebuilt nor checked again.
  const compiler = createCompiler(compileOptions);
  const validator = new ConfigValidator();
  const controller = new Controller({
    client,
    log,
    metrics,
    compile: (snapshot) => {
      const before = { ...compiler.stats };
      const result = compiler.compile(snapshot);
      const after = compiler.stats;
      metrics.compiles.inc({ kind: 'full' }, after.fullCompiles - before.fullCompiles);
      metrics.compiles.inc({ kind: 'incremental' }, after.incrementalCompiles - before.incrementalCompiles);
      if (after.recovered > before.recovered) {
        // A compiler bug, worked around: the result is right, but it should be reported.
        metrics.compiles.inc({ kind: 'recovered' }, after.recovered - before.recovered);
        log.error('incremental compile failed and was redone in full');
      }
      return result;
    },
    isSluiceIngress,
    validate: (cfg) => {
      // The compiler has just computed the version; the data plane checks it again on receipt.
      const r = validator.config(cfg, { checkVersion: false });
      return r.ok ? [] : r.errors;
    },
    compileOptions,
    dataplane: {
      namespace: config.dataplaneNamespace,
      service: config.dataplaneService,
      portName: config.dataplanePortName,
      port: config.dataplanePort,
      scheme: ca ? 'https' : 'http',
      replicas: config.dataplaneEndpoints,
      client: dataplaneClient,
    },
    publish: { addresses: config.publishAddresses, service: config.publishService },
    leaderElection: config.leaderElect
      ? {
          namespace: config.leaseNamespace,
          name: config.leaseName,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
        }
      : undefined,
    identity: config.identity,
    queue: { holdOffMs: config.queueHoldOffMs, maxDelayMs: config.queueMaxDelayMs },
  });

  const ops = buildOps({
    registry: metrics.registry,
    notReady: () => controller.notReady(),
    info: () => ({ leader: controller.leading, version: controller.version ?? null }),
  });

  let stopped: Promise<void> | undefined;
  return {
    controller,
    ops,
    metrics,
    log,
    async start() {
      // A missing or empty token file is a setup error: say so now, not on every push.
      await token.get().catch((err: Error) => {
        throw new Error(`--config-token-file: ${err.message}`);
      });
      await controller.start();
    },
    stop() {
      stopped ??= (async () => {
        await controller.stop();
        await Promise.all([ops.close(), client.close(), dataplaneClient.close()]);
      })();
      return stopped;
    },
  };
}
