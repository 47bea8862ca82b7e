// The claim index for one review, built over only the objects that can conflict with it.
//
// The compiler's claims are independent per host: who holds a (host, path, pathType) and which
// namespace owns a host depend only on the Ingresses with a rule for that host (oldest first).
// RouteRatio splits are independent per Service. So a review builds the compiler's own index
// (buildClaimIndex) over the Ingresses sharing a host with the candidate, or the RouteRatios of
// the same Service, and asks it: the same answer as an index over the whole cluster (a property
// test holds the two equal), at a cost that does not grow with the number of Ingresses.
import type { V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';
import type {
  ClaimIndex,
  CompileOptions,
  NamespaceState,
  RouteRatio,
  Snapshot,
} from '../operator/compile/api.ts';
import { buildClaimIndex } from '../operator/compile/index.ts';

/**
 * The host a rule claims, grouped at least as coarsely as the compiler normalises it (lower case,
 * port and trailing dot removed; no host is `*`). Anything the compiler treats as one host lands
 * in one group; a group that is too large only costs a little time.
 */
export function claimHostKey(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return '*';
  if (typeof raw !== 'string') return undefined;
  const colon = raw.indexOf(':');
  return (colon >= 0 ? raw.slice(0, colon) : raw).toLowerCase().replace(/\.+$/, '');
}

/** Every host group an Ingress has a rule for. */
export function ingressHostKeys(ingress: unknown): string[] {
  const rules = (ingress as { spec?: { rules?: unknown } } | null)?.spec?.rules;
  if (!Array.isArray(rules)) return [];
  const keys = new Set<string>();
  for (const rule of rules) {
    const key = claimHostKey((rule as { host?: unknown } | null)?.host);
    if (key !== undefined) keys.add(key);
  }
  return [...keys];
}

/** What a scoped index reads. */
export interface ScopeSource {
  ingressClassList(): V1IngressClass[];
  /** Ingresses with a rule in any of the host groups. */
  ingressesWithHosts(hosts: readonly string[]): V1Ingress[];
  /** RouteRatios of a namespace that split the named Service. */
  routeRatiosFor(namespace: string, service: string): RouteRatio[];
  service(namespace: string, name: string): V1Service | undefined;
  /** Terminating namespaces (their objects are released and hold no claims); others may be left out. */
  namespaceStates(): NamespaceState[];
}

const EMPTY: Snapshot = {
  ingressClasses: [],
  ingresses: [],
  services: [],
  endpointSlices: [],
  secrets: [],
  routeRatios: [],
};

export function scopedIndex(
  source: ScopeSource,
  options: CompileOptions,
  onBuild?: (seconds: number) => void,
): ClaimIndex {
  const build = (snapshot: Snapshot) => {
    const started = performance.now();
    const index = buildClaimIndex(snapshot, options);
    onBuild?.((performance.now() - started) / 1000);
    return index;
  };
  return {
    ingressConflicts(ingress) {
      const ingresses = source.ingressesWithHosts(ingressHostKeys(ingress));
      return build({
        ...EMPTY,
        ingressClasses: source.ingressClassList(),
        ingresses,
        namespaces: source.namespaceStates(),
      }).ingressConflicts(ingress);
    },
    routeRatioConflicts(rr) {
      const namespace = rr?.metadata?.namespace ?? '';
      const name = rr?.spec?.service?.name;
      if (typeof name !== 'string') return [];
      const svc = source.service(namespace, name);
      const snapshot = {
        ...EMPTY,
        routeRatios: source.routeRatiosFor(namespace, name),
        services: svc ? [svc] : [],
        namespaces: source.namespaceStates(),
      };
      return build(snapshot).routeRatioConflicts(rr);
    },
  };
}

/** A ScopeSource over a plain snapshot (linear scans): for re-checks against live objects, and tests. */
export function snapshotSource(snapshot: Snapshot): ScopeSource {
  return {
    ingressClassList: () => snapshot.ingressClasses,
    ingressesWithHosts: (hosts) => {
      const wanted = new Set(hosts);
      return snapshot.ingresses.filter((i) => ingressHostKeys(i).some((h) => wanted.has(h)));
    },
    routeRatiosFor: (namespace, service) =>
      snapshot.routeRatios.filter(
        (r) => r?.metadata?.namespace === namespace && r?.spec?.service?.name === service,
      ),
    service: (namespace, name) =>
      snapshot.services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name),
    namespaceStates: () => snapshot.namespaces ?? [],
  };
}
