// The RouteRatio status the operator wants: the compiler's conditions, backends and summary plus
// `Programmed`, with each condition's lastTransitionTime kept while its status stays the same.

import { canonicalJson } from '../../contract/canonical.ts';
import type { CompiledRouteRatioStatus, Condition, RouteRatioStatus } from '../compile/api.ts';

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
export function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function desiredRouteRatioStatus(
  compiled: CompiledRouteRatioStatus,
  programmed: Condition,
  existing: RouteRatioStatus | undefined,
  now: string,
): RouteRatioStatus {
  const conditions = [...compiled.conditions.filter((c) => c.type !== 'Programmed'), programmed].map((c) => {
    const prev = existing?.conditions?.find((p) => p.type === c.type);
    const lastTransitionTime =
      prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    return { ...c, lastTransitionTime };
  });
  return {
    observedGeneration: compiled.observedGeneration,
    conditions,
    backends: compiled.backends,
    summary: compiled.summary,
  };
}

/** Equal as JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
