// One resource kind kept in memory by list+watch. The client library's ListWatch does the list,
// the watch and the relist after 410 Gone; it stops on any other error, so this wrapper restarts
// it with a capped exponential back-off, for as long as the process runs.
import { type KubeConfig, type KubernetesObject, makeInformer } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.ts';

export interface InformerOptions {
  /** Collection path, e.g. `/apis/networking.k8s.io/v1/ingresses`. */
  path: string;
  /** A missing resource (CRD not installed yet) counts as synced and empty, and is retried. */
  optional?: boolean;
  /** Each object added, changed or removed (also those a relist finds gone). */
  onChange: (event: 'add' | 'update' | 'delete', obj: KubernetesObject) => void;
  onError?: (err: unknown, retryInMs: number) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface ListBody<T> {
  items?: T[];
  metadata?: { resourceVersion?: string };
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly path: string;
  #informer: ReturnType<typeof makeInformer<T>>;
  #synced = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #min: number;
  #max: number;
  #onError: InformerOptions['onError'];
  #syncWaiters: Array<() => void> = [];

  constructor(kc: KubeConfig, client: KubeClient, opts: InformerOptions) {
    this.path = opts.path;
    this.#min = opts.minBackoffMs ?? 500;
    // Short enough that the cache catches up soon after an API server outage; a failed attempt is cheap.
    this.#max = opts.maxBackoffMs ?? 10_000;
    this.#backoff = this.#min;
    this.#onError = opts.onError;
    const list = async () => {
      const res = await client.request<ListBody<T>>('GET', opts.path);
      if (res.status === 404 && opts.optional) {
        this.#markSynced();
        return { items: [], metadata: { resourceVersion: '' } } as never;
      }
      if (res.status !== 200) {
        const err = new Error(`list ${opts.path}: HTTP ${res.status}`) as Error & { statusCode: number };
        err.statusCode = res.status;
        throw err;
      }
      this.#markSynced();
      this.#backoff = this.#min;
      return {
        items: res.body.items ?? [],
        metadata: { resourceVersion: res.body.metadata?.resourceVersion ?? '' },
      } as never;
    };
    this.#informer = makeInformer<T>(kc, opts.path, list);
    this.#informer.on('add', (obj) => opts.onChange('add', obj));
    this.#informer.on('update', (obj) => opts.onChange('update', obj));
    this.#informer.on('delete', (obj) => opts.onChange('delete', obj));
    this.#informer.on('error', (err) => this.#retry(err));
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  #retry(err: unknown): void {
    if (this.#stopped) return;
    // Jitter keeps replicas from retrying in step.
    const delay = Math.round(this.#backoff * (0.8 + Math.random() * 0.4));
    this.#backoff = Math.min(this.#backoff * 2, this.#max);
    this.#onError?.(err, delay);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) void this.#informer.start();
    }, delay);
    this.#timer.unref();
  }

  start(): void {
    this.#stopped = false;
    void this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves after the first successful list. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  list(): T[] {
    return this.#informer.list() as T[];
  }

  listIn(namespace: string): T[] {
    return this.#informer.list(namespace) as T[];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#informer.get(name, namespace);
  }
}
