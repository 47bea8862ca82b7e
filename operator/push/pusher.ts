// Keeps every data-plane replica at the desired config version. Each replica has its own worker,
// so one slow or dead replica never holds up the others: it checks what the replica already runs
// (GET, then remembered), PUTs the config when the version differs, retries failures with
// capped back-off, and is dropped when the replica goes away. Only active (leader) pushers push.

import { Backoff, type BackoffOptions, sleep } from '../kube/backoff.ts';
import type { Replica } from './replicas.ts';

export interface PushClient {
  appliedVersion(baseUrl: string, signal?: AbortSignal): Promise<string | undefined>;
  put(baseUrl: string, body: string, signal?: AbortSignal): Promise<void>;
}

export interface ReplicaState {
  replica: Replica;
  /** Version the replica acknowledged (or reported), if any. */
  acked: string | undefined;
  lastError: string | undefined;
}

export interface PusherOptions {
  client: PushClient;
  backoff?: BackoffOptions;
  /** Acks are re-checked with a GET this often, to notice a replica that restarted. Default 30 s. */
  resyncIntervalMs?: number;
  /** Replicas, readiness or acknowledgements changed. */
  onChange?: () => void;
  /** One PUT finished. */
  onPush?: (replica: Replica, seconds: number, ok: boolean) => void;
  onError?: (replica: Replica, err: unknown) => void;
}

interface Target {
  version: string;
  body: string;
}

class Worker {
  replica: Replica;
  acked: string | undefined;
  /** The ack is known, not just remembered from before a deactivation or resync. */
  verified = false;
  running = false;
  gone = false;
  lastError: string | undefined;
  abort = new AbortController();
  readonly backoff: Backoff;
  constructor(replica: Replica, backoff: BackoffOptions) {
    this.replica = replica;
    this.backoff = new Backoff(backoff);
  }
  cancel(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }
}

export class Pusher {
  readonly #opts: PusherOptions;
  readonly #workers = new Map<string, Worker>();
  #target: Target | undefined;
  #active = false;
  #resync: NodeJS.Timeout | undefined;

  constructor(opts: PusherOptions) {
    this.#opts = opts;
  }

  get active(): boolean {
    return this.#active;
  }

  get version(): string | undefined {
    return this.#target?.version;
  }

  states(): ReplicaState[] {
    return [...this.#workers.values()].map((w) => ({
      replica: w.replica,
      acked: w.acked,
      lastError: w.lastError,
    }));
  }

  setReplicas(replicas: readonly Replica[]): void {
    let changed = false;
    const seen = new Set<string>();
    for (const r of replicas) {
      seen.add(r.id);
      const w = this.#workers.get(r.id);
      if (!w) {
        this.#workers.set(r.id, new Worker(r, this.#backoffOptions()));
        changed = true;
        this.#kick(r.id);
        continue;
      }
      const wasReady = w.replica.ready;
      // A static replica's readiness is what the pusher saw; keep it.
      w.replica = r.static ? { ...r, ready: w.replica.ready } : r;
      if (wasReady !== w.replica.ready) changed = true;
      if (wasReady && !w.replica.ready && !r.static) {
        // The pod may have restarted and lost its config: ask again.
        w.verified = false;
        this.#kick(r.id);
      }
    }
    for (const [id, w] of this.#workers) {
      if (seen.has(id)) continue;
      w.gone = true;
      w.cancel();
      this.#workers.delete(id);
      changed = true;
    }
    if (changed) this.#opts.onChange?.();
  }

  /** The config every replica should run; `body` is its JSON, serialised once for all replicas. */
  setConfig(version: string, body: string): void {
    if (this.#target?.version === version) return;
    this.#target = { version, body };
    for (const id of this.#workers.keys()) this.#kick(id);
  }

  setActive(active: boolean): void {
    if (active === this.#active) return;
    this.#active = active;
    clearInterval(this.#resync);
    this.#resync = undefined;
    for (const w of this.#workers.values()) {
      // Another leader may have pushed meanwhile: remembered acks are only hints now.
      w.verified = false;
      if (!active) w.cancel();
    }
    if (active) {
      const every = this.#opts.resyncIntervalMs ?? 30_000;
      this.#resync = setInterval(() => this.#resyncAll(), every);
      this.#resync.unref();
      for (const id of this.#workers.keys()) this.#kick(id);
    }
  }

  stop(): void {
    this.setActive(false);
    this.#target = undefined;
  }

  #resyncAll(): void {
    for (const [id, w] of this.#workers) {
      if (w.running) continue;
      w.verified = false;
      this.#kick(id);
    }
  }

  #backoffOptions(): BackoffOptions {
    return { initialMs: 200, maxMs: 30_000, ...this.#opts.backoff };
  }

  #kick(id: string): void {
    const w = this.#workers.get(id);
    if (!w || w.running || !this.#active || !this.#target) return;
    void this.#drive(w);
  }

  async #drive(w: Worker): Promise<void> {
    w.running = true;
    try {
      while (this.#active && !w.gone) {
        const target = this.#target;
        if (!target || (w.verified && w.acked === target.version)) break;
        const signal = w.abort.signal;
        const started = performance.now();
        try {
          if (!w.verified) {
            const applied = await this.#opts.client.appliedVersion(w.replica.url, signal);
            if (w.gone || signal.aborted) break;
            w.verified = true;
            this.#reached(w, applied);
            continue;
          }
          await this.#opts.client.put(w.replica.url, target.body, signal);
          if (w.gone || signal.aborted) break;
          this.#opts.onPush?.(w.replica, (performance.now() - started) / 1000, true);
          this.#reached(w, target.version);
        } catch (err) {
          if (w.gone || signal.aborted) break;
          if (w.verified) this.#opts.onPush?.(w.replica, (performance.now() - started) / 1000, false);
          w.lastError = err instanceof Error ? err.message : String(err);
          this.#opts.onError?.(w.replica, err);
          if (w.replica.static && w.replica.ready && !(err as { statusCode?: number }).statusCode) {
            // Unreachable static replica: not counted as ready until it answers again.
            w.replica = { ...w.replica, ready: false };
            this.#opts.onChange?.();
          }
          await sleep(w.backoff.next(), signal);
        }
      }
    } finally {
      w.running = false;
    }
  }

  #reached(w: Worker, version: string | undefined): void {
    w.backoff.reset();
    w.lastError = undefined;
    let changed = w.acked !== version;
    w.acked = version;
    if (w.replica.static && !w.replica.ready) {
      w.replica = { ...w.replica, ready: true };
      changed = true;
    }
    if (changed) this.#opts.onChange?.();
  }
}
