// A denial names other objects whose claims are in the way. The informer cache can lag the API
// server by a moment: the holder may have just been deleted (a rename is delete + create) or
// edited. Before denying, the holders are read from the API server; if any differs from the
// cache, the review runs once more against an index with the live versions. The holders'
// namespaces are read too: one that has just started terminating releases its objects' claims.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Claimant, NamespaceState, RouteRatio, Snapshot } from '../operator/compile/api.ts';
import { RR_GROUP, RR_VERSION } from '../operator/compile/api.ts';
import { namespaceState } from '../operator/compile/index.ts';
import type { KubeClient } from '../operator/kube/client.ts';
import type { AdmissionRequest } from './admission.ts';
import type { ReviewedResource } from './app.ts';
import { ingressVerdict, type ReviewContext, routeRatioVerdict, type Verdict } from './review.ts';

export interface RecheckDeps {
  client: KubeClient;
  /** The cached version of a holder, if any. */
  cached(holder: Claimant): KubernetesObject | undefined;
  /** Whether the cache holds the namespace as terminating. */
  cachedTerminating(namespace: string): boolean;
  snapshot(): Snapshot;
  context(snapshot: Snapshot): ReviewContext;
  onOutcome?: (outcome: 'confirmed' | 'stale-cache' | 'error') => void;
}

function holderPath(h: Claimant): string {
  const ns = encodeURIComponent(h.namespace);
  const name = encodeURIComponent(h.name);
  return h.kind === 'Ingress'
    ? `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/${name}`
    : `/apis/${RR_GROUP}/${RR_VERSION}/namespaces/${ns}/routeratios/${name}`;
}

const key = (kind: string, namespace: string | undefined, name: string | undefined) =>
  `${kind}/${namespace}/${name}`;

export async function recheck(
  resource: ReviewedResource,
  req: AdmissionRequest,
  verdict: Verdict,
  deps: RecheckDeps,
): Promise<Verdict> {
  const holders = new Map<string, Claimant>();
  for (const c of verdict.conflicts)
    holders.set(key(c.holder.kind, c.holder.namespace, c.holder.name), c.holder);
  const live = new Map<string, KubernetesObject | null>();
  const namespaces = new Map<string, NamespaceState>();
  try {
    const holderReads = [...holders].map(async ([k, h]) => {
      const res = await deps.client.send<KubernetesObject>('GET', holderPath(h));
      if (res.status === 404) live.set(k, null);
      else if (res.status === 200) {
        if (res.body.metadata?.resourceVersion !== deps.cached(h)?.metadata?.resourceVersion)
          live.set(k, res.body);
      } else throw new Error(`HTTP ${res.status}`);
    });
    const namespaceReads = [...new Set([...holders.values()].map((h) => h.namespace))].map(async (ns) => {
      const res = await deps.client.send<KubernetesObject>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(ns)}`,
      );
      // A namespace that is gone took its objects with it: the holder's own read says so.
      if (res.status === 404) return;
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const state = namespaceState(res.body);
      if (state && state.terminating !== deps.cachedTerminating(ns)) namespaces.set(ns, state);
    });
    await Promise.all([...holderReads, ...namespaceReads]);
  } catch {
    // The cached verdict stands: it is the best information there is.
    deps.onOutcome?.('error');
    return verdict;
  }
  if (live.size === 0 && namespaces.size === 0) {
    deps.onOutcome?.('confirmed');
    return verdict;
  }
  deps.onOutcome?.('stale-cache');
  const snap = deps.snapshot();
  const patch = <T extends KubernetesObject>(kind: string, items: T[]): T[] => {
    const out = items.filter((o) => !live.has(key(kind, o.metadata?.namespace, o.metadata?.name)));
    for (const [k, obj] of live) if (obj && k.startsWith(`${kind}/`)) out.push(obj as T);
    return out;
  };
  const fresh: Snapshot = {
    ...snap,
    ingresses: patch('Ingress', snap.ingresses),
    routeRatios: patch<RouteRatio>('RouteRatio', snap.routeRatios),
    namespaces: [...(snap.namespaces ?? []).filter((n) => !namespaces.has(n.name)), ...namespaces.values()],
  };
  const decide = resource === 'ingress' ? ingressVerdict : routeRatioVerdict;
  return decide(req, deps.context(fresh));
}
