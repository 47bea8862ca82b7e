// The traffic app: request and upgrade handlers for the HTTP and HTTPS listeners, wired to the
// config store, upstream registry, metrics and access log. `inject()` runs a request through the
// same handler without a socket, for fast tests.

import type { Duplex } from 'node:stream';
import { type InjectOptions, inject, type Response } from 'light-my-request';
import type { Logger } from 'pino';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import type { DataplaneMetrics } from '../observability/metrics.ts';
import { createObserver } from '../observability/observer.ts';
import type { FaultSink } from '../proxy/contain.ts';
import type { ExchangeObserver } from '../proxy/exchange.ts';
import { createRequestHandlers, guardUpgrade, type RequestHandler } from '../proxy/handler.ts';
import { createUpgradeHandler, type UpgradeHandler, type UpgradeRecord } from '../proxy/upgrade.ts';
import type { RoutingTable } from '../routing/table.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';

export interface TrafficOptions {
  table(): RoutingTable | undefined;
  registry: UpstreamRegistry;
  trustedProxies: TrustedProxies;
  metrics: DataplaneMetrics;
  /** Undefined turns access logs off. */
  accessLog?: Logger;
  httpsRedirectPort?: number;
  retryAfterSeconds?: number;
  draining?: () => boolean;
  /** Server header on every answer; '' sends none. Default `sluice`. */
  serverHeader?: string;
  /** Process log: contained faults are logged here at error level. */
  log?: Logger;
}

export interface TrafficApp {
  http: RequestHandler;
  https: RequestHandler;
  /** 'checkContinue' handlers: route and size checks come before `100 Continue`. */
  continueHttp: RequestHandler;
  continueHttps: RequestHandler;
  /** Contained faults: counted and logged. */
  faults: FaultSink;
  upgradeHttp: UpgradeHandler;
  upgradeHttps: UpgradeHandler;
  /** Open WebSocket tunnels (client side). */
  tunnels: Set<Duplex>;
  /** Requests between arrival and the end of their response. */
  inflight(): number;
  inject(opts: InjectOptions & { scheme?: 'http' | 'https' }): Promise<Response>;
}

export function build(opts: TrafficOptions): TrafficApp {
  const base = createObserver(opts.metrics, opts.accessLog);
  let inflight = 0;
  // The observer is also the Exchange's fault sink, for throws in its undici callbacks.
  const observer: ExchangeObserver & FaultSink = {
    done(ex) {
      inflight--;
      // Runs from the response's 'close' event: a throw here would reach the event loop.
      try {
        base.done(ex);
      } catch (err) {
        faults.fault('response', err, {
          requestId: ex.requestId || undefined,
          host: ex.rawHost,
          path: ex.path,
        });
      }
    },
    upstreamError: base.upstreamError,
    fault: (stage, err, ctx) => faults.fault(stage, err, ctx),
  };
  const table = () => {
    const t = opts.table();
    if (t !== undefined) inflight++;
    return t;
  };
  const faults: FaultSink = {
    fault(stage, err, ctx) {
      opts.metrics.requestFault(stage);
      // Request data goes in fields, never into the message.
      opts.log?.error({ stage, ...ctx, err }, 'fault contained to one request');
    },
  };
  const serverHeader = opts.serverHeader ?? 'sluice';
  const handlerOptions = {
    table,
    registry: opts.registry,
    trustedProxies: opts.trustedProxies,
    observer,
    httpsRedirectPort: opts.httpsRedirectPort ?? 443,
    retryAfterSeconds: opts.retryAfterSeconds ?? 5,
    draining: opts.draining ?? (() => false),
    serverHeader,
    faults,
  };
  const tunnels = new Set<Duplex>();
  const upgradeOptions = {
    table: opts.table,
    registry: opts.registry,
    trustedProxies: opts.trustedProxies,
    httpsRedirectPort: handlerOptions.httpsRedirectPort,
    retryAfterSeconds: handlerOptions.retryAfterSeconds,
    tunnels,
    onUpgrade: containRecorder(createUpgradeRecorder(opts.metrics, opts.accessLog), faults),
    onUpstreamError: (backend: string, kind: Parameters<DataplaneMetrics['upstreamError']>[1]) =>
      opts.metrics.upstreamError(backend, kind),
    serverHeader,
  };
  const { request: http, checkContinue: continueHttp } = createRequestHandlers('http', handlerOptions);
  const { request: https, checkContinue: continueHttps } = createRequestHandlers('https', handlerOptions);
  const guard = { faults, serverHeader };
  return {
    http,
    https,
    continueHttp,
    continueHttps,
    faults,
    upgradeHttp: guardUpgrade(createUpgradeHandler('http', upgradeOptions), guard),
    upgradeHttps: guardUpgrade(createUpgradeHandler('https', upgradeOptions), guard),
    tunnels,
    inflight: () => inflight,
    inject({ scheme, ...injectOptions }) {
      return inject(scheme === 'https' ? https : http, injectOptions) as Promise<Response>;
    },
  };
}

/** The recorder runs from socket events of the tunnel: a throw there must not reach the event loop. */
function containRecorder(record: (r: UpgradeRecord) => void, faults: FaultSink) {
  return (r: UpgradeRecord) => {
    try {
      record(r);
    } catch (err) {
      faults.fault('upgrade', err, { requestId: r.requestId || undefined, host: r.rawHost, path: r.path });
    }
  };
}

function createUpgradeRecorder(metrics: DataplaneMetrics, accessLog: Logger | undefined) {
  return (r: import('../proxy/upgrade.ts').UpgradeRecord) => {
    metrics.request(r.route, r.backend?.key ?? '', r.status, r.durationMs / 1000);
    if (r.route?.policy.accessLog === false) return;
    accessLog?.info(
      {
        requestId: r.requestId || undefined,
        client: r.client || undefined,
        method: r.method,
        upgrade: 'websocket',
        host: r.rawHost,
        path: r.path,
        status: r.status,
        durationMs: Math.round(r.durationMs * 1000) / 1000,
        ingress: r.route?.source.ingress,
        route: r.route?.routeLabel,
        backend: r.backend?.key,
        endpoint: r.upstream ? `${r.upstream.address}:${r.upstream.port}` : undefined,
        configVersion: r.table?.version,
      },
      'upgrade',
    );
  };
}
