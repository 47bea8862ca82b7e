// Builds an operator from its settings: Kubernetes client, data-plane client, controller and
// ops server. `main.ts` adds flags, signals and `listen`; tests build one in-process. The
// controller's informers, status and Event writers and leader election against the API server
// are wired here.

import { readFileSync } from 'node:fs';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigValidator } from '../contract/validate.ts';
import { build as buildOps } from '../runtime/ops.ts';
import { createCompiler, isSluiceIngress } from './compile/index.ts';
import type { OperatorConfig } from './config.ts';
import { Controller, type ControllerOptions, errText } from './controller.ts';
import { cachedUid, kubeInformers } from './informers.ts';
import { loadAuth } from './kube/auth.ts';
import { KubeClient } from './kube/client.ts';
import { objectPath, SECRETS } from './kube/resources.ts';
import { alwaysLeading, leaseLeadership } from './leader.ts';
import { createMetrics, type OperatorMetrics } from './metrics.ts';
import { DataplaneClient } from './push/dataplane-client.ts';
import { TokenFile } from './push/token.ts';
import { EventRecorder } from './status/events.ts';
import { StatusWriter } from './status/writer.ts';

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
    ingressNginxClassNames: config.ingressNginxClassNames,
    nginxSnippets: config.nginxSnippets,
  };
  // Both long-lived: work for objects that did not change is reused, and pieces of the config that
  // did not change are neither rebuilt nor checked again.
  const compiler = createCompiler(compileOptions);
  const validator = new ConfigValidator();
  const controller = kubeController({
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
    publish: {
      addresses: config.publishAddresses,
      service: config.publishService,
      status: config.publishStatus,
    },
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
    checks: { informers: () => controller.notReady() },
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

export type KubeControllerOptions = Omit<
  ControllerOptions,
  'informers' | 'readSecret' | 'status' | 'events' | 'leader' | 'dataplane'
> & {
  client: KubeClient;
  dataplane: ControllerOptions['dataplane'] & {
    /** Discover replicas from this Service's EndpointSlices (ignored when `replicas` is given). */
    namespace: string;
    service: string;
  };
  /** Lease settings; absent means this instance always leads. */
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
};

/** The controller against the API server: its informers, status and Event writers, and Lease. */
export function kubeController(opts: KubeControllerOptions): Controller {
  const { client, metrics, log, leaderElection: le, ...rest } = opts;
  const dp = opts.dataplane;
  // The Secret cache asks the store what is referenced; it lists only after the controller exists.
  const informers = kubeInformers(client, {
    isSecretReferenced: (ns, name) => controller.store.isSecretReferenced(ns, name),
    dataplane: dp.replicas ? undefined : { namespace: dp.namespace, service: dp.service },
    onRestart: (resource, reason, err) => {
      metrics.watchRestarts.inc({ resource, reason });
      if (reason !== 'closed') log.warn({ resource, reason, err: errText(err) }, 'watch restarting');
    },
  });
  const controller: Controller = new Controller({
    ...rest,
    log,
    metrics,
    informers,
    readSecret: async (namespace, name, signal) => {
      const full = await client.get<V1Secret>(objectPath(SECRETS, namespace, name), { signal });
      return { ...full, apiVersion: 'v1', kind: 'Secret' };
    },
    status: new StatusWriter({
      client,
      routeRatios: informers.routeRatios,
      ingresses: informers.ingresses,
      onWrite: (kind, ok, key, err) => {
        metrics.statusWrites.inc({ kind, result: ok ? 'ok' : 'error' });
        if (!ok) log.warn({ kind, object: key, err: errText(err) }, 'status write failed');
      },
    }),
    events: new EventRecorder({
      client,
      controller: 'sluice.dev/operator',
      instance: opts.identity,
      uidOf: (ref) => cachedUid(informers, ref),
      onPost: (ev, ok, err) => {
        metrics.events.inc({ result: ok ? 'ok' : 'error' });
        if (!ok)
          log.warn({ reason: ev.reason, object: ev.object, err: errText(err) }, 'posting Event failed');
      },
    }),
    leader: le
      ? leaseLeadership({
          client,
          namespace: le.namespace,
          name: le.name,
          identity: opts.identity,
          leaseDurationMs: le.leaseDurationMs,
          renewDeadlineMs: le.renewDeadlineMs,
          retryPeriodMs: le.retryPeriodMs,
          onError: (err) => log.warn({ err: errText(err) }, 'leader election'),
        })
      : alwaysLeading(),
  });
  return controller;
}
