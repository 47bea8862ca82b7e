// The routing table: one applied config compiled into an immutable lookup structure with its
// runtime state (round-robin positions, endpoint references). A request reads the current table
// once and is routed wholly by it; swapping configs replaces one reference.

import type { SecureContext } from 'node:tls';
import type { Backend, DataplaneConfig, RoutePolicy, RouteSource, Split, VirtualHost } from '../api/types.ts';
import { type SecureContextCache, SniIndex } from '../edge/sni.ts';
import { Splitter } from '../split/splitter.ts';
import { Balancer } from '../upstream/balancer.ts';
import type { Upstream, UpstreamRegistry } from '../upstream/registry.ts';
import { HostMatcher, PathMatcher } from './matcher.ts';
import { normalizePath } from './normalize.ts';

export class ConfigError extends Error {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(errors.join('; '));
    this.errors = errors;
  }
}

export interface BackendRuntime {
  key: string;
  service: Backend['service'];
  balancer: Balancer;
}

export interface RouteRuntime {
  /** Undefined for the default route. */
  vhost: VirtualHost | undefined;
  path: string;
  pathType: 'Exact' | 'Prefix' | 'Default';
  source: RouteSource | { ingress: string };
  httpsRedirect: boolean;
  policy: RoutePolicy;
  split: Split;
  splitter: Splitter<BackendRuntime>;
  /** Metric labels, computed once. */
  hostLabel: string;
  routeLabel: string;
}

type HostEntry = { vhost: VirtualHost; paths: PathMatcher<RouteRuntime> };

export interface MatchTrace {
  route: RouteRuntime | undefined;
  /** Virtual hosts tried in order, with whether one of its paths matched. */
  tried: Array<{ kind: VirtualHost['kind']; host: string; matched: boolean }>;
  usedDefault: boolean;
}

export class RoutingTable {
  readonly config: DataplaneConfig;
  readonly version: string;
  readonly appliedAt: Date;
  readonly sni: SniIndex;
  /** Key into `config.certificates` of the certificate served without a matching SNI name. */
  readonly defaultCertificate: string | undefined;
  readonly defaultRoute: RouteRuntime | undefined;
  /** Requests currently routed by this table; a retired table frees its endpoints at 0. */
  active = 0;
  /** Routes by identity (`kind|host|pathType|path`, or `default`), to carry state to the next version. */
  readonly routesByKey: ReadonlyMap<string, RouteRuntime>;
  readonly #hosts: HostMatcher<HostEntry>;
  readonly #upstreams: Upstream[];
  readonly #registry: UpstreamRegistry;
  #retired = false;
  #released = false;

  constructor(
    config: DataplaneConfig,
    parts: {
      hosts: HostMatcher<HostEntry>;
      defaultRoute: RouteRuntime | undefined;
      upstreams: Upstream[];
      sni: SniIndex;
      defaultCertificate: string | undefined;
      routesByKey: Map<string, RouteRuntime>;
      registry: UpstreamRegistry;
    },
  ) {
    this.config = config;
    this.version = config.version;
    this.appliedAt = new Date();
    this.#hosts = parts.hosts;
    this.defaultRoute = parts.defaultRoute;
    this.#upstreams = parts.upstreams;
    this.sni = parts.sni;
    this.defaultCertificate = parts.defaultCertificate;
    this.routesByKey = parts.routesByKey;
    this.#registry = parts.registry;
  }

  /** Exact host, then wildcard, then the catch-all host; the first whose paths match wins. */
  match(host: string, path: string): RouteRuntime | undefined {
    const hosts = this.#hosts;
    const exact = hosts.exact(host);
    if (exact !== undefined) {
      const r = exact.paths.match(path);
      if (r !== undefined) return r;
    }
    const wild = hosts.wildcard(host);
    if (wild !== undefined) {
      const r = wild.paths.match(path);
      if (r !== undefined) return r;
    }
    const any = hosts.any;
    if (any !== undefined) {
      const r = any.paths.match(path);
      if (r !== undefined) return r;
    }
    return this.defaultRoute;
  }

