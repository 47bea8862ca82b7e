// A primary route's split with a canary attached (ingress-nginx canary Ingresses): the canary's
// backends join the split marked `canary`, its header and cookie rules become overrides in
// ingress-nginx's precedence (header, then cookie), and the weights give the canary `weight` out of
// `total` of the remaining requests, the primary's own backends sharing the rest by their weights.

import { canonicalJson } from '../../../contract/canonical.ts';
import { limits } from '../../../contract/schema.ts';
import type { Override, Route, Split, SplitBackend } from '../../../contract/types.ts';
import type { CanarySettings } from './settings.ts';

const MAX_WEIGHT = 10_000;

/** The canary's overrides, in ingress-nginx's order; keys sorted (see emit.ts). */
export function canaryOverrides(c: CanarySettings): Override[] {
  const out: Override[] = [];
  const h = c.header;
  if (h) {
    if (h.value !== undefined) out.push({ group: 'canary', header: { name: h.name, value: h.value } });
    else if (h.pattern !== undefined)
      out.push({ group: 'canary', header: { name: h.name, pattern: h.pattern } });
    else {
      out.push({ group: 'canary', header: { name: h.name, value: 'always' } });
      out.push({ group: 'primary', header: { name: h.name, value: 'never' } });
    }
  }
  if (c.cookie !== undefined) {
    out.push({ cookie: { name: c.cookie, value: 'always' }, group: 'canary' });
    out.push({ cookie: { name: c.cookie, value: 'never' }, group: 'primary' });
  }
  return out;
}

/**
 * Weights for the primary's backends (`w`) and the canary's (`v`): primary i gets w_i*(T-c)*V and
 * canary j gets v_j*c*S (S, V the sums), so the canary's share is exactly c/T. Scaled down to the
 * data plane's bound when needed (largest remainder over 10,000).
 */
export function canaryWeights(w: readonly number[], v: readonly number[], c: number, t: number): number[] {
  const s = w.reduce((a, b) => a + b, 0);
  const vs = v.reduce((a, b) => a + b, 0);
  const raw = [
    ...w.map((x) => x * (t - c) * (vs === 0 ? 1 : vs)),
    ...v.map((x) => x * c * (s === 0 ? 1 : s)),
  ];
  if (raw.every((x) => x <= MAX_WEIGHT)) return raw;
  const sum = raw.reduce((a, b) => a + b, 0);
  const exact = raw.map((x) => (x * MAX_WEIGHT) / sum);
  const out = exact.map(Math.floor);
  let left = MAX_WEIGHT - out.reduce((a, b) => a + b, 0);
  // Ties go to the earlier backend, so the result is deterministic.
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left-- <= 0) break;
    out[i]++;
  }
  return out;
}

/** The primary's split with the canary's split attached; undefined when it cannot fit the bounds. */
export function canarySplit(primary: Split, canary: Split, c: CanarySettings): Split | undefined {
  const count = primary.backends.length + canary.backends.length;
  if (count > limits.splitBackends) return undefined;
  const weights = canaryWeights(
    primary.backends.map((b) => b.weight),
    canary.backends.map((b) => b.weight),
    c.weight,
    c.total,
  );
  const backends: SplitBackend[] = [
    ...primary.backends.map((b, i) => ({ backend: b.backend, name: b.name, weight: weights[i] })),
    ...canary.backends.map((b, j) => ({
      backend: b.backend,
      canary: true as const,
      name: b.name,
      weight: weights[primary.backends.length + j],
    })),
  ];
  const overrides = [...canaryOverrides(c), ...primary.overrides].slice(0, limits.overrides);
  // Keys in sorted order (see emit.ts).
  const split: Split = { backends, mode: primary.mode, overrides } as Split;
  if (primary.routeRatio !== undefined) split.routeRatio = primary.routeRatio;
  if (primary.sticky !== undefined) split.sticky = primary.sticky;
  return split;
}

/**
 * The primary's route with the canary attached: the previous route for this path when its text is
 * the same (so an unchanged host keeps its VirtualHost), else a new route.
 */
export function withCanary(
  route: Route,
  canary: Split,
  c: CanarySettings,
  previous: Route | undefined,
): Route {
  const split = canarySplit(route.split, canary, c);
  if (split === undefined) return route;
  const next: Route = { ...route, split };
  if (previous !== undefined && canonicalJson(previous) === canonicalJson(next)) return previous;
  return next;
}
