// Prometheus metrics of one webhook process, on their own registry (tests build several).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface WebhookMetrics {
  registry: Registry;
  admissions: Counter<'resource' | 'operation' | 'result'>;
  admissionSeconds: Histogram<'resource'>;
  badRequests: Counter<'reason'>;
  indexBuildSeconds: Histogram;
  staleRechecks: Counter<'outcome'>;
  cacheObjects: Gauge<'kind'>;
  cacheSynced: Gauge;
  certificateExpiry: Gauge<'certificate'>;
  certificateReloads: Counter<'result'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sluice_webhook_' });
  const registers = [registry];
  return {
    registry,
    admissions: new Counter({
      name: 'sluice_webhook_admission_requests_total',
      help: 'Admission reviews answered, by resource, operation and result (allowed, denied, error).',
      labelNames: ['resource', 'operation', 'result'],
      registers,
    }),
    admissionSeconds: new Histogram({
      name: 'sluice_webhook_admission_duration_seconds',
      help: 'Time from a parsed review to its response.',
      labelNames: ['resource'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      registers,
    }),
    badRequests: new Counter({
      name: 'sluice_webhook_bad_requests_total',
      help: 'Requests refused before review: malformed, wrong content type, too large.',
      labelNames: ['reason'],
      registers,
    }),
    indexBuildSeconds: new Histogram({
      name: 'sluice_webhook_claim_index_build_seconds',
      help: 'Time to build the claim index over the objects one review can conflict with.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers,
    }),
    staleRechecks: new Counter({
      name: 'sluice_webhook_conflict_rechecks_total',
      help: 'Denials re-checked against the API server because the cache may have lagged, by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    cacheObjects: new Gauge({
      name: 'sluice_webhook_cache_objects',
      help: 'Objects in the informer cache, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    cacheSynced: new Gauge({
      name: 'sluice_webhook_cache_synced',
      help: '1 once every informer cache has listed successfully.',
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'sluice_webhook_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate and of the CA, as Unix time.',
      labelNames: ['certificate'],
      registers,
    }),
    certificateReloads: new Counter({
      name: 'sluice_webhook_certificate_reloads_total',
      help: 'Serving certificate reloads, by result.',
      labelNames: ['result'],
      registers,
    }),
  };
}
