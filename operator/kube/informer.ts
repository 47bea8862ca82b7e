// List + watch one resource into a read-only cache. A watch that ends is resumed from the last
// resourceVersion; `410 Gone` (expired resourceVersion or continue token) lists again; failures
// back off exponentially up to a cap, and a watch only resets the back-off once it has proved
// healthy, so a flapping API server never causes a watch storm. `synced` turns true after the
// first complete list. Cached objects are deeply frozen: handlers and snapshots share them.
// The operator and the admission webhook both read the cluster through this one class.

import type { V1ObjectMeta } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { deepFreeze } from './freeze.ts';
import { apiVersionOf, collectionPath, type Resource } from './resources.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export type InformerEvent<T> =
  | { type: 'add'; obj: T }
  | { type: 'update'; old: T; obj: T }
  | { type: 'delete'; old: T };

export type RestartReason = 'closed' | 'gone' | 'error';

export interface InformerOptions<T> {
  client: KubeClient;
  resource: Resource;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * A resource that may not exist yet (a CRD installed later): a 404 counts as synced and empty,
   * and the list is retried with the back-off.
   */
  optional?: boolean;
  /** Applied to every object before it is cached (e.g. to drop data the operator must not keep). */
  transform?: (obj: T) => T;
  pageSize?: number;
  backoff?: BackoffOptions;
  /** Server-side watch timeout; randomised by default so watches do not all end together. */
  watchTimeoutSeconds?: () => number;
  /** A watch counts as healthy (and resets the back-off) after this long or after one event. */
  healthyAfterMs?: number;
  onRestart?: (reason: RestartReason, err?: unknown) => void;
}

interface ListBody<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

