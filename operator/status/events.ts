// Turns the compiler's events (conflicts, missing Secrets or Services, ...) into Kubernetes
// Events (events.k8s.io/v1). The compiler reports the same events on every compile; an event is
// posted once when it appears and again only if it goes away and comes back.

import { randomBytes } from 'node:crypto';
import type { CompileEvent, ObjectRef } from '../compile/api.ts';
import { RR_GROUP, RR_VERSION } from '../compile/api.ts';
import type { KubeClient } from '../kube/client.ts';
import { collectionPath, EVENTS } from '../kube/resources.ts';

export interface EventRecorderOptions {
  client: KubeClient;
  /** `reportingController`, e.g. `sluice.dev/operator`. */
  controller: string;
  /** `reportingInstance`: this operator's identity. */
  instance: string;
  /** Looks up the uid of the object an event is about, when the compiler did not give one. */
  uidOf?: (ref: ObjectRef) => string | undefined;
  /** At most this many Events are posted per round; the rest wait for the next. Default 50. */
  maxPerRound?: number;
  /** Namespace for events about cluster-scoped objects. Default `default`. */
  clusterScopedNamespace?: string;
  onPost?: (ev: CompileEvent, ok: boolean, err?: unknown) => void;
}

const API_VERSIONS: Record<ObjectRef['kind'], string> = {
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  RouteRatio: `${RR_GROUP}/${RR_VERSION}`,
  Service: 'v1',
  Secret: 'v1',
};

export function eventKey(ev: CompileEvent): string {
  const o = ev.object;
  return JSON.stringify([o.kind, o.namespace ?? '', o.name, ev.type, ev.reason, ev.message]);
}

/** events.k8s.io MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  /** Events posted and still reported by the latest compile. */
  #posted = new Set<string>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  /** Posts the events not posted before; resolves to the number that failed or had to wait. */
  async record(events: readonly CompileEvent[]): Promise<number> {
    const current = new Map<string, CompileEvent>();
    for (const ev of events) current.set(eventKey(ev), ev);
    const posted = new Set<string>();
    for (const key of this.#posted) if (current.has(key)) posted.add(key);
    this.#posted = posted;

    let budget = this.#opts.maxPerRound ?? 50;
    let left = 0;
    for (const [key, ev] of current) {
      if (posted.has(key)) continue;
      if (budget <= 0) {
        left++;
        continue;
      }
      budget--;
      try {
        await this.#post(ev);
        posted.add(key);
        this.#opts.onPost?.(ev, true);
      } catch (err) {
        left++;
        this.#opts.onPost?.(ev, false, err);
      }
    }
    return left;
  }

  async #post(ev: CompileEvent): Promise<void> {
    const o = ev.object;
    const namespace = o.namespace ?? this.#opts.clusterScopedNamespace ?? 'default';
    const uid = o.uid ?? this.#opts.uidOf?.(o);
    const now = new Date();
    const base = o.name
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .slice(0, 200);
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${base}.${randomBytes(8).toString('hex')}`, namespace },
      eventTime: microTime(now),
      reportingController: this.#opts.controller,
      reportingInstance: this.#opts.instance.slice(0, 128),
      action: 'Reconcile',
      type: ev.type,
      reason: ev.reason.slice(0, 128),
      note: ev.message.slice(0, 1024),
      regarding: {
        apiVersion: API_VERSIONS[o.kind],
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        uid,
      },
    };
    await this.#opts.client.request('POST', collectionPath(EVENTS, namespace), { body });
  }
}
