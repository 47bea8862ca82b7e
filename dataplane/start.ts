// Composes a running data plane from its config: config store (loading the saved config),
// upstream registry, traffic listeners, config API and ops app. `buildDataplane(config)` is the
// program main.ts runs (runtime/main.ts); `stop()` is the SIGTERM sequence, `drain()`.

import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import type http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { build as buildOps } from '../runtime/ops.ts';
import { build as buildConfigApi } from './apps/config-api.ts';
import { debugRoutes, readinessChecks } from './apps/debug.ts';
import { tokenFromFile } from './apps/token.ts';
import { build as buildTraffic, type TrafficApp } from './apps/traffic.ts';
import { StateFile } from './config/state-file.ts';
import { ConfigStore } from './config/store.ts';
import { passthroughHosts } from './edge/passthrough-hosts.ts';
import { type CertificatePem, selfSignedCertificate } from './edge/self-signed.ts';
import { createHttpListener, createHttpsListener, type TrackedServer } from './edge/servers.ts';
import { SecureContextCache } from './edge/sni.ts';
import { TrustedProxies } from './edge/trusted-proxies.ts';
import { createLogger } from './observability/access-log.ts';
import { DataplaneMetrics } from './observability/metrics.ts';
import type { DataplaneOptions } from './options.ts';
import { UpstreamRegistry } from './upstream/registry.ts';

export interface RunningDataplane {
  store: ConfigStore;
  traffic: TrafficApp;
  metrics: DataplaneMetrics;
  ports: { http: number; https: number; config: number; ops: number };
  readonly draining: boolean;
  /** Stop accepting, report not ready, finish requests in flight (up to the deadline), close. */
  drain(): Promise<void>;
}

export interface StartExtras {
  /** Process log (startup, config applies); defaults to JSON on stdout. */
  log?: Logger;
  /** Where access log lines go; defaults to stdout. */
  accessLogDestination?: DestinationStream;
  /** Register Node process metrics (off in tests that start several data planes). */
  processMetrics?: boolean;
}

export interface Dataplane {
  log: Logger;
  /** Loads the saved config and listens; resolves with the running data plane. */
  start(): Promise<RunningDataplane>;
  /** Drains when started; nothing to do otherwise. */
  stop(): Promise<void>;
  /** An uncaught fault is counted for a last scrape. */
  onFault(): void;
}

export function buildDataplane(config: DataplaneOptions, extras: StartExtras = {}): Dataplane {
  const log = extras.log ?? createLogger({ level: config.logLevel });
  let running: RunningDataplane | undefined;
  return {
    log,
    async start() {
      running = await run(config, { ...extras, log });
      return running;
    },
    stop: async () => running?.drain(),
    onFault: () => running?.metrics.requestFault('process'),
  };
}

