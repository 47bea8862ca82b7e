// Config builders for data-plane tests: small valid configs with the content-hash version set.

import { configVersion } from '../canonical.ts';
import { compareRoutes } from '../order.ts';
import type {
  Backend,
  DataplaneConfig,
  Endpoint,
  Override,
  Route,
  RoutePolicy,
  Split,
  VirtualHost,
} from '../types.ts';
import { CONFIG_API_VERSION } from '../types.ts';

export const defaultPolicy: RoutePolicy = {
  maxBodyBytes: 1024 * 1024,
  connectTimeoutMs: 2_000,
  responseTimeoutMs: 10_000,
  upstreamProtocol: 'http',
};

export function endpoint(port: number, address = '127.0.0.1'): Endpoint {
  return { address, port, ready: true, serving: true, terminating: false };
}

export function backend(name: string, ports: number[], namespace = 'ns'): Backend {
  return { service: { namespace, name, port: '80' }, endpoints: ports.map((p) => endpoint(p)) };
}

export function backendKey(name: string, namespace = 'ns'): string {
  return `${namespace}/${name}:80`;
}

export function weighted(backends: Array<[name: string, weight: number]>, overrides: Override[] = []): Split {
  return {
    mode: 'weighted',
    overrides,
    backends: backends.map(([name, weight]) => ({ name, backend: backendKey(name), weight })),
  };
}

export function sticky(
  backends: Array<[name: string, weight: number]>,
  key: { cookie?: { name: string }; header?: { name: string } },
): Split {
  return { ...weighted(backends), mode: 'sticky', sticky: key };
}

export function route(
  path: string,
  split: Split,
  opts: {
    pathType?: 'Exact' | 'Prefix' | 'Regex';
    policy?: Partial<RoutePolicy>;
    httpsRedirect?: boolean;
    ingress?: string;
  } = {},
): Route {
  return {
    path,
    pathType: opts.pathType ?? 'Prefix',
    source: { ingress: opts.ingress ?? 'ns/web', rule: 0, path: 0 },
    httpsRedirect: opts.httpsRedirect ?? false,
    policy: { ...defaultPolicy, ...opts.policy },
    split,
  };
}

export function vhost(host: string, routes: Route[], tls?: string): VirtualHost {
  const kind = host === '*' ? 'any' : host.startsWith('*.') ? 'wildcard' : 'exact';
  return { kind, host, routes, ...(tls ? { tls: { certificate: tls } } : {}) };
}

const rank = (v: VirtualHost) => (v.kind === 'exact' ? 0 : v.kind === 'wildcard' ? 1 : 2);

/** A valid config: hosts and routes sorted as the schema wants, version computed. */
export function makeConfig(parts: {
  virtualHosts: VirtualHost[];
  backends: Record<string, Backend>;
  certificates?: DataplaneConfig['certificates'];
  defaultCertificate?: string;
  defaultRoute?: DataplaneConfig['defaultRoute'];
}): DataplaneConfig {
  const virtualHosts = [...parts.virtualHosts]
    .sort((a, b) => rank(a) - rank(b) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .map((v) => ({
      ...v,
      routes: [...v.routes].sort(compareRoutes),
    }));
  const config: DataplaneConfig = {
    apiVersion: CONFIG_API_VERSION,
    version: '',
    virtualHosts,
    backends: parts.backends,
    certificates: parts.certificates ?? {},
    ...(parts.defaultCertificate ? { defaultCertificate: parts.defaultCertificate } : {}),
    ...(parts.defaultRoute ? { defaultRoute: parts.defaultRoute } : {}),
  };
  config.version = configVersion(config);
  return config;
}

/** One host, one Prefix `/` route to one backend with the given endpoint ports. */
export function simpleConfig(
  host: string,
  ports: number[],
  policy: Partial<RoutePolicy> = {},
): DataplaneConfig {
  return makeConfig({
    virtualHosts: [vhost(host, [route('/', weighted([['app', 1]]), { policy })])],
    backends: { [backendKey('app')]: backend('app', ports) },
  });
}
