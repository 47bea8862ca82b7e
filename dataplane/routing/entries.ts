// What a routing table is made of, per virtual host: the host's path matcher and route runtimes
// (splitters with their round-robin state, resolved backends). Entries and backend runtimes are
// shared by consecutive tables while their config pieces stay the same objects, and counted:
//
//   - a host entry counts the tables holding it; at 0 it lets go of its backend runtimes;
//   - a backend runtime (one Backend object, one protocol: a balancer over its endpoints) counts
//     the entries using it; at 0 it releases its endpoints to the registry, whose pools close
//     when no runtime holds them any more.
//
// So an endpoint stays open exactly as long as some table that is still routing requests uses it.

import { normalizePath } from '../../contract/normalize.ts';
import type {
  Backend,
  DataplaneConfig,
  RoutePolicy,
  RouteSource,
  Split,
  VirtualHost,
} from '../../contract/types.ts';
import { compileSteps, type Step } from '../policy/index.ts';
import { Splitter } from '../split/splitter.ts';
import { Balancer } from '../upstream/balancer.ts';
import type { Upstream, UpstreamProtocol, UpstreamRegistry } from '../upstream/registry.ts';
import { PathMatcher } from './matcher.ts';

export interface BackendRuntime {
  key: string;
  service: Backend['service'];
  balancer: Balancer;
}

export interface RouteRuntime {
  /** Undefined for the default route. */
  vhost: VirtualHost | undefined;
  path: string;
  pathType: 'Exact' | 'Prefix' | 'Regex' | 'Default';
  source: RouteSource | { ingress: string };
  httpsRedirect: boolean;
  policy: RoutePolicy;
  /** The policy's feature steps (dataplane/policy/), empty for most routes. */
  steps: readonly Step[];
  split: Split;
  splitter: Splitter<BackendRuntime>;
  /** Metric labels, computed once. */
  hostLabel: string;
  routeLabel: string;
}

/** A backend's runtime for one protocol, shared by every entry whose routes use its Backend object. */
export class SharedBackend implements BackendRuntime {
  readonly key: string;
  readonly service: Backend['service'];
  readonly balancer: Balancer;
  readonly #registry: UpstreamRegistry;
  #entries = 0;
  released = false;

