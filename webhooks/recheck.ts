// A denial names other objects whose claims are in the way. The informer cache can lag the API
// server by a moment: the holder may have just been deleted (a rename is delete + create) or
// edited. Before denying, the holders are read from the API server; if any differs from the
// cache, the review runs once more against an index with the live versions.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Claimant, RouteRatio, Snapshot } from '../operator/compile/api.ts';
import { RR_GROUP, RR_VERSION } from '../operator/compile/api.ts';
import type { AdmissionRequest } from './admission.ts';
import type { ReviewedResource } from './app.ts';
import type { KubeClient } from './kube/client.ts';
import { ingressVerdict, type ReviewContext, routeRatioVerdict, type Verdict } from './review.ts';

export interface RecheckDeps {
  client: KubeClient;
  /** The cached version of a holder, if any. */
  cached(holder: Claimant): KubernetesObject | undefined;
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
  try {
    await Promise.all(
      [...holders].map(async ([k, h]) => {
        const res = await deps.client.request<KubernetesObject>('GET', holderPath(h));
        if (res.status === 404) live.set(k, null);
        else if (res.status === 200) {
          if (res.body.metadata?.resourceVersion !== deps.cached(h)?.metadata?.resourceVersion)
            live.set(k, res.body);
        } else throw new Error(`HTTP ${res.status}`);
      }),
    );
  } catch {
    // The cached verdict stands: it is the best information there is.
    deps.onOutcome?.('error');
    return verdict;
  }
  if (live.size === 0) {
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
  };
  const decide = resource === 'ingress' ? ingressVerdict : routeRatioVerdict;
  return decide(req, deps.context(fresh));
}
