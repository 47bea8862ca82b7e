// Prometheus metrics of one data-plane process, on its own registry (several instances can run
// in one test process). Per-request series live in RequestMetrics (plain counters, rendered at
// scrape time); the rest are ordinary prom-client metrics.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FaultStage } from '../proxy/contain.ts';
import type { UpstreamErrorKind } from '../proxy/upstream-errors.ts';
import type { RouteRuntime } from '../routing/table.ts';
import { RequestMetrics } from './request-metrics.ts';

export interface ConnectionCounts {
  http: number;
  https: number;
  upgraded: number;
}

export class DataplaneMetrics {
  readonly registry = new Registry();
  readonly #requests = new RequestMetrics();
  readonly #upstreamErrors: Counter<'backend' | 'kind'>;
  readonly #ejections: Counter<'endpoint'>;
  readonly #configInfo: Gauge<'version'>;
  readonly #configApplied: Gauge;
  readonly #configApplyDuration: Histogram;
  readonly #configApplies: Counter<'result'>;
  readonly #configPatches: Counter<'result'>;
  readonly #faults: Counter<'stage'>;
  readonly #passthrough: Counter<'outcome'>;

  constructor(opts: {
    defaultMetrics?: boolean;
    connections?: () => ConnectionCounts;
    endpoints?: () => number;
    /** Upstream connections in use per endpoint `address:port`. */
    upstreamConnections?: () => Map<string, number>;
  }) {
    const registers = [this.registry];
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.#requests.register(this.registry);
    this.#upstreamErrors = new Counter({
      name: 'sluice_upstream_errors_total',
      help: 'Failed upstream attempts by backend and kind (connect_refused, connect_timeout, response_timeout, reset, ...).',
      labelNames: ['backend', 'kind'],
      registers,
    });
    this.#ejections = new Counter({
      name: 'sluice_endpoint_ejections_total',
      help: 'Endpoints ejected by passive health checking after a connection failure.',
      labelNames: ['endpoint'],
      registers,
    });
    this.#configInfo = new Gauge({
      name: 'sluice_config_info',
      help: 'The applied config version (value 1).',
      labelNames: ['version'],
      registers,
    });
    this.#configApplied = new Gauge({
      name: 'sluice_config_applied_timestamp_seconds',
      help: 'When the applied config was applied (Unix time).',
      registers,
    });
    this.#configApplyDuration = new Histogram({
      name: 'sluice_config_apply_duration_seconds',
      help: 'Time to validate and compile a config (whole or patched).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#configApplies = new Counter({
      name: 'sluice_config_applies_total',
      help: 'Whole configs received (PUT, or the saved one at start) by result (applied, unchanged, invalid).',
      labelNames: ['result'],
      registers,
    });
    this.#configPatches = new Counter({
      name: 'sluice_config_patches_total',
      help: 'Config patches received (PATCH) by result (applied, unchanged, base_mismatch, invalid).',
      labelNames: ['result'],
      registers,
    });
    this.#faults = new Counter({
      name: 'sluice_request_faults_total',
      help: 'Internal faults contained while handling one request (stage: request, upgrade, response) or caught outside every request (process).',
      labelNames: ['stage'],
      registers,
    });
    this.#passthrough = new Counter({
      name: 'sluice_passthrough_connections_total',
      help: 'TLS passthrough connections by outcome (piped, no_endpoint, connect_failed) and hellos refused on the TLS listener while it reads them (bad_hello, hello_timeout).',
      labelNames: ['outcome'],
      registers,
    });
    const connections = opts.connections;
    if (connections) {
      new Gauge({
        name: 'sluice_open_connections',
        help: 'Open client connections by listener (upgraded: WebSocket tunnels).',
        labelNames: ['listener'],
        registers,
        collect() {
          const c = connections();
          this.set({ listener: 'http' }, c.http);
          this.set({ listener: 'https' }, c.https);
          this.set({ listener: 'upgraded' }, c.upgraded);
        },
      });
    }
    const endpoints = opts.endpoints;
    if (endpoints) {
      new Gauge({
        name: 'sluice_upstream_endpoints',
        help: 'Upstream endpoints with a connection pool.',
        registers,
        collect() {
          this.set(endpoints());
        },
      });
    }
    const upstreamConnections = opts.upstreamConnections;
    if (upstreamConnections) {
      new Gauge({
        name: 'sluice_upstream_connections_in_use',
        help: 'Upstream connections holding a request, per endpoint (at most --upstream-max-connections each).',
        labelNames: ['endpoint'],
        registers,
        collect() {
          // Endpoints leave with the config (and their closing pools): no stale series.
          this.reset();
          for (const [endpoint, n] of upstreamConnections()) this.set({ endpoint }, n);
        },
      });
    }
  }

  request(route: RouteRuntime | undefined, backend: string, code: number, seconds: number): void {
    if (route === undefined) this.#requests.record(undefined, '', 'none', backend, code, seconds);
    else this.#requests.record(route, route.hostLabel, route.routeLabel, backend, code, seconds);
  }

  upstreamError(backend: string, kind: UpstreamErrorKind): void {
    this.#upstreamErrors.inc({ backend, kind });
  }

  ejection(endpoint: string): void {
    this.#ejections.inc({ endpoint });
  }

  /** A config was applied, whole (`put`) or patched; a patch counts under the patch counter. */
  configApplied(version: string, appliedAt: Date, seconds: number, how: 'put' | 'patch' = 'put'): void {
    this.#configInfo.reset();
    this.#configInfo.set({ version }, 1);
    this.#configApplied.set(appliedAt.getTime() / 1000);
    this.#configApplyDuration.observe(seconds);
    if (how === 'put') this.#configApplies.inc({ result: 'applied' });
  }

  /** A throw in Sluice code, contained to one request, or (`process`) outside every request. */
  requestFault(stage: FaultStage | 'process'): void {
    this.#faults.inc({ stage });
  }

  /** A passthrough connection ended, or a hello read for passthrough was refused. */
  passthrough(outcome: string): void {
    this.#passthrough.inc({ outcome: outcome.replace('-', '_') });
  }

  configRefused(result: 'unchanged' | 'invalid'): void {
    this.#configApplies.inc({ result });
  }

  configPatch(result: 'applied' | 'unchanged' | 'base_mismatch' | 'invalid'): void {
    this.#configPatches.inc({ result });
  }
}
