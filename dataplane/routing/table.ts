// The routing table: one applied config compiled into an immutable lookup structure with its
// runtime state (round-robin positions, endpoint references). A request reads the current table
// once and is routed wholly by it; swapping configs replaces one reference.
//
// The next version is compiled from the previous table: a virtual host that is the same object,
// whose routes use the same Backend objects, keeps its entry (path matcher, route runtimes,
// splitters), and the host matcher and SNI index are derived from the previous ones, so a patch
// that changes one host of 10,000 compiles one host. `entries.ts` has the reference counting.

import type { SecureContext } from 'node:tls';
import { normalizePath } from '../../contract/normalize.ts';
import { hostSortKey } from '../../contract/order.ts';
import type { DataplaneConfig, Split, VirtualHost } from '../../contract/types.ts';
import { type SecureContextCache, SniIndex } from '../edge/sni.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import { BackendRuntimes, DefaultEntry, HostEntry, type RouteRuntime } from './entries.ts';
import { HostMatcher } from './matcher.ts';

export type { BackendRuntime, RouteRuntime } from './entries.ts';

export class ConfigError extends Error {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(errors.join('; '));
    this.errors = errors;
  }
}

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
  /** Shared with the tables compiled from this one. */
  readonly backendRuntimes: BackendRuntimes;
  /** One entry per virtual host, in config order (for the next version to reuse). */
  readonly entries: readonly HostEntry[];
  readonly hosts: HostMatcher<HostEntry>;
  readonly #defaultEntry: DefaultEntry | undefined;
  #retired = false;
  #released = false;

  constructor(
    config: DataplaneConfig,
    parts: {
      entries: HostEntry[];
      hosts: HostMatcher<HostEntry>;
      defaultEntry: DefaultEntry | undefined;
      sni: SniIndex;
      defaultCertificate: string | undefined;
      backendRuntimes: BackendRuntimes;
    },
  ) {
    this.config = config;
    this.version = config.version;
    this.appliedAt = new Date();
    this.entries = parts.entries;
    this.hosts = parts.hosts;
    this.#defaultEntry = parts.defaultEntry;
    this.defaultRoute = parts.defaultEntry?.route;
    this.sni = parts.sni;
    this.defaultCertificate = parts.defaultCertificate;
    this.backendRuntimes = parts.backendRuntimes;
    for (const entry of parts.entries) entry.hold();
    parts.defaultEntry?.hold();
  }

  /** Exact host, then wildcard, then the catch-all host; the first whose paths match wins. */
  match(host: string, path: string): RouteRuntime | undefined {
    const hosts = this.hosts;
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
    for (const entry of [this.hosts.exact(host), this.hosts.wildcard(host), this.hosts.any]) {
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

  /** Retired and finished: its entries may be gone, so no table is compiled from it. */
  get released(): boolean {
    return this.#released;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const entry of this.entries) entry.drop();
    this.#defaultEntry?.drop();
  }
}

/** Reference checks of one virtual host that the JSON Schema cannot express. */
function checkHost(config: DataplaneConfig, vh: VirtualHost, v: number, errors: string[]): void {
  if (vh.tls && !Object.hasOwn(config.certificates, vh.tls.certificate)) {
    errors.push(
      `virtualHosts[${v}].tls.certificate: unknown certificate ${JSON.stringify(vh.tls.certificate)}`,
    );
  }
  vh.routes.forEach((r, i) => {
    if (normalizePath(r.path) === null) {
      errors.push(`virtualHosts[${v}].routes[${i}].path: encoded slash or malformed escape`);
    }
    checkSplit(config, r.split, `virtualHosts[${v}].routes[${i}].split`, errors);
  });
}

function checkSplit(config: DataplaneConfig, split: Split, at: string, errors: string[]): void {
  split.backends.forEach((b, i) => {
    if (!Object.hasOwn(config.backends, b.backend)) {
      errors.push(`${at}.backends[${i}].backend: unknown backend ${JSON.stringify(b.backend)}`);
    }
  });
  split.overrides.forEach((o, i) => {
    if (o.backend !== undefined && !Object.hasOwn(config.backends, o.backend)) {
      errors.push(`${at}.overrides[${i}].backend: unknown backend ${JSON.stringify(o.backend)}`);
    }
  });
  if (split.mode === 'sticky' && !split.sticky?.cookie === !split.sticky?.header) {
    errors.push(`${at}.sticky: exactly one of cookie or header is required`);
  }
}

export interface CompileDeps {
  registry: UpstreamRegistry;
  contexts: SecureContextCache;
  /** The data plane's own certificate, used when the config names no default. */
  fallbackContext: SecureContext | undefined;
  /**
   * The table being replaced: unchanged hosts keep their entries, unchanged splits their
   * round-robin position, unchanged backends their runtimes.
   */
  previous?: RoutingTable;
  /**
   * Keys whose Backend object may differ from the previous config's (a patch's set and removed
   * keys). Without it, every kept host's backends are compared with the previous ones.
   */
  changedBackends?: Iterable<string>;
}

/** Compiles a schema-valid config; throws ConfigError for broken references or certificates. */
export function compileTable(config: DataplaneConfig, deps: CompileDeps): RoutingTable {
  const previous = deps.previous?.released === false ? deps.previous : undefined;
  const before = previous?.config;
  const changed =
    before !== undefined && before.backends === config.backends
      ? new Set<string>()
      : deps.changedBackends !== undefined
        ? new Set(deps.changedBackends)
        : undefined;
  const kept = (entry: HostEntry) =>
    changed !== undefined ? !entry.uses(changed) : entry.sameBackends(config.backends);

  // Walk the new hosts alongside the previous entries (both in canonical order): the same host
  // object is kept unless a backend it uses changed; anything else is built (and checked).
  const hosts = config.virtualHosts;
  const olds = previous?.entries ?? [];
  const entries: Array<HostEntry | undefined> = new Array(hosts.length);
  const replaced: Array<HostEntry | undefined> = new Array(hosts.length);
  const removed: HostEntry[] = [];
  const errors: string[] = [];
  let tlsChanged = false;
  let j = 0;
  for (let i = 0; i < hosts.length; i++) {
    const vh = hosts[i];
    if (j < olds.length && olds[j].vhost === vh) {
      if (kept(olds[j])) {
        entries[i] = olds[j++];
        continue;
      }
      replaced[i] = olds[j++];
    } else {
      const key = hostSortKey(vh);
      while (j < olds.length && hostSortKey(olds[j].vhost) < key) removed.push(olds[j++]);
      if (j < olds.length && hostSortKey(olds[j].vhost) === key) replaced[i] = olds[j++];
    }
    if (vh.tls !== undefined || replaced[i]?.vhost.tls !== undefined) tlsChanged = true;
    checkHost(config, vh, i, errors);
  }
  while (j < olds.length) removed.push(olds[j++]);
  for (const entry of removed) if (entry.vhost.tls !== undefined) tlsChanged = true;
  if (config.defaultRoute) checkSplit(config, config.defaultRoute.split, 'defaultRoute.split', errors);
  if (
    config.defaultCertificate !== undefined &&
    !Object.hasOwn(config.certificates, config.defaultCertificate)
  ) {
    errors.push(`defaultCertificate: unknown certificate ${JSON.stringify(config.defaultCertificate)}`);
  }
  if (errors.length > 0) throw new ConfigError(errors);

  // Certificates next: they are the last thing that can fail, before endpoints are acquired.
  const sniSame =
    previous !== undefined &&
    !tlsChanged &&
    before!.certificates === config.certificates &&
    before!.defaultCertificate === config.defaultCertificate;
  const { sni, defaultCertificate } = sniSame
    ? { sni: previous.sni, defaultCertificate: previous.defaultCertificate }
    : buildSni(config, deps);

  const runtimes = previous?.backendRuntimes ?? new BackendRuntimes(deps.registry);
  const changes: Array<{ kind: VirtualHost['kind']; host: string; value: HostEntry | undefined }> = [];
  for (let i = 0; i < hosts.length; i++) {
    if (entries[i] !== undefined) continue;
    const vh = hosts[i];
    const entry = new HostEntry(config, vh, runtimes, replaced[i]);
    entries[i] = entry;
    changes.push({ kind: vh.kind, host: vh.host, value: entry });
  }
  for (const entry of removed)
    changes.push({ kind: entry.vhost.kind, host: entry.vhost.host, value: undefined });
  const all = entries as HostEntry[];
  const matcher =
    previous !== undefined
      ? previous.hosts.with(changes)
      : new HostMatcher(
          all.map((entry) => ({ kind: entry.vhost.kind, host: entry.vhost.host, value: entry })),
        );

  return new RoutingTable(config, {
    entries: all,
    hosts: matcher,
    defaultEntry: config.defaultRoute
      ? new DefaultEntry(config, runtimes, previous?.defaultRoute)
      : undefined,
    sni,
    defaultCertificate,
    backendRuntimes: runtimes,
  });
}

/** The SNI index of a config; throws ConfigError for certificates that do not parse. */
function buildSni(
  config: DataplaneConfig,
  deps: CompileDeps,
): { sni: SniIndex; defaultCertificate: string | undefined } {
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
  return {
    sni: new SniIndex(sniEntries, configDefault ?? anyHostContext ?? deps.fallbackContext),
    defaultCertificate: configDefault !== undefined ? config.defaultCertificate : anyHostCertificate,
  };
}
