// Chooses the backend for one request of a route: overrides first (in order), then the sticky
// bucket of the client key, else smooth weighted round robin. A Splitter belongs to one config
// version; its round-robin state starts fresh when a new version is applied.

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Split } from '../../contract/types.ts';
import { readCookie } from './cookies.ts';
import { BucketMap, bucketOf } from './sticky.ts';
import { SmoothWeightedRoundRobin } from './swrr.ts';

export interface SplitChoice<B> {
  /** Undefined when every weight is 0: the route answers 503. */
  backend: B | undefined;
  /** Index into the split's backends list, -1 for an override or none. */
  index: number;
  /** Why: `override`, `sticky`, `weighted` or `none`. */
  reason: 'override' | 'sticky' | 'weighted' | 'none';
  /** A cohort cookie to set on the response (sticky cookie mode, cookie absent). */
  issueCookie?: { name: string; value: string };
}

interface CompiledOverride<B> {
  header?: { name: string; value: string };
  cookie?: { name: string; value: string };
  backend: B;
}

export class Splitter<B> {
  readonly #overrides: CompiledOverride<B>[];
  readonly #wrr: SmoothWeightedRoundRobin<number>;
  readonly #buckets: BucketMap<number> | null;
  readonly #stickyCookie: string | undefined;
  readonly #stickyHeader: string | undefined;
  readonly #backends: B[];
  /** Backends and weights in order; equal keys mean the same round-robin cycle. */
  readonly weightsKey: string;

  /**
   * `resolve` turns a backend key of the config into the runtime backend object. `previous` is
   * the same route's splitter in the config version being replaced: when the weights are the
   * same, its round-robin position carries over, so frequent pushes (endpoint churn) do not
   * restart every cycle at the heaviest backend and skew the split.
   */
  constructor(split: Split, resolve: (key: string) => B, previous?: Splitter<B>) {
    this.#backends = split.backends.map((b) => resolve(b.backend));
    this.#overrides = split.overrides.map((o) => ({
      header: o.header ? { name: o.header.name.toLowerCase(), value: o.header.value } : undefined,
      cookie: o.cookie,
      backend: resolve(o.backend),
    }));
    const weighted = split.backends.map((b, i) => ({ item: i, weight: b.weight }));
    this.weightsKey = split.backends.map((b) => `${b.backend}=${b.weight}`).join(',');
    this.#wrr =
      previous !== undefined && previous.weightsKey === this.weightsKey
        ? previous.#wrr
        : new SmoothWeightedRoundRobin(weighted);
    const sticky = split.mode === 'sticky' ? split.sticky : undefined;
    this.#stickyCookie = sticky?.cookie?.name;
    this.#stickyHeader = sticky?.header?.name.toLowerCase();
    this.#buckets = sticky ? new BucketMap(weighted) : null;
  }

  /** The runtime backends of the split's list, in order. */
  get backends(): readonly B[] {
    return this.#backends;
  }

  /** The runtime backends of the overrides, in order. */
  get overrideBackends(): readonly B[] {
    return this.#overrides.map((o) => o.backend);
  }

  get allZero(): boolean {
    return this.#wrr.empty;
  }

  choose(headers: IncomingHttpHeaders): SplitChoice<B> {
    for (const o of this.#overrides) {
      if (o.header && headerValue(headers, o.header.name) === o.header.value) {
        return { backend: o.backend, index: -1, reason: 'override' };
      }
      if (o.cookie && readCookie(headers.cookie, o.cookie.name) === o.cookie.value) {
        return { backend: o.backend, index: -1, reason: 'override' };
      }
    }
    if (this.#wrr.empty) return { backend: undefined, index: -1, reason: 'none' };
    if (this.#buckets !== null) {
      let issueCookie: SplitChoice<B>['issueCookie'];
      let key: string | undefined;
      if (this.#stickyCookie !== undefined) {
        key = readCookie(headers.cookie, this.#stickyCookie);
        if (key === undefined || key === '') {
          key = randomBytes(12).toString('base64url');
          issueCookie = { name: this.#stickyCookie, value: key };
        }
      } else if (this.#stickyHeader !== undefined) {
        key = headerValue(headers, this.#stickyHeader);
      }
      if (key !== undefined && key !== '') {
        const index = this.#buckets.pick(bucketOf(key))!;
        return { backend: this.#backends[index], index, reason: 'sticky', issueCookie };
      }
    }
    const index = this.#wrr.next()!;
    return { backend: this.#backends[index], index, reason: 'weighted' };
  }

  /** The choice for a given sticky key without touching round-robin state (for explain). */
  bucketFor(key: string): { bucket: number; index: number } | undefined {
    if (this.#buckets === null || this.#buckets.empty) return undefined;
    const bucket = bucketOf(key);
    return { bucket, index: this.#buckets.pick(bucket)! };
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
