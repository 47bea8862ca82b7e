// The traffic app: request and upgrade handlers for the HTTP and HTTPS listeners, wired to the
// config store, upstream registry, metrics and access log. `inject()` runs a request through the
// same handler without a socket, for fast tests.

import type { Duplex } from 'node:stream';
import { type InjectOptions, inject, type Response } from 'light-my-request';
import type { Logger } from 'pino';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import type { DataplaneMetrics } from '../observability/metrics.ts';
import { createObserver } from '../observability/observer.ts';
import type { ExchangeObserver } from '../proxy/exchange.ts';
import { createRequestHandler, type RequestHandler } from '../proxy/handler.ts';
import { createUpgradeHandler, type UpgradeHandler } from '../proxy/upgrade.ts';
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
}

export interface TrafficApp {
  http: RequestHandler;
  https: RequestHandler;
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
  const observer: ExchangeObserver = {
    done(ex) {
      inflight--;
      base.done(ex);
    },
    upstreamError: base.upstreamError,
  };
  const table = () => {
    const t = opts.table();
    if (t !== undefined) inflight++;
    return t;
  };
  const handlerOptions = {
    table,
    registry: opts.registry,
    trustedProxies: opts.trustedProxies,
    observer,
    httpsRedirectPort: opts.httpsRedirectPort ?? 443,
    retryAfterSeconds: opts.retryAfterSeconds ?? 5,
    draining: opts.draining ?? (() => false),
  };
  const tunnels = new Set<Duplex>();
  const upgradeOptions = {
    table: opts.table,
    registry: opts.registry,
    trustedProxies: opts.trustedProxies,
    httpsRedirectPort: handlerOptions.httpsRedirectPort,
    retryAfterSeconds: handlerOptions.retryAfterSeconds,
    tunnels,
    onUpgrade: createUpgradeRecorder(opts.metrics, opts.accessLog),
    onUpstreamError: (backend: string, kind: Parameters<DataplaneMetrics['upstreamError']>[1]) =>
      opts.metrics.upstreamError(backend, kind),
  };
  const http = createRequestHandler('http', handlerOptions);
  const https = createRequestHandler('https', handlerOptions);
  return {
    http,
    https,
    upgradeHttp: createUpgradeHandler('http', upgradeOptions),
    upgradeHttps: createUpgradeHandler('https', upgradeOptions),
    tunnels,
    inflight: () => inflight,
    inject({ scheme, ...injectOptions }) {
      return inject(scheme === 'https' ? https : http, injectOptions) as Promise<Response>;
    },
  };
}

function createUpgradeRecorder(metrics: DataplaneMetrics, accessLog: Logger | undefined) {
  return (r: import('../proxy/upgrade.ts').UpgradeRecord) => {
    metrics.request(r.route, r.backend?.key ?? '', r.status, r.durationMs / 1000);
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