  /** Like `match`, recording every step (for `/debug/explain`). */
  trace(host: string, path: string): MatchTrace {
    const tried: MatchTrace['tried'] = [];
    for (const entry of [this.#hosts.exact(host), this.#hosts.wildcard(host), this.#hosts.any]) {
      if (entry === undefined) continue;
      const route = entry.paths.match(path);
      tried.push({ kind: entry.vhost.kind, host: entry.vhost.host, matched: route !== undefined });
      if (route !== undefined) return { route, tried, usedDefault: false };
    }
    return { route: this.defaultRoute, tried, usedDefault: this.defaultRoute !== undefined };
  }

  enter(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    if (this.#retired && this.active === 0) this.#release();
  }

  /** No new request will use this table; endpoints are released once the last one finishes. */
  retire(): void {
    this.#retired = true;
    if (this.active === 0) this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const up of this.#upstreams) this.#registry.release(up);
  }
}

/** Cross-reference checks the JSON Schema cannot express; errors name the offending field. */
export function checkReferences(config: DataplaneConfig): string[] {
  const errors: string[] = [];
  const checkSplit = (split: Split, at: string) => {
    split.backends.forEach((b, i) => {
      if (!Object.hasOwn(config.backends, b.backend)) {
        errors.push(`${at}.backends[${i}].backend: unknown backend ${JSON.stringify(b.backend)}`);
      }
    });
    split.overrides.forEach((o, i) => {
      if (!Object.hasOwn(config.backends, o.backend)) {
        errors.push(`${at}.overrides[${i}].backend: unknown backend ${JSON.stringify(o.backend)}`);
      }
    });
    if (split.mode === 'sticky' && !split.sticky?.cookie === !split.sticky?.header) {
      errors.push(`${at}.sticky: exactly one of cookie or header is required`);
    }
  };
  config.virtualHosts.forEach((vh, v) => {
    if (vh.tls && !Object.hasOwn(config.certificates, vh.tls.certificate)) {
      errors.push(
        `virtualHosts[${v}].tls.certificate: unknown certificate ${JSON.stringify(vh.tls.certificate)}`,
      );
    }
    vh.routes.forEach((r, i) => {
      if (normalizePath(r.path) === null) {
        errors.push(`virtualHosts[${v}].routes[${i}].path: encoded slash or malformed escape`);
      }
      checkSplit(r.split, `virtualHosts[${v}].routes[${i}].split`);
    });
  });
  if (config.defaultRoute) checkSplit(config.defaultRoute.split, 'defaultRoute.split');
  if (
    config.defaultCertificate !== undefined &&
    !Object.hasOwn(config.certificates, config.defaultCertificate)
  ) {
    errors.push(`defaultCertificate: unknown certificate ${JSON.stringify(config.defaultCertificate)}`);
  }
  return errors;
}

export interface CompileDeps {
  registry: UpstreamRegistry;
  contexts: SecureContextCache;
  /** The data plane's own certificate, used when the config names no default. */
  fallbackContext: SecureContext | undefined;
  /** The table being replaced: unchanged splits keep their round-robin position. */
  previous?: RoutingTable;
}

/** Compiles a schema-valid config; throws ConfigError for broken references or certificates. */
export function compileTable(config: DataplaneConfig, deps: CompileDeps): RoutingTable {
  const errors = checkReferences(config);
  if (errors.length > 0) throw new ConfigError(errors);

  // Certificates first: they are the last thing that can fail, before endpoints are acquired.
  const sniEntries: Array<{ kind: VirtualHost['kind']; host: string; context: SecureContext }> = [];
  let anyHostContext: SecureContext | undefined;
  let anyHostCertificate: string | undefined;
  const certErrors: string[] = [];
  const contextFor = (key: string): SecureContext | undefined => {
    try {
      return deps.contexts.get(key, config.certificates[key]);
    } catch (err) {
      certErrors.push((err as Error).message);
      return undefined;
    }
  };
  for (const vh of config.virtualHosts) {
    if (!vh.tls) continue;
    const context = contextFor(vh.tls.certificate);
    if (context === undefined) continue;
    if (vh.kind === 'any') {
      anyHostContext ??= context;
      anyHostCertificate ??= vh.tls.certificate;
    } else sniEntries.push({ kind: vh.kind, host: vh.host, context });
  }
  const configDefault =
    config.defaultCertificate !== undefined ? contextFor(config.defaultCertificate) : undefined;
  if (certErrors.length > 0) throw new ConfigError([...new Set(certErrors)]);
  const sni = new SniIndex(sniEntries, configDefault ?? anyHostContext ?? deps.fallbackContext);

  const upstreams: Upstream[] = [];
  const balancers = new Map<string, Balancer>();
  const resolverFor =
    (protocol: 'http' | 'https') =>
    (key: string): BackendRuntime => {
      const id = `${protocol} ${key}`;
      let balancer = balancers.get(id);
      if (balancer === undefined) {
        const eps: Upstream[] = [];
        const seen = new Set<string>();
        for (const ep of config.backends[key].endpoints) {
          const epId = `${ep.address}:${ep.port}`;
          if (seen.has(epId)) continue;
          seen.add(epId);
          const up = deps.registry.acquire(protocol, ep.address, ep.port);
          upstreams.push(up);
          eps.push(up);
        }
        balancer = new Balancer(eps, deps.registry);
        balancers.set(id, balancer);
      }
      return { key, service: config.backends[key].service, balancer };
    };

  const routesByKey = new Map<string, RouteRuntime>();
  const makeRoute = (
    key: string,
    vhost: VirtualHost | undefined,
    r: {
      path: string;
      pathType: RouteRuntime['pathType'];
      source: RouteRuntime['source'];
      httpsRedirect: boolean;
      policy: RoutePolicy;
      split: Split;
    },
  ): RouteRuntime => {
    const resolve = resolverFor(r.policy.upstreamProtocol);
    const cache = new Map<string, BackendRuntime>();
    const previous = deps.previous?.routesByKey.get(key)?.splitter;
    const route: RouteRuntime = {
      vhost,
      path: r.path,
      pathType: r.pathType,
      source: r.source,
      httpsRedirect: r.httpsRedirect,
      policy: r.policy,
      split: r.split,
      splitter: new Splitter(
        r.split,
        (backendKey) => {
          let b = cache.get(backendKey);
          if (b === undefined) {
            b = resolve(backendKey);
            cache.set(backendKey, b);
          }
          return b;
        },
        previous,
      ),
      hostLabel: vhost?.host ?? '',
      routeLabel:
        r.pathType === 'Default'
          ? `${r.source.ingress} default`
          : `${r.source.ingress} ${r.pathType} ${r.path}`,
    };
    if (!routesByKey.has(key)) routesByKey.set(key, route);
    return route;
  };

  const hostEntries = config.virtualHosts.map((vh) => {
    const rules = vh.routes.map((r) => {
      const path = normalizePath(r.path)!;
      const matchPath =
        r.pathType === 'Prefix' && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
      return {
        path: matchPath,
        pathType: r.pathType,
        value: makeRoute(`${vh.kind}|${vh.host}|${r.pathType}|${matchPath}`, vh, { ...r, path: matchPath }),
      };
    });
    return {
      kind: vh.kind,
      host: vh.host.toLowerCase(),
      value: { vhost: vh, paths: new PathMatcher(rules) },
    };
  });
  const defaultRoute = config.defaultRoute
    ? makeRoute('default', undefined, {
        path: '',
        pathType: 'Default',
        source: config.defaultRoute.source,
        httpsRedirect: false,
        policy: config.defaultRoute.policy,
        split: config.defaultRoute.split,
      })
    : undefined;

  return new RoutingTable(config, {
    hosts: new HostMatcher(hostEntries),
    defaultRoute,
    upstreams,
    sni,
    defaultCertificate: configDefault !== undefined ? config.defaultCertificate : anyHostCertificate,
    routesByKey,
    registry: deps.registry,
  });
}
