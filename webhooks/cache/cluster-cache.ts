// The webhook's view of the cluster: IngressClasses, Ingresses and RouteRatios (what claims
// depend on) and Services (a RouteRatio's named port resolves through its Service; missing
// backends are warned about). Never Secrets.
//
// Two revision counters let derived data (the claim indexes) be cached: the Ingress revision
// moves with IngressClasses and Ingresses, the split revision with RouteRatios and Services. Path
// and host claims read only the former, RouteRatio claims only the latter, so Service churn never
// forces the large Ingress index to be rebuilt.
import type {
  KubeConfig,
  KubernetesObject,
  V1Ingress,
  V1IngressClass,
  V1Service,
} from '@kubernetes/client-node';
import { type RouteRatio, RR_GROUP, RR_VERSION, type Snapshot } from '../../operator/compile/api.ts';
import type { ClaimSource } from '../claim-cache.ts';
import type { KubeClient } from '../kube/client.ts';
import { ResilientInformer } from './informer.ts';

export interface ClusterCacheOptions {
  onError?: (what: string, err: unknown, retryInMs: number) => void;
  /** Called after a change, once the matching revision moved. */
  onChanged?: (what: 'ingresses' | 'splits') => void;
  maxBackoffMs?: number;
}

export const PATHS = {
  ingressClasses: '/apis/networking.k8s.io/v1/ingressclasses',
  ingresses: '/apis/networking.k8s.io/v1/ingresses',
  routeRatios: `/apis/${RR_GROUP}/${RR_VERSION}/routeratios`,
  services: '/api/v1/services',
} as const;

const EMPTY: Snapshot = {
  ingressClasses: [],
  ingresses: [],
  services: [],
  endpointSlices: [],
  secrets: [],
  routeRatios: [],
};

export class ClusterCache {
  readonly ingressClasses: ResilientInformer<V1IngressClass>;
  readonly ingresses: ResilientInformer<V1Ingress>;
  readonly routeRatios: ResilientInformer<RouteRatio>;
  readonly services: ResilientInformer<V1Service>;
  #ingressRevision = 0;
  #splitRevision = 0;

  /** What Ingress path and host claims are built from. */
  readonly ingressClaims: ClaimSource = {
    revision: () => this.#ingressRevision,
    snapshot: () => ({
      ...EMPTY,
      ingressClasses: this.ingressClasses.list(),
      ingresses: this.ingresses.list(),
    }),
  };

  /** What RouteRatio claims (one split per Service port) are built from. */
  readonly splitClaims: ClaimSource = {
    revision: () => this.#splitRevision,
    snapshot: () => ({ ...EMPTY, routeRatios: this.routeRatios.list(), services: this.services.list() }),
  };

  constructor(kc: KubeConfig, client: KubeClient, opts: ClusterCacheOptions = {}) {
    const ingressesChanged = () => {
      this.#ingressRevision++;
      opts.onChanged?.('ingresses');
    };
    const splitsChanged = () => {
      this.#splitRevision++;
      opts.onChanged?.('splits');
    };
    const make = <T extends KubernetesObject>(
      what: keyof typeof PATHS,
      onChange: () => void,
      optional = false,
    ) =>
      new ResilientInformer<T>(kc, client, {
        path: PATHS[what],
        optional,
        onChange,
        maxBackoffMs: opts.maxBackoffMs,
        onError: (err, retry) => opts.onError?.(what, err, retry),
      });
    this.ingressClasses = make<V1IngressClass>('ingressClasses', ingressesChanged);
    this.ingresses = make<V1Ingress>('ingresses', ingressesChanged);
    // The CRD may be installed after the webhook starts.
    this.routeRatios = make<RouteRatio>('routeRatios', splitsChanged, true);
    this.services = make<V1Service>('services', splitsChanged);
  }

  #all() {
    return [this.ingressClasses, this.ingresses, this.routeRatios, this.services];
  }

  start(): void {
    for (const i of this.#all()) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  get synced(): boolean {
    return this.#all().every((i) => i.synced);
  }

  /** Which caches have not synced yet (for /readyz). */
  unsynced(): string[] {
    return this.#all()
      .filter((i) => !i.synced)
      .map((i) => i.path);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.waitForSync()));
  }

  /** Everything claims read, in one snapshot. */
  claimSnapshot(): Snapshot {
    return {
      ...EMPTY,
      ingressClasses: this.ingressClasses.list(),
      ingresses: this.ingresses.list(),
      routeRatios: this.routeRatios.list(),
      services: this.services.list(),
    };
  }

  counts(): Record<string, number> {
    return {
      ingressClasses: this.ingressClasses.list().length,
      ingresses: this.ingresses.list().length,
      routeRatios: this.routeRatios.list().length,
      services: this.services.list().length,
    };
  }
}