interface WatchLine {
  type?: string;
  object?: KubeObject & { code?: number; reason?: string; message?: string };
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export class Informer<T extends KubeObject> {
  readonly resource: Resource;
  readonly #opts: InformerOptions<T>;
  #cache = new Map<string, T>();
  /** Keys by namespace, for `listIn`. */
  #byNamespace = new Map<string, Set<string>>();
  #rv = '';
  #synced = false;
  #handlers: Array<(ev: InformerEvent<T>) => void> = [];
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #syncWaiters: Array<() => void> = [];

  constructor(opts: InformerOptions<T>) {
    this.resource = opts.resource;
    this.#opts = opts;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get size(): number {
    return this.#cache.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  values(): IterableIterator<T> {
    return this.#cache.values();
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  /** The cached objects of one namespace, without scanning the others. */
  listIn(namespace: string): T[] {
    const out: T[] = [];
    for (const key of this.#byNamespace.get(namespace) ?? []) {
      const obj = this.#cache.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  #set(key: string, obj: T): void {
    this.#cache.set(key, obj);
    const ns = obj.metadata?.namespace;
    if (!ns) return;
    const keys = this.#byNamespace.get(ns) ?? new Set<string>();
    keys.add(key);
    this.#byNamespace.set(ns, keys);
  }

  #delete(key: string, obj: T): void {
    this.#cache.delete(key);
    const ns = obj.metadata?.namespace;
    const keys = ns ? this.#byNamespace.get(ns) : undefined;
    keys?.delete(key);
    if (ns && keys?.size === 0) this.#byNamespace.delete(ns);
  }

  on(handler: (ev: InformerEvent<T>) => void): void {
    this.#handlers.push(handler);
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops listing and watching; a later `start()` resumes from the cache's resourceVersion. */
  async stop(): Promise<void> {
    const running = this.#running;
    this.#abort.abort();
    await running;
    if (this.#running === running) {
      this.#running = undefined;
      this.#abort = new AbortController();
    }
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error(`${this.resource.plural}: stopped before the first list`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /**
   * Replaces a cached object when `when(current)` holds and emits `update`; for filling in data
   * a transform left out once the operator needs it.
   */
  inject(obj: T, when: (current: T) => boolean): boolean {
    const key = objectKey(obj);
    const current = this.#cache.get(key);
    if (!current || !when(current)) return false;
    const next = deepFreeze(stripBookkeeping(obj));
    this.#set(key, next);
    this.#emit({ type: 'update', old: current, obj: next });
    return true;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000, ...this.#opts.backoff });
    while (!signal.aborted) {
      let reason: RestartReason = 'closed';
      let error: unknown;
      let healthy = false;
      try {
        if (this.#rv === '') await this.#list(signal);
        healthy = await this.#watch(signal);
      } catch (err) {
        if (signal.aborted) break;
        error = err;
        if (isGone(err)) {
          this.#rv = '';
          reason = 'gone';
        } else {
          reason = 'error';
        }
      }
      if (signal.aborted) break;
      this.#opts.onRestart?.(reason, error);
      if (healthy) backoff.reset();
      // A normal end of a healthy watch resumes at once, as does the first relist after a 410;
      // anything else waits, longer each time.
      const immediate = (healthy && reason === 'closed') || (reason === 'gone' && backoff.attempts === 0);
      const delay = backoff.next();
      if (!immediate) await sleep(delay, signal);
    }
  }

  #query(): Record<string, string | undefined> {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  async #list(signal: AbortSignal): Promise<void> {
    const path = collectionPath(this.resource, this.#opts.namespace);
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    let missing: unknown;
    do {
      let page: ListBody<T>;
      try {
        page = await this.#opts.client.get<ListBody<T>>(path, {
          query: { ...this.#query(), limit: this.#opts.pageSize ?? 500, continue: cont },
          signal,
        });
      } catch (err) {
        if (!(this.#opts.optional && err instanceof KubeApiError && err.statusCode === 404)) throw err;
        missing = err;
        page = {};
      }
      for (const item of page.items ?? []) items.push(item);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont);

    const apiVersion = apiVersionOf(this.resource);
    const previous = this.#cache;
    const next = new Map<string, T>();
    for (const raw of items) {
      // List items come without apiVersion/kind; watch events carry them.
      const item = this.#prepare({ ...raw, apiVersion, kind: this.resource.kind });
      const key = objectKey(item);
      const old = previous.get(key);
      next.set(key, old && sameVersion(old, item) ? old : item);
    }
    this.#cache = next;
    this.#byNamespace = new Map();
    for (const [key, obj] of next) this.#set(key, obj);
    this.#rv = rv;
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (!old) this.#emit({ type: 'add', obj });
      else if (old !== obj) this.#emit({ type: 'update', old, obj });
    }
    for (const [key, old] of previous) {
      if (!next.has(key)) this.#emit({ type: 'delete', old });
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
    // Nothing to watch yet: back off and list again.
    if (missing) throw missing;
  }

  /** Resolves when the watch ends normally; true when it proved healthy. */
  async #watch(signal: AbortSignal): Promise<boolean> {
    const timeoutSeconds = this.#opts.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    const started = Date.now();
    let events = 0;
    const body = await this.#opts.client.stream(
      collectionPath(this.resource, this.#opts.namespace),
      {
        ...this.#query(),
        watch: 'true',
        resourceVersion: this.#rv,
        allowWatchBookmarks: 'true',
        timeoutSeconds,
      },
      { signal, idleTimeoutMs: (timeoutSeconds + 60) * 1000 },
    );
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of body) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          this.#apply(JSON.parse(line) as WatchLine);
          events++;
        }
      }
    } finally {
      body.destroy();
    }
    return events > 0 || Date.now() - started >= (this.#opts.healthyAfterMs ?? 10_000);
  }

  #apply(line: WatchLine): void {
    const obj = line.object;
    if (!obj || typeof obj !== 'object')
      throw new Error(`${this.resource.plural}: watch event without object`);
    switch (line.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const item = this.#prepare(obj as T);
        const key = objectKey(item);
        const old = this.#cache.get(key);
        if (old && sameVersion(old, item)) break;
        this.#set(key, item);
        this.#emit(old ? { type: 'update', old, obj: item } : { type: 'add', obj: item });
        break;
      }
      case 'DELETED': {
        const key = objectKey(obj);
        const old = this.#cache.get(key);
        if (old) {
          this.#delete(key, old);
          this.#emit({ type: 'delete', old });
        }
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        throw new KubeApiError(obj.code ?? 500, obj.reason ?? 'Error', obj.message ?? 'watch error');
      default:
        throw new Error(`${this.resource.plural}: unknown watch event type ${JSON.stringify(line.type)}`);
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
  }

  #prepare(obj: T): T {
    const t = this.#opts.transform;
    const slim = stripBookkeeping(obj);
    return deepFreeze(t ? t(slim) : slim);
  }

  #emit(ev: InformerEvent<T>): void {
    for (const h of this.#handlers) {
      try {
        h(ev);
      } catch {
        // A failing handler must not stop the informer; handlers log their own errors.
      }
    }
  }
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops what nothing in the operator reads and what often is most of an object's size:
 * managedFields and kubectl's last-applied copy of the whole object.
 */
export function stripBookkeeping<T extends KubeObject>(obj: T): T {
  const m = obj.metadata;
  if (!m || (m.managedFields === undefined && m.annotations?.[LAST_APPLIED] === undefined)) return obj;
  const { managedFields: _fields, ...metadata } = m;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...obj, metadata };
}

function sameVersion(a: KubeObject, b: KubeObject): boolean {
  const rv = a.metadata?.resourceVersion;
  return rv !== undefined && rv === b.metadata?.resourceVersion;
}

export function isGone(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    (err.statusCode === 410 || err.reason === 'Expired' || err.reason === 'Gone')
  );
}
