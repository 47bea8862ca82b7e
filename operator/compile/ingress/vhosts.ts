// Virtual hosts, one per host name: the Ingresses with paths there (oldest first), the
// certificate chosen for it and the VirtualHost last emitted. A host is rebuilt only when its
// members, their routed paths or its certificate change, and an unchanged rebuild hands back the
// same routes and the same VirtualHost, so its cached canonical text stays valid.

import { canonicalJson } from '../../../contract/canonical.ts';
import { isRoutePattern } from '../../../contract/regex.ts';
import type { Route, RoutePolicy, VirtualHost } from '../../../contract/types.ts';
import { compact, compareAge } from '../core/objects.ts';
import type { HostGroup } from '../core/records.ts';
import { sortRoutes } from '../emit/emit.ts';
import { withCanary } from './canary-split.ts';
import type { HostKind } from './hosts.ts';
import type { SecretIndex } from './tls.ts';

export interface HostRecord {
  name: string;
  kind: HostKind;
  /** Oldest first. */
  members: HostGroup[];
  /** The VirtualHost in the last config; undefined when no path is routed here. */
  vhost?: VirtualHost;
  /** Members joining and leaving in the current compile. */
  joining?: HostGroup[];
  leaving?: Set<HostGroup>;
  /** The compile that last queued the host to settle its claims, and to be rebuilt. */
  settleMark: number;
  buildMark: number;
}

export function compareMembers(a: HostGroup, b: HostGroup): number {
  // Members are live Ingresses, so parsed.
  return compareAge(a.record.parsed!.meta, b.record.parsed!.meta);
}

function routesHere(group: HostGroup): boolean {
  const splits = group.record.output?.splits;
  if (!splits) return false;
  for (const i of group.indices) if (splits[i]) return true;
  return false;
}

/**
 * The host's certificate: from the oldest Ingress routing on the host whose `spec.tls` lists it
 * with a usable Secret. A listed host without `secretName` uses the default certificate.
 */
export function hostCertificate(
  host: HostRecord,
  secrets: SecretIndex,
  defaultCertificate: string | undefined,
): string | undefined {
  if (host.kind === 'any') return undefined;
  const twins = onlyTwins(host);
  for (const group of host.members) {
    const ingress = group.record.parsed!;
    if (ingress.tls.length === 0 || (group.redirectTo !== undefined) !== twins || !routesHere(group))
      continue;
    for (const tls of ingress.tls) {
      if (!tls.hosts.includes(host.name)) continue;
      if (!tls.secretName) {
        if (defaultCertificate) return defaultCertificate;
        continue;
      }
      const key = `${ingress.meta.namespace}/${tls.secretName}`;
      if (secrets.load(key).ok) return key;
    }
  }
  return undefined;
}

/**
 * The host's VirtualHost from its members' routed paths: the previous one when nothing in it
 * changed, else a new one that reuses each previous route whose inputs are the same (its split,
 * redirect, source and policy).
 */
export function buildVirtualHost(host: HostRecord, certificate: string | undefined): VirtualHost | undefined {
  let routes: Route[] = [];
  const previous = host.vhost ? lookup(host.vhost.routes) : undefined;
  if (onlyTwins(host)) {
    const route = twinRoute(host, previous);
    if (route === undefined) return undefined;
    routes = [route];
    const before = host.vhost;
    if (before && before.tls?.certificate === certificate && sameList(before.routes, routes)) return before;
    const vhost: VirtualHost = { host: host.name, kind: host.kind, routes };
    if (certificate !== undefined) vhost.tls = { certificate };
    return vhost;
  }
  const passthrough = passthroughHost(host);
  if (passthrough !== null) {
    if (passthrough === undefined) return undefined;
    const before = host.vhost;
    if (
      before?.passthrough?.backend === passthrough.backend &&
      before.passthrough.source.ingress === passthrough.source.ingress
    )
      return before;
    // Keys in sorted order (see emit.ts); no routes and no certificate: nothing is terminated.
    return { host: host.name, kind: host.kind, passthrough, routes: [] };
  }
  // ingress-nginx's regex mode is per host: one Ingress routing here with `use-regex` (or a
  // rewrite) makes every path of the host a case-insensitive pattern, as it writes every location
  // of the server as `~* "^<path>"`. Patterns listed twice keep the oldest Ingress's route.
  const regexHost = host.members.some((g) => g.ingress.settings.regexPaths === true && routesHere(g));
  const patterns = regexHost ? new Set<string>() : undefined;
  for (const group of host.members) {
    const splits = group.record.output?.splits;
    if (!splits || group.ingress.settings.canary || group.redirectTo !== undefined) continue;
    const ingress = group.ingress;
    const policy = group.record.output?.policy ?? ingress.settings.policy;
    // HTTP requests to a TLS host redirect to HTTPS unless the Ingress opts out; forced ones on
    // any host. A redirect to a URL answers first (as ingress-nginx's `return` does).
    const s = ingress.settings;
    const httpsRedirect =
      s.policy.redirect === undefined &&
      (s.forceSslRedirect === true || (certificate !== undefined && s.sslRedirect));
    for (const i of group.indices) {
      const split = splits[i];
      if (!split) continue;
      const path = ingress.paths[i];
      const pathType = patterns !== undefined && isRoutePattern(path.path) ? 'Regex' : path.pathType;
      if (pathType === 'Regex') {
        if (patterns!.has(path.path)) continue;
        patterns!.add(path.path);
      }
      let route = previous?.(pathType, path.path);
      if (
        route === undefined ||
        route.split !== split ||
        route.httpsRedirect !== httpsRedirect ||
        route.source.ingress !== ingress.meta.key ||
        route.source.path !== path.index ||
        route.source.rule !== path.rule ||
        !samePolicy(route.policy, policy)
      ) {
        // Keys in sorted order (see emit.ts); routes with the same settings share the policy object.
        route = {
          httpsRedirect,
          path: path.path,
          pathType,
          policy,
          source: { ingress: ingress.meta.key, path: path.index, rule: path.rule },
          split,
        };
      }
      routes.push(route);
    }
  }
  if (routes.length === 0) return undefined;
  attachCanaries(host, routes, previous);
  // Kept in the config: at its exact length (see objects.ts).
  routes = compact(sortRoutes(routes));
  const before = host.vhost;
  if (before && before.tls?.certificate === certificate && sameList(before.routes, routes)) return before;
  const vhost: VirtualHost = { host: host.name, kind: host.kind, routes };
  if (certificate !== undefined) vhost.tls = { certificate };
  return vhost;
}

