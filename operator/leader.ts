// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: candidates try to
// take the Lease every retry period once it has not been renewed for a lease duration (judged by
// the local clock from when the record last changed, so clocks need not agree); the leader renews
// every retry period and steps down when it has not managed to renew within the renew deadline,
// which is shorter than the lease duration, so two leaders never act at once. On a clean stop the
// leader releases the Lease so a successor takes over at once.

import type { V1LeaseSpec } from '@kubernetes/client-node';
import { sleep } from './kube/backoff.ts';
import { isStatus, type KubeClient } from './kube/client.ts';
import { collectionPath, LEASES, objectPath } from './kube/resources.ts';
import { microTime } from './status/events.ts';

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

// The Lease as stored: times are MicroTime strings on the wire.
interface LeaseRecord {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };
}

export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #opts: LeaderElectorOptions;
  readonly #now: () => number;
  #leader = false;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #observed: { key: string; at: number } | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#opts = opts;
    this.identity = opts.identity;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.#now = opts.now ?? Date.now;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election: need lease duration > renew deadline > retry period');
    }
    if (this.identity === '') throw new Error('leader election: identity must not be empty');
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops campaigning; a leader steps down and, with `release`, hands the Lease back. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#abort.abort();
    await this.#running;
    clearTimeout(this.#deadline);
    if (this.#leader) {
      this.#setLeader(false);
      if (opts.release !== false) await this.#release().catch((err) => this.#opts.onError?.(err));
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const ok = await this.#tryAcquireOrRenew(signal).catch((err) => {
        if (!signal.aborted) this.#opts.onError?.(err);
        return false;
      });
      if (signal.aborted) break;
      if (ok) {
        // Leadership lasts until the renew deadline unless the next renewal pushes it on.
        clearTimeout(this.#deadline);
        this.#deadline = setTimeout(() => {
          if (this.#leader) this.#setLeader(false);
        }, this.renewDeadlineMs);
        if (!this.#leader) this.#setLeader(true);
      }
      // Candidates spread their attempts a little; the leader renews on the beat.
      const wait = this.#leader ? this.retryPeriodMs : this.retryPeriodMs * (1 + 0.2 * Math.random());
      await sleep(wait, signal);
    }
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    try {
      if (leader) this.#opts.onStartedLeading?.();
      else this.#opts.onStoppedLeading?.();
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name } = this.#opts;
    // Each attempt is bounded so a hung request cannot outlive the renew deadline.
    const timeoutMs = Math.max(1000, Math.min(this.renewDeadlineMs / 2, 5000));
    const now = this.#now();
    let lease: LeaseRecord;
    try {
      lease = await client.get<LeaseRecord>(objectPath(LEASES, namespace, name), { signal, timeoutMs });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      const created = await client
        .request<LeaseRecord>('POST', collectionPath(LEASES, namespace), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: this.#spec(now, undefined),
          },
          signal,
          timeoutMs,
        })
        .catch((e) => {
          if (isStatus(e, 409)) return undefined;
          throw e;
        });
      if (created) this.#remember(created, now);
      return created !== undefined;
    }
    this.#remember(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.identity && holder !== '') {
      const duration = (spec.leaseDurationSeconds ?? 15) * 1000;
      if (this.#observed && this.#observed.at + duration > now) return false;
    }
    const body: LeaseRecord & { apiVersion: string; kind: string } = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease.metadata,
      spec: this.#spec(now, spec),
    };
    try {
      const updated = await client.request<LeaseRecord>('PUT', objectPath(LEASES, namespace, name), {
        body,
        signal,
        timeoutMs,
      });
      this.#remember(updated, now);
      return true;
    } catch (err) {
      // Someone else wrote the Lease first: not ours this round.
      if (isStatus(err, 409)) return false;
      throw err;
    }
  }

  #spec(now: number, prev: LeaseRecord['spec'] | undefined): NonNullable<LeaseRecord['spec']> {
    const t = microTime(new Date(now));
    const mine = prev?.holderIdentity === this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: mine ? (prev?.acquireTime ?? t) : t,
      renewTime: t,
      leaseTransitions: prev ? (prev.leaseTransitions ?? 0) + (mine ? 0 : 1) : 0,
    };
  }

  // The local time at which the record last changed is what expiry is judged by.
  #remember(lease: LeaseRecord, now: number): void {
    const s = lease.spec ?? {};
    const key = JSON.stringify([s.holderIdentity, s.renewTime, s.acquireTime, s.leaseDurationSeconds]);
    if (this.#observed?.key !== key) this.#observed = { key, at: now };
  }

  async #release(): Promise<void> {
    const { client, namespace, name } = this.#opts;
    const lease = await client.get<LeaseRecord>(objectPath(LEASES, namespace, name), { timeoutMs: 3000 });
    if (lease.spec?.holderIdentity !== this.identity) return;
    const t = microTime(new Date(this.#now()));
    await client.request('PUT', objectPath(LEASES, namespace, name), {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: lease.metadata,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: t,
          renewTime: t,
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      },
      timeoutMs: 3000,
    });
  }
}

/** Whether this instance may push and write status, as the controller sees it. */
export interface LeaderSignal {
  /** Starts deciding; `onChange` is called whenever leadership is gained or lost. */
  start(onChange: (leading: boolean) => void): void;
  /** Stops deciding; a leader steps down and hands its claim back. */
  stop(): Promise<void>;
}

/** Leads from the start: for a single instance without leader election. */
export function alwaysLeading(): LeaderSignal {
  return { start: (onChange) => onChange(true), stop: async () => undefined };
}

/** Leadership held through a Lease. */
export function leaseLeadership(
  opts: Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>,
): LeaderSignal {
  let onChange: (leading: boolean) => void = () => undefined;
  const elector = new LeaderElector({
    ...opts,
    onStartedLeading: () => onChange(true),
    onStoppedLeading: () => onChange(false),
  });
  return {
    start(handler) {
      onChange = handler;
      elector.start();
    },
    // Hand the Lease over at once, so a standby takes over while this one winds down.
    stop: () => elector.stop({ release: true }),
  };
}
