// Released objects: an Ingress or RouteRatio that is being deleted, itself (deletionTimestamp set)
// or with its namespace, holds no claims, no routes and no default backend. A namespace's objects
// outlive its pods by seconds (longer with finalizers); meanwhile their hosts must be free for
// their new owners. The compiler and the claim index (and so the webhook) decide it with this one
// predicate, so they agree by construction.

import type { NamespaceState } from '../api.ts';
import { isRecord } from './objects.ts';

/** Whether a deletionTimestamp is set (a Date from the client, a string from YAML or JSON). */
function deleting(meta: Record<string, unknown>): boolean {
  const at = meta.deletionTimestamp;
  return at instanceof Date || (typeof at === 'string' && at !== '');
}

/**
 * A Namespace object read for routing: terminating when its phase is `Terminating` or its
 * deletionTimestamp is set. Undefined when it has no usable name.
 */
export function namespaceState(namespace: unknown): NamespaceState | undefined {
  if (!isRecord(namespace)) return undefined;
  const meta = isRecord(namespace.metadata) ? namespace.metadata : {};
  const name = meta.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const status = isRecord(namespace.status) ? namespace.status : {};
  return { name, terminating: status.phase === 'Terminating' || deleting(meta) };
}

const NONE: ReadonlySet<string> = new Set();

/** Names of the terminating namespaces of a snapshot's list (any order; one entry saying so is enough). */
export function terminatingNamespaces(list: unknown): ReadonlySet<string> {
  if (!Array.isArray(list)) return NONE;
  let out: Set<string> | undefined;
  for (const ns of list) {
    if (isRecord(ns) && ns.terminating === true && typeof ns.name === 'string') {
      out ??= new Set();
      out.add(ns.name);
    }
  }
  return out ?? NONE;
}

/** Whether two sets of namespace names are equal. */
export function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const name of a) if (!b.has(name)) return false;
  return true;
}

/**
 * Whether an Ingress or RouteRatio is released: its deletionTimestamp is set, or its namespace is
 * in `terminating`. Such an object is treated as already gone.
 */
export function isReleased(obj: unknown, terminating: ReadonlySet<string>): boolean {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return false;
  const meta = obj.metadata;
  if (deleting(meta)) return true;
  return terminating.size > 0 && typeof meta.namespace === 'string' && terminating.has(meta.namespace);
}