/**
 * The passthrough of a host whose owner (oldest routing member; claims.ts keeps every other
 * Ingress out) is in passthrough: the backend of its `/` path (ingress.ts requires one); null
 * when the host is not in passthrough, undefined when that path is not routed.
 */
function passthroughHost(host: HostRecord): VirtualHost['passthrough'] | null | undefined {
  const owner = host.members.find(
    (g) => !g.ingress.settings.canary && g.redirectTo === undefined && routesHere(g),
  );
  if (owner === undefined || owner.ingress.settings.passthrough !== true || host.kind !== 'exact')
    return null;
  const splits = owner.record.output!.splits!;
  for (const i of owner.indices) {
    const path = owner.ingress.paths[i];
    const split = splits[i];
    if (split && path.path === '/' && path.pathType === 'Prefix') {
      return { backend: split.backends[0].backend, source: { ingress: owner.ingress.meta.key } };
    }
  }
  return undefined;
}

/**
 * Whether the host's members are all from-to-www twins: then the host redirects to its twin. Any
 * other member, routed or not, means an Ingress names the host, and the twins yield to it (as
 * ingress-nginx skips the redirect when a server for the name exists).
 */
function onlyTwins(host: HostRecord): boolean {
  for (const group of host.members) if (group.redirectTo === undefined) return false;
  return true;
}

/**
 * The one route of a twin host: `/` (Prefix) redirecting 308 to the twin, from the oldest twin
 * whose Ingress routes a path on its host. The split is that path's (never used: the redirect
 * answers first); the policy keeps only the route's required settings.
 */
function twinRoute(
  host: HostRecord,
  previous: ((pathType: string, path: string) => Route | undefined) | undefined,
): Route | undefined {
  for (const group of host.members) {
    const splits = group.record.output?.splits;
    if (!splits) continue;
    const i = group.indices.find((n) => splits[n] !== undefined);
    if (i === undefined) continue;
    const ingress = group.ingress;
    const base = group.record.output?.policy ?? ingress.settings.policy;
    const path = ingress.paths[i];
    // Keys in sorted order (see emit.ts).
    const policy: RoutePolicy = {
      connectTimeoutMs: base.connectTimeoutMs,
      maxBodyBytes: base.maxBodyBytes,
      responseTimeoutMs: base.responseTimeoutMs,
      upstreamProtocol: base.upstreamProtocol,
      wwwRedirect: { code: 308, host: group.redirectTo! },
    };
    const split = splits[i]!;
    const route = previous?.('Prefix', '/');
    if (
      route !== undefined &&
      route.split === split &&
      !route.httpsRedirect &&
      route.source.ingress === ingress.meta.key &&
      route.source.path === path.index &&
      route.source.rule === path.rule &&
      samePolicy(route.policy, policy)
    )
      return route;
    return {
      httpsRedirect: false,
      path: '/',
      pathType: 'Prefix',
      policy,
      source: { ingress: ingress.meta.key, path: path.index, rule: path.rule },
      split,
    };
  }
  return undefined;
}

/** Canary members' splits join the routes of the primary paths they attach to (claims.ts). */
function attachCanaries(
  host: HostRecord,
  routes: Route[],
  previous: ((pathType: string, path: string) => Route | undefined) | undefined,
): void {
  for (const group of host.members) {
    const splits = group.record.output?.splits;
    const settings = group.ingress.settings.canary;
    if (!splits || !settings || !group.canary) continue;
    for (const [i, link] of group.canary) {
      if ('problem' in link || !splits[i]) continue;
      const p = link.primary.paths[link.index];
      const at = routes.findIndex(
        (r) =>
          r.source.ingress === link.primary.meta.key && r.source.rule === p.rule && r.source.path === p.index,
      );
      if (at !== -1) routes[at] = withCanary(routes[at], splits[i], settings, previous?.(p.pathType, p.path));
    }
  }
}

/** Finds a route by path type and path: a scan for a few routes, a map for many. */
function lookup(routes: readonly Route[]): (pathType: string, path: string) => Route | undefined {
  if (routes.length <= 8) {
    return (pathType, path) => routes.find((r) => r.path === path && r.pathType === pathType);
  }
  const byPath = new Map(routes.map((r) => [`${r.pathType} ${r.path}`, r]));
  return (pathType, path) => byPath.get(`${pathType} ${path}`);
}

/** Policies are compared by their canonical text, kept per policy object (policies never change). */
const policyTexts = new WeakMap<RoutePolicy, string>();

function policyText(p: RoutePolicy): string {
  let text = policyTexts.get(p);
  if (text === undefined) {
    text = canonicalJson(p);
    policyTexts.set(p, text);
  }
  return text;
}

export function samePolicy(p: RoutePolicy, q: RoutePolicy): boolean {
  return p === q || policyText(p) === policyText(q);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