  constructor(key: string, backend: Backend, protocol: UpstreamProtocol, registry: UpstreamRegistry) {
    this.key = key;
    this.service = backend.service;
    this.#registry = registry;
    const endpoints: Upstream[] = [];
    const seen = new Set<string>();
    for (const ep of backend.endpoints) {
      const id = `${ep.address}:${ep.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      endpoints.push(registry.acquire(protocol, ep.address, ep.port));
    }
    this.balancer = new Balancer(endpoints, registry);
  }

  retain(): void {
    this.#entries++;
  }

  release(): void {
    if (--this.#entries > 0) return;
    this.released = true;
    for (const up of this.balancer.endpoints) this.#registry.release(up);
  }
}

/** Backend runtimes by Backend object and protocol, for one registry's chain of tables. */
export class BackendRuntimes {
  readonly #byBackend = new WeakMap<Backend, { http?: SharedBackend; https?: SharedBackend }>();
  readonly #registry: UpstreamRegistry;

  constructor(registry: UpstreamRegistry) {
    this.#registry = registry;
  }

  get(protocol: UpstreamProtocol, key: string, backend: Backend): SharedBackend {
    let slot = this.#byBackend.get(backend);
    if (slot === undefined) {
      slot = {};
      this.#byBackend.set(backend, slot);
    }
    let runtime = slot[protocol];
    if (runtime === undefined || runtime.released || runtime.key !== key) {
      runtime = new SharedBackend(key, backend, protocol, this.#registry);
      slot[protocol] = runtime;
    }
    return runtime;
  }
}

/** Routes and the backend runtimes they hold, counted by the tables that hold them. */
abstract class Entry {
  readonly runtimes: SharedBackend[];
  #tables = 0;

  constructor(runtimes: Set<SharedBackend>) {
    this.runtimes = [...runtimes];
    for (const runtime of this.runtimes) runtime.retain();
  }

  /** A table holds this entry. */
  hold(): void {
    this.#tables++;
  }

  /** A table let go of this entry; the last one frees its runtimes. */
  drop(): void {
    if (--this.#tables > 0) return;
    for (const runtime of this.runtimes) runtime.release();
  }
}

/** What one virtual host compiles to. */
export class HostEntry extends Entry {
  readonly vhost: VirtualHost;
  readonly paths: PathMatcher<RouteRuntime>;
  /** Routes by `pathType|path`, for the next version's splitters to carry state from. */
  readonly routes: Map<string, RouteRuntime>;
  /** The Backend objects the routes were built with: the entry is reused while they stay. */
  readonly backends: ReadonlyArray<{ key: string; backend: Backend }>;

  /** `old` is the same host's entry in the table being replaced (round-robin state carries over). */
  constructor(
    config: DataplaneConfig,
    vh: VirtualHost,
    runtimes: BackendRuntimes,
    old: HostEntry | undefined,
  ) {
    const used = new Set<SharedBackend>();
    const routes = new Map<string, RouteRuntime>();
    const rules = vh.routes.map((r) => {
      // A Regex path is a pattern, matched as written.
      const path = r.pathType === 'Regex' ? r.path : normalizePath(r.path)!;
      const matchPath =
        r.pathType === 'Prefix' && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
      const key = `${r.pathType}|${matchPath}`;
      const route = makeRoute(
        config,
        runtimes,
        used,
        vh,
        { ...r, path: matchPath },
        old?.routes.get(key)?.splitter,
      );
      if (!routes.has(key)) routes.set(key, route);
      return { path: matchPath, pathType: r.pathType, value: route };
    });
    super(used);
    this.vhost = vh;
    this.paths = new PathMatcher(rules);
    this.routes = routes;
    const backends = new Map<string, Backend>();
    for (const runtime of used) backends.set(runtime.key, config.backends[runtime.key]);
    this.backends = [...backends].map(([key, backend]) => ({ key, backend }));
  }

  /** Whether a route uses one of these backend keys. */
  uses(keys: ReadonlySet<string>): boolean {
    for (const b of this.backends) if (keys.has(b.key)) return true;
    return false;
  }

  /** Whether every Backend object it was built with is still in `backends` under its key. */
  sameBackends(backends: DataplaneConfig['backends']): boolean {
    for (const b of this.backends) if (backends[b.key] !== b.backend) return false;
    return true;
  }
}

/** The config's default route. */
export class DefaultEntry extends Entry {
  readonly route: RouteRuntime;

  constructor(config: DataplaneConfig, runtimes: BackendRuntimes, previous: RouteRuntime | undefined) {
    const used = new Set<SharedBackend>();
    const d = config.defaultRoute!;
    const route = makeRoute(
      config,
      runtimes,
      used,
      undefined,
      {
        path: '',
        pathType: 'Default',
        source: d.source,
        httpsRedirect: false,
        policy: d.policy,
        split: d.split,
      },
      previous?.splitter,
    );
    super(used);
    this.route = route;
  }
}

function makeRoute(
  config: DataplaneConfig,
  runtimes: BackendRuntimes,
  used: Set<SharedBackend>,
  vhost: VirtualHost | undefined,
  r: {
    path: string;
    pathType: RouteRuntime['pathType'];
    source: RouteRuntime['source'];
    httpsRedirect: boolean;
    policy: RoutePolicy;
    split: Split;
  },
  previous: Splitter<BackendRuntime> | undefined,
): RouteRuntime {
  const protocol = r.policy.upstreamProtocol;
  return {
    vhost,
    path: r.path,
    pathType: r.pathType,
    source: r.source,
    httpsRedirect: r.httpsRedirect,
    policy: r.policy,
    steps: compileSteps(r.policy, {
      ingress: r.source.ingress,
      host: vhost?.host,
      path: r.path,
      pathType: r.pathType,
    }),
    split: r.split,
    splitter: new Splitter<BackendRuntime>(
      r.split,
      (key) => {
        const runtime = runtimes.get(protocol, key, config.backends[key]);
        used.add(runtime);
        return runtime;
      },
      previous,
    ),
    hostLabel: vhost?.host ?? '',
    routeLabel:
      r.pathType === 'Default'
        ? `${r.source.ingress} default`
        : `${r.source.ingress} ${r.pathType} ${r.path}`,
  };
}
