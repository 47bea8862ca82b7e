// Wires one webhook process: informer cache, claim index, certificates, the admission server and
// the ops server. `buildWebhook(config)` is the program main.ts runs (runtime/main.ts); tests
// start one in-process.
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Claimant, CompileOptions, Snapshot } from '../operator/compile/api.ts';
import { loadAuth } from '../operator/kube/auth.ts';
import { KubeClient } from '../operator/kube/client.ts';
import { build as buildOps } from '../runtime/ops.ts';
import { type CertAndKey, notAfter, parseCert } from '../runtime/pki.ts';
import { build, reloadTls } from './app.ts';
import { ClusterCache } from './cache/cluster-cache.ts';
import type { WebhookConfig } from './config.ts';
import { serviceDnsNames } from './manifests.ts';
import { createMetrics, type WebhookMetrics } from './metrics.ts';
import { recheck } from './recheck.ts';
import type { ReviewContext } from './review.ts';
import { scopedIndex, snapshotSource } from './scoped-index.ts';
import { FileCertificates } from './tls/files.ts';
import { SelfManagedCertificates } from './tls/self-managed.ts';

export interface RunningWebhook {
  app: FastifyInstance;
  ops: FastifyInstance;
  cache: ClusterCache;
  metrics: WebhookMetrics;
  /** Present in self-managed mode. */
  selfManaged?: SelfManagedCertificates;
  files?: FileCertificates;
  port: number;
  opsPort: number;
  /** The serving certificate in use. */
  serving(): CertAndKey | undefined;
  close(): Promise<void>;
}

export interface StartOverrides {
  kubeConfig?: KubeConfig;
  logger?: Logger;
}

export interface Webhook {
  log: Logger;
  /** Loads the serving certificate and listens; the cache syncs in the background (see /readyz). */
  start(): Promise<RunningWebhook>;
  stop(): Promise<void>;
}

export function buildWebhook(config: WebhookConfig, overrides: StartOverrides = {}): Webhook {
  const log = overrides.logger ?? pino({ level: config.logLevel, name: 'sluice-webhook' });
  let running: RunningWebhook | undefined;
  return {
    log,
    async start() {
      running = await run(config, { ...overrides, logger: log });
      return running;
    },
    stop: async () => running?.close(),
  };
}

