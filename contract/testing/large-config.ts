// Large configs for benchmarks and scale tests, shaped like hack/bench/compile.ts's output: per
// Ingress one host with two paths (`/api` Exact, `/` Prefix) to one backend of 3 endpoints (the
// paths name its port by name and by number); every 50th host splits 90/10 to a canary backend. Objects are built with their keys in
// canonical order, as the operator's compiler builds them.

import { serializeConfig } from '../canonical.ts';
import type { Backend, Certificate, DataplaneConfig, Route, VirtualHost } from '../types.ts';
import { CONFIG_API_VERSION } from '../types.ts';

export interface LargeOptions {
  /** Share of hosts with a certificate (0..1), all with the same PEM. */
  tlsShare?: number;
  pem?: Certificate;
}

export function largeBackend(ns: string, name: string, port: string, n: number): Backend {
  return {
    endpoints: [0, 1, 2].map((k) => ({
      address: `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${(n * 3 + k) % 250}`,
      port: 8080,
      ready: true,
      serving: true,
      terminating: false,
    })),
    service: { name, namespace: ns, port },
  };
}

function largeRoute(ns: string, name: string, path: string, pathType: 'Exact' | 'Prefix', i: number): Route {
  const policy = {
    connectTimeoutMs: 5000,
    maxBodyBytes: 1048576,
    responseTimeoutMs: 60000,
    upstreamProtocol: 'http' as const,
  };
  return {
    httpsRedirect: false,
    path,
    pathType,
    policy,
    source: { ingress: `${ns}/${name}`, path: pathType === 'Exact' ? 1 : 0, rule: 0 },
    split:
      i % 50 === 0
        ? {
            backends: [
              { backend: `${ns}/${name}:80`, name, weight: 90 },
              { backend: `${ns}/${name}-canary:80`, name: `${name}-canary`, weight: 10 },
            ],
            mode: 'weighted',
            overrides: [],
            routeRatio: `${ns}/${name}`,
          }
        : {
            backends: [{ backend: `${ns}/${name}:80`, name, weight: 1 }],
            mode: 'weighted',
            overrides: [],
          },
  };
}

/** Host `i`; `variant` > 0 changes its Exact path (an edited Ingress). */
export function largeHost(i: number, variant = 0, opts: LargeOptions = {}): VirtualHost {
  const ns = `team-${i % 50}`;
  const name = `app-${i}`;
  const host = `${name}.bench.example.com`;
  const routes = [
    largeRoute(ns, name, variant > 0 ? `/api${variant}` : '/api', 'Exact', i),
    largeRoute(ns, name, '/', 'Prefix', i),
  ];
  const share = opts.tlsShare ?? 0;
  if (share > 0 && i % Math.round(1 / share) === 0) {
    return { host, kind: 'exact', routes, tls: { certificate: `${ns}/${name}-tls` } };
  }
  return { host, kind: 'exact', routes };
}

/** The backends of host `i`, by key. */
export function largeBackends(i: number, count: number): Record<string, Backend> {
  const ns = `team-${i % 50}`;
  const name = `app-${i}`;
  const out: Record<string, Backend> = { [`${ns}/${name}:80`]: largeBackend(ns, name, '80', i) };
  if (i % 50 === 0) out[`${ns}/${name}-canary:80`] = largeBackend(ns, `${name}-canary`, '80', i + count);
  return out;
}

function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}

/** A config of `count` hosts, in canonical order, with its version. */
export function largeConfig(count: number, opts: LargeOptions = {}): DataplaneConfig {
  const backends: Record<string, Backend> = {};
  const certificates: Record<string, Certificate> = {};
  const virtualHosts: VirtualHost[] = [];
  for (let i = 0; i < count; i++) {
    Object.assign(backends, largeBackends(i, count));
    const vh = largeHost(i, 0, opts);
    if (vh.tls && opts.pem) certificates[vh.tls.certificate] = opts.pem;
    virtualHosts.push(vh);
  }
  virtualHosts.sort((a, b) => (a.host < b.host ? -1 : 1));
  return withVersion({
    apiVersion: CONFIG_API_VERSION,
    backends: sortedRecord(backends),
    certificates: sortedRecord(certificates),
    version: '',
    virtualHosts,
  });
}

/** The config with its version set (keys in canonical order assumed, as the compiler's). */
export function withVersion(config: DataplaneConfig): DataplaneConfig {
  const next = { ...config, version: '' };
  next.version = serializeConfig(next, true).version;
  return next;
}

/** A record with entries replaced or added, keys kept in canonical order. */
export function withEntries<T>(record: Record<string, T>, set: Record<string, T>): Record<string, T> {
  return sortedRecord({ ...record, ...set });
}
