// Keeps every data-plane replica at the desired config version. Each replica has its own worker,
// so one slow or dead replica never holds up the others: it checks what the replica already runs
// (GET, then remembered), sends the config when the version differs, retries failures with
// capped back-off, and is dropped when the replica goes away. Only active (leader) pushers push.
//
// A replica known to run a recent version gets a patch from that version (PATCH /v1/config: only
// the virtual hosts, backends and certificates that changed), which keeps a change at 10,000
// Ingresses a few KiB instead of the whole config. A replica at any other version, or one that
// refuses the patch, gets the whole config (PUT).

import { serializeConfig } from '../../contract/canonical.ts';
import { diffConfigs } from '../../contract/patch.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { Backoff, type BackoffOptions, sleep } from '../kube/backoff.ts';
import type { Replica } from './replicas.ts';

export interface PushClient {
  appliedVersion(baseUrl: string, signal?: AbortSignal): Promise<string | undefined>;
  put(baseUrl: string, body: string, signal?: AbortSignal): Promise<void>;
  /** Applies a patch; rejects with `statusCode` 409 when the replica is not at the patch's base. */
  patch(baseUrl: string, body: string, signal?: AbortSignal): Promise<void>;
}

/** How configs become request bodies (replaceable in tests). */
export interface PushCodec {
  /** The whole config as JSON. */
  full(config: DataplaneConfig): string;
  /** A patch from `base` to `target` as JSON. */
  patch(base: DataplaneConfig, target: DataplaneConfig): string;
}

const CODEC: PushCodec = {
  // The compiler's output has its keys in canonical order and its pieces' texts cached.
  full: (config) => serializeConfig(config, true).text,
  patch: (base, target) => JSON.stringify(diffConfigs(base, target)),
};

/** Answers to a PATCH after which the whole config is sent: 409 base mismatch, 400 refused, 404/405 no PATCH. */
const PATCH_FALLBACK = new Set([400, 404, 405, 409]);

/** Configs kept to patch from: replicas more versions behind get the whole config. */
const HISTORY = 8;

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
  /** One PUT or PATCH finished. */
  onPush?: (replica: Replica, seconds: number, ok: boolean, kind: 'put' | 'patch') => void;
  onError?: (replica: Replica, err: unknown) => void;
  codec?: PushCodec;
}

class Target {
  readonly version: string;
  readonly config: DataplaneConfig;
  readonly #codec: PushCodec;
  #full: string | undefined;
  readonly #patches = new Map<string, string>();
  constructor(version: string, config: DataplaneConfig, codec: PushCodec) {
    this.version = version;
    this.config = config;
    this.#codec = codec;
  }
  /** Serialised once, on first use, for every replica. */
  get full(): string {
    this.#full ??= this.#codec.full(this.config);
    return this.#full;
  }
  patchFrom(base: DataplaneConfig): string {
    let body = this.#patches.get(base.version);
    if (body === undefined) {
      body = this.#codec.patch(base, this.config);
      this.#patches.set(base.version, body);
    }
    return body;
  }
}

class Worker {
  replica: Replica;
  acked: string | undefined;
  /** The ack is known, not just remembered from before a deactivation or resync. */
  verified = false;
  running = false;
  gone = false;
  /** The replica refused a patch to this version: it gets the whole config. */
  noPatchFor: string | undefined;
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
  /** Recently pushed configs by version, oldest first: the bases patches are made from. */
  readonly #history = new Map<string, DataplaneConfig>();
  readonly #codec: PushCodec;
  #active = false;
  #resync: NodeJS.Timeout | undefined;

  constructor(opts: PusherOptions) {
    this.#opts = opts;
    this.#codec = opts.codec ?? CODEC;
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

  /** The config every replica should run (treated as immutable from here on). */
  setConfig(config: DataplaneConfig): void {
    const version = config.version;
    if (this.#target?.version === version) return;
    this.#target = new Target(version, config, this.#codec);
    this.#history.delete(version);
    this.#history.set(version, config);
    while (this.#history.size > HISTORY) this.#history.delete(this.#history.keys().next().value as string);
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
    this.#history.clear();
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
        let kind: 'put' | 'patch' | undefined;
        try {
          if (!w.verified) {
            const applied = await this.#opts.client.appliedVersion(w.replica.url, signal);
            if (w.gone || signal.aborted) break;
            w.verified = true;
            this.#reached(w, applied);
            continue;
          }
          const base = w.acked !== undefined ? this.#history.get(w.acked) : undefined;
          kind = base && w.noPatchFor !== target.version ? 'patch' : 'put';
          if (base && kind === 'patch')
            await this.#opts.client.patch(w.replica.url, target.patchFrom(base), signal);
          else await this.#opts.client.put(w.replica.url, target.full, signal);
          if (w.gone || signal.aborted) break;
          this.#opts.onPush?.(w.replica, (performance.now() - started) / 1000, true, kind);
          this.#reached(w, target.version);
        } catch (err) {
          if (w.gone || signal.aborted) break;
          const status = (err as { statusCode?: number }).statusCode;
          if (kind === 'patch' && status !== undefined && PATCH_FALLBACK.has(status)) {
            // Not at the base (restarted, or pushed by another leader), a replica without PATCH,
            // or a refused patch: the whole config settles it. Only a refusal is worth a report.
            w.noPatchFor = target.version;
            if (status !== 400) {
              this.#opts.onPush?.(w.replica, (performance.now() - started) / 1000, false, kind);
              continue;
            }
          }
          if (w.verified && kind)
            this.#opts.onPush?.(w.replica, (performance.now() - started) / 1000, false, kind);
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
