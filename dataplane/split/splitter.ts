// Chooses the backend for one request of a route: overrides first (in order), then the sticky
// bucket of the client key, else smooth weighted round robin. A Splitter belongs to one config
// version; its round-robin state starts fresh when a new version is applied.

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { RE2JS } from 're2js';
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
  header?: { name: string; value?: string; pattern?: RE2JS };
  cookie?: { name: string; value: string };
  /** One backend, or a group of the split's backends chosen by weight. */
  backend?: B;
  group?: Group;
}

/** Some of the split's backends (by index), chosen among by their weights. */
interface Group {
  wrr: SmoothWeightedRoundRobin<number>;
  buckets: BucketMap<number> | null;
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
    const weighted = split.backends.map((b, i) => ({ item: i, weight: b.weight }));
    const groups = new Map<string, Group>();
    const groupOf = (name: 'canary' | 'primary'): Group => {
      let group = groups.get(name);
      if (!group) {
        let members = weighted.filter(
          (w) => (split.backends[w.item].canary === true) === (name === 'canary'),
        );
        // A group whose weights are all 0 (a canary at weight 0, or at the whole total) is still
        // chosen by its header or cookie: its members share equally.
        if (members.every((m) => m.weight === 0)) members = members.map((m) => ({ item: m.item, weight: 1 }));
        group = {
          wrr: new SmoothWeightedRoundRobin(members),
          buckets: split.mode === 'sticky' ? new BucketMap(members) : null,
        };
        groups.set(name, group);
      }
      return group;
    };
    this.#overrides = split.overrides.map((o) => ({
      header: o.header
        ? {
            name: o.header.name.toLowerCase(),
            value: o.header.value,
            pattern: o.header.pattern === undefined ? undefined : RE2JS.compile(o.header.pattern),
          }
        : undefined,
      cookie: o.cookie,
      backend: o.backend === undefined ? undefined : resolve(o.backend),
      group: o.group === undefined ? undefined : groupOf(o.group),
    }));
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
    return this.#overrides.flatMap((o) => (o.backend === undefined ? [] : [o.backend]));
  }

  get allZero(): boolean {
    return this.#wrr.empty;
  }

  choose(headers: IncomingHttpHeaders): SplitChoice<B> {
    for (const o of this.#overrides) {
      if (
        o.header
          ? matchesHeader(headers, o.header)
          : o.cookie && readCookie(headers.cookie, o.cookie.name) === o.cookie.value
      ) {
        if (o.backend !== undefined) return { backend: o.backend, index: -1, reason: 'override' };
        return this.#pick(o.group!.wrr, o.group!.buckets, headers, 'override');
      }
    }
    return this.#pick(this.#wrr, this.#buckets, headers, 'weighted');
  }

  #pick(
    wrr: SmoothWeightedRoundRobin<number>,
    buckets: BucketMap<number> | null,
    headers: IncomingHttpHeaders,
    reason: 'override' | 'weighted',
  ): SplitChoice<B> {
    if (wrr.empty) return { backend: undefined, index: -1, reason: 'none' };
    if (buckets !== null) {
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
        const index = buckets.pick(bucketOf(key))!;
        return {
          backend: this.#backends[index],
          index,
          reason: reason === 'override' ? reason : 'sticky',
          issueCookie,
        };
      }
    }
    const index = wrr.next()!;
    return { backend: this.#backends[index], index, reason };
  }

  /** The choice for a given sticky key without touching round-robin state (for explain). */
  bucketFor(key: string): { bucket: number; index: number } | undefined {
    if (this.#buckets === null || this.#buckets.empty) return undefined;
    const bucket = bucketOf(key);
    return { bucket, index: this.#buckets.pick(bucket)! };
  }
}

function matchesHeader(
  headers: IncomingHttpHeaders,
  h: { name: string; value?: string; pattern?: RE2JS },
): boolean {
  const v = headerValue(headers, h.name);
  if (v === undefined) return false;
  // A pattern is searched anywhere in the value (as ingress-nginx's ngx.re.match), in linear time.
  return h.pattern !== undefined ? h.pattern.matcher(v).find() : v === h.value;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