async function run(
  config: WebhookConfig,
  overrides: StartOverrides & { logger: Logger },
): Promise<RunningWebhook> {
  const log = overrides.logger;
  const auth = () => overrides.kubeConfig ?? loadAuth({ kubeconfig: config.kubeconfig });
  const client = new KubeClient(auth(), { timeoutMs: 10_000 });
  // Its own pool and a short timeout: a recheck runs while the API server waits for the review.
  const recheckClient = new KubeClient(auth(), { timeoutMs: 1500 });
  const metrics = createMetrics();
  const options: CompileOptions = {
    controllerName: config.controllerName,
    className: config.className,
    hostOwnership: config.hostOwnership,
    ingressNginxClassNames: config.ingressNginxClassNames,
    nginxSnippets: config.nginxSnippets,
  };

  const release = async () => {
    await cache.stop();
    await Promise.all([client.close(), recheckClient.close()]);
  };
  const cache = new ClusterCache(client, {
    onError: (what, reason, err) => log.warn({ what, reason, err: String(err) }, 'watch failed; retrying'),
  });
  const onBuild = (s: number) => metrics.indexBuildSeconds.observe(s);

  const contextWith = (index: ReviewContext['index']): ReviewContext => ({
    index,
    ingressClasses: cache.ingressClasses.list(),
    service: (ns, name) => cache.services.get(ns, name),
    ingressesIn: (ns) => cache.ingresses.listIn(ns),
    options,
  });

  let serving: CertAndKey | undefined;
  let app: FastifyInstance | undefined;
  const useServing = (pair: CertAndKey, caPem?: string) => {
    serving = pair;
    const cert = parseCert(pair.cert);
    if (cert) metrics.certificateExpiry.set({ certificate: 'serving' }, notAfter(cert).getTime() / 1000);
    const ca = parseCert(caPem);
    if (ca) metrics.certificateExpiry.set({ certificate: 'ca' }, notAfter(ca).getTime() / 1000);
    if (app) {
      try {
        reloadTls(app, pair);
        metrics.certificateReloads.inc({ result: 'ok' });
      } catch (err) {
        metrics.certificateReloads.inc({ result: 'error' });
        log.error({ err }, 'serving certificate could not be loaded; keeping the previous one');
      }
    }
  };

  cache.start();
  let selfManaged: SelfManagedCertificates | undefined;
  let files: FileCertificates | undefined;
  const tls = config.tls;
  try {
    if (tls.mode === 'files') {
      files = new FileCertificates({
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        pollIntervalMs: tls.pollIntervalMs,
        log,
        onServing: (p) => useServing(p),
        onError: () => metrics.certificateReloads.inc({ result: 'error' }),
      });
      await files.load();
      files.start();
    } else {
      selfManaged = new SelfManagedCertificates({
        client,
        namespace: config.namespace,
        secretName: tls.secretName,
        webhookConfigurationName: tls.webhookConfigurationName,
        policy: {
          caValidityMs: tls.caValidityMs,
          servingValidityMs: tls.certValidityMs,
          renewFraction: 1 / 3,
          propagationDelayMs: tls.propagationDelayMs,
          commonName: `${tls.serviceName}.${config.namespace}.svc`,
          names: [...serviceDnsNames(tls.serviceName, config.namespace), ...tls.extraNames],
        },
        checkIntervalMs: tls.checkIntervalMs,
        log,
        onServing: (p, state) => useServing(p, state.ca?.cert),
      });
      await selfManaged.start();
    }
  } catch (err) {
    await release();
    throw err;
  }

  if (!serving) {
    await release();
    throw new Error('no serving certificate; refusing to serve admission reviews without TLS');
  }
  const notSynced = () => cache.unsynced().map((p) => `informer cache ${p} not synced`);
  app = build({
    tls: serving,
    logger: log,
    metrics,
    bodyLimit: config.maxBodyBytes,
    notReady: notSynced,
    context: () => contextWith(scopedIndex(cache, options, onBuild)),
    recheck: config.recheckConflicts
      ? (resource, req, verdict) =>
          recheck(resource, req, verdict, {
            client: recheckClient,
            cached: (h: Claimant) =>
              h.kind === 'Ingress'
                ? cache.ingresses.get(h.namespace, h.name)
                : cache.routeRatios.get(h.namespace, h.name),
            cachedTerminating: (ns: string) => cache.namespaceStates().some((n) => n.name === ns),
            snapshot: () => cache.claimSnapshot(),
            context: (snap: Snapshot) => contextWith(scopedIndex(snapshotSource(snap), options, onBuild)),
            onOutcome: (outcome) => metrics.staleRechecks.inc({ outcome }),
          })
      : undefined,
  });
  const ops = buildOps({
    registry: metrics.registry,
    checks: {
      informers: () => notSynced().join('; ') || undefined,
      certificate: () => (serving ? undefined : 'no serving certificate'),
    },
  });
  const gauges = setInterval(() => {
    for (const [kind, n] of Object.entries(cache.counts())) metrics.cacheObjects.set({ kind }, n);
    metrics.cacheSynced.set(cache.synced ? 1 : 0);
  }, 2000);
  gauges.unref();

  const close = async () => {
    clearInterval(gauges);
    selfManaged?.stop();
    files?.stop();
    await Promise.allSettled([app!.close(), ops.close()]);
    await release();
  };
  try {
    await app.listen({ host: config.address, port: config.port });
    await ops.listen({ host: config.opsAddress, port: config.opsPort });
  } catch (err) {
    await close();
    throw err;
  }
  log.info(
    {
      port: (app.server.address() as AddressInfo).port,
      opsPort: (ops.server.address() as AddressInfo).port,
      tls: tls.mode,
    },
    'sluice webhook listening',
  );
  return {
    app,
    ops,
    cache,
    metrics,
    selfManaged,
    files,
    port: (app.server.address() as AddressInfo).port,
    opsPort: (ops.server.address() as AddressInfo).port,
    serving: () => serving,
    close,
  };
}
