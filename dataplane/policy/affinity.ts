// Cookie affinity to one endpoint of the chosen backend (ingress-nginx's `affinity: cookie`).
// It is not the split's sticky cohorts (which pick a backend): it runs after the split, in place
// of the balancer's pick. No state is kept per route, so a config push changes nothing for clients
// whose endpoint is still listed, and every replica decides alike.
//
// - balanced: the cookie holds a random key; rendezvous hashing maps it onto the current
//   endpoints, so adding an endpoint moves only the clients it wins.
// - persistent: the cookie names one endpoint by a hash (never its address); a client stays until
//   that endpoint leaves the backend, then gets a new endpoint and a new cookie.

import { createHash, randomBytes } from 'node:crypto';
import type { Affinity, RoutePolicy } from '../../contract/types.ts';
import { readCookie } from '../split/cookies.ts';
import type { Balancer } from '../upstream/balancer.ts';
import type { Upstream } from '../upstream/registry.ts';

export interface AffinityChoice {
  upstream: Upstream | undefined;
  /** A Set-Cookie value when the client needs a (new) cookie. */
  setCookie?: string;
}

const KEY = /^[A-Za-z0-9_-]{16,64}$/;

export class EndpointAffinity {
  readonly #affinity: Affinity;
  readonly #attributes: string;
  readonly #expires: number | undefined;

  constructor(affinity: Affinity, routePath: string) {
    this.#affinity = affinity;
    const c = affinity.cookie;
    let attrs = `; Path=${c.path ?? routePath}`;
    if (c.maxAgeSeconds !== undefined) attrs += `; Max-Age=${c.maxAgeSeconds}`;
    attrs += '; HttpOnly';
    if (c.sameSite !== undefined) attrs += `; SameSite=${c.sameSite}`;
    this.#attributes = attrs;
    this.#expires = c.expiresSeconds;
  }

  /** The endpoint for this request, from its cookie when it still names one. */
  choose(
    balancer: Balancer,
    backendKey: string,
    cookieHeader: string | string[] | undefined,
    https: boolean,
  ): AffinityChoice {
    const eps = balancer.endpoints;
    if (eps.length === 0) return { upstream: undefined };
    const name = this.#affinity.cookie.name;
    const value = readCookie(cookieHeader, name);
    const valid = value !== undefined && KEY.test(value);
    if (this.#affinity.mode === 'balanced') {
      const key = valid ? value : randomBytes(12).toString('base64url');
      const upstream = rendezvous(eps, key);
      return valid ? { upstream } : { upstream, setCookie: this.#cookie(key, https) };
    }
    if (valid) {
      for (const ep of eps) if (endpointToken(backendKey, ep) === value) return { upstream: ep };
    }
    const upstream = balancer.pick();
    if (upstream === undefined) return { upstream };
    return { upstream, setCookie: this.#cookie(endpointToken(backendKey, upstream), https) };
  }

  #cookie(value: string, https: boolean): string {
    let text = `${this.#affinity.cookie.name}=${value}`;
    if (this.#expires !== undefined)
      text += `; Expires=${new Date(Date.now() + this.#expires * 1000).toUTCString()}`;
    text += this.#attributes;
    if (https || this.#affinity.cookie.secure === true) text += '; Secure';
    return text;
  }
}

/** The endpoint with the highest hash of (key, endpoint): stable under endpoint churn. */
function rendezvous(eps: readonly Upstream[], key: string): Upstream {
  let best = eps[0];
  let bestScore = -1n;
  for (const ep of eps) {
    const score = createHash('sha256')
      .update(`${key}\n${ep.address}\n${ep.port}`)
      .digest()
      .readBigUInt64BE(0);
    if (score > bestScore) {
      best = ep;
      bestScore = score;
    }
  }
  return best;
}

const tokens = new WeakMap<Upstream, Map<string, string>>();

/** A token for one endpoint of one backend: the same on every replica, and not its address. */
function endpointToken(backendKey: string, ep: Upstream): string {
  let byBackend = tokens.get(ep);
  if (byBackend === undefined) {
    byBackend = new Map();
    tokens.set(ep, byBackend);
  }
  let token = byBackend.get(backendKey);
  if (token === undefined) {
    token = createHash('sha256')
      .update(`sluice-affinity\n${backendKey}\n${ep.address}\n${ep.port}`)
      .digest('base64url')
      .slice(0, 22);
    byBackend.set(backendKey, token);
  }
  return token;
}

const byRoute = new WeakMap<object, EndpointAffinity | null>();

/** The route's affinity, built once per routing-table entry; undefined when its policy has none. */
export function routeAffinity(route: { policy: RoutePolicy; path: string }): EndpointAffinity | undefined {
  let a = byRoute.get(route);
  if (a === undefined) {
    a = route.policy.affinity === undefined ? null : new EndpointAffinity(route.policy.affinity, route.path);
    byRoute.set(route, a);
  }
  return a ?? undefined;
}
