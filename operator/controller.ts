// The control loop: informers -> store -> coalescing queue -> compile -> validate -> push, and
// acknowledgements -> status and Events. Only the leader compiles, pushes and writes; every
// instance keeps its caches warm so a new leader acts at once. Informers, status and Event
// writers, the data-plane client and the leader signal are given (app.ts wires the real ones),
// so the loop runs the same against in-memory ones.

import type {
  V1Ingress,
  V1IngressClass,
  V1IngressLoadBalancerIngress,
  V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { DataplaneConfig } from '../contract/types.ts';
import type {
  CompiledRouteRatioStatus,
  CompileEvent,
  CompileOptions,
  CompileOutcome,
  CompileSuccess,
  Snapshot,
} from './compile/api.ts';
import { CONTROLLER_NAME } from './compile/api.ts';
import type { ControllerInformers, SourceInformer } from './informers.ts';
import { Backoff, sleep } from './kube/backoff.ts';
import type { InformerEvent, KubeObject } from './kube/informer.ts';
import type { LeaderSignal } from './leader.ts';
import type { OperatorMetrics } from './metrics.ts';
import { type PushClient, Pusher } from './push/pusher.ts';
import { type Replica, replicasFromSlices } from './push/replicas.ts';
import { CoalescingQueue } from './queue.ts';
import {
  changedObjects,
  compiledAgainEvents,
  compileFailedCondition,
  compileFailedEvents,
  statusesWhileFailing,
} from './status/compile-failure.ts';
import { loadBalancerAddresses } from './status/loadbalancer.ts';
import { programmedCondition, VersionLedger } from './status/programmed.ts';
import type { ProgrammedFn } from './status/writer.ts';
import { type Kind, Store } from './store.ts';

/** Where object status goes (the status subresource in production). */
export interface StatusSink {
  /** Resolves to the number of failed writes. */
  syncRouteRatios(
    compiled: Record<string, CompiledRouteRatioStatus>,
    programmed: ProgrammedFn,
  ): Promise<number>;
  /** Resolves to the number of failed writes. */
  syncIngresses(keys: Iterable<string>, lb: V1IngressLoadBalancerIngress[]): Promise<number>;
  /** Forgets what it remembers of objects that are gone. */
  prune(): void;
}

/** Where the compiler's Events go; resolves to the number that failed. */
export interface EventSink {
  record(events: readonly CompileEvent[]): Promise<number>;
}

export interface ControllerOptions {
  /** Started and stopped by the controller; it never writes to them. */
  informers: ControllerInformers;
  /** Reads one Secret with its data: one the cache holds without it has become referenced. */
  readSecret: (namespace: string, name: string, signal: AbortSignal) => Promise<V1Secret>;
  status: StatusSink;
  events: EventSink;
  /** Only the leader compiles, pushes and writes. */
  leader: LeaderSignal;
  log: Logger;
  metrics: OperatorMetrics;
  /**
   * The compiler. A failed outcome (or a throw) pushes nothing: the data planes keep the last good
   * config, and the failure is counted, logged and reported; the compile is retried with back-off.
   */
  compile: (snapshot: Snapshot, options: CompileOptions) => CompileOutcome;
  isSluiceIngress: (ingress: V1Ingress, classes: V1IngressClass[], options: CompileOptions) => boolean;
  /** Schema check of the compiled config: the problems, or an empty list. */
  validate: (config: DataplaneConfig) => string[];
  compileOptions: CompileOptions;
  dataplane: {
    /** How replicas are found in `informers.dataplaneSlices` (ignored when `replicas` is given). */
    portName: string;
    port: number;
    scheme: 'http' | 'https';
    /** A fixed list instead of discovery. */
    replicas?: Replica[];
    /** The data plane's config API. */
    client: PushClient;
  };
  publish: {
    addresses?: V1IngressLoadBalancerIngress[];
    service?: { namespace: string; name: string };
    /** false: Ingress status is never written (another controller may be writing it). Default true. */
    status?: boolean;
  };
  identity: string;
  queue: { holdOffMs: number; maxDelayMs: number };
  /** Re-check of remembered replica versions. */
  resyncIntervalMs?: number;
}

export class Controller {
  readonly store: Store;
  readonly pusher: Pusher;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;
  readonly #in: ControllerInformers;
  readonly #queue: CoalescingQueue;
  readonly #statusQueue: CoalescingQueue;
  readonly #ledger = new VersionLedger();
  readonly #abort = new AbortController();
  readonly #statusRetry = new Backoff({ initialMs: 500, maxMs: 10_000 });
  #synced = false;
  #leading = false;
  /** The last successful compile and its snapshot. */
  #last: CompileSuccess | undefined;
  #lastSnapshot: Snapshot | undefined;
  /** Set while compiles fail: the error and the Events that say so. */
  #failure: { error: Error; events: CompileEvent[] } | undefined;
  /** Events of the compile that succeeded after failures, kept until the next failure. */
  #recovered: CompileEvent[] = [];
  readonly #compileRetry = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  #compileRetryTimer: NodeJS.Timeout | undefined;
  #statusRetryTimer: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#in = opts.informers;
    const { metrics } = opts;
    const inf = opts.informers;

    this.store = new Store(inf, {
      isSluiceIngress: (ing, classes) => opts.isSluiceIngress(ing, classes, opts.compileOptions),
      controllerName: opts.compileOptions.controllerName,
      defaultCertificateSecret: opts.compileOptions.defaultCertificateSecret,
      ingressNginxClassNames: opts.compileOptions.ingressNginxClassNames,
      onSecretReferenced: (ns, name) => void this.#fillSecret(ns, name),
    });
    const watch = <T extends KubeObject>(kind: Kind, informer: SourceInformer<T>) =>
      informer.on((ev) => this.#onChange(kind, ev));
    watch('IngressClass', inf.ingressClasses);
    watch('Ingress', inf.ingresses);
    watch('Service', inf.services);
    watch('EndpointSlice', inf.endpointSlices);
    watch('RouteRatio', inf.routeRatios);
    watch('Secret', inf.secrets);
    watch('Namespace', inf.namespaces);
    inf.dataplaneSlices?.on(() => this.#refreshReplicas());

    this.#queue = new CoalescingQueue({
      ...opts.queue,
      run: () => this.#reconcile(),
      onError: (err) => this.#log.error({ err: errText(err) }, 'reconcile failed'),
      onDepth: (d) => metrics.queueDepth.set(d),
    });
    this.#statusQueue = new CoalescingQueue({
      holdOffMs: 100,
      maxDelayMs: 1000,
      run: () => this.#writeStatus(),
      onError: (err) => this.#log.error({ err: errText(err) }, 'status update failed'),
    });

    const dp = opts.dataplane;
    this.pusher = new Pusher({
      client: dp.client,
      resyncIntervalMs: opts.resyncIntervalMs,
      onChange: () => {
        this.#updateReplicaGauges();
        this.#statusQueue.add();
      },
      onPush: (r, seconds, ok, kind) =>
        metrics.pushSeconds.observe(
          { replica: r.id, method: kind.toUpperCase(), result: ok ? 'ok' : 'error' },
          seconds,
        ),
      onError: (r, err) => this.#log.warn({ replica: r.id, pod: r.name, err: errText(err) }, 'push failed'),
    });
    if (dp.replicas) this.pusher.setReplicas(dp.replicas);
  }

  get leading(): boolean {
    return this.#leading;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Why the operator is not ready yet, or undefined. */
  notReady(): string | undefined {
    const pending = this.#all()
      .filter((i) => !i.synced)
      .map((i) => i.resource.plural);
    if (pending.length > 0) return `waiting for the first list of ${[...new Set(pending)].join(', ')}`;
    return this.#synced ? undefined : 'starting';
  }

  /** The config last handed to the pusher. */
  get version(): string | undefined {
    return this.pusher.version;
  }

  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const signal = this.#abort.signal;
    // Secrets list once the references are known, so referenced ones keep their data from the start.
    const first = this.#all().filter((i) => i !== this.#in.secrets);
    for (const informer of first) informer.start();
    await Promise.all(first.map((i) => i.waitForSync(signal)));
    this.#in.secrets.start();
    await this.#in.secrets.waitForSync(signal);
    this.#synced = true;
    this.#refreshReplicas();
    this.#log.info(
      {
        ingresses: this.#in.ingresses.size,
        sluiceIngresses: [...this.store.sluiceIngresses()].length,
        routeRatios: this.#in.routeRatios.size,
      },
      'caches synced',
    );
    this.#opts.leader.start((leading) => this.#setLeading(leading));
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#started?.catch(() => undefined);
    // Step down first, so a standby takes over while this one winds down.
    await this.#opts.leader.stop();
    this.#setLeading(false);
    clearTimeout(this.#statusRetryTimer);
    clearTimeout(this.#compileRetryTimer);
    await this.#queue.stop();
    await this.#statusQueue.stop();
    this.pusher.stop();
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  /** Every informer, the data plane's own included. */
  #all(): SourceInformer<KubeObject>[] {
    const i = this.#in;
    return [
      i.ingressClasses,
      i.ingresses,
      i.services,
      i.endpointSlices,
      i.routeRatios,
      i.namespaces,
      i.secrets,
      ...(i.dataplaneSlices ? [i.dataplaneSlices] : []),
    ] as SourceInformer<KubeObject>[];
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#opts.metrics.leader.set(leading ? 1 : 0);
    this.#log.info({ identity: this.#opts.identity }, leading ? 'leading' : 'not leading');
    this.pusher.setActive(leading);
    if (leading) this.#queue.add();
  }

  #onChange<T extends KubeObject>(kind: Kind, ev: InformerEvent<T>): void {
    let matters = false;
    try {
      matters = this.store.observe(kind, ev);
    } catch (err) {
      this.#log.error({ kind, err: errText(err) }, 'store update failed');
      matters = true;
    }
    if (!this.#synced || !this.#leading) return;
    if (matters) this.#queue.add();
    else if (kind === 'RouteRatio' || kind === 'Ingress') this.#statusQueue.add();
    if (kind === 'Service' && this.#isPublishService(ev)) this.#statusQueue.add();
  }

  #isPublishService<T extends KubeObject>(ev: InformerEvent<T>): boolean {
    const svc = this.#opts.publish.service;
    const m = (ev.type === 'delete' ? ev.old : ev.obj).metadata;
    return svc !== undefined && m?.namespace === svc.namespace && m?.name === svc.name;
  }

  #refreshReplicas(): void {
    const slices = this.#in.dataplaneSlices;
    if (!slices?.synced) return;
    const dp = this.#opts.dataplane;
    this.pusher.setReplicas(
      replicasFromSlices(slices.values(), {
        portName: dp.portName,
        port: dp.port,
        scheme: dp.scheme,
      }),
    );
  }

  #updateReplicaGauges(): void {
    const states = this.pusher.states();
    const version = this.pusher.version;
    this.#opts.metrics.replicas.set({ state: 'known' }, states.length);
    this.#opts.metrics.replicas.set({ state: 'ready' }, states.filter((s) => s.replica.ready).length);
    this.#opts.metrics.replicas.set({ state: 'current' }, states.filter((s) => s.acked === version).length);
  }

  async #reconcile(): Promise<void> {
    if (!this.#synced || !this.#leading) return;
    const { metrics } = this.#opts;
    const t0 = performance.now();
    const snapshot = this.store.snapshot();
    const started = performance.now();
    let result: CompileOutcome;
    try {
      result = this.#opts.compile(snapshot, this.#opts.compileOptions);
    } catch (err) {
      result = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const compiled = performance.now();
    metrics.compileSeconds.observe((compiled - started) / 1000);
    if (!result.ok) {
      this.#compileFailed(snapshot, result.error);
      return;
    }
    this.#compileSucceeded(result.config.version);
    const problems = this.#opts.validate(result.config);
    const validated = performance.now();
    const version = result.config.version;
    if (problems.length > 0) {
      // The last good config keeps serving; status and events still describe the objects.
      metrics.reconciles.inc({ result: 'invalid' });
      this.#log.error({ version, problems }, 'compiled config fails the schema; not pushed');
    } else {
      const generations = new Map<string, number>();
      for (const [key, st] of Object.entries(result.statuses.routeRatios)) {
        if (st.conditions.some((c) => c.type === 'Accepted' && c.status === 'True')) {
          generations.set(key, st.observedGeneration);
        }
      }
      // Same content, same version: it also carries the current generations.
      this.#ledger.record(version, generations);
      const changed = version !== this.pusher.version;
      if (changed) {
        this.pusher.setConfig(result.config);
        this.#updateReplicaGauges();
        const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
        this.#log.info(
          {
            version,
            virtualHosts: result.config.virtualHosts.length,
            backends: Object.keys(result.config.backends).length,
            snapshotMs: ms(t0, started),
            compileMs: ms(started, compiled),
            validateMs: ms(compiled, validated),
          },
          'config compiled',
        );
      }
      metrics.reconciles.inc({ result: changed ? 'pushed' : 'unchanged' });
    }
    this.#last = result;
    this.#lastSnapshot = snapshot;
    this.#statusQueue.add();
  }

  /** Nothing is pushed: the data planes keep the last good config. Retried with back-off. */
  #compileFailed(snapshot: Snapshot, error: Error): void {
    const { metrics } = this.#opts;
    metrics.compileFailures.inc();
    metrics.reconciles.inc({ result: 'error' });
    const retryInMs = this.#compileRetry.next();
    const version = this.pusher.version;
    const changed = changedObjects(this.#lastSnapshot, snapshot);
    this.#log.error(
      { err: error, failures: this.#compileRetry.attempts, retryInMs, version, changed: changed.length },
      'compile failed: nothing pushed, the data plane keeps the last good config',
    );
    this.#failure = { error, events: compileFailedEvents(error, this.#servedClasses(), changed, version) };
    this.#recovered = [];
    // A transient fault heals without another change; a lasting one is retried at most once a minute.
    clearTimeout(this.#compileRetryTimer);
    this.#compileRetryTimer = setTimeout(() => this.#queue.add(), retryInMs);
    this.#compileRetryTimer.unref();
    this.#statusQueue.add();
  }

  #compileSucceeded(version: string): void {
    clearTimeout(this.#compileRetryTimer);
    if (!this.#failure) return;
    const failures = this.#compileRetry.attempts;
    this.#log.info({ failures, version }, 'compiling again after failed compiles');
    this.#recovered = compiledAgainEvents(this.#servedClasses(), failures, version);
    this.#failure = undefined;
    this.#compileRetry.reset();
  }

  /** Names of the IngressClasses Sluice serves, sorted. */
  #servedClasses(): string[] {
    const controller = this.#opts.compileOptions.controllerName ?? CONTROLLER_NAME;
    const names: string[] = [];
    for (const c of this.#in.ingressClasses.values()) {
      if (c.spec?.controller === controller && c.metadata?.name) names.push(c.metadata.name);
    }
    return names.sort();
  }

  async #writeStatus(): Promise<void> {
    const result = this.#last;
    const failure = this.#failure;
    if ((!result && !failure) || !this.#leading) return;
    const states = this.pusher.states();
    this.#ledger.prune([this.pusher.version, ...states.map((s) => s.acked)]);
    // While compiles fail, statuses stay those of the last good compile; RouteRatios changed since
    // then are told that their generation is not programmed.
    const lastGood = result?.statuses.routeRatios ?? {};
    const { statuses, failing } = failure
      ? statusesWhileFailing(lastGood, this.#in.routeRatios.values())
      : { statuses: lastGood, failing: new Map<string, number>() };
    let failed = await this.#opts.status.syncRouteRatios(statuses, (key, gen, accepted) => {
      const current = failing.get(key);
      if (failure && current !== undefined) return compileFailedCondition(current, failure.error);
      return programmedCondition(key, gen, accepted, states, this.#ledger);
    });
    const pub = this.#opts.publish;
    const svc = pub.service ? this.#in.services.get(pub.service.namespace, pub.service.name) : undefined;
    if (pub.status !== false) {
      failed += await this.#opts.status.syncIngresses(
        Object.keys(result?.statuses.ingresses ?? {}),
        loadBalancerAddresses(pub.addresses, svc),
      );
    }
    failed += await this.#opts.events.record([
      ...(result?.events ?? []),
      ...(failure?.events ?? []),
      ...this.#recovered,
    ]);
    this.#opts.status.prune();
    clearTimeout(this.#statusRetryTimer);
    if (failed > 0) {
      // Retry what failed (or was held back) later, without waiting for another change.
      this.#statusRetryTimer = setTimeout(() => this.#statusQueue.add(), this.#statusRetry.next());
      this.#statusRetryTimer.unref();
    } else {
      this.#statusRetry.reset();
    }
  }

  /** A Secret became referenced while the cache only holds it without data: fetch it once. */
  async #fillSecret(namespace: string, name: string): Promise<void> {
    const secrets = this.#in.secrets;
    if (!secrets.synced) return;
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (let attempt = 0; attempt < 5 && !this.#abort.signal.aborted; attempt++) {
      const cached = secrets.get(namespace, name);
      if (!cached || cached.data) return;
      try {
        const full = await this.#opts.readSecret(namespace, name, this.#abort.signal);
        secrets.inject({ ...full, apiVersion: 'v1', kind: 'Secret' }, (cur) => !cur.data);
        return;
      } catch (err) {
        this.#log.warn({ secret: `${namespace}/${name}`, err: errText(err) }, 'reading Secret failed');
        await sleep(backoff.next(), this.#abort.signal);
      }
    }
  }
}

export function errText(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err.message : String(err);
}
