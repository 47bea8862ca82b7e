// The canonical order of a config's virtual hosts and routes, defined once. The compiler emits in
// this order, the validator checks it, patches splice by it and the data plane matches by it
// (first route that matches wins, so the order is part of the routing semantics).

import type { VirtualHost } from './types.ts';

export type HostKind = VirtualHost['kind'];

/** Exact hosts, then wildcard hosts, then the any host. */
export const HOST_KIND_RANK: Readonly<Record<HostKind, number>> = { exact: 0, wildcard: 1, any: 2 };

/** Host order by kind and name (UTF-16 code units within a kind). Negative when `a` comes first. */
export function compareHostOrder(aKind: HostKind, aHost: string, bKind: HostKind, bHost: string): number {
  return HOST_KIND_RANK[aKind] - HOST_KIND_RANK[bKind] || (aHost < bHost ? -1 : aHost > bHost ? 1 : 0);
}

export function compareHosts(
  a: Pick<VirtualHost, 'kind' | 'host'>,
  b: Pick<VirtualHost, 'kind' | 'host'>,
): number {
  return compareHostOrder(a.kind, a.host, b.kind, b.host);
}

/** A string whose plain string order is the host order: `<rank><host>`. */
export function hostSortKey(vh: Pick<VirtualHost, 'kind' | 'host'>): string {
  return HOST_KIND_RANK[vh.kind] + vh.host;
}

/** The kind a host name can only have. */
export function hostKind(host: string): HostKind {
  return host === '*' ? 'any' : host.startsWith('*.') ? 'wildcard' : 'exact';
}

type PathType = 'Exact' | 'Prefix' | 'Regex';

const PATH_TYPE_RANK: Readonly<Record<PathType, number>> = { Exact: 0, Prefix: 1, Regex: 2 };

/**
 * Route order within a host: longer paths first; at equal length Exact, Prefix, Regex; then by
 * path, ascending, except Regex paths, descending. Regex routes are tried in this order, first
 * match wins, so it is ingress-nginx's location order (by length, then by path, descending).
 * Negative when `a` comes first.
 */
export function compareRoutes(
  a: { path: string; pathType: PathType },
  b: { path: string; pathType: PathType },
): number {
  if (a.path.length !== b.path.length) return b.path.length - a.path.length;
  if (a.pathType !== b.pathType) return PATH_TYPE_RANK[a.pathType] - PATH_TYPE_RANK[b.pathType];
  const order = a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  return a.pathType === 'Regex' ? -order : order;
}