async function run(opts: DataplaneOptions, extras: StartExtras & { log: Logger }): Promise<RunningDataplane> {
  const log = extras.log;
  const token = tokenFromFile(opts.configTokenFile);
  const trustedProxies = new TrustedProxies(opts.trustedProxies);
  const defaultCert: CertificatePem =
    opts.defaultCertFile && opts.defaultKeyFile
      ? {
          certPem: await readFile(opts.defaultCertFile, 'utf8'),
          keyPem: await readFile(opts.defaultKeyFile, 'utf8'),
        }
      : await selfSignedCertificate({ commonName: 'sluice-default', names: ['sluice-default'] });
  const fallbackContext = createSecureContext({ cert: defaultCert.certPem, key: defaultCert.keyPem });
  const configTls =
    opts.configTlsCertFile && opts.configTlsKeyFile
      ? {
          certPem: await readFile(opts.configTlsCertFile, 'utf8'),
          keyPem: await readFile(opts.configTlsKeyFile, 'utf8'),
        }
      : undefined;

  let draining = false;
  let https: TrackedServer<http2.Http2SecureServer> | undefined;
  let lastDefault: unknown;
  let metrics: DataplaneMetrics | undefined;
  let traffic: TrafficApp | undefined;
  let http: TrackedServer<http.Server> | undefined;

  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: opts.upstreamMaxConnections,
    keepAliveTimeoutMs: opts.upstreamKeepAliveTimeoutMs,
    ejectBaseMs: opts.ejectBaseMs,
    ejectMaxMs: opts.ejectMaxMs,
    onEject: (up) => {
      metrics?.ejection(`${up.address}:${up.port}`);
      log.warn(
        { endpoint: `${up.address}:${up.port}`, failures: up.consecutiveFailures },
        'endpoint ejected',
      );
    },
  });
  const store = new ConfigStore({
    registry,
    contexts: new SecureContextCache(),
    fallbackContext,
    stateFile: opts.stateFile ? new StateFile(opts.stateFile) : undefined,
    onApplied(table, seconds, how) {
      metrics?.configApplied(table.version, table.appliedAt, seconds, how);
      log.info({ version: table.version, seconds, how }, 'config applied');
      syncDefaultContext();
    },
    onRefused(result, errors) {
      metrics?.configRefused(result);
      if (result === 'invalid') log.warn({ errors }, 'config refused');
    },
    onPatch(outcome, errors) {
      metrics?.configPatch(outcome);
      if (outcome === 'invalid') log.warn({ errors }, 'config patch refused');
      else if (outcome === 'base_mismatch') log.info({ errors }, 'config patch for another version');
    },
    onPersistError(err) {
      log.error({ err: err.message }, 'could not save the applied config');
    },
    onCompileError(err) {
      log.error({ err }, 'a validated config could not be compiled');
    },
  });

  // Clients without SNI get the server's default context: keep it on the config's default.
  function syncDefaultContext(): void {
    const table = store.table;
    if (https === undefined || table === undefined || table.sni.defaultContext === lastDefault) return;
    lastDefault = table.sni.defaultContext;
    const name = table.defaultCertificate;
    const pem = (name !== undefined ? table.config.certificates[name] : undefined) ?? defaultCert;
    https.server.setSecureContext({ cert: pem.certPem, key: pem.keyPem });
  }

  metrics = new DataplaneMetrics({
    defaultMetrics: extras.processMetrics ?? true,
    connections: () => ({
      http: http?.sockets.size ?? 0,
      https: https?.sockets.size ?? 0,
      upgraded: traffic?.tunnels.size ?? 0,
    }),
    endpoints: () => registry.size,
    upstreamConnections: () => registry.connectionsInUse(),
  });

  const saved = await store.loadState();
  if (saved?.ok) log.info({ version: saved.version }, 'serving the saved config');
  else if (saved && !saved.ok && saved.reason === 'invalid' && saved.setAside !== undefined)
    log.error(
      { errors: saved.errors, setAside: saved.setAside },
      `saved config refused and moved to ${saved.setAside}; waiting for the operator`,
    );
  else if (saved && !saved.ok)
    log.warn({ errors: saved.errors }, 'saved config not usable; waiting for the operator');

  const accessLog = opts.accessLog
    ? createLogger({ level: 'info', destination: extras.accessLogDestination })
    : undefined;
  traffic = buildTraffic({
    table: () => store.table,
    registry,
    trustedProxies,
    metrics,
    accessLog,
    httpsRedirectPort: opts.httpsRedirectPort,
    retryAfterSeconds: opts.retryAfterSeconds,
    draining: () => draining,
    serverHeader: opts.serverHeader,
    log,
  });
  const limits = {
    maxHeaderBytes: opts.maxHeaderBytes,
    headersTimeoutMs: opts.headerTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
  };
  http = createHttpListener(
    { request: traffic.http, checkContinue: traffic.continueHttp, upgrade: traffic.upgradeHttp },
    limits,
  );
  https = createHttpsListener(
    {
      request: traffic.https,
      checkContinue: traffic.continueHttps,
      upgrade: traffic.upgradeHttps,
      faults: traffic.faults,
    },
    limits,
    {
      defaultCert,
      sniContext: (name) => store.table?.sni.lookup(name) ?? fallbackContext,
      passthrough: passthroughHosts({
        table: () => store.table,
        helloTimeoutMs: opts.headerTimeoutMs,
        done: (e) => metrics.passthrough(e.outcome),
      }),
    },
  );
  syncDefaultContext();
  const configApi = buildConfigApi({ store, token, tls: configTls, bodyLimit: opts.configMaxBytes });
  const state = { table: () => store.table, draining: () => draining };
  const ops = buildOps({
    registry: metrics.registry,
    checks: readinessChecks(state),
    plugins: [debugRoutes(state)],
  });

  const listen = (server: http.Server | http2.Http2SecureServer, port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const listenApp = async (app: FastifyInstance, port: number, host: string) => {
    await app.listen({ port, host });
    return (app.server.address() as AddressInfo).port;
  };

  const ports = {
    http: await listen(http.server, opts.httpPort, opts.address),
    https: await listen(https.server, opts.httpsPort, opts.address),
    config: await listenApp(configApi, opts.configPort, opts.configAddress),
    ops: await listenApp(ops, opts.opsPort, opts.opsAddress),
  };
  log.info({ ports }, 'data plane listening');

  let drained: Promise<void> | undefined;
  const drain = async () => {
    draining = true;
    log.info({ delayMs: opts.drainDelayMs, timeoutMs: opts.drainTimeoutMs }, 'draining');
    if (opts.drainDelayMs > 0) await sleep(opts.drainDelayMs);
    const closed = Promise.all([closeServer(http!.server), closeServer(https!.server)]);
    for (const session of https!.sessions) session.close();
    const deadline = Date.now() + opts.drainTimeoutMs;
    while (traffic!.inflight() > 0 && Date.now() < deadline) await sleep(25);
    // Upgraded connections last: they have no natural end.
    for (const socket of traffic!.tunnels) socket.destroy();
    for (const socket of [...http!.sockets, ...https!.sockets]) socket.destroy();
    await closed;
    store.retire();
    // The state file is written in the background: the last applied config must reach it.
    await store.flushState();
    await Promise.race([registry.closeAll(), sleep(2_000).then(() => registry.destroyAll())]);
    await Promise.all([configApi.close(), ops.close()]);
    log.info({ unfinished: traffic!.inflight() }, 'drained');
    accessLog?.flush();
    log.flush();
  };

  return {
    store,
    traffic,
    metrics,
    ports,
    get draining() {
      return draining;
    },
    drain() {
      drained ??= drain();
      return drained;
    },
  };
}

function closeServer(server: http.Server | http2.Http2SecureServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
