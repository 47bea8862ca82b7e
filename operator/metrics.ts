// The operator's Prometheus metrics, on a registry of its own (tests build several).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  compileSeconds: Histogram;
  compiles: Counter<'kind'>;
  compileFailures: Counter;
  pushSeconds: Histogram<'replica' | 'method' | 'result'>;
  queueDepth: Gauge;
  watchRestarts: Counter<'resource' | 'reason'>;
  leader: Gauge;
  replicas: Gauge<'state'>;
  statusWrites: Counter<'kind' | 'result'>;
  events: Counter<'result'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'sluice_operator_' });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: 'sluice_operator_reconciles_total',
      help: 'Reconcile runs by result (pushed, unchanged, invalid, error).',
      labelNames: ['result'],
      registers,
    }),
    compileSeconds: new Histogram({
      name: 'sluice_operator_compile_seconds',
      help: 'Time to compile a snapshot into data-plane config.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    compiles: new Counter({
      name: 'sluice_operator_compiles_total',
      help: 'Compiles by kind: full (from nothing), incremental (reusing the last one), recovered (an incremental update failed and was redone in full).',
      labelNames: ['kind'],
      registers,
    }),
    compileFailures: new Counter({
      name: 'sluice_operator_compile_failures_total',
      help: 'Compiles that failed (a compiler bug): nothing was pushed and the data planes kept the last good config.',
      registers,
    }),
    pushSeconds: new Histogram({
      name: 'sluice_operator_push_seconds',
      help: 'Latency of config pushes per data-plane replica (method PUT: whole config; PATCH: changes).',
      labelNames: ['replica', 'method', 'result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'sluice_operator_queue_depth',
      help: 'Reconciles waiting in the coalescing queue (0 or 1).',
      registers,
    }),
    watchRestarts: new Counter({
      name: 'sluice_operator_watch_restarts_total',
      help: 'Watches restarted, by resource and reason (closed, gone, error).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    leader: new Gauge({
      name: 'sluice_operator_leader',
      help: '1 while this operator holds the leader Lease.',
      registers,
    }),
    replicas: new Gauge({
      name: 'sluice_operator_dataplane_replicas',
      help: 'Known data-plane replicas by state (ready, current).',
      labelNames: ['state'],
      registers,
    }),
    statusWrites: new Counter({
      name: 'sluice_operator_status_writes_total',
      help: 'Status subresource writes by kind and result.',
      labelNames: ['kind', 'result'],
      registers,
    }),
    events: new Counter({
      name: 'sluice_operator_events_total',
      help: 'Kubernetes Events posted, by result.',
      labelNames: ['result'],
      registers,
    }),
  };
}
