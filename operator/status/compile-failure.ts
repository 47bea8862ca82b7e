// What users see while the compiler fails (a bug, not bad input): nothing is pushed and the data
// plane keeps the last good config, so the failure is told where people look instead. A Warning
// Event `CompileFailed` on the IngressClasses Sluice serves and on the objects that changed since
// the last good compile (their change is not served yet), `Programmed=False` reason
// `CompileFailed` on RouteRatios whose current generation is not programmed, and a Normal Event
// `Compiled` on the IngressClasses once a compile succeeds again.

import type {
  CompiledRouteRatioStatus,
  CompileEvent,
  Condition,
  ObjectRef,
  RouteRatio,
  Snapshot,
} from '../compile/api.ts';
import { quote } from '../compile/core/objects.ts';

/** At most this many changed objects get an Event of their own; the IngressClass Event counts all. */
export const MAX_CHANGED_OBJECTS = 10;

interface Named {
  metadata?: { namespace?: string; name?: string; uid?: string };
}

/**
 * Ingresses, RouteRatios and IngressClasses in `now` that `before` did not hold, sorted. Cached
 * objects are replaced, never edited, so a changed object is another object. Deleted objects are
 * gone and have nowhere to show an Event.
 */
export function changedObjects(before: Snapshot | undefined, now: Snapshot): ObjectRef[] {
  const out: ObjectRef[] = [];
  const add = (kind: ObjectRef['kind'], prev: readonly Named[] | undefined, cur: readonly Named[]) => {
    const seen = new Set<unknown>(prev ?? []);
    for (const o of cur) {
      const name = o.metadata?.name;
      if (seen.has(o) || !name) continue;
      out.push({ kind, namespace: o.metadata?.namespace, name, uid: o.metadata?.uid });
    }
  };
  add('IngressClass', before?.ingressClasses, now.ingressClasses);
  add('Ingress', before?.ingresses, now.ingresses);
  add('RouteRatio', before?.routeRatios, now.routeRatios);
  const key = (r: ObjectRef) => `${r.kind}\u0000${r.namespace ?? ''}\u0000${r.name}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The error as one line for an Event or condition message. */
function detail(error: Error): string {
  return quote(error.message || error.name, 200);
}

/**
 * Stable for one error: a retry that fails alike posts nothing new. The class's Event names no
 * count of changes, so a change that arrives while compiles fail adds only its own Event.
 */
export function compileFailedEvents(
  error: Error,
  classes: readonly string[],
  changed: readonly ObjectRef[],
  servingVersion: string | undefined,
): CompileEvent[] {
  const serving = servingVersion
    ? `the data plane keeps serving version ${servingVersion}`
    : 'nothing has been pushed yet';
  const events: CompileEvent[] = classes.map((name) => ({
    type: 'Warning',
    reason: 'CompileFailed',
    message: `the compiler failed: ${detail(error)}; no config was pushed and ${serving}; changes wait until a compile succeeds (each changed object has its own Event); retrying with back-off (the operator log has the stack)`,
    object: { kind: 'IngressClass', name },
  }));
  for (const object of changed.slice(0, MAX_CHANGED_OBJECTS)) {
    events.push({
      type: 'Warning',
      reason: 'CompileFailed',
      message: `this change is not served yet: the compiler failed (${detail(error)}) and ${serving}; retrying with back-off`,
      object,
    });
  }
  return events;
}

export function compiledAgainEvents(
  classes: readonly string[],
  failures: number,
  version: string,
): CompileEvent[] {
  return classes.map((name) => ({
    type: 'Normal',
    reason: 'Compiled',
    message: `the compiler succeeded again after ${failures} failed ${failures === 1 ? 'attempt' : 'attempts'} (version ${version})`,
    object: { kind: 'IngressClass', name },
  }));
}

export function compileFailedCondition(generation: number, error: Error): Condition {
  return {
    type: 'Programmed',
    status: 'False',
    reason: 'CompileFailed',
    message: `generation ${generation} is not programmed: the compiler failed (${detail(error)}); the data plane keeps the last good config`,
    observedGeneration: generation,
  };
}

/**
 * The RouteRatio statuses to write while compiles fail: those of the last good compile, plus, for
 * each RouteRatio whose current generation that compile did not see, the status it already has,
 * with `Programmed` to become `CompileFailed` (returned in `failing`, by key and generation).
 */
export function statusesWhileFailing(
  lastGood: Record<string, CompiledRouteRatioStatus>,
  routeRatios: Iterable<RouteRatio>,
): { statuses: Record<string, CompiledRouteRatioStatus>; failing: Map<string, number> } {
  const statuses = { ...lastGood };
  const failing = new Map<string, number>();
  for (const rr of routeRatios) {
    const m = rr.metadata;
    if (!m?.name || m.deletionTimestamp) continue;
    const key = `${m.namespace ?? ''}/${m.name}`;
    const generation = m.generation ?? 0;
    if (statuses[key]?.observedGeneration === generation) continue;
    failing.set(key, generation);
    if (statuses[key]) continue;
    // Never compiled: what it shows stays as it is, apart from Programmed.
    const have = rr.status ?? {};
    statuses[key] = {
      observedGeneration: have.observedGeneration ?? 0,
      conditions: have.conditions ?? [],
      backends: have.backends ?? [],
      summary: have.summary ?? '',
    };
  }
  return { statuses, failing };
}
