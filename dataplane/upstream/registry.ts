// Upstream endpoints shared by all config versions. Each endpoint keeps one keep-alive undici
// Pool (per distinct connect timeout, normally exactly one), its in-flight count for
// least-request balancing and its passive-health state. Routing tables take a reference on every
// endpoint they use; an endpoint's pools close when the last table that used it is retired, so
// requests still running on an old version never lose their connection.

import { Pool } from 'undici';

export interface RegistryOptions {
  /** Most connections per endpoint pool; further requests queue. */
  maxConnectionsPerEndpoint: number;
  /** Idle keep-alive time of upstream connections (an upstream's own `Keep-Alive` hint can lower it). */
  keepAliveTimeoutMs: number;
  /** First ejection after a connection failure; doubles per consecutive failure. */
  ejectBaseMs: number;
  ejectMaxMs: number;
  /** Called when an endpoint is ejected. */
  onEject?: (endpoint: Upstream) => void;
}

export type UpstreamProtocol = 'http' | 'https';

export class Upstream {
  readonly key: string;
  readonly origin: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: UpstreamProtocol;
  /** Requests currently dispatched to this endpoint, over every config version. */
  inflight = 0;
  /** Epoch ms until which the endpoint is ejected; 0 when healthy. */
  ejectedUntil = 0;
  consecutiveFailures = 0;
  /** Routing tables holding this endpoint. */
  refs = 0;
  readonly #pools = new Map<number, Pool>();
  /** Pools closing gracefully: their requests still hold connections until they finish. */
  readonly #closingPools = new Set<Pool>();
  readonly #options: RegistryOptions;

  constructor(protocol: UpstreamProtocol, address: string, port: number, options: RegistryOptions) {
    this.protocol = protocol;
    this.address = address;
    this.port = port;
    this.key = upstreamKey(protocol, address, port);
    this.origin = `${protocol}://${address.includes(':') ? `[${address}]` : address}:${port}`;
    this.#options = options;
  }

  pool(connectTimeoutMs: number): Pool {
    let pool = this.#pools.get(connectTimeoutMs);
    if (pool === undefined) {
      pool = new Pool(this.origin, {
        connections: this.#options.maxConnectionsPerEndpoint,
        pipelining: 1,
        keepAliveTimeout: this.#options.keepAliveTimeoutMs,
        keepAliveMaxTimeout: Math.max(this.#options.keepAliveTimeoutMs, 600_000),
        keepAliveTimeoutThreshold: 1_000,
        connect: {
          timeout: connectTimeoutMs,
          // Pod certificates are rarely issued for pod IPs: encrypt without verifying, as
          // ingress-nginx does by default for HTTPS backends.
          ...(this.protocol === 'https' ? { rejectUnauthorized: false } : {}),
        },
      });
      this.#pools.set(connectTimeoutMs, pool);
    }
    return pool;
  }

  get poolCount(): number {
    return this.#pools.size;
  }

  /**
   * Connections holding a request: written and being answered, or assigned to a connection
   * still being opened. Requests queued for a free connection are not counted. With
   * pipelining 1 every such request holds exactly one of the `maxConnectionsPerEndpoint` slots.
   */
  get connectionsInUse(): number {
    let n = 0;
    for (const pool of this.#pools.values()) n += poolInUse(pool);
    for (const pool of this.#closingPools) n += poolInUse(pool);
    return n;
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const p of pools) this.#closingPools.add(p);
    await Promise.all(
      pools.map((p) =>
        p
          .close()
          .catch(() => p.destroy())
          .finally(() => this.#closingPools.delete(p)),
      ),
    );
  }

  destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    return Promise.all(pools.map((p) => p.destroy())).then(() => undefined);
  }
}

function poolInUse(pool: Pool): number {
  const stats = pool.stats;
  return stats.size - stats.queued;
}

export function upstreamKey(protocol: UpstreamProtocol, address: string, port: number): string {
  return `${protocol}:${address}:${port}`;
}

export class UpstreamRegistry {
  readonly #endpoints = new Map<string, Upstream>();
  readonly #options: RegistryOptions;
  readonly #closing = new Set<Promise<void>>();
  /** Endpoints released by every table whose pools are still closing. */
  readonly #released = new Set<Upstream>();
  /** Number of endpoints currently ejected; lets the balancer skip clock reads when 0. */
  ejectedCount = 0;

  constructor(options: RegistryOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#endpoints.size;
  }

  get(key: string): Upstream | undefined {
    return this.#endpoints.get(key);
  }

  acquire(protocol: UpstreamProtocol, address: string, port: number): Upstream {
    const key = upstreamKey(protocol, address, port);
    let up = this.#endpoints.get(key);
    if (up === undefined) {
      up = new Upstream(protocol, address, port, this.#options);
      this.#endpoints.set(key, up);
    }
    up.refs++;
    return up;
  }

  release(up: Upstream): void {
    up.refs--;
    if (up.refs > 0) return;
    if (this.#endpoints.get(up.key) === up) this.#endpoints.delete(up.key);
    if (up.ejectedUntil !== 0) this.ejectedCount--;
    this.#released.add(up);
    const closing = up.close();
    this.#closing.add(closing);
    void closing.finally(() => {
      this.#closing.delete(closing);
      this.#released.delete(up);
    });
  }

  /**
   * Upstream connections in use per endpoint `address:port` (the config's endpoint address),
   * over current endpoints and released ones still closing; endpoints that differ only by
   * protocol are summed. Every current endpoint is listed, idle ones with 0.
   */
  connectionsInUse(): Map<string, number> {
    const out = new Map<string, number>();
    for (const up of [...this.#endpoints.values(), ...this.#released]) {
      const label = `${up.address}:${up.port}`;
      out.set(label, (out.get(label) ?? 0) + up.connectionsInUse);
    }
    return out;
  }

  /** A connection to the endpoint failed: eject it for a back-off period. */
  recordFailure(up: Upstream, now = Date.now()): void {
    up.consecutiveFailures++;
    const backoff = Math.min(
      this.#options.ejectMaxMs,
      this.#options.ejectBaseMs * 2 ** Math.min(up.consecutiveFailures - 1, 20),
    );
    if (up.ejectedUntil === 0) this.ejectedCount++;
    up.ejectedUntil = now + backoff;
    this.#options.onEject?.(up);
  }

  recordSuccess(up: Upstream): void {
    if (up.consecutiveFailures === 0 && up.ejectedUntil === 0) return;
    up.consecutiveFailures = 0;
    if (up.ejectedUntil !== 0) {
      up.ejectedUntil = 0;
      this.ejectedCount--;
    }
  }

  /** Waits for pools being closed; used at shutdown and by tests. */
  async settled(): Promise<void> {
    await Promise.all([...this.#closing]);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#endpoints.values()];
    this.#endpoints.clear();
    this.ejectedCount = 0;
    await Promise.all([...all.map((u) => u.close()), this.settled()]);
  }

  async destroyAll(): Promise<void> {
    const all = [...this.#endpoints.values()];
    this.#endpoints.clear();
    this.ejectedCount = 0;
    await Promise.all(all.map((u) => u.destroy()));
  }
}
